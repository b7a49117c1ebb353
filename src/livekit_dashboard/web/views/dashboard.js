// The dashboard: stat tiles, charts, the model pie and the tables, every panel from /api/v1/panels.
import { getJSON, navigate, stateParams } from "../api.js";
import { chartsReady, pie, stepLabel, timeSeries } from "../charts.js";
import { clear, el, table } from "../dom.js";
import { countOf, formatCount, formatMs, formatPercent, formatTimeNs, formatUsage, formatUSD, LATENCY_STAGE_NAMES, REPLY_STAGE_NAMES, STAGE_NAMES } from "../format.js";

const LAYOUT = [
  ["tiles", ["token_usage_totals", "error_rate", "turns_per_conversation"]],
  ["row", ["token_usage_over_time", "model_distribution"]],
  ["full", ["cost_totals"]],
  ["row", ["cost_over_time", "cost_by"]],
  ["full", ["cost_models"]],
  ["row", ["requests_over_time", "conversations_over_time"]],
  ["row", ["latency_p95_over_time", "latency_stages_over_time"]],
  ["row", ["http_request_duration_over_time", "tts_duration_over_time"]],
  ["row", ["turn_taking", "outcomes_over_time"]],
  ["row", ["services_languages", "speech_usage"]],
  ["full", ["conversations_below_threshold"]],
  ["full", ["slowest_turns"]],
  ["full", ["error_groups"]],
  ["full", ["logs"]],
];

function tile(label, value, raw, extra = {}) {
  return el(
    "div",
    { class: `tile ${extra.level ?? ""}`, title: extra.title, dataset: { metric: extra.metric ?? label, value: String(raw) } },
    el("div", { class: "tile-value", text: value }),
    el("div", { class: "tile-label", text: label }),
    extra.sub ? el("div", { class: "tile-sub", text: extra.sub }) : null,
  );
}

function level(rate, thresholds) {
  if (rate >= thresholds[1]) return "bad";
  if (rate >= thresholds[0]) return "warn";
  return "good";
}

