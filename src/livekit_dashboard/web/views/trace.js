// The trace view: a waterfall of every span (tree by parent, bars on a time axis), the selected
// span's details (attributes, resource, events with stack traces, links) and the trace's logs.
import { getJSON } from "../api.js";
import { backLink, clear, el, kv, table } from "../dom.js";
import { formatMs, formatTimeNs } from "../format.js";

function order(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id)) {
      if (!children.has(s.parent_span_id)) children.set(s.parent_span_id, []);
      children.get(s.parent_span_id).push(s);
    } else {
      roots.push(s);
    }
  }
  const out = [];
  const walk = (span, depth) => {
    out.push({ span, depth });
    const kids = (children.get(span.span_id) ?? []).sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano);
    for (const kid of kids) walk(kid, depth + 1);
  };
  roots.sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano).forEach((r) => walk(r, 0));
  return out;
}

function details(span) {
  const events = span.events.map((e) =>
    el(
      "div",
      { class: `event ${e.name === "exception" ? "exception" : ""}` },
      el("div", { class: "event-head" }, el("strong", { text: e.name }), " ", el("span", { class: "muted", text: formatTimeNs(e.time_unix_nano) })),
      e.attributes["exception.stacktrace"] ? el("pre", { class: "stack", text: e.attributes["exception.stacktrace"] }) : null,
      kv("attributes", Object.fromEntries(Object.entries(e.attributes).filter(([k]) => k !== "exception.stacktrace"))),
    ),
  );
  return el(
    "div",
    { class: "span-detail", dataset: { spanId: span.span_id } },
    el("h2", { text: span.name }),
    el(
      "p",
      { class: "muted" },
      `${span.service} · ${span.kind} · ${formatMs(span.duration_ns / 1e6)} · status ${span.status_code}`,
      span.status_message ? ` (${span.status_message})` : "",
    ),
    el("p", { class: "mono muted", text: `span ${span.span_id}${span.parent_span_id ? ` ← ${span.parent_span_id}` : ""}` }),
    kv("Attributes", span.attributes),
    el("h3", { text: `Events (${span.events.length})` }),
    events.length ? events : el("p", { class: "muted", text: "none" }),
    span.links.length ? el("h3", { text: `Links (${span.links.length})` }) : null,
    span.links.map((l) => el("p", { class: "mono", text: `${l.trace_id} / ${l.span_id}` })),
    kv("Resource", span.resource_attributes),
  );
}

export async function renderTrace(root, traceId, selectedSpan) {
  clear(root, el("div", { class: "loading", text: "Loading trace…" }));
  let trace;
  try {
    trace = await getJSON(`/api/v1/traces/${encodeURIComponent(traceId)}`);
  } catch (err) {
    if (err.status !== 401) clear(root, el("div", { class: "error page-error", text: `Could not load trace ${traceId}: ${err.message}` }));
    return;
  }
  const rows = order(trace.spans);
  const t0 = Math.min(...trace.spans.map((s) => s.start_time_unix_nano));
  const t1 = Math.max(...trace.spans.map((s) => s.end_time_unix_nano));
  const total = Math.max(t1 - t0, 1);
  const detail = el("aside", { class: "detail" });
  const waterfall = el("div", { class: "waterfall", role: "tree" });
  const select = (span, row) => {
    waterfall.querySelectorAll(".wf-row.selected").forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
    clear(detail, details(span));
  };
  let initial = null;
  for (const { span, depth } of rows) {
    const left = ((span.start_time_unix_nano - t0) / total) * 100;
    const width = Math.max((span.duration_ns / total) * 100, 0.3);
    const status = span.status_code === "Error" ? "error" : span.attributes["lk.function_tool.is_error"] === "true" ? "warn" : "ok";
    const row = el(
      "div",
      { class: `wf-row ${status}`, role: "treeitem", tabindex: "0", dataset: { spanId: span.span_id } },
      el("div", { class: "wf-name", style: `padding-left:${depth * 14}px`, title: span.name }, span.name, el("span", { class: "muted", text: ` ${span.service}` })),
      el("div", { class: "wf-track" }, el("div", { class: "wf-bar", style: `left:${left}%;width:${width}%` })),
      el("div", { class: "wf-dur", text: formatMs(span.duration_ns / 1e6) }),
    );
    row.addEventListener("click", () => select(span, row));
    row.addEventListener("keydown", (e) => e.key === "Enter" && select(span, row));
    waterfall.append(row);
    if (span.span_id === selectedSpan || (!initial && !selectedSpan)) initial = [span, row];
  }
  // the call this trace is, when it is one (found by its trace id, at any time): its page is a click away
  const callLink = el("span", { id: "trace-call" });
  getJSON("/api/v1/calls", new URLSearchParams({ q: trace.trace_id, simulated: "include", limit: "1" }))
    .then((found) => {
      const call = found.calls.find((c) => c.trace_id === trace.trace_id);
      if (call) callLink.append(el("a", { class: "trace-link", href: `/calls/${encodeURIComponent(call.call_id)}`, text: "Call page ›" }));
    })
    .catch(() => {}); // not a call (or not allowed to list calls): the trace stands alone
  const logsBox = el("section", { class: "panel trace-logs" }, el("header", {}, el("h2", { text: "Logs of this trace" })));
  clear(
    root,
    el(
      "div",
      { class: "trace-view", dataset: { traceId: trace.trace_id } },
      el(
        "div",
        { class: "trace-head" },
        backLink(),
        el("h1", { text: `Trace ${trace.trace_id}` }),
        el("span", { class: "muted", text: `${trace.spans.length} spans · ${formatMs(total / 1e6)} · ${formatTimeNs(t0)}` }),
        callLink,
      ),
      el("div", { class: "trace-body" }, el("section", { class: "panel" }, waterfall), detail),
      logsBox,
    ),
  );
  if (initial) {
    select(...initial);
    // a link to one span (an error occurrence) shows it: scrolled into view and focused
    if (selectedSpan && initial[0].span_id === selectedSpan) {
      initial[1].classList.add("linked");
      initial[1].scrollIntoView({ block: "center" });
      initial[1].focus({ preventScroll: true });
    }
  }
  try {
    const logs = await getJSON("/api/v1/logs", new URLSearchParams({ trace_id: trace.trace_id, limit: "200" }));
    logsBox.append(
      logs.logs.length
        ? table(
            logs.logs,
            [
              { key: "time_unix_nano", label: "Time", format: formatTimeNs },
              { key: "severity_text", label: "Severity" },
              { key: "body", label: "Body", class: "wrap" },
              { key: "span_id", label: "Span", class: "mono" },
            ],
            { rowHref: (r) => `/logs/${r.log_id}` },
          )
        : el("p", { class: "empty", text: "No logs for this trace." }),
    );
  } catch (err) {
    logsBox.append(el("p", { class: "error", text: `Could not load logs: ${err.message}` }));
  }
}
