// App shell: routing (/, /calls, /calls/<id>, /prices, /alerts, /traces/<id>, /logs/<id>), the header's time range, filters and
// auto-refresh, all kept in the URL so every view can be shared.
import { currentKey, forgetKey, getJSON, getKey, keyRemembered, readState, setKey, stateParams } from "./api.js";
import { disposeCharts } from "./charts.js";
import { clear, el } from "./dom.js";
import { renderCall } from "./views/call.js";
import { listParams, renderCalls } from "./views/calls.js";
import { renderConnect } from "./views/connect.js";
import { renderDashboard } from "./views/dashboard.js";
import { renderLog } from "./views/log.js";
import { renderAlerts } from "./views/alerts.js";
import { renderPrices } from "./views/prices.js";
import { renderTrace } from "./views/trace.js";

const PRESETS = [
  ["now-15m", "Last 15 minutes"],
  ["now-1h", "Last hour"],
  ["now-6h", "Last 6 hours"],
  ["now-24h", "Last 24 hours"],
  ["now-7d", "Last 7 days"],
  ["now-30d", "Last 30 days"],
];
const REFRESH = [
  ["off", "Auto-refresh off"],
  ["10s", "Every 10 s"],
  ["30s", "Every 30 s"],
  ["1m", "Every minute"],
];
const REFRESH_MS = { "10s": 10000, "30s": 30000, "1m": 60000 };

const main = document.querySelector("#main");
const controls = document.querySelector("#controls");
let panels = null;
let refreshTimer = null;
let reloadDashboard = null;

// The header's range and filters apply to the view they are on: the dashboard or the call list (which
// keeps its own search and filters, back on its first page).
function setState(change) {
  const state = { ...readState(), ...change };
  const qs = stateParams(state, { forPage: true });
  const onCalls = location.pathname === "/calls";
  if (onCalls) {
    const own = listParams();
    for (const key of ["q", "agent", "user", "has_errors", "min_response_s", "outcome", "sort", "order"]) if (own.get(key)) qs.set(key, own.get(key));
  }
  history.pushState(null, "", `${onCalls ? "/calls" : "/"}${String(qs) ? `?${qs}` : ""}`);
  route();
}