const RENDER = {
  token_usage_totals(body, data) {
    const r = data.rows[0];
    clear(
      body,
      el(
        "div",
        { class: "tiles" },
        tile("Total tokens", formatCount(r.total_tokens), r.total_tokens, {
          metric: "total_tokens",
          sub: r.unattributed_tokens
            ? `${formatCount(r.requests)} LLM requests · ${formatCount(r.unattributed_tokens)} counted by livekit-agents on no span`
            : `${formatCount(r.requests)} LLM requests`,
        }),
        tile("Input tokens", formatCount(r.input_tokens), r.input_tokens, {
          metric: "input_tokens",
          sub: `audio ${formatCount(r.input_audio_tokens)} · text ${formatCount(r.input_text_tokens)}`,
        }),
        tile("Output tokens", formatCount(r.output_tokens), r.output_tokens, {
          metric: "output_tokens",
          // reasoning tokens are output tokens (billed as output, never spoken)
          sub: `audio ${formatCount(r.output_audio_tokens)} · text ${formatCount(r.output_text_tokens)} · reasoning ${formatCount(r.reasoning_tokens)}`,
        }),
        tile("Cached input", formatCount(r.cache_read_tokens), r.cache_read_tokens, {
          metric: "cache_read_tokens",
          sub: `cache writes ${formatCount(r.cache_write_tokens)}`,
        }),
      ),
    );
    return r.requests > 0;
  },
  error_rate(body, data) {
    const r = data.rows[0];
    const t = data.thresholds;
    clear(
      body,
      el(
        "div",
        { class: "tiles" },
        tile("Failed requests", formatPercent(r.request_error_rate), r.request_error_rate, {
          metric: "request_error_rate",
          level: level(r.request_error_rate, t),
          sub: `${formatCount(r.failed_requests)} of ${formatCount(r.requests)} failed after retries · ${formatCount(r.recovered_requests)} recovered`,
          title: "Provider requests (LLM, realtime, TTS) that failed after all their attempts. Recovered: succeeded after a failed attempt.",
        }),
        tile("Failed turns", formatPercent(r.turn_error_rate), r.turn_error_rate, {
          metric: "turn_error_rate",
          level: level(r.turn_error_rate, t),
          sub: `${formatCount(r.failed_turns)} of ${formatCount(r.turns)} turns`,
          title: "Agent replies that failed: the turn, or a step of it (LLM, TTS, realtime), failed.",
        }),
        tile("Calls with a failure", formatPercent(r.call_error_rate), r.call_error_rate, {
          metric: "call_error_rate",
          level: level(r.call_error_rate, t),
          sub: `${formatCount(r.failed_calls)} of ${countOf(r.calls, "call")} · ${countOf(r.failures, "failure")}, ${countOf(r.tool_errors, "tool error")}`,
          title: "Calls in which anything failed (not counting recovered requests or tool errors).",
        }),
      ),
    );
    return r.requests + r.turns + r.calls > 0;
  },
  turns_per_conversation(body, data) {
    const r = data.rows[0];
    clear(
      body,
      el(
        "div",
        { class: "tiles" },
        tile("Turns per conversation", r.avg_turns.toFixed(1), r.avg_turns, {
          metric: "avg_turns",
          sub: `${countOf(r.turns, "turn")} in ${countOf(r.calls, "call")}`,
        }),
      ),
    );
    return r.calls > 0;
  },
  token_usage_over_time: (body, data) =>
    chart(body, data, {
      series: [
        { label: "input", value: "input_tokens" },
        { label: "output", value: "output_tokens" },
      ],
      groupBy: "service",
      unit: "tokens",
      stack: true,
    }),
  requests_over_time: (body, data) =>
    chart(body, data, { series: [{ label: "", value: "requests" }], groupBy: "service", unit: "requests" }),
  conversations_over_time: (body, data) =>
    chart(body, data, { series: [{ label: "", value: "calls" }], groupBy: "service", unit: "calls", stack: true }),
  latency_p95_over_time(body, data, ctx) {
    const ok = chart(body, data, {
      series: [
        { label: "p50", value: "p50_ms", dash: "dashed" },
        { label: "p95", value: "p95_ms", dash: "solid" },
        { label: "p99", value: "p99_ms", dash: "dotted" },
      ],
      groupBy: "service",
      unit: "ms",
      onBucket: toCalls(ctx, "response_max_s", "service"),
    });
    const flagged = data.rows.reduce((n, r) => n + r.flagged, 0);
    const responses = data.rows.reduce((n, r) => n + r.responses, 0);
    if (ok) {
      body.prepend(
        el("p", { class: "note" }, `${formatCount(responses)} responses · a colour per service: p95 solid, p50 dashed, p99 dotted`, flagged ? el("span", { class: "flagged-note", text: ` · ${formatCount(flagged)} flagged (negative or over 30 s) and left out` }) : "", " · click a bucket for its slowest calls"),
      );
    }
    return ok;
  },
  latency_stages_over_time(body, data, ctx) {
    const ok = chart(body, data, {
      series: [{ label: "", value: "avg_ms" }],
      groupBy: "stage",
      groupLabel: (stage) => LATENCY_STAGE_NAMES[stage] ?? stage,
      unit: "ms",
      stack: true,
      onBucket: toCalls(ctx, "response_max_s"),
    });
    const flagged = data.rows.reduce((n, r) => n + r.flagged, 0);
    if (ok) {
      body.prepend(el("p", { class: "note", text: `Average per stage; stages overlap, so the stack is not the response latency${flagged ? ` · ${formatCount(flagged)} flagged values left out` : ""}.` }));
    }
    return ok;
  },
  turn_taking: (body, data, ctx) =>
    chart(body, data, {
      series: [{ label: "interrupted", value: "interruption_rate" }],
      groupBy: "service",
      unit: "ratio",
      onBucket: toCalls(ctx, "interruptions", "service"),
    }),
  http_request_duration_over_time(body, data) {
    const source = data.rows[0]?.source;
    const ok = chart(body, data, {
      series: [
        { label: "avg", value: "avg_ms" },
        { label: "p95", value: "p95_ms" },
      ],
      groupBy: "target",
      unit: "ms",
    });
    if (ok && source === "spans") {
      body.prepend(el("p", { class: "note", text: "No http.client.* metrics in range: durations of provider request spans." }));
    }
    return ok;
  },
  tts_duration_over_time: (body, data) =>
    chart(body, data, {
      series: [
        { label: "avg duration", value: "avg_duration_ms" },
        { label: "p95 duration", value: "p95_duration_ms" },
        { label: "avg TTFB", value: "avg_ttfb_ms" },
        { label: "p95 TTFB", value: "p95_ttfb_ms" },
      ],
      unit: "ms",
    }),
  model_distribution(body, data) {
    if (!data.rows.length) return false;
    const node = el("div", { class: "chart" });
    clear(body, node);
    pie(
      node,
      data.rows.map((r) => ({ name: `${r.stage} · ${r.model || "(unknown)"}`, value: r.requests })),
    );
    body.append(
      table(data.rows, [
        { key: "stage", label: "Stage" },
        { key: "provider", label: "Provider" },
        { key: "model", label: "Model" },
        { key: "requests", label: "Requests", class: "num", format: formatCount },
      ]),
    );
    return true;
  },
  services_languages(body, data) {
    clear(
      body,
      table(data.rows, [
        { key: "service", label: "Service" },
        { key: "language", label: "SDK language" },
        { key: "service_version", label: "Version" },
        { key: "sdk_version", label: "SDK" },
        { key: "calls", label: "Calls", class: "num", format: formatCount },
        { key: "spans", label: "Spans", class: "num", format: formatCount },
      ]),
    );
    return data.rows.length > 0;
  },
  speech_usage(body, data) {
    const seconds = (v) => formatMs(Number(v) * 1000);
    clear(
      body,
      table(data.rows, [
        { key: "service", label: "Service" },
        { key: "tts_requests", label: "TTS requests", class: "num", format: formatCount },
        { key: "tts_characters", label: "TTS characters", class: "num", format: formatCount },
        { key: "tts_audio_s", label: "TTS audio", class: "num", format: seconds },
        { key: "stt_audio_s", label: "STT audio", class: "num", format: seconds },
        { key: "unattributed_stt_s", label: "of it in no call", class: "num", format: seconds },
      ]),
    );
    return data.rows.length > 0;
  },
};

