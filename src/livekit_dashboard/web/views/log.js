// The log entry view: every stored field, with a link to its trace and span.
import { getJSON } from "../api.js";
import { backLink, clear, el, kv } from "../dom.js";
import { formatTimeNs } from "../format.js";

export async function renderLog(root, logId) {
  clear(root, el("div", { class: "loading", text: "Loading log entry…" }));
  let log;
  try {
    log = await getJSON(`/api/v1/logs/${encodeURIComponent(logId)}`);
  } catch (err) {
    if (err.status !== 401) clear(root, el("div", { class: "error page-error", text: `Could not load log ${logId}: ${err.message}` }));
    return;
  }
  const traceLink = log.trace_id
    ? el("a", {
        href: `/traces/${log.trace_id}?span=${log.span_id}`,
        class: "trace-link",
        text: `Open trace ${log.trace_id}${log.span_id ? ` at span ${log.span_id}` : ""}`,
      })
    : el("span", { class: "muted", text: "Not correlated with a trace." });
  // a job, room or call named in a log opens the calls it names; a call keeps its room's name, not the
  // room's SID, so a room id opens the call of the job named beside it (no job: no link)
  const search = (value) => `/calls?q=${encodeURIComponent(value)}&start=now-30d`;
  const callHref = (attrs) => (key, value) => {
    if (!value) return null;
    if (/(^|[._])room_id$/.test(key)) {
      const job = Object.entries(attrs).find(([k, v]) => /(^|[._])job_id$/.test(k) && v)?.[1];
      return job ? search(job) : null;
    }
    return /(^|[._])(job_id|room_name|room|call_id)$/.test(key) ? search(value) : null;
  };
  const callLink = log.trace_id ? el("a", { href: `/calls/${log.trace_id}`, class: "trace-link call-link", text: "Open its call" }) : null;
  // a field the record does not carry (no span, no event name) is left out, not shown empty
  const fields = Object.fromEntries(Object.entries({
    time: formatTimeNs(log.time_unix_nano),
    service: log.service,
    severity: `${log.severity_text} (${log.severity_number})`,
    scope: `${log.scope_name} ${log.scope_version}`.trim(),
    "trace id": log.trace_id,
    "span id": log.span_id,
    "trace flags": String(log.trace_flags),
    "event name": log.event_name,
    "log id": log.log_id,
  }).filter(([, value]) => value !== "" && value !== null && value !== undefined));
  clear(
    root,
    el(
      "div",
      { class: "log-view", dataset: { logId: log.log_id } },
      el(
        "div",
        { class: "trace-head" },
        backLink(),
        el("h1", { text: "Log entry" }),
      ),
      el(
        "section",
        { class: "panel" },
        el("pre", { class: "log-body", text: log.body }),
        traceLink,
        callLink ? " · " : null,
        callLink,
        kv("Fields", fields),
        kv("Attributes", log.attributes, callHref(log.attributes)),
        kv("Resource", log.resource_attributes),
        kv("Scope attributes", log.scope_attributes, callHref(log.scope_attributes)),
      ),
    ),
  );
}
