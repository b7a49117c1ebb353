// One call: who, when and what it used; a timeline of every turn on one time axis (user speaking, end of
// turn, transcription, LLM with its time to first token, tools, TTS with its time to first byte, agent
// speaking, interruptions); the transcript turn by turn with each turn's latency stages; errors and logs.
// /calls/<id>?turn=<n or span id> scrolls to and marks one turn; ?q=<words> (a search that found the call)
// marks those words in the transcript and scrolls to the first turn that says most of them.
import { getJSON, mediaURL } from "../api.js";
import { clear, el, table } from "../dom.js";
import { countOf, formatCount, formatMs, formatTimeNs, formatUsage, formatUSD, REPLY_STAGES, STAGE_NAMES } from "../format.js";

const FLAG_TEXT = { negative: "negative: a clock bug", absurd: "over 30 s: a clock bug", missing: "missing" };

const seconds = (v) => (v === null || v === undefined ? "–" : formatMs(v * 1000));

// Words as the call search matches them (ClickHouse's tokens(): lowercase, split at ASCII characters
// that are not letters or digits; any other character is part of a word).
const wordsOf = (text) => (text || "").toLowerCase().split(/[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/).filter(Boolean);

// Text with the searched words in <mark> (as text nodes: what was said is never read as HTML).
const marked = (text, words) => (words.size ? text.split(/([^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+)/).map((part) => (words.has(part.toLowerCase()) ? el("mark", { text: part }) : part)) : text);

function backToCalls() {
  const qs = sessionStorage.getItem("lkd.calls") ?? "";
  return el("a", { class: "back", href: `/calls${qs}`, text: "← Calls" });
}

function tile(label, value, sub) {
  return el("div", { class: "tile" }, el("div", { class: "tile-value", text: value }), el("div", { class: "tile-label", text: label }), sub ? el("div", { class: "tile-sub", text: sub }) : null);
}

// The slowest valid response of the call, the stage that took longest in it, and a link to that turn.
function slowest(call) {
  const valid = call.turns.filter((t) => t.response_s !== null && !t.response_flag);
  if (!valid.length) return null;
  const turn = valid.reduce((a, b) => (b.response_s > a.response_s ? b : a));
  const stage = REPLY_STAGES.find(([key]) => key === turn.dominant_stage);
  return el(
    "p",
    { class: "call-slowest" },
    "Slowest response: ",
    el("a", { href: `?turn=${turn.index}`, id: "slowest-turn", text: `turn ${turn.index}, ${seconds(turn.response_s)}` }),
    stage ? ` · longest stage: ${stage[1]} ${seconds(turn.stages[turn.dominant_stage])}` : "",
  );
}

function header(call) {
  const r = call.record;
  // one agent has up to three names (its service, its dispatch name, the Agent class of each reply):
  // each part says which it is
  const parts = r
    ? [
        ["service", r.service, "the worker's service.name"],
        ["agent", r.agent_name || r.assistant_id, r.agent_name ? "the agent name the job was dispatched to" : "the assistant id"],
        ["user", r.user_email, "the caller"],
        ["room", r.room_name, "the LiveKit room"],
      ].filter(([, value]) => value)
    : [];
  const who = r
    ? parts.flatMap(([label, value, title], i) => [i ? " · " : "", el("span", { class: "who-part", title, dataset: { part: label } }, `${label} `, el("span", { class: "who-value", text: value }))])
    : ["not settled yet: the call's record appears once its session span is stored"];
  // the call's start as the call list shows it (its record's), else its first span's
  const startNs = r && r.started_at ? Date.parse(r.started_at) * 1e6 : call.origin_unix_nano;
  const when = `${formatTimeNs(startNs)} · ${seconds(r ? r.call_duration_s : call.duration_s)}`;
  const tiles = r
    ? [
        tile("Turns", formatCount(r.turns), `${r.responses} timed response${r.responses === 1 ? "" : "s"}`),
        tile("Failures", formatCount(r.failures), `failed after retries · ${r.recovered_requests} recovered${r.tool_errors ? ` · ${countOf(r.tool_errors, "tool error")}` : ""}`),
        tile("Response p50 / slowest", `${seconds(r.response_p50_s)} / ${seconds(r.response_max_s)}`, r.flagged_latencies ? `${r.flagged_latencies} flagged` : "no flagged latencies"),
        tile("LLM tokens", formatCount(r.total_llm_tokens), `in text ${formatCount(r.llm_input_text_tokens)} · audio ${formatCount(r.llm_input_audio_tokens)} · cached ${formatCount(r.llm_input_cached_text_tokens + r.llm_input_cached_audio_tokens)} · out ${formatCount(r.llm_output_text_tokens + r.llm_output_audio_tokens)}`),
        tile("TTS", `${formatCount(r.tts_characters)} chars`, `${seconds(r.tts_audio_duration)} of audio`),
        tile("STT", seconds(r.stt_audio_duration), "of audio transcribed"),
        tile("Interruptions", formatCount(r.interruptions), r.close_reason ? `closed: ${r.close_reason}` : ""),
        tile("Cost", formatUSD(r.cost_usd), r.unpriced_models.length ? `+ unpriced usage of ${r.unpriced_models.length} model(s)` : "itemised below"),
      ]
    : [];
  return el(
    "div",
    {},
    el(
      "div",
      { class: "trace-head" },
      backToCalls(),
      el("h1", { text: `Call ${call.call_id}` }),
      el("span", { class: "muted", id: "call-when", text: when }),
      call.trace_id
        ? el("a", { class: "trace-link", id: "raw-trace", href: `/traces/${call.trace_id}`, text: `Raw trace (${call.span_count} spans)` })
        : el("span", { class: "muted", id: "raw-trace", text: "no trace: the worker sent no spans for this call" }),
    ),
    el("p", { class: "muted call-who" }, who),
    r && (r.outcome || r.tags.length || r.evaluations.length || r.simulated)
      ? el(
          "p",
          { class: "call-outcome" },
          r.simulated ? el("span", { class: "badge simulated", title: "a LiveKit agent simulation's call: left out of production lists, usage and cost", text: "simulated" }) : null,
          r.outcome ? el("span", { class: `badge outcome-${r.outcome}`, text: r.outcome }) : null,
          r.outcome_reason ? ` ${r.outcome_reason}` : "",
          r.tags.map((t) => el("span", { class: "badge tag", text: t })),
          r.evaluations.map((e) => el("span", { class: `badge verdict verdict-${e.split(":").pop()}`, title: "LLM judge verdict", text: e })),
        )
      : null,
    tiles.length ? el("div", { class: "tiles call-tiles" }, tiles) : null,
    slowest(call),
  );
}

// The call's recording (uploaded with its session): a player aligned with the timeline; each turn's
// play button seeks to it.
function recording(call) {
  if (!call.audio) {
    return el("p", { class: "muted call-audio-none", text: "No recording: audio comes with livekit-agents' session upload (LIVEKIT_OBSERVABILITY_URL, recording on)." });
  }
  const player = el("audio", { id: "call-audio", controls: true, preload: "metadata" });
  mediaURL(call.audio.url)
    .then((src) => {
      player.src = src;
    })
    .catch((err) => player.replaceWith(el("p", { class: "error", text: `Could not load the recording: ${err.message}` })));
  return el(
    "section",
    { class: "panel call-audio" },
    el("header", {}, el("h2", { text: "Recording" }), el("span", { class: "muted", text: `${seconds(call.audio.duration_s)} · ${(call.audio.bytes / 1e6).toFixed(1)} MB · ` }), el("a", { href: call.audio.url, download: "", text: "download" })),
    player,
  );
}

export function seekTo(call, turn) {
  const player = document.querySelector("#call-audio");
  if (!player || !call.audio) return;
  player.currentTime = Math.max(0, turn.start_s - call.audio.offset_s);
  player.play().catch(() => {});
}

function timeline(call) {
  const total = Math.max(call.duration_s, 0.001);
  const pct = (s) => `${Math.max(0, Math.min(100, (s / total) * 100))}%`;
  const lanes = call.lanes.filter((lane) => call.timeline.some((s) => s.lane === lane));
  const rows = lanes.map((lane) => {
    const track = el("div", { class: "tl-track" });
    for (const seg of call.timeline.filter((s) => s.lane === lane)) {
      const width = Math.max(((seg.end_s - seg.start_s) / total) * 100, 0.25);
      const tip = `turn ${seg.turn} · ${seg.label} · ${seconds(seg.end_s - seg.start_s)} (at ${seg.start_s.toFixed(2)} s)` + (seg.mark_s !== null ? ` · first ${seg.lane === "LLM" ? "token" : "byte"} after ${seconds(seg.mark_s - seg.start_s)}` : "") + (seg.error ? ` · failed: ${seg.error}` : "");
      const a = el("a", {
        class: `tl-seg lane-${lane.replace(/\W+/g, "-")} ${seg.error ? "failed" : ""}`,
        href: `/traces/${call.trace_id}?span=${seg.span_id}`,
        title: tip,
        "aria-label": tip,
        style: `left:${pct(seg.start_s)};width:${width}%`,
        dataset: { turn: seg.turn },
      });
      track.append(a);
      if (seg.mark_s !== null) track.append(el("span", { class: "tl-mark", style: `left:${pct(seg.mark_s)}`, title: tip }));
    }
    for (const turn of call.turns) {
      if (lane === "agent" && turn.interrupted) {
        const at = turn.end_s;
        track.append(el("span", { class: "tl-interrupt", style: `left:${pct(at)}`, title: `turn ${turn.index}: the caller cut the agent off${turn.heard_share !== null ? ` (${Math.round(turn.heard_share * 100)}% heard)` : ""}` }));
      }
    }
    return el("div", { class: "tl-row" }, el("div", { class: "tl-lane", text: lane }), track);
  });
  const axis = el("div", { class: "tl-row tl-axis" }, el("div", { class: "tl-lane" }), el("div", { class: "tl-track" }, call.turns.map((t) => el("a", { class: "tl-turn", href: `?turn=${t.index}`, style: `left:${pct(t.start_s)}`, text: `T${t.index}`, title: `turn ${t.index}` }))));
  return el(
    "section",
    { class: "panel call-timeline" },
    el("header", {}, el("h2", { text: "Timeline" }), el("span", { class: "muted", title: "from the call's first span to its last; the call's duration above is its session's", text: `spans over ${seconds(call.duration_s)} · ${countOf(call.turns.length, "turn")} · hover a segment for its numbers, click it for its span` })),
    call.timeline.length ? [axis, ...rows] : el("p", { class: "empty", text: "No turn spans in this call." }),
  );
}

function stageChips(turn) {
  const chips = [];
  if (turn.response_s !== null || turn.response_flag) {
    const flagged = turn.response_flag;
    chips.push(el("span", { class: `chip response ${flagged ? "flagged" : ""}`, title: flagged ? `flagged: ${FLAG_TEXT[flagged]}` : "response latency: end of the user's speech to the agent's first audio", text: `response ${seconds(turn.response_s)}${flagged ? " ⚑" : ""}` }));
  } else if (!turn.spoke) {
    chips.push(el("span", { class: "chip muted", text: "no audio played" }));
  }
  for (const [key, label] of REPLY_STAGES) {
    const value = turn.stages[key];
    if (value === null || value === undefined) continue;
    const flag = turn.flags[key];
    const dominant = turn.dominant_stage === key;
    chips.push(el("span", { class: `chip ${dominant ? "dominant" : ""} ${flag ? "flagged" : ""}`, dataset: { stage: key }, title: flag ? `flagged: ${FLAG_TEXT[flag]}` : dominant ? "the longest stage of this turn" : "", text: `${label} ${seconds(value)}${flag ? " ⚑" : ""}` }));
  }
  if (turn.interrupted) {
    const heard = turn.heard_share !== null ? ` · ${Math.round(turn.heard_share * 100)}% heard` : turn.playout_position_s !== null ? ` · ${seconds(turn.playout_position_s)} played` : "";
    chips.push(el("span", { class: "chip interrupted", text: `interrupted${turn.interruption_source ? ` (${turn.interruption_source})` : ""}${heard}` }));
  }
  return el("div", { class: "chips" }, chips);
}

const SOURCES = {
  spans: "what was said, from the call's spans",
  chat_history: "from the agent's chat history (no spans: latencies as the framework measured them)",
  "spans+chat_history": "what was said from the agent's chat history, latencies from the call's spans",
};

function transcript(call, words) {
  const noContent = "not captured (content capture is off: the agent ran with allow_pii=False or without recording text)";
  const turns = call.turns.map((turn) => {
    const said = (text, who) => el("div", { class: `said ${who}` }, el("span", { class: "who", text: who === "user" ? "Caller" : turn.agent || "Agent", title: who === "user" ? undefined : "the Agent class that replied" }), el("span", { class: text ? "text" : "text muted" }, text ? marked(text, words) : call.content_captured ? "(nothing)" : noContent));
    return el(
      "article",
      { class: "turn", id: `turn-${turn.index}`, dataset: { spanId: turn.span_id, turn: turn.index } },
      el(
        "div",
        { class: "turn-head" },
        el("a", { href: `?turn=${turn.index}`, class: "turn-no", text: `Turn ${turn.index}` }),
        el("span", { class: "muted", text: `at ${turn.start_s.toFixed(2)} s` }),
        call.audio ? el("button", { type: "button", class: "play-turn", title: "Play the recording from this turn", text: "▶", onclick: () => seekTo(call, turn) }) : null,
        stageChips(turn),
      ),
      turn.user_turn_span_id || turn.user_text ? said(turn.user_text, "user") : null,
      (turn.handoffs || []).map((agent) => el("div", { class: "handoff muted", text: `handed off to ${agent}` })),
      turn.tools.map((tool) =>
        el(
          "div",
          { class: `tool ${tool.is_error ? "failed" : ""}` },
          tool.span_id ? el("a", { href: `/traces/${call.trace_id}?span=${tool.span_id}`, text: `tool ${tool.name}` }) : el("span", { text: `tool ${tool.name}` }),
          el("span", { class: "muted", text: `${tool.duration_s !== null ? ` · ${seconds(tool.duration_s)}` : ""}${tool.is_error ? " · failed" : ""}` }),
          el("div", { class: "mono", text: `arguments: ${tool.arguments || (call.content_captured ? "(none)" : "not captured")}` }),
          el("div", { class: "mono", text: `result: ${tool.output || (call.content_captured ? "(none)" : "not captured")}` }),
        ),
      ),
      said(turn.agent_text, "agent"),
      !turn.spoke && turn.agent_text ? el("p", { class: "note", text: "This reply was never played to the caller." }) : null,
      turn.errors.map((e) =>
        el(
          "div",
          { class: e.recovered ? "turn-error recovered" : "error turn-error", title: e.recovered ? "a retry succeeded: not a failure of the call" : "failed" },
          el("a", { href: `/traces/${call.trace_id}?span=${e.span_id}`, text: e.name }),
          e.recovered ? ` (recovered by a retry): ${e.message}` : `: ${e.message}`,
        ),
      ),
    );
  });
  return el(
    "section",
    { class: "panel call-transcript" },
    el("header", {}, el("h2", { text: "Transcript" }), el("span", { class: "muted transcript-source", text: SOURCES[call.transcript_source] || "" })),
    call.content_captured ? null : el("p", { class: "note content-off", text: `What was said is ${noContent}. Latencies, tools and errors are still shown.` }),
    turns.length ? turns : el("p", { class: "empty", text: "No turns." }),
  );
}

const PURPOSES = { call: "", judge: "evaluation judge: not production", probe: "recovery probe: not production" };

// What the call cost, itemised per model and what was billed (the same lines the cost panels add up).
function cost(call) {
  const r = call.record;
  if (!r) return null;
  const lines = r.cost_lines;
  const items = Object.entries(r.cost_breakdown).filter(([, v]) => v);
  return el(
    "section",
    { class: "panel call-cost" },
    el("header", {}, el("h2", { text: `Cost ${formatUSD(r.cost_usd)}` }), el("span", { class: "muted", text: "priced with the prices in force when the call started" })),
    lines.length
      ? table(lines, [
          { key: "stage", label: "Stage", format: (v) => STAGE_NAMES[v] ?? v },
          { key: "model", label: "Model", format: (v, l) => el("span", {}, [l.provider, v].filter(Boolean).join(" / ") || "(unknown)", PURPOSES[l.purpose] ? el("span", { class: "muted", text: ` · ${PURPOSES[l.purpose]}` }) : "") },
          { key: "usage", label: "Usage", class: "wrap", format: formatUsage },
          { key: "cost_usd", label: "Cost", class: "num", format: (v, l) => (l.priced ? formatUSD(v) : el("span", {}, formatUSD(v), el("a", { class: "badge unpriced", href: `/prices?model=${encodeURIComponent(l.model)}`, text: "+ unpriced" }))) },
          { key: "price_source", label: "Price", format: (v) => v || "none" },
        ])
      : el("p", { class: "empty", text: "No usage on this call." }),
    items.length ? el("p", { class: "note cost-items" }, items.map(([k, v]) => `${k.replace(/_/g, " ")} ${formatUSD(v)}`).join(" · ")) : null,
    r.cost_excluded_usd ? el("p", { class: "note", text: `Not production (judges, probes): ${formatUSD(r.cost_excluded_usd)}, not in the call's cost.` }) : null,
  );
}

function errorsAndLogs(call) {
  return el(
    "section",
    { class: "panel call-logs" },
    el("header", {}, el("h2", { text: `Failed spans, tool errors and error logs (${call.errors.length})` })),
    call.errors.length ? el("p", { class: "note", text: "Every failure, including attempts a retry recovered (the Failures tile counts only what failed after retries), and every tool that returned an error." }) : null,
    call.errors.length
      ? table(call.errors, [
          { key: "name", label: "Where", format: (v, e) => (e.kind === "log" ? `error log (${v})` : e.kind === "tool" ? `tool ${v}` : v) },
          {
            key: "recovered",
            label: "Outcome",
            // a span failed or a retry recovered it; a log only says something went wrong
            format: (v, e) => (e.kind === "log" ? "–" : e.kind === "tool" ? el("span", { class: "badge kind-tool_error", text: "tool error" }) : v ? el("span", { class: "badge kind-recovered", text: "recovered" }) : el("span", { class: "badge kind-failure", text: "failed" })),
          },
          { key: "message", label: "Message", class: "wrap" },
        ], { rowHref: (e) => (e.kind === "log" ? `/logs/${e.log_id}` : `/traces/${call.trace_id}?span=${e.span_id}`) })
      : el("p", { class: "empty", text: "No errors." }),
    el("header", { class: "section-gap" }, el("h2", { text: `Logs (${call.logs.length})` })),
    call.logs.length
      ? table(call.logs, [
          { key: "time_unix_nano", label: "Time", format: formatTimeNs },
          { key: "severity_text", label: "Severity" },
          { key: "body", label: "Body", class: "wrap" },
        ], { rowHref: (g) => `/logs/${g.log_id}` })
      : el("p", { class: "empty", text: "No logs for this call." }),
  );
}

// The turn a search landed on: the first that says the most of its words (none: no turn said any).
function foundTurn(call, words) {
  let best = null;
  let most = 0;
  for (const turn of call.turns) {
    const said = new Set(wordsOf(`${turn.user_text || ""} ${turn.agent_text || ""}`));
    const n = [...words].filter((w) => said.has(w)).length;
    if (n > most) [best, most] = [turn, n];
  }
  return best;
}

// One turn marked in the transcript and on the timeline, and scrolled to.
function markTurn(root, turn) {
  const node = root.querySelector(`#turn-${turn.index}`);
  node.classList.add("linked");
  node.scrollIntoView({ block: "center" });
  root.querySelectorAll(`.tl-seg[data-turn="${turn.index}"]`).forEach((s) => s.classList.add("linked"));
}

export async function renderCall(root, callId, turnParam, searched) {
  clear(root, el("div", { class: "loading", text: "Loading call…" }));
  let call;
  try {
    call = await getJSON(`/api/v1/calls/${encodeURIComponent(callId)}`);
  } catch (err) {
    if (err.status !== 401) clear(root, el("div", { class: "error page-error", text: `Could not load call ${callId}: ${err.message}` }));
    return;
  }
  const words = new Set(turnParam ? [] : wordsOf(searched));
  clear(root, el("div", { class: "call-view", dataset: { callId: call.call_id, traceId: call.trace_id } }, header(call), recording(call), timeline(call), transcript(call, words), cost(call), errorsAndLogs(call)));
  const found = words.size ? foundTurn(call, words) : null;
  if (found) markTurn(root, found);
  if (turnParam) {
    const turn = call.turns.find((t) => String(t.index) === turnParam || t.span_id === turnParam);
    if (!turn) {
      root.querySelector(".call-transcript header").after(el("p", { class: "error", text: `This call has no turn ${turnParam}.` }));
    } else {
      markTurn(root, turn);
    }
  }
  document.body.dataset.loaded = "true";
}
