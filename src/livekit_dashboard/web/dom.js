// DOM helpers. Telemetry text is attacker-controlled: it only ever enters the page as text nodes
// (textContent / createTextNode), never as HTML.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// For the few places a library takes HTML (chart tooltips): telemetry text escaped.
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// A table from rows and column specs {key, label, format?, class?}. With rowHref, every row is a link:
// its first cell holds a real <a> (new tab, keyboard, copy link all work) and a click anywhere on the
// row follows it; the app routes same-origin links without a reload (app.js). With rowAction instead,
// the first cell holds a button that runs it (an action inside the page, such as a drill-down).
export function table(rows, columns, { rowHref, rowAction } = {}) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.class, text: c.label, title: c.title }))));
  const body = el("tbody");
  for (const row of rows) {
    const href = rowHref ? rowHref(row) : null;
    const linked = href || rowAction;
    const tr = el("tr", { class: linked ? "clickable" : undefined });
    columns.forEach((c, i) => {
      const raw = row[c.key];
      const shown = c.format ? c.format(raw, row) : raw;
      let content = shown ?? "";
      if (i === 0 && href) content = el("a", { href, class: "row-link" }, content);
      else if (i === 0 && rowAction) content = el("button", { type: "button", class: "row-link", onclick: () => rowAction(row) }, content);
      tr.append(el("td", { class: c.class, title: typeof shown === "string" ? shown : undefined }, content));
    });
    if (linked) {
      tr.addEventListener("click", (e) => {
        if (!e.target.closest("a, button")) tr.querySelector(".row-link").click();
      });
    }
    body.append(tr);
  }
  return el("table", { class: "data" }, head, body);
}

// A titled definition list of a map's entries, sorted by key ("none" when empty); hrefFor(key, value)
// may make a value a link.
export function kv(title, map, hrefFor = () => null) {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return el(
    "div",
    {},
    el("h3", { text: title }),
    entries.length
      ? el(
          "dl",
          { class: "kv" },
          entries.flatMap(([k, v]) => {
            const href = hrefFor(k, v);
            return [el("dt", { text: k }), el("dd", {}, href ? el("a", { href, text: v }) : String(v))];
          }),
        )
      : el("p", { class: "muted kv-none", text: "none" }),
  );
}

// Back to the call or trace this view was opened from (a link followed in the app keeps where it was
// followed from in its history entry: app.js), else to the dashboard with the range and filters it was
// left with.
export function backLink() {
  const from = history.state?.from;
  if (typeof from === "string") {
    const kind = from.startsWith("/calls/") ? "Call" : from.startsWith("/traces/") ? "Trace" : "";
    if (kind) return el("a", { class: "back", href: from, text: `← ${kind}` });
  }
  const qs = sessionStorage.getItem("lkd.dashboard") ?? "";
  return el("a", { class: "back", href: `/${qs ? `?${qs}` : ""}`, text: "← Dashboard" });
}