// Cost: the tiles, cost over time (per stage, model or service), per agent or user, per model with the
// unpriced ones (no price covers some of their usage: shown as such, never as $0).
function chooser(ctx, options, label) {
  return el(
    "select",
    { class: "by-select", "aria-label": label, onchange: (e) => ctx.reload({ by: e.target.value, offset: 0 }) },
    options.map(([value, text]) => el("option", { value, text, selected: (ctx.page.by || options[0][0]) === value })),
  );
}

RENDER.cost_totals = (body, data) => {
  const r = data.rows[0];
  const stages = ["llm", "realtime", "tts", "stt"].filter((s) => r[`${s}_usd`]).map((s) => `${STAGE_NAMES[s]} ${formatUSD(r[`${s}_usd`])}`);
  clear(
    body,
    el(
      "div",
      { class: "tiles" },
      tile("Cost", formatUSD(r.cost_usd), r.cost_usd, {
        metric: "cost_usd",
        sub: [countOf(r.calls, "call"), ...stages].join(" · "),
        title: "What the calls that started in the range cost, each priced with the prices in force when it started.",
      }),
      tile("Per call", formatUSD(r.cost_per_call_usd), r.cost_per_call_usd ?? 0, { metric: "cost_per_call_usd", sub: "average over the calls" }),
      tile("Unpriced", formatPercent(r.unpriced_share), r.unpriced_share, {
        metric: "unpriced_share",
        level: r.unpriced_calls ? "warn" : "good",
        sub: r.unpriced_calls ? `${formatCount(r.unpriced_calls)} calls have usage no price covers: see the models below` : "every call fully priced",
        title: "Calls with usage of a model that has no price (add one under Prices). Their priced usage is counted; the rest is not — never as $0.",
      }),
      tile("Not production", formatUSD(r.excluded_usd), r.excluded_usd, {
        metric: "excluded_usd",
        sub: "evaluation judges and recovery probes",
        title: "LLM calls of evaluation judges and fallback-adapter recovery probes: not in the cost above.",
      }),
    ),
  );
  return r.calls > 0;
};

