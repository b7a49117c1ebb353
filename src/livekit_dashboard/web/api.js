// Talking to the JSON API, and the URL as the single source of view state.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The API key: kept for this tab's session (sessionStorage), or, when the user opts in, remembered by
// this browser (localStorage: every tab and window, until forgotten).
const KEY = "lkd.key";

export function getKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";
}

export function keyRemembered() {
  return Boolean(localStorage.getItem(KEY));
}

export function setKey(key, { remember = false } = {}) {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  if (key) (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

export function forgetKey() {
  setKey("");
}

// The key in use: {id, name, role}, null when none is kept, {invalid: reason} when the server refuses
// it (asked without the key-needed event: a server that requires no key still says whose key it is).
export async function currentKey() {
  const key = getKey();
  if (!key) return null;
  try {
    const res = await fetch("/api/v1/auth/key", { headers: { Accept: "application/json", Authorization: `Bearer ${key}` } });
    const body = await res.json().catch(() => null);
    if (!res.ok) return { invalid: body?.detail ?? `${res.status} ${res.statusText}` };
    return body.key;
  } catch (err) {
    return { invalid: `server unreachable (${err.message})` };
  }
}

export async function getJSON(path, params) {
  return sendJSON("GET", params ? `${path}?${params}` : path);
}

// A write (PUT, DELETE, POST) with a JSON body; errors as for getJSON (a 403 says the key may not).
export async function sendJSON(method, url, payload) {
  const headers = { Accept: "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch (err) {
    throw new ApiError(0, `server unreachable (${err.message})`);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  // a read without a key asks for one; a write says why it was refused where it was made
  if (res.status === 401 && method === "GET") window.dispatchEvent(new CustomEvent("lkd:key-needed", { detail: body?.detail }));
  if (!res.ok) throw new ApiError(res.status, body?.detail ?? `${res.status} ${res.statusText}`);
  return body;
}

// A media URL the browser can play: as is, or (when the server needs a key, which an <audio> element
// cannot send) fetched with the key into a local object URL.
export async function mediaURL(url) {
  const key = getKey();
  if (!key) return url;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  return URL.createObjectURL(await res.blob());
}

const DEFAULTS = { start: "now-6h", end: "now", refresh: "off" };

export function readState() {
  const p = new URLSearchParams(location.search);
  return {
    start: p.get("start") || DEFAULTS.start,
    end: p.get("end") || DEFAULTS.end,
    refresh: p.get("refresh") || DEFAULTS.refresh,
    services: p.getAll("service"),
    languages: p.getAll("language"),
    models: p.getAll("model"),
    // LiveKit agent simulations' calls: left out of the call list, cost and outcomes unless asked
    simulated: p.get("simulated") || "exclude",
  };
}

// Query string for the API (filters and range) or for the page URL (plus refresh).
export function stateParams(state, { forPage = false } = {}) {
  const p = new URLSearchParams();
  if (!forPage || state.start !== DEFAULTS.start) p.set("start", state.start);
  if (!forPage || state.end !== DEFAULTS.end) p.set("end", state.end);
  for (const s of state.services) p.append("service", s);
  for (const l of state.languages) p.append("language", l);
  for (const m of state.models) p.append("model", m);
  if (state.simulated && state.simulated !== "exclude") p.set("simulated", state.simulated);
  if (forPage && state.refresh !== DEFAULTS.refresh) p.set("refresh", state.refresh);
  return p;
}

// replace: the new view takes the current one's place in the history (a search that forwards to its
// only result: Back returns to where the search was made, not to the search that forwards again)
export function navigate(path, params, { replace = false } = {}) {
  const qs = params && String(params) ? `?${params}` : "";
  if (replace) history.replaceState(null, "", `${path}${qs}`);
  else history.pushState(null, "", `${path}${qs}`);
  window.dispatchEvent(new Event("popstate"));
}
