// The public API: the session's token on every call, errors as ApiError with
// the server's message, and the live stream read with fetch() (EventSource
// cannot send the Authorization header).
import { _, language } from "./i18n.js";

const KEY = "ronda.session";
let current = JSON.parse(sessionStorage.getItem(KEY) || "null");
const onLogout = new Set();

export class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

export const session = {
  get token() { return current && current.token; },
  get user() { return current && current.user; },
  set(token, user) { current = { token, user }; sessionStorage.setItem(KEY, JSON.stringify(current)); },
  clear() { current = null; sessionStorage.removeItem(KEY); onLogout.forEach((f) => f()); },
  onLogout(f) { onLogout.add(f); },
};

// Why the operator opens personal data outside an alert (sent as X-Ronda-Purpose).
let purpose = "";
export function setPurpose(text) { purpose = text || ""; }

function headers(extra = {}) {
  // The server writes its errors in the language the app shows (the user's,
  // the agency's default or the browser's: whatever i18n.js loaded).
  const h = { "Accept-Language": language(), ...extra };
  if (session.token) h.Authorization = "Bearer " + session.token;
  if (purpose) h["X-Ronda-Purpose"] = purpose;
  return h;
}

export async function api(path, { method = "GET", body, query } = {}) {
  let url = "/api" + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    if ([...q].length) url += "?" + q;
  }
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let r;
  try { r = await fetch(url, init); } catch (e) { throw new ApiError(0, _("the server cannot be reached")); }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const msg = (data && (data.error || (typeof data.detail === "string" && data.detail))) || r.statusText;
    if (r.status === 401 && session.token && path !== "/auth/login") session.clear();
    throw new ApiError(r.status, msg, data && data.field);
  }
  return data;
}

// Server-sent events over fetch: calls onEvent(type, data); reconnects with a
// growing pause; onState(true/false) tells whether the stream is live (so the
// caller reloads what it may have missed). Returns stop().
export function stream(topics, onEvent, onState) {
  let stopped = false, ctrl = null, pause = 1000;
  async function run() {
    while (!stopped && session.token) {
      ctrl = new AbortController();
      try {
        const r = await fetch("/api/stream?topics=" + topics, { headers: headers(), signal: ctrl.signal });
        if (r.status === 401) { session.clear(); return; }
        if (!r.ok || !r.body) throw new Error("stream " + r.status);
        onState(true); pause = 1000;
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let type = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (data) { try { onEvent(type, JSON.parse(data)); } catch (e) { console.error(e); } }
          }
        }
      } catch (e) { if (stopped) return; }
      onState(false);
      await new Promise((res) => setTimeout(res, pause));
      pause = Math.min(pause * 2, 15000);
    }
  }
  run();
  return () => { stopped = true; if (ctrl) ctrl.abort(); };
}
