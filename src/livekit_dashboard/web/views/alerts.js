// Alerts (super-admin): every rule with its state (ok, pending, firing) and last value; create or edit a
// rule made here (rules from the rules file are read-only), mute it, test-fire it, delete it; the
// history of what fired and resolved, each event linking to the calls of its window. docs/alerts.md.
import { getJSON, sendJSON } from "../api.js";
import { clear, el, table } from "../dom.js";
import { formatTimeNs, formatUSD } from "../format.js";

function shown(value, unit) {
  if (value === null || value === undefined) return "no data";
  if (unit === "ratio") return `${(value * 100).toFixed(1)}%`;
  if (unit === "usd") return formatUSD(value);
  if (unit === "s") return `${value.toFixed(2)} s`;
  return Math.round(value).toLocaleString("en-US");
}

const duration = (s) => (s === 0 ? "0" : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

function ruleForm(data, editing, status, reload) {
  const rule = editing ?? { name: "", measure: "response_p95_s", op: ">", threshold: "", window: 600, for: 0, filters: {}, channels: [] };
  const input = (name, label, props = {}) => el("label", {}, label, el("input", { name, "aria-label": label, ...props }));
  const measure = el(
    "select",
    { name: "measure", "aria-label": "Measure" },
    data.measures.map((m) => el("option", { value: m.name, text: m.name, title: m.description, selected: m.name === rule.measure })),
  );
  const channels = el("textarea", {
    name: "channels",
    "aria-label": "Channels",
    rows: 3,
    placeholder: "one per line: webhook https://… · slack https://hooks.slack.com/… · apprise mailto://…",
    value: rule.channels.map((c) => `${c.kind} ${c.url}`).join("\n"),
  });
  channels.value = rule.channels.map((c) => `${c.kind} ${c.url}`).join("\n");
  const node = el(
    "form",
    { class: "alert-form panel-controls", id: "alert-form" },
    input("name", "Name", { value: rule.name, required: true }),
    el("label", {}, "Measure", measure),
    el("label", {}, "Is", el("select", { name: "op", "aria-label": "Comparison" }, el("option", { value: ">", text: "above", selected: rule.op === ">" }), el("option", { value: "<", text: "below", selected: rule.op === "<" }))),
    input("threshold", "Threshold", { type: "number", step: "any", value: String(rule.threshold), required: true }),
    input("window", "Window", { value: duration(rule.window), placeholder: "10m" }),
    input("for", "For", { value: duration(rule.for), placeholder: "5m" }),
    ["service", "agent", "user", "model"].map((f) => input(`filter_${f}`, `Only ${f}`, { value: rule.filters[f] ?? "" })),
    el("label", { class: "wide" }, "Channels", channels),
    el("button", { type: "submit", text: editing ? "Save rule" : "Create rule" }),
  );
  node.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(node);
    const body = {
      name: form.get("name"),
      measure: form.get("measure"),
      op: form.get("op"),
      threshold: Number(form.get("threshold")),
      window: form.get("window") || "10m",
      for: form.get("for") || "0s",
      filters: Object.fromEntries(["service", "agent", "user", "model"].map((f) => [f, form.get(`filter_${f}`)]).filter(([, v]) => v)),
      channels: String(form.get("channels"))
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([kind, url]) => ({ kind, url })),
    };
    try {
      if (editing) await sendJSON("PUT", `/api/v1/alerts/${encodeURIComponent(editing.id)}`, { ...body, muted: editing.muted, enabled: editing.enabled });
      else await sendJSON("POST", "/api/v1/alerts", body);
      await reload(`Saved rule “${body.name}”.`);
    } catch (err) {
      status.textContent = `Could not save: ${err.message}`;
    }
  });
  return node;
}

