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

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// A table from rows and column specs {key, label, format?, class?}; onRow makes rows clickable links.
export function table(rows, columns, { onRow, rowHref } = {}) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.class, text: c.label }))));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr", { class: onRow ? "clickable" : undefined });
    for (const c of columns) {
      const raw = row[c.key];
      const shown = c.format ? c.format(raw, row) : raw;
      tr.append(el("td", { class: c.class, title: typeof shown === "string" ? shown : undefined }, shown ?? ""));
    }
    if (onRow) {
      tr.tabIndex = 0;
      tr.addEventListener("click", () => onRow(row));
      tr.addEventListener("keydown", (e) => e.key === "Enter" && onRow(row));
      if (rowHref) tr.dataset.href = rowHref(row);
    }
    body.append(tr);
  }
  return el("table", { class: "data" }, head, body);
}
