// Number, duration and time formatting shared by every view.

const UNITS = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "k"],
];

// A count and its noun, singular for exactly one: "1 call", "2.8k turns".
export function countOf(value, noun) {
  return `${formatCount(value)} ${noun}${Number(value) === 1 ? "" : "s"}`;
}

export function formatCount(value) {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n)) return "–";
  const abs = Math.abs(n);
  for (const [size, suffix] of UNITS) {
    if (abs >= size) {
      const scaled = n / size;
      return `${scaled >= 100 ? scaled.toFixed(0) : scaled.toFixed(1).replace(/\.0$/, "")}${suffix}`;
    }
  }
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, "");
}

export function formatMs(value) {
  const ms = Number(value);
  if (value === null || value === undefined || !Number.isFinite(ms)) return "–";
  if (ms >= 60000) return `${(ms / 60000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10 || ms === 0) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatPercent(ratio) {
  const r = Number(ratio ?? 0);
  if (!Number.isFinite(r)) return "–";
  const pct = r * 100;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

// A local date and a local time to the minute, the parts of every time shown.
const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const localMinute = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;

// Nanoseconds since the epoch (a JSON number, so precise to ~µs) as local date and time.
export function formatTimeNs(ns) {
  const d = new Date(Number(ns) / 1e6);
  return `${localDay(d)} ${localMinute(d)}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

// A bucket of a chart, start to end, in the tables' format without seconds ("2026-11-28 00:00 – 06:00";
// the end's date only when it differs).
export function formatBucket(startMs, stepS) {
  const [a, b] = [new Date(startMs), new Date(startMs + stepS * 1000)];
  const endDay = localDay(b) === localDay(a) ? "" : `${localDay(b)} `;
  return `${localDay(a)} ${localMinute(a)} – ${endDay}${localMinute(b)}`;
}

// US dollars: cents above a dollar, more digits below (a call can cost a fraction of a cent).
export function formatUSD(value) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return "–";
  const abs = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  if (abs === 0) return "$0";
  if (abs >= 10000) return `${sign}$${formatCount(abs)}`;
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  // below a dollar, three significant digits: a column of call costs reads $0.0460 above $0.00985,
  // never $0.046 above $0.009846
  if (abs >= 0.000001) return `${sign}$${abs.toPrecision(3)}`;
  return `${sign ? ">-" : "<"}$0.000001`;
}

// The pipeline stages a model serves, as the cost views name them.
export const STAGE_NAMES = { llm: "LLM", realtime: "realtime", tts: "TTS", stt: "STT" };

// The stages of a response's latency, in the order they happen, as every view names them.
export const LATENCY_STAGES = [
  ["end_of_turn", "end of turn"],
  ["transcription", "transcription"],
  ["on_user_turn_completed", "on_user_turn_completed"],
  ["llm_ttft", "LLM TTFT"],
  ["tts_ttfb", "TTS TTFB"],
];
export const LATENCY_STAGE_NAMES = Object.fromEntries(LATENCY_STAGES);

// A reply's stages (the call page, the slowest responses): the latency stages and, for a reply that
// called tools, its tool round (its first LLM step's start to its last's).
export const REPLY_STAGES = [...LATENCY_STAGES, ["tool_round", "tool round"]];
export const REPLY_STAGE_NAMES = Object.fromEntries(REPLY_STAGES);

// A call's or a model's usage, as its non-zero components (in the API's COMPONENTS order when an array).
const COMPONENT_LABELS = {
  input_text: "text tokens in (uncached)",
  input_audio: "audio tokens in (uncached)",
  cached_text: "cached text tokens",
  cached_audio: "cached audio tokens",
  cache_write: "cache-write tokens",
  output_text: "text tokens out",
  output_audio: "audio tokens out",
  tts_characters: "TTS characters",
  tts_seconds: "of TTS audio",
  stt_seconds: "of STT audio",
};
const COMPONENT_ORDER = Object.keys(COMPONENT_LABELS);

export function formatUsage(usage) {
  // usage: {component: quantity} or an array in COMPONENT_ORDER
  const entries = Array.isArray(usage) ? COMPONENT_ORDER.map((c, i) => [c, usage[i]]) : Object.entries(usage ?? {});
  return entries
    .filter(([, q]) => q)
    .map(([c, q]) => `${c.endsWith("seconds") ? formatMs(q * 1000) : formatCount(q)} ${COMPONENT_LABELS[c] ?? c}`)
    .join(" · ");
}

export function formatValue(value, unit) {
  if (unit === "usd") return formatUSD(value);
  if (unit === "ms") return formatMs(value);
  if (unit === "ratio") return formatPercent(value);
  return formatCount(value);
}
