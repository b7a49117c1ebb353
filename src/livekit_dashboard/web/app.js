// Status page: ingest counters, trace lookup, newest logs. All telemetry text goes in via textContent.
const $ = (sel) => document.querySelector(sel);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${res.status} ${(await res.json()).detail ?? ""}`);
  return res.json();
}

async function refresh() {
  try {
    await getJSON("/healthz");
    $("#health").textContent = "storage ok";
    $("#health").className = "pill ok";
  } catch (err) {
    $("#health").textContent = `storage unavailable: ${err.message}`;
    $("#health").className = "pill bad";
  }
  const stats = await getJSON("/api/v1/ingest/stats");
  const body = $("#stats tbody");
  body.replaceChildren();
  for (const signal of ["traces", "logs", "metrics"]) {
    const row = document.createElement("tr");
    cell(row, signal);
    for (const key of ["received", "stored", "rejected"]) cell(row, String(stats[signal][key]));
    body.appendChild(row);
  }
  $("#queue").textContent = String(stats.queue_depth);
  const logs = await getJSON("/api/v1/logs?limit=20");
  const logBody = $("#logs tbody");
  logBody.replaceChildren();
  for (const log of logs.logs) {
    const row = document.createElement("tr");
    cell(row, new Date(Number(BigInt(log.timestamp_unix_nano) / 1000000n)).toISOString());
    cell(row, log.service_name);
    cell(row, log.severity_text);
    cell(row, log.body);
    logBody.appendChild(row);
  }
}

$("#trace-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = $("#trace-id").value.trim();
  try {
    const trace = await getJSON(`/api/v1/traces/${encodeURIComponent(id)}`);
    $("#trace-out").textContent = trace.spans
      .map((s) => `${s.name}  ${(s.duration_ns / 1e6).toFixed(1)} ms  ${s.status_code}`)
      .join("\n");
  } catch (err) {
    $("#trace-out").textContent = String(err.message);
  }
});

refresh();
setInterval(refresh, 10000);