function toLocalInput(text) {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return "";
  const off = d.getTimezoneOffset() * 60000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

function timeControls(state) {
  const isPreset = state.end === "now" && PRESETS.some(([v]) => v === state.start);
  const range = el(
    "select",
    { id: "range", "aria-label": "Time range" },
    PRESETS.map(([value, label]) => el("option", { value, text: label, selected: isPreset && state.start === value })),
    el("option", { value: "custom", text: "Custom range…", selected: !isPreset }),
  );
  const from = el("input", { type: "datetime-local", id: "range-start", value: isPreset ? "" : toLocalInput(state.start), "aria-label": "From" });
  const to = el("input", { type: "datetime-local", id: "range-end", value: isPreset || state.end === "now" ? "" : toLocalInput(state.end), "aria-label": "To" });
  const apply = el("button", { text: "Apply", id: "range-apply" });
  const problem = el("span", { class: "range-error error", role: "alert" });
  const custom = el("span", { class: `custom-range ${isPreset ? "hidden" : ""}` }, from, "–", to, apply, problem);
  range.addEventListener("change", () => {
    if (range.value === "custom") custom.classList.remove("hidden");
    else setState({ start: range.value, end: "now" });
  });
  apply.addEventListener("click", () => {
    if (!from.value) {
      problem.textContent = "Choose a start time.";
      return;
    }
    const start = new Date(from.value);
    const end = to.value ? new Date(to.value) : new Date();
    if (end <= start) {
      problem.textContent = "The end must be after the start.";
      return;
    }
    problem.textContent = "";
    setState({ start: start.toISOString(), end: to.value ? end.toISOString() : "now" });
  });
  return el("span", { class: "range" }, range, custom);
}

// options: values, or {value, label} pairs (models are labelled with the stages they served)
function filterControl(label, key, param, options, selected) {
  const summary = el("summary", { text: selected.length ? `${label}: ${selected.join(", ")}` : `${label}: all` });
  const box = el("details", { class: "filter", dataset: { filter: param } }, summary);
  const list = el("div", { class: "filter-list" });
  const labels = new Map(options.map((o) => (typeof o === "string" ? [o, o] : [o.value, o.label])));
  for (const value of selected) if (!labels.has(value)) labels.set(value, value);
  if (!labels.size) list.append(el("div", { class: "muted", text: "no values in range" }));
  for (const [value, text] of labels) {
    const input = el("input", { type: "checkbox", value, checked: selected.includes(value) });
    input.addEventListener("change", () => {
      const chosen = [...list.querySelectorAll("input:checked")].map((i) => i.value);
      setState({ [key]: chosen });
    });
    list.append(el("label", {}, input, " ", text));
  }
  box.append(list);
  return box;
}

async function renderControls(state) {
  const refresh = el(
    "select",
    { id: "refresh", "aria-label": "Auto-refresh" },
    REFRESH.map(([value, label]) => el("option", { value, text: label, selected: state.refresh === value })),
  );
  refresh.addEventListener("change", () => setState({ refresh: refresh.value }));
  const traffic = el(
    "select",
    { id: "simulated", "aria-label": "Simulated calls", title: "Calls of LiveKit agent simulations (lk.simulation.*): the call list, cost and outcome panels leave them out unless asked" },
    [
      ["exclude", "Production calls"],
      ["include", "+ simulated calls"],
      ["only", "Simulated calls only"],
    ].map(([value, label]) => el("option", { value, text: label, selected: state.simulated === value })),
  );
  traffic.addEventListener("change", () => setState({ simulated: traffic.value }));
  let options = { services: [], languages: [], models: [] };
  try {
    options = await getJSON("/api/v1/filters", new URLSearchParams({ start: state.start, end: state.end }));
  } catch {
    // the panels show the error; the filters simply stay empty
  }
  clear(
    controls,
    timeControls(state),
    filterControl("Service", "services", "service", options.services, state.services),
    filterControl("SDK language", "languages", "language", options.languages, state.languages),
    filterControl(
      "Model",
      "models",
      "model",
      options.models.map((m) => ({ value: m.model, label: `${m.model || "(unknown)"} · ${m.stages.join(", ")}` })),
      state.models,
    ),
    traffic,
    refresh,
  );
}

async function route() {
  clearInterval(refreshTimer);
  disposeCharts(main);
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const trace = path.match(/^\/traces\/([^/]+)$/);
  const call = path.match(/^\/calls\/([^/]+)$/);
  const log = path.match(/^\/logs\/([^/]+)$/);
  if (trace) {
    clear(controls);
    document.title = "Trace · livekit-dashboard";
    await renderTrace(main, decodeURIComponent(trace[1]), params.get("span"));
    return;
  }
  if (call) {
    clear(controls);
    document.title = "Call · livekit-dashboard";
    await renderCall(main, decodeURIComponent(call[1]), params.get("turn"), params.get("q"));
    return;
  }
  if (path === "/calls") {
    document.title = "Calls · livekit-dashboard";
    renderControls(readState());
    await renderCalls(main);
    return;
  }
  if (path === "/alerts") {
    clear(controls);
    document.title = "Alerts · livekit-dashboard";
    await renderAlerts(main);
    return;
  }
  if (path === "/prices") {
    clear(controls);
    document.title = "Prices · livekit-dashboard";
    await renderPrices(main, params.get("model"));
    return;
  }
  if (log) {
    clear(controls);
    document.title = "Log · livekit-dashboard";
    await renderLog(main, decodeURIComponent(log[1]));
    return;
  }
  document.title = "livekit-dashboard";
  const state = readState();
  sessionStorage.setItem("lkd.dashboard", String(stateParams(state, { forPage: true })));
  // whether anything is stored, asked beside the panel list (one round trip, not two)
  const stored = getJSON("/api/v1/data/extent").catch(() => null); // null: the panels show the error
  if (!panels) {
    try {
      panels = (await getJSON("/api/v1/panels")).panels;
    } catch (err) {
      if (err.status !== 401) clear(main, el("div", { class: "error page-error", text: `Cannot reach the API: ${err.message}` }));
      return;
    }
  }
  // nothing stored yet: how to connect, instead of panels without data
  const extent = await stored;
  if (extent?.empty) {
    clear(controls);
    reloadDashboard = null;
    document.title = "Connect · livekit-dashboard";
    await renderConnect(main, { onData: route });
    document.body.dataset.loaded = "true";
    return;
  }
  renderControls(state);
  reloadDashboard = renderDashboard(main, state, panels);
  await reloadDashboard();
  document.body.dataset.loaded = "true";
  if (REFRESH_MS[state.refresh]) {
    refreshTimer = setInterval(() => reloadDashboard && reloadDashboard(), REFRESH_MS[state.refresh]);
  }
}

function adminPage() {
  return location.pathname === "/alerts";
}

// The server requires a key: ask for one and keep it for this tab's session, or (opted in) remember it
// on this browser so links opened in new tabs and windows work too.
function askForKey(reason) {
  clearInterval(refreshTimer);
  disposeCharts(main);
  clear(controls);
  const input = el("input", { type: "password", id: "api-key", autocomplete: "off", placeholder: "lkd_…", "aria-label": "API key" });
  const remember = el("input", { type: "checkbox", id: "remember-key" });
  const form = el(
    "form",
    { class: "key-form panel" },
    // alerts are managed with a super-admin key even where every other page needs none (a loopback server)
    el("h2", { text: adminPage() ? "Alerts need a super-admin key" : "This server requires an API key" }),
    el("p", {
      class: "muted",
      text: adminPage()
        ? "Alert rules and their channels are managed by super-admins: use a super-admin key (livekit-dashboard keys create --role super-admin …)."
        : "Use a viewer or super-admin key (livekit-dashboard keys create --role viewer …).",
    }),
    reason ? el("p", { class: "error", text: reason }) : null,
    input,
    el(
      "label",
      { class: "remember" },
      remember,
      " Remember on this browser",
      el("span", { class: "muted", text: " (every tab, until you forget it; otherwise only this tab's session)" }),
    ),
    el("button", { type: "submit", text: "Continue" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setKey(input.value.trim(), { remember: remember.checked });
    panels = null;
    clear(main, el("div", { class: "loading", text: "Checking the key…" }));
    showKeyStatus();
    route();
  });
  clear(main, form);
  input.focus();
}

// The header names the key in use (its role and name) and can forget it.
const keyStatus = document.querySelector("#key-status");
let shownKey = null;

async function showKeyStatus() {
  const key = getKey();
  if (key === shownKey) return;
  shownKey = key;
  if (!key) {
    clear(keyStatus);
    delete keyStatus.dataset.role;
    return;
  }
  const who = await currentKey();
  if (getKey() !== key) return; // changed meanwhile; that call shows the new one
  const forget = el("button", { type: "button", id: "forget-key", text: "Forget key" });
  forget.addEventListener("click", () => {
    forgetKey();
    showKeyStatus();
    panels = null;
    route();
  });
  const label = who?.invalid
    ? el("span", { class: "key-invalid", text: `Key refused: ${who.invalid}` })
    : el("span", { class: "key-role", text: `${who?.role ?? "token"} key` }, who?.name ? el("span", { class: "key-name", text: ` · ${who.name}` }) : null);
  keyStatus.dataset.role = who?.role ?? (who?.invalid ? "invalid" : "");
  keyStatus.dataset.remembered = String(keyRemembered());
  clear(keyStatus, label, keyRemembered() ? el("span", { class: "key-remembered", text: " · remembered on this browser" }) : null, forget);
}

window.addEventListener("lkd:key-needed", (e) => {
  if (!main.querySelector(".key-form")) askForKey(getKey() ? e.detail : "");
});

// Times are shown in the browser's time zone (format.js): say which, once, in the top bar.
{
  const offset = -new Date().getTimezoneOffset();
  const hhmm = `${offset < 0 ? "−" : "+"}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")}:${String(Math.abs(offset) % 60).padStart(2, "0")}`;
  document.querySelector("#tz").textContent = `times in ${Intl.DateTimeFormat().resolvedOptions().timeZone} (UTC${hhmm})`;
}

document.querySelector("#home").addEventListener("click", (e) => {
  e.preventDefault();
  history.pushState(null, "", `/${sessionStorage.getItem("lkd.dashboard") ? `?${sessionStorage.getItem("lkd.dashboard")}` : ""}`);
  route();
});
// Calls: the list over the dashboard's current range and filters.
document.querySelector("#nav-calls").addEventListener("click", (e) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  const qs = location.pathname === "/" ? location.search : sessionStorage.getItem("lkd.dashboard") ? `?${sessionStorage.getItem("lkd.dashboard")}` : "";
  history.pushState(null, "", `/calls${qs}`);
  route();
});
// Same-origin links to the app's own views are followed without a reload (a plain click only: with a
// modifier key the browser opens a new tab or window as usual).
const APP_PATHS = /^\/($|\?|calls($|\/)|prices$|alerts$|traces\/|logs\/)/;
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !APP_PATHS.test(url.pathname)) return;
  e.preventDefault();
  // the entry keeps where the link was followed from: a trace opened from a call leads back to it (backLink)
  history.pushState({ from: location.pathname + location.search }, "", url.pathname + url.search);
  route();
});

window.addEventListener("popstate", route);
showKeyStatus();
route();
