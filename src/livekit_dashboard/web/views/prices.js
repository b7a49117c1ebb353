// Prices: every model the calls used, the price in force for it (per unit of what it bills), where that
// price came from (the voice-prices catalogue, your prices file, or a price set here) and its history;
// unpriced models first. A super-admin key can set a price from a date on: the calls from that date are
// priced again. /prices?model=<name> marks one model and fills the form for it.
import { getJSON, sendJSON } from "../api.js";
import { clear, el, table } from "../dom.js";
import { formatUSD } from "../format.js";

// the usual billing unit of each component: USD per million tokens, per thousand characters, per minute
const SHOWN = [
  ["input_text", "input", 1e6, "/M tokens"],
  ["cached_text", "cached", 1e6, "/M tokens"],
  ["output_text", "output", 1e6, "/M tokens"],
  ["input_audio", "audio in", 1e6, "/M tokens"],
  ["cached_audio", "cached audio", 1e6, "/M tokens"],
  ["output_audio", "audio out", 1e6, "/M tokens"],
  ["cache_write", "cache write", 1e6, "/M tokens"],
  ["tts_characters", "TTS", 1e3, "/k chars"],
  ["tts_seconds", "TTS", 60, "/min"],
  ["stt_seconds", "STT", 60, "/min"],
];
const FIELDS = [
  ["input_mtok", "Input, $/M tokens"],
  ["cache_read_mtok", "Cached input, $/M tokens"],
  ["output_mtok", "Output, $/M tokens"],
  ["input_audio_mtok", "Audio input, $/M tokens"],
  ["cache_audio_read_mtok", "Cached audio input, $/M tokens"],
  ["output_audio_mtok", "Audio output, $/M tokens"],
  ["cache_write_mtok", "Cache write, $/M tokens"],
  ["input_kchars", "TTS, $/1000 characters"],
  ["output_audio_kseconds", "TTS, $/1000 s of audio"],
  ["input_audio_kseconds", "STT, $/1000 s of audio"],
];

// what each stage bills (a pipeline LLM has no audio tokens)
const STAGE_SHOWN = {
  llm: ["input_text", "cached_text", "output_text", "cache_write"],
  realtime: ["input_text", "cached_text", "output_text", "input_audio", "cached_audio", "output_audio"],
  tts: ["tts_characters", "tts_seconds"],
  stt: ["stt_seconds"],
};

function priceText(period, stage) {
  if (!period) return el("span", { class: "badge unpriced", text: "unpriced" });
  const usd = period.usd_per_unit;
  const shown = STAGE_SHOWN[stage] ?? SHOWN.map(([c]) => c);
  const parts = SHOWN.filter(([c]) => shown.includes(c) && usd[c] !== null && usd[c] !== undefined && usd[c] > 0).map(([c, label, per, unit]) => `${label} ${formatUSD(usd[c] * per)}${unit}`);
  return parts.join(" · ") || "free";
}

function current(model) {
  const now = Date.now();
  return [...model.periods].reverse().find((p) => Date.parse(p.effective_from) <= now) ?? null;
}

function form(data, wanted, status) {
  const model = data.models.find((m) => m.model === wanted);
  const input = (name, label, props = {}) => el("label", {}, label, el("input", { name, "aria-label": label, ...props }));
  const node = el(
    "form",
    { class: "price-form panel-controls", id: "price-form" },
    input("provider", "Provider", { value: model ? model.provider : "" }),
    input("model", "Model", { value: wanted ?? "", required: true }),
    input("effective_from", "From (UTC date)", { type: "date" }),
    FIELDS.map(([name, label]) => input(name, label, { type: "number", min: "0", step: "any" })),
    input("note", "Note", { placeholder: "negotiated rate, contract …" }),
    el("button", { type: "submit", text: "Set price" }),
  );
  node.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const [name, value] of new FormData(node)) {
      if (value === "") continue;
      body[name] = FIELDS.some(([f]) => f === name) ? Number(value) : value;
    }
    status.textContent = "Saving and pricing history again…";
    try {
      const done = await sendJSON("PUT", "/api/v1/prices", body);
      status.textContent = `Saved. Calls of ${done.repriced_models.join(", ") || "no model seen yet"} priced again.`;
      await renderPrices(document.querySelector("#main"), wanted, status.textContent);
    } catch (err) {
      status.textContent = err.status === 401 || err.status === 403 ? `Setting a price needs a super-admin key (${err.message}).` : `Could not save: ${err.message}`;
    }
  });
  return node;
}

export async function renderPrices(root, wanted, message = "") {
  let data;
  try {
    data = await getJSON("/api/v1/prices");
  } catch (err) {
    if (err.status !== 401) clear(root, el("div", { class: "error page-error", text: `Could not load prices: ${err.message}` }));
    return;
  }
  const models = [...data.models].sort((a, b) => Number(a.priced) - Number(b.priced) || a.key.localeCompare(b.key));
  const status = el("p", { class: "note", id: "price-status", text: message });
  clear(
    root,
    el(
      "div",
      { class: "prices-view" },
      el("div", { class: "trace-head" }, el("h1", { text: "Prices" }), el("span", { class: "muted", text: `catalogue: ${data.catalogue} · your prices win from their date on` })),
      el(
        "section",
        { class: "panel" },
        el("header", {}, el("h2", { text: "Models the calls used" })),
        models.length
          ? table(models, [
              { key: "stage", label: "Stage" },
              { key: "provider", label: "Provider", format: (v) => v || "(unknown)" },
              { key: "model", label: "Model", format: (v) => el("span", { class: v === wanted ? "linked" : "" }, v || "(unknown)") },
              { key: "periods", label: "Price in force", class: "wrap", format: (v, m) => priceText(current(m), m.stage) },
              { key: "periods", label: "Source", format: (v, m) => (current(m) ? `${current(m).source}: ${current(m).reference}` : "no price: add one below") },
              { key: "periods", label: "Since", format: (v, m) => (current(m) ? current(m).effective_from.slice(0, 10).replace("1970-01-01", "always") : "") },
              { key: "periods", label: "Changes", class: "num", format: (v) => String(Math.max(0, v.length - 1)) },
            ])
          : el("p", { class: "empty", text: "No calls yet: models appear here once calls using them are stored." }),
      ),
      el(
        "section",
        { class: "panel" },
        el("header", {}, el("h2", { text: "Your prices" })),
        data.overrides.length
          ? table(data.overrides, [
              { key: "provider", label: "Provider" },
              { key: "model", label: "Model" },
              { key: "effective_from", label: "From", format: (v) => v.slice(0, 10).replace("1970-01-01", "always") },
              { key: "source", label: "Set in" },
              { key: "note", label: "Note", class: "wrap" },
            ])
          : el("p", { class: "muted", text: "None: every price is the catalogue's." }),
        el("h3", { text: "Set a price" }),
        el("p", { class: "muted", text: "For a provider and model as listed above, from a date on (empty: always). Calls from that date on are priced again. Needs a super-admin key." }),
        form(data, wanted, status),
        status,
      ),
    ),
  );
  document.body.dataset.loaded = "true";
}
