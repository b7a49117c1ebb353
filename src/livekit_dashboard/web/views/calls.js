// The call explorer: every call of the range, newest first, with filters, one search box, sorting,
// paging and a CSV download, all kept in the URL (/calls?…). A search that finds exactly one call opens it.
import { getJSON, navigate, readState, stateParams } from "../api.js";
import { clear, el, table } from "../dom.js";
import { formatCount, formatMs, formatTimeNs, formatUSD } from "../format.js";

const PAGE = 50;
// the list's own parameters (the header holds the range, services and models)
const OWN = ["q", "agent", "user", "has_errors", "min_response_s", "outcome", "active", "sort", "order", "offset"];
const SORTS = [
  ["started_at", "Start"],
  ["call_duration_s", "Duration"],
  ["turns", "Turns"],
  ["failures", "Failures"],
  ["total_llm_tokens", "LLM tokens"],
  ["response_p50_s", "Response p50"],
  ["response_max_s", "Slowest response"],
  ["interruptions", "Interruptions"],
  ["flagged_latencies", "Flagged latencies"],
  ["cost_usd", "Cost"],
];

export function listParams() {
  const page = new URLSearchParams(location.search);
  const p = stateParams(readState());
  for (const key of OWN) if (page.get(key)) p.set(key, page.get(key));
  return p;
}

const seconds = (v) => (v === null || v === undefined ? "–" : formatMs(v * 1000));
const started = (iso) => (iso ? formatTimeNs(Date.parse(iso) * 1e6) : "");
// A call found by words said on it opens with them marked on its page; found by one of its ids (call,
// trace, room, user), it opens plainly.
const byId = (row, q) => [row.call_id, row.trace_id, row.room_name, row.user_email].some((id) => id && id.toLowerCase() === q.toLowerCase());
const callHref = (row, q) => `/calls/${encodeURIComponent(row.call_id)}${q && !byId(row, q) ? `?q=${encodeURIComponent(q)}` : ""}`;

function go(change) {
  const page = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(change)) {
    if (v === "" || v === null || v === false || v === undefined) page.delete(k);
    else page.set(k, String(v));
  }
  if (!("offset" in change)) page.delete("offset");
  navigate("/calls", page);
}

function filterBar(page) {
  const input = (name, label, props = {}) =>
    el("input", { name, value: page.get(name) ?? "", placeholder: label, "aria-label": label, ...props });
  const search = input("q", "Search: call or trace id, room, user email, or words said on the call", { id: "call-search", type: "search", class: "search" });
  const agent = input("agent", "Agent", { id: "call-agent" });
  const user = input("user", "User", { id: "call-user" });
  const minResponse = input("min_response_s", "Slowest response ≥ s", { id: "call-min-response", type: "number", min: "0", step: "0.1" });
  const errors = el("input", { type: "checkbox", id: "call-has-errors", checked: page.get("has_errors") === "true" });
  const outcome = el(
    "select",
    { id: "call-outcome", "aria-label": "Outcome" },
    [["", "Any outcome"], ["success", "Succeeded"], ["fail", "Failed"], ["none", "No outcome"]].map(([value, label]) => el("option", { value, text: label, selected: (page.get("outcome") ?? "") === value })),
  );
  const sort = el(
    "select",
    { id: "call-sort", "aria-label": "Sort by" },
    SORTS.map(([value, label]) => el("option", { value, text: `Sort: ${label}`, selected: (page.get("sort") || "started_at") === value })),
  );
  const order = el(
    "select",
    { id: "call-order", "aria-label": "Order" },
    el("option", { value: "desc", text: "high → low", selected: page.get("order") !== "asc" }),
    el("option", { value: "asc", text: "low → high", selected: page.get("order") === "asc" }),
  );
  const form = el(
    "form",
    { class: "call-filters panel-controls" },
    search,
    agent,
    user,
    minResponse,
    el("label", { class: "muted" }, errors, " with failures"),
    outcome,
    sort,
    order,
    el("button", { type: "submit", text: "Apply" }),
  );
  const apply = () =>
    go({
      q: search.value.trim(),
      agent: agent.value.trim(),
      user: user.value.trim(),
      min_response_s: minResponse.value,
      has_errors: errors.checked ? "true" : "",
      outcome: outcome.value,
      sort: sort.value === "started_at" ? "" : sort.value,
      order: order.value === "desc" ? "" : order.value,
    });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    apply();
  });
  for (const control of [errors, outcome, sort, order]) control.addEventListener("change", apply);
  return form;
}