RENDER.cost_over_time = (body, data, ctx) => {
  const ok = chart(body, data, {
    series: [{ label: "", value: "cost_usd" }],
    groupBy: "series",
    // stages named as the tiles and tables name them (LLM, TTS), a model as its stage, provider/model
    groupLabel: ctx.page.by === "service" ? undefined : (key) => {
      const [stage, ...model] = key.split("|");
      return [STAGE_NAMES[stage] ?? stage, model.join("/")].filter(Boolean).join(" ");
    },
    unit: "usd",
    stack: true,
    // a bucket holds the cost of the calls that started in it; split per service, a service's bar
    // opens that service's calls
    onBucket: toCalls(ctx, "cost_usd", ctx.page.by === "service" ? "service" : "", { started: true }),
  });
  body.prepend(
    el(
      "div",
      { class: "panel-controls" },
      chooser(ctx, [["stage", "per stage"], ["model", "per model"], ["service", "per service"]], "Split cost by"),
      el("span", { class: "note", text: "cost of the calls that started in each bucket · click a bucket for its most expensive calls" }),
    ),
  );
  return ok;
};

RENDER.cost_by = (body, data, ctx) => {
  const by = ctx.page.by || "agent";
  const controls = el("div", { class: "panel-controls" }, chooser(ctx, [["agent", "per agent"], ["user", "per user"]], "Cost per"));
  if (!data.rows.length) {
    clear(body, controls, el("div", { class: "empty", text: "No calls in this time range." }));
    return "empty";
  }
  const calls = (r) => {
    const params = stateParams({ ...ctx.state });
    if (r.name) params.set(by, r.name);
    params.set("sort", "cost_usd");
    return `/calls?${params}`;
  };
  clear(
    body,
    controls,
    table(data.rows, [
      { key: "name", label: by === "user" ? "User" : "Agent", format: (v) => v || "(none)" },
      { key: "calls", label: "Calls", class: "num", format: formatCount },
      { key: "cost_usd", label: "Cost", class: "num", format: formatUSD },
      { key: "cost_per_call_usd", label: "Per call", class: "num", format: formatUSD },
      { key: "unpriced_calls", label: "Unpriced calls", class: "num", format: (v) => (v ? el("span", { class: "badge unpriced", text: formatCount(v) }) : "0") },
    ], { rowHref: calls }),
  );
  return true;
};

const PURPOSE_LABELS = { call: "", judge: "evaluation judge (not production)", probe: "recovery probe (not production)" };

RENDER.cost_models = (body, data) => {
  if (!data.rows.length) return false;
  clear(
    body,
    el("p", { class: "note" }, "Prices come from the voice-prices catalogue or your own; ", el("a", { href: "/prices", text: "see and set prices" }), "."),
    table(data.rows, [
      { key: "stage", label: "Stage", format: (v) => STAGE_NAMES[v] ?? v },
      { key: "provider", label: "Provider", format: (v) => v || "(unknown)" },
      { key: "model", label: "Model", format: (v, r) => el("span", {}, v || "(unknown)", PURPOSE_LABELS[r.purpose] ? el("span", { class: "muted", text: ` · ${PURPOSE_LABELS[r.purpose]}` }) : "") },
      { key: "calls", label: "Calls", class: "num", format: formatCount },
      { key: "usage", label: "Usage", class: "wrap", format: formatUsage },
      { key: "cost_usd", label: "Cost", class: "num", format: formatUSD },
      {
        key: "priced",
        label: "Price",
        format: (v, r) => (v ? r.sources.join(", ") : el("a", { class: "badge unpriced", href: `/prices?model=${encodeURIComponent(r.model)}`, text: "unpriced: add a price" })),
      },
    ]),
  );
  return true;
};

// Outcomes: the share of tagged calls that succeeded and of judge verdicts that passed, per agent; a
// bucket opens its failed calls.
RENDER.outcomes_over_time = (body, data, ctx) => {
  const ok = chart(body, data, {
    series: [
      { label: "success", value: "success_rate" },
      { label: "judges pass", value: "pass_rate" },
    ],
    groupBy: "agent",
    unit: "ratio",
    onBucket: (bucket, step, agent) => {
      const params = stateParams({ ...ctx.state, start: new Date(bucket * 1000).toISOString(), end: new Date((bucket + step) * 1000).toISOString() });
      params.set("outcome", "fail");
      if (agent) params.set("agent", agent);
      navigate("/calls", params);
    },
  });
  if (ok) {
    const outcomes = data.rows.reduce((n, r) => n + r.outcomes, 0);
    const verdicts = data.rows.reduce((n, r) => n + r.verdicts, 0);
    body.prepend(el("p", { class: "note", text: `${countOf(outcomes, "call")} with an outcome · ${countOf(verdicts, "judge verdict")} · click a bucket for its failed calls` }));
  }
  return ok;
};