export async function renderAlerts(root, message = "") {
  let data;
  let events;
  try {
    [data, events] = await Promise.all([getJSON("/api/v1/alerts"), getJSON("/api/v1/alerts/events", new URLSearchParams({ limit: "100" }))]);
  } catch (err) {
    if (err.status === 401) return; // the app asks for a key
    const text = err.status === 403 ? `Alerts need a super-admin key (${err.message}).` : `Could not load alerts: ${err.message}`;
    clear(root, el("div", { class: "error page-error", id: "alerts-error", text }));
    document.body.dataset.loaded = "true";
    return;
  }
  const units = Object.fromEntries(data.measures.map((m) => [m.name, m.unit]));
  const status = el("p", { class: "note", id: "alert-status", text: message });
  const reload = (text) => renderAlerts(root, text);
  const act = async (label, method, path, body, done) => {
    try {
      await sendJSON(method, path, body);
      await reload(done);
    } catch (err) {
      status.textContent = `${label} failed: ${err.message}`;
    }
  };
  const formSlot = el("div", { id: "alert-form-slot" }, ruleForm(data, null, status, reload));
  const rows = data.rules.map((r) => ({ ...r, status: r.state.status }));
  clear(
    root,
    el(
      "div",
      { class: "alerts-view" },
      el("div", { class: "trace-head" }, el("h1", { text: "Alerts" }), el("span", { class: "muted", text: "notifications to webhooks, Slack and apprise services" })),
      el(
        "section",
        { class: "panel" },
        el("header", {}, el("h2", { text: "Rules" }), el("span", { class: "muted", text: "evaluated inside the server; rules from the rules file are read-only here" })),
        rows.length
          ? table(rows, [
              { key: "status", label: "State", format: (v) => el("span", { class: `badge alert-${v}`, text: v }) },
              { key: "name", label: "Rule", class: "wrap", format: (v, r) => el("span", { id: `rule-${r.id}` }, v, r.muted ? el("span", { class: "badge muted-badge", text: "muted" }) : null) },
              { key: "measure", label: "When", class: "wrap", format: (v, r) => `${v} ${r.op} ${shown(r.threshold, units[v])} over ${duration(r.window)}${r.for ? ` for ${duration(r.for)}` : ""}` },
              { key: "filters", label: "Only", format: (v) => Object.entries(v).map(([k, x]) => `${k}=${x}`).join(", ") },
              { key: "state", label: "Now", class: "num", format: (v, r) => shown(v.value, units[r.measure]) },
              { key: "channels", label: "Channels", format: (v) => v.map((c) => c.kind).join(", ") || "none" },
              { key: "source", label: "From" },
              {
                key: "id",
                label: "",
                format: (id, r) =>
                  el(
                    "span",
                    { class: "row-actions" },
                    r.channels.length ? el("button", { type: "button", class: "test-alert", text: "Test", onclick: () => act("Test", "POST", `/api/v1/alerts/${id}/test`, {}, `Sent a test of “${r.name}”.`) }) : null,
                    r.source === "api" ? el("button", { type: "button", class: "mute-alert", text: r.muted ? "Unmute" : "Mute", onclick: () => act("Mute", "POST", `/api/v1/alerts/${id}/mute`, { muted: !r.muted }, `${r.muted ? "Unmuted" : "Muted"} “${r.name}”.`) }) : null,
                    r.source === "api" ? el("button", { type: "button", class: "edit-alert", text: "Edit", onclick: () => clear(formSlot, ruleForm(data, r, status, reload)) }) : null,
                    r.source === "api" ? el("button", { type: "button", class: "delete-alert", text: "Delete", onclick: () => act("Delete", "DELETE", `/api/v1/alerts/${id}`, undefined, `Deleted “${r.name}”.`) }) : null,
                  ),
              },
            ])
          : el("p", { class: "empty", text: "No rules yet: create one below, or start the server with --alerts rules.yaml (docs/alerts.md)." }),
        status,
        el("h3", { text: "New rule" }),
        formSlot,
      ),
      el(
        "section",
        { class: "panel" },
        el("header", {}, el("h2", { text: "History" })),
        events.events.length
          ? table(events.events, [
              { key: "at_ms", label: "When", format: (v) => formatTimeNs(v * 1e6) },
              { key: "state", label: "", format: (v) => el("span", { class: `badge alert-${v}`, text: v }) },
              { key: "summary", label: "What", class: "wrap" },
              { key: "delivered", label: "Sent", class: "num", format: (v, e) => (e.failed ? `${v} (${e.failed} failed)` : String(v)) },
              { key: "calls_path", label: "", format: (v) => el("a", { href: v, text: "calls" }) },
            ])
          : el("p", { class: "muted", text: "Nothing has fired yet." }),
      ),
    ),
  );
  document.body.dataset.loaded = "true";
}