// a chart's click lists the calls going on in its bucket: say so, and offer the usual list
function activeNote(page) {
  const started = new URLSearchParams(page);
  started.delete("active");
  started.delete("offset");
  return el(
    "p",
    { class: "note", id: "calls-active" },
    "Calls going on in this range, including those that started before it (from a chart). ",
    el("a", { href: `/calls?${started}`, text: "Only calls started in it" }),
  );
}

export async function renderCalls(root) {
  const page = new URLSearchParams(location.search);
  const params = listParams();
  params.set("limit", String(PAGE));
  sessionStorage.setItem("lkd.calls", location.search);
  const body = el("div", { class: "panel-body" }, el("div", { class: "loading", text: "Loading calls…" }));
  const csv = new URLSearchParams(params);
  csv.delete("limit");
  csv.delete("offset");
  csv.set("format", "csv");
  clear(
    root,
    el(
      "div",
      { class: "calls-view" },
      el("div", { class: "trace-head" }, el("h1", { text: "Calls" }), el("a", { class: "trace-link", id: "calls-csv", href: `/api/v1/calls?${csv}`, download: "calls.csv", text: "Download CSV" })),
      page.get("active") ? activeNote(page) : null,
      el("section", { class: "panel" }, filterBar(page), body),
    ),
  );
  let data;
  try {
    data = await getJSON("/api/v1/calls", params);
  } catch (err) {
    if (err.status !== 401) clear(body, el("div", { class: "error", text: `Could not load calls: ${err.message}` }));
    return;
  }
  const q = page.get("q");
  if (q && data.total === 1 && !page.get("offset")) {
    navigate(callHref(data.calls[0], q), null, { replace: true });
    return;
  }
  const offset = Number(page.get("offset") ?? 0);
  // the pages run newer to older only when the calls are sorted by their start, newest first
  const byStart = (page.get("sort") || "started_at") === "started_at";
  const [back, forward] = !byStart ? ["← Previous", "Next →"] : page.get("order") === "asc" ? ["← Older", "Newer →"] : ["← Newer", "Older →"];
  const pager = el(
    "div",
    { class: "pager" },
    el("span", { text: data.total ? `${offset + 1}–${offset + data.calls.length} of ${data.total} calls` : "" }),
    offset > 0 ? el("button", { type: "button", text: back, onclick: () => go({ offset: Math.max(0, offset - PAGE) || "" }) }) : null,
    offset + PAGE < data.total ? el("button", { type: "button", text: forward, onclick: () => go({ offset: offset + PAGE }) }) : null,
  );
  clear(
    body,
    data.calls.length
      ? table(
          data.calls,
          [
            { key: "started_at", label: "Started", format: started },
            { key: "service", label: "Service" },
            { key: "agent_name", label: "Agent", format: (v, r) => v || r.assistant_id },
            { key: "user_email", label: "User" },
            { key: "room_name", label: "Room" },
            { key: "call_duration_s", label: "Duration", class: "num", format: seconds },
            { key: "turns", label: "Turns", class: "num" },
            { key: "failures", label: "Failures", class: "num", format: (v) => (v ? el("span", { class: "badge kind-failure", text: v }) : "0") },
            { key: "total_llm_tokens", label: "LLM tokens", class: "num", format: formatCount },
            { key: "response_p50_s", label: "Response p50", class: "num", format: seconds },
            { key: "response_max_s", label: "Slowest", class: "num", format: seconds },
            { key: "interruptions", label: "Interrupted", class: "num" },
            {
              key: "outcome",
              label: "Outcome",
              format: (v, r) => el("span", {}, r.simulated ? el("span", { class: "badge simulated", title: "a LiveKit agent simulation's call", text: "simulated" }) : null, v ? el("span", { class: `badge outcome-${v}`, title: r.outcome_reason, text: v }) : null),
            },
            {
              key: "cost_usd",
              label: "Cost",
              class: "num",
              format: (v, r) =>
                r.unpriced_models.length
                  ? el("span", { title: `no price for ${r.unpriced_models.join(", ")}: their usage is not in this figure` }, formatUSD(v), el("span", { class: "badge unpriced", text: "+ unpriced" }))
                  : formatUSD(v),
            },
          ],
          { rowHref: (r) => callHref(r, q) },
        )
      : el("p", { class: "empty", text: q ? `No call matches “${q}” in this range.` : "No calls in this range." }),
    pager,
  );
  document.body.dataset.loaded = "true";
}