// A chart of counts says what one bucket holds ("calls per 5 min").
const COUNT_UNITS = { tokens: "tokens", requests: "requests", calls: "calls" };

function chart(body, data, options) {
  if (!data.rows.length) return false;
  const node = el("div", { class: "chart" });
  const per = COUNT_UNITS[options.unit];
  clear(body, per ? el("p", { class: "note per-bucket", text: `${per} per ${stepLabel(data.range.step_s)}` }) : null, node);
  timeSeries(node, data.rows, { ...options, range: data.range });
  return true;
}

// Click-through: a chart bucket opens the call list for that bucket (with the dashboard's services, SDK
// languages and models), sorted by the measure clicked; a click on one service's point or bar (series grouped `by`
// service) opens that service's calls only.
function toCalls(ctx, sort, by = "", { started = false } = {}) {
  return (bucket, step, group) => {
    const params = stateParams({ ...ctx.state, start: new Date(bucket * 1000).toISOString(), end: new Date((bucket + step) * 1000).toISOString() });
    if (by === "service" && group) {
      params.delete("service");
      params.set("service", group);
    }
    // the bucket's turns and requests belong to the calls going on in it, not only those started in it;
    // a chart of calls by their start (cost) opens the calls started in it
    if (!started) params.set("active", "1");
    params.set("sort", sort);
    navigate("/calls", params);
  };
}

// Table panels with pagination (and the logs panel's own filters).
function pagedTable(columns, { rowHref, rowAction, controls, emptyText } = {}) {
  return (body, data, ctx) => {
    const total = data.rows[0]?.total ?? 0;
    const { limit, offset } = ctx.page;
    const pager = el(
      "div",
      { class: "pager" },
      el("span", { text: total ? `${offset + 1}–${offset + data.rows.length} of ${formatCount(total)}` : "" }),
      el("button", { text: "‹ Newer", disabled: offset === 0, onclick: () => ctx.reload({ offset: Math.max(0, offset - limit) }) }),
      el("button", { text: "Older ›", disabled: offset + limit >= total, onclick: () => ctx.reload({ offset: offset + limit }) }),
    );
    if (!data.rows.length) {
      const text = (emptyText && emptyText(ctx)) || "Nothing in this time range.";
      clear(body, controls ? controls(ctx) : null, el("div", { class: "empty", text }));
      return "empty";
    }
    const action = rowAction ? (row) => rowAction(row, ctx) : undefined;
    clear(body, controls ? controls(ctx) : null, table(data.rows, columns, { rowHref, rowAction: action }), pager);
    return true;
  };
}

const KIND_LABELS = { failure: "failure", recovered: "recovered", tool_error: "tool error" };
const kindBadge = (v) => el("span", { class: `badge kind-${v}`, text: KIND_LABELS[v] ?? v });
const where = (v, r) => [r.stage, r.provider, r.model].filter(Boolean).join(" · ");

// Error groups: one row per root cause; a row opens its occurrences (error_records?group=…) in place,
// each occurrence links to its span in the trace.
const errorOccurrences = pagedTable([
  { key: "time_unix_nano", label: "Time", format: formatTimeNs },
  { key: "kind", label: "Kind", format: kindBadge },
  { key: "service", label: "Service" },
  { key: "stage", label: "Where", format: where },
  { key: "span_name", label: "Span" },
  { key: "error_type", label: "Error type" },
  { key: "message", label: "Message", class: "wrap" },
  { key: "duration_ms", label: "Duration", class: "num", format: formatMs },
  { key: "http_status", label: "HTTP", format: (v, r) => [r.http_method, v].filter(Boolean).join(" ") },
  { key: "trace_id", label: "Call", format: (v) => (v ? el("a", { href: `/calls/${v}`, class: "call-link", text: "call →" }) : "") },
], {
  rowHref: (r) => `/traces/${r.trace_id}?span=${r.span_id}`,
  controls: (ctx) =>
    el(
      "div",
      { class: "panel-controls" },
      el("button", { type: "button", class: "back-to-groups", text: "← All error groups", onclick: () => ctx.reload({ group: "", offset: 0 }) }),
      el("span", { class: "muted", text: ctx.page.groupLabel ?? "" }),
    ),
});

