// The first run: nothing is stored yet, so instead of empty panels the dashboard shows where this
// server takes telemetry, copy-paste snippets for a LiveKit agent, and live counters of what arrived.
import { getJSON } from "../api.js";
import { clear, el } from "../dom.js";
import { formatCount } from "../format.js";

const POLL_MS = 2000;

// The server's address as an agent would use it: the name this browser reached it by (a bind address
// such as 0.0.0.0 is no address to send to), with the server's own ports.
function hostName(info) {
  const bound = info.host;
  if (!bound || bound === "0.0.0.0" || bound === "::" || bound === "[::]") return location.hostname;
  return bound.includes(":") && !bound.startsWith("[") ? `[${bound}]` : bound;
}

function copyButton(pre) {
  const button = el("button", { type: "button", class: "copy", text: "Copy" });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      button.textContent = "Copied";
    } catch {
      // no clipboard (a page not served over https or from localhost): select the text to copy by hand
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
  return button;
}

function snippet(name, title, note, text) {
  const pre = el("pre", { class: "snippet", dataset: { snippet: name } }, text);
  return el("div", { class: "connect-way" }, el("h3", {}, title), note ? el("p", { class: "muted" }, note) : null, el("div", { class: "snippet-box" }, pre, copyButton(pre)));
}

function counter(signal, label) {
  return el(
    "div",
    { class: "tile", dataset: { signal } },
    el("div", { class: "tile-value", dataset: { count: "received" }, text: "0" }),
    el("div", { class: "tile-label", text: label }),
    el("div", { class: "tile-sub", dataset: { count: "detail" }, text: "none yet" }),
  );
}

const SIGNALS = [
  ["traces", "spans received"],
  ["logs", "log records received"],
  ["metrics", "metric points received"],
];

// onData: called when the user asks for the dashboard once data arrived.
export async function renderConnect(root, { onData }) {
  clear(root, el("div", { class: "loading", text: "Loading…" }));
  const info = await getJSON("/api/v1/connect");
  const host = hostName(info);
  const http = `http://${host}:${info.http_port}`;
  const grpc = info.grpc_port ? `http://${host}:${info.grpc_port}` : "";
  const keyNote = info.keys_required
    ? el(
        "p",
        { class: "note keys-note" },
        "This server requires API keys: give each exporter an ingest key (create one with ",
        el("code", { text: "livekit-dashboard keys create --name worker --role ingest" }),
        " or POST /api/v1/keys) as the header ",
        el("code", { text: "Authorization: Bearer <key>" }),
        ".",
      )
    : null;
  const headers = info.keys_required ? '\nexport OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20<ingest key>"' : "";
  const livekitNote = info.verifies_livekit_tokens
    ? "This server already checks the tokens of LiveKit API keys; start sessions with record=True."
    : "Give this server the worker's LiveKit key too (start it with the same LIVEKIT_API_KEY and LIVEKIT_API_SECRET) so it can check the worker's tokens, and start sessions with record=True.";
  const counters = el("div", { class: "tiles connect-counters" }, SIGNALS.map(([signal, label]) => counter(signal, label)));
  const arrived = el("p", { class: "connect-status muted", role: "status", text: "Waiting for the first data…" });
  const view = el(
    "section",
    { class: "panel connect" },
    el("h2", { text: "No telemetry yet: connect your LiveKit agents" }),
    el("p", {}, "Point your agents' OpenTelemetry exporters at this server. It listens on:"),
    el(
      "dl",
      { class: "kv endpoints" },
      el("dt", { text: "OTLP/HTTP" }),
      el("dd", { dataset: { endpoint: "http" } }, el("code", { text: http }), ` (${info.otlp_http_paths.join(", ")})`),
      el("dt", { text: "OTLP/gRPC" }),
      el("dd", { dataset: { endpoint: "grpc" } }, grpc ? el("code", { text: grpc }) : "disabled (--grpc-port 0)"),
    ),
    keyNote,
    snippet(
      "livekit",
      "One environment variable (livekit-agents, no code change)",
      livekitNote,
      `export LIVEKIT_OBSERVABILITY_URL=${http}\npython agent.py start`,
    ),
    snippet(
      "helper",
      "The setup helper (traces, metrics, logs and each call's usage)",
      'pip install "livekit-dashboard[agent]", then once per worker process:',
      `from livekit_dashboard.agent import setup_observability\n\nobservability = setup_observability("${http}", service_name="my-agent"${info.keys_required ? ', api_key="<ingest key>"' : ""})`,
    ),
    snippet(
      "opentelemetry",
      "Any OpenTelemetry exporter",
      "The standard variables, read by every OpenTelemetry SDK's OTLP exporters (for livekit-agents, also install the providers as docs/connect.md shows):",
      grpc
        ? `export OTEL_EXPORTER_OTLP_ENDPOINT=${http}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf${headers}\n# or gRPC:\n# export OTEL_EXPORTER_OTLP_ENDPOINT=${grpc}\n# export OTEL_EXPORTER_OTLP_PROTOCOL=grpc`
        : `export OTEL_EXPORTER_OTLP_ENDPOINT=${http}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf${headers}`,
    ),
    el(
      "p",
      { class: "note" },
      "Each way in full, with what it sends: ",
      el("code", { text: "docs/connect.md" }),
      " in the livekit-dashboard source. Want to look around first? ",
      el("code", { text: "livekit-dashboard demo" }),
      " serves the same dashboard over generated calls.",
    ),
    el("h3", { text: "Received so far (since this server started)" }),
    counters,
    arrived,
  );
  clear(root, view);

  let timer = null;
  const poll = async () => {
    if (!view.isConnected) {
      clearInterval(timer);
      return;
    }
    let stats;
    try {
      stats = await getJSON("/api/v1/ingest/stats");
    } catch {
      return; // the next round tries again
    }
    let stored = 0;
    for (const [signal] of SIGNALS) {
      const counts = stats[signal] ?? { received: 0, stored: 0, rejected: 0 };
      const tile = counters.querySelector(`[data-signal=${signal}]`);
      tile.dataset.value = String(counts.received);
      tile.querySelector("[data-count=received]").textContent = formatCount(counts.received);
      tile.querySelector("[data-count=detail]").textContent = counts.received
        ? `${formatCount(counts.stored)} stored${counts.rejected ? ` · ${formatCount(counts.rejected)} rejected` : ""}`
        : "none yet";
      stored += counts.stored;
    }
    if (stored && !view.querySelector(".open-dashboard")) {
      arrived.textContent = "Data is arriving. ";
      arrived.classList.remove("muted");
      arrived.append(el("button", { type: "button", class: "open-dashboard", text: "Open the dashboard", onclick: () => onData() }));
    }
  };
  await poll();
  timer = setInterval(poll, POLL_MS);
}