const errorGroupList = pagedTable([
  { key: "kind", label: "Kind", format: kindBadge },
  { key: "service", label: "Service" },
  { key: "stage", label: "Where", format: where },
  { key: "error_type", label: "Error type" },
  { key: "message", label: "Latest message", class: "wrap" },
  { key: "occurrences", label: "Occurrences", class: "num", format: formatCount },
  { key: "calls", label: "Calls", class: "num", format: formatCount },
  { key: "last_seen_unix_nano", label: "Last seen", format: formatTimeNs },
], {
  rowAction: (r, ctx) =>
    ctx.reload({ group: r.group, groupLabel: [KIND_LABELS[r.kind], r.service, where(null, r), r.error_type].filter(Boolean).join(" · "), offset: 0 }),
});

RENDER.error_groups = (body, data, ctx) => (ctx.page.group ? errorOccurrences : errorGroupList)(body, data, ctx);

RENDER.conversations_below_threshold = pagedTable([
  { key: "time_unix_nano", label: "Started", format: formatTimeNs },
  { key: "service", label: "Service" },
  { key: "call_id", label: "Call", class: "mono" },
  { key: "room_name", label: "Room" },
  { key: "turns", label: "Turns", class: "num" },
  { key: "duration_ms", label: "Duration", class: "num", format: formatMs },
], { rowHref: (r) => `/calls/${r.trace_id}` });


RENDER.slowest_turns = pagedTable([
  { key: "response_ms", label: "Response", class: "num", format: formatMs },
  { key: "dominant_stage", label: "Longest stage", format: (v, r) => (v ? `${REPLY_STAGE_NAMES[v] ?? v} ${formatMs(r[`${v}_ms`])}` : "–") },
  { key: "time_unix_nano", label: "Time", format: formatTimeNs },
  { key: "service", label: "Service" },
  { key: "agent", label: "Agent class" },
  { key: "end_of_turn_ms", label: "End of turn", class: "num", format: formatMs },
  { key: "transcription_ms", label: "Transcription", class: "num", format: formatMs },
  { key: "llm_ttft_ms", label: "LLM TTFT", class: "num", format: formatMs },
  { key: "tts_ttfb_ms", label: "TTS TTFB", class: "num", format: formatMs },
  { key: "tool_round_ms", label: "Tool round", class: "num", format: formatMs, title: "a reply that called tools: from its first LLM step's start to its last's" },
  { key: "user_text", label: "Caller said", class: "wrap" },
], { rowHref: (r) => `/calls/${r.trace_id}?turn=${r.span_id}` });

const SEVERITIES = [["0", "All severities"], ["9", "INFO+"], ["13", "WARN+"], ["17", "ERROR+"]];

RENDER.logs = pagedTable([
  { key: "time_unix_nano", label: "Time", format: formatTimeNs },
  { key: "service", label: "Service" },
  { key: "severity_text", label: "Severity", format: (v) => el("span", { class: `sev sev-${String(v).toLowerCase()}`, text: v || "–" }) },
  { key: "body", label: "Body", class: "wrap" },
  { key: "trace_id", label: "Trace", class: "mono", format: (v) => (v ? v.slice(0, 12) : "") },
], {
  rowHref: (r) => `/logs/${r.log_id}`,
  // a search or a severity that matches nothing says so: the range itself may hold logs
  emptyText: (ctx) => {
    const severity = SEVERITIES.find(([v]) => v === String(ctx.page.min_severity ?? "0"));
    const atLeast = severity && severity[0] !== "0" ? ` at ${severity[1]}` : "";
    if (ctx.page.text) return `No log${atLeast} in this time range contains “${ctx.page.text}”.`;
    return atLeast ? `No log${atLeast} in this time range.` : "";
  },
  controls: (ctx) => {
    const severity = el("select", { "aria-label": "Minimum severity", onchange: (e) => ctx.reload({ offset: 0, min_severity: e.target.value }) },
      SEVERITIES.map(([v, label]) => el("option", { value: v, text: label, selected: String(ctx.page.min_severity ?? "0") === v })));
    const search = el("input", { type: "search", placeholder: "Search log bodies", value: ctx.page.text ?? "", "aria-label": "Search log bodies" });
    search.addEventListener("change", () => ctx.reload({ offset: 0, text: search.value }));
    return el("div", { class: "panel-controls" }, severity, search);
  },
});

// What the model filter keeps in each panel (the panel list's model_filter).
const MODEL_FILTER_NOTES = {
  requests: "model filter: requests to these models",
  calls: "model filter: calls that used these models",
  "requests and calls": "model filter: requests to these models; turns and calls that used them",
  "": "not filtered by model",
};

const TABLE_PANELS = new Set(["error_groups", "conversations_below_threshold", "slowest_turns", "logs", "cost_by"]);

// The ⓘ beside a panel's title: an inline SVG (no font needs the glyph), a button (keyboard focus
// shows the description, a tap toggles it, hovering shows it) with the description as its tooltip.
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function infoIcon(name, description) {
  const id = `info-${name}`;
  const icon = svg(
    "svg",
    { viewBox: "0 0 16 16", width: "14", height: "14", "aria-hidden": "true", focusable: "false" },
    svg("circle", { cx: "8", cy: "8", r: "7", fill: "none", stroke: "currentColor", "stroke-width": "1.4" }),
    svg("circle", { cx: "8", cy: "4.6", r: "1.1", fill: "currentColor" }),
    svg("rect", { x: "7.1", y: "6.8", width: "1.8", height: "5.4", rx: "0.6", fill: "currentColor" }),
  );
  const button = el("button", { type: "button", class: "info", "aria-label": "About this panel", "aria-describedby": id, "aria-expanded": "false" }, icon);
  const tip = el("span", { class: "info-tip", role: "tooltip", id, text: description });
  const wrap = el("span", { class: "info-wrap" }, button, tip);
  // kept inside the window: a panel at the right edge opens its tooltip leftwards
  const place = () => {
    tip.style.left = "";
    const box = tip.getBoundingClientRect();
    const over = box.right - (document.documentElement.clientWidth - 8);
    if (box.width && over > 0) tip.style.left = `${tip.offsetLeft - over}px`;
  };
  const setOpen = (open) => {
    wrap.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
    if (open) place();
  };
  // hovering with a mouse shows it too (not a touch: a tap would leave it "hovered" after closing it)
  wrap.addEventListener("pointerenter", (e) => {
    if (e.pointerType !== "mouse") return;
    wrap.classList.add("hover");
    place();
  });
  wrap.addEventListener("pointerleave", () => wrap.classList.remove("hover"));
  // focus by keyboard opens it; a pointer's focus does not (its click toggles instead)
  let pointer = false;
  button.addEventListener("pointerdown", () => {
    pointer = true;
  });
  button.addEventListener("focus", () => {
    if (!pointer) setOpen(true);
  });
  button.addEventListener("click", () => {
    setOpen(!wrap.classList.contains("open"));
    pointer = false;
  });
  button.addEventListener("blur", () => setOpen(false));
  button.addEventListener("keydown", (e) => {
    if (e.key === "Escape") setOpen(false);
  });
  return wrap;
}

// A range in which no panel has data while data is stored elsewhere says when the latest data is, with
// a link to a range that holds it: the shortest preset that reaches back to it, or the same length of
// time ending there when it is older than the presets go.
const PRESETS_S = [
  ["now-1h", 3600],
  ["now-6h", 6 * 3600],
  ["now-24h", 86400],
  ["now-7d", 7 * 86400],
  ["now-30d", 30 * 86400],
];

function rangeHolding(newestNs, range) {
  const ageS = (Date.now() - newestNs / 1e6) / 1000;
  const lengthS = (range.end_unix_nano - range.start_unix_nano) / 1e9;
  const preset = ageS >= 0 ? PRESETS_S.find(([, s]) => s > ageS + 60 && s >= lengthS) : null;
  if (preset) return { start: preset[0], end: "now" };
  const endMs = Math.ceil(newestNs / 1e6 / 60000) * 60000 + 60000;
  return { start: new Date(endMs - lengthS * 1000).toISOString(), end: new Date(endMs).toISOString() };
}

async function latestDataHint(grid, state, range) {
  let extent;
  try {
    extent = await getJSON("/api/v1/data/extent");
  } catch {
    return;
  }
  const newest = extent.newest_unix_nano;
  // nothing stored (the connect guide's case), or data inside the range that the filters leave out
  if (newest === null || (newest >= range.start_unix_nano && newest <= range.end_unix_nano)) return;
  const target = rangeHolding(newest, range);
  const href = `/?${stateParams({ ...state, ...target }, { forPage: true })}`;
  grid.prepend(
    el(
      "div",
      { class: "panel latest-data", role: "status", dataset: { newest: String(newest) } },
      "No data in this time range. The latest data is at ",
      el("time", { datetime: new Date(newest / 1e6).toISOString(), text: formatTimeNs(newest).slice(0, 19) }),
      ". ",
      el("a", { href, class: "latest-data-link", text: target.end === "now" ? `Show ${PRESET_LABELS[target.start]}` : "Show the time around it" }),
    ),
  );
}

const PRESET_LABELS = { "now-1h": "the last hour", "now-6h": "the last 6 hours", "now-24h": "the last 24 hours", "now-7d": "the last 7 days", "now-30d": "the last 30 days" };

export function renderDashboard(root, state, panels) {
  const byName = new Map(panels.map((p) => [p.name, p]));
  const grid = el("div", { class: "dashboard" });
  const loaders = [];
  let range = null; // the range the panels ran over (as the server resolved it)
  for (const [kind, names] of LAYOUT) {
    const row = el("div", { class: `grid grid-${kind}` });
    for (const name of names) {
      const meta = byName.get(name);
      if (!meta) continue;
      const body = el("div", { class: "panel-body" });
      const section = el(
        "section",
        { class: "panel", dataset: { panel: name, state: "loading" } },
        el(
          "header",
          {},
          el("h2", { text: meta.title }),
          infoIcon(name, meta.description),
          state.models.length ? el("span", { class: "model-filter-note", text: MODEL_FILTER_NOTES[meta.model_filter] ?? MODEL_FILTER_NOTES[""] }) : null,
        ),
        body,
      );
      row.append(section);
      const page = { limit: name === "logs" ? 25 : 10, offset: 0, min_severity: "0", text: "", group: "", by: "" };
      const load = async (change = {}) => {
        Object.assign(page, change);
        section.dataset.state = "loading";
        delete section.dataset.error;
        if (!body.childElementCount) body.append(el("div", { class: "loading", text: "Loading…" }));
        const params = stateParams(state);
        if (TABLE_PANELS.has(name)) {
          params.set("limit", page.limit);
          params.set("offset", page.offset);
        }
        if (name === "logs") {
          params.set("min_severity", page.min_severity);
          if (page.text) params.set("text", page.text);
        }
        // an error group's occurrences come from error_records
        const source = name === "error_groups" && page.group ? "error_records" : name;
        if (source === "error_records") params.set("group", page.group);
        if (page.by) params.set("by", page.by);
        try {
          const data = await getJSON(`/api/v1/panels/${source}`, params);
          await chartsReady();
          range = data.range;
          const filled = RENDER[name](body, data, { page, reload: load, state });
          if (filled === false) clear(body, el("div", { class: "empty", text: "No data in this time range." }));
          section.dataset.state = filled === true ? "ready" : "empty";
        } catch (err) {
          clear(
            body,
            el("div", { class: "error" }, `Could not load this panel: ${err.message} `, el("button", { text: "Retry", onclick: () => load() })),
          );
          section.dataset.state = "error";
          section.dataset.error = err.message;
        }
      };
      loaders.push(load);
    }
    grid.append(row);
  }
  clear(root, grid);
  return async () => {
    grid.querySelector(".latest-data")?.remove();
    grid.querySelector(".all-failed")?.remove();
    grid.classList.remove("failed");
    await Promise.all(loaders.map((load) => load()));
    const sections = [...grid.querySelectorAll("section.panel")];
    const states = sections.map((section) => section.dataset.state);
    if (range && states.length && states.every((s) => s === "empty")) await latestDataHint(grid, state, range);
    // every panel refused for one reason (a range that ends before it starts, storage down): say it
    // once, above the panels, not once per panel
    const reasons = new Set(sections.map((section) => section.dataset.error));
    if (states.length && states.every((s) => s === "error") && reasons.size === 1) {
      grid.classList.add("failed");
      grid.prepend(el("div", { class: "panel error all-failed", text: `No panel could load: ${[...reasons][0]}` }));
    }
  };
}
