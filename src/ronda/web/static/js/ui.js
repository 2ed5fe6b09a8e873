// Small DOM and formatting helpers shared by the pages.
import { _, N_, fmtInstant } from "./i18n.js";

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

// An instant in the user's language, in `tz` (the order's zone; the site's
// when not given), with the zone named.
export function fmtTime(iso, tz) { return fmtInstant(iso, tz); }

export function fmtDuration(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
}

// A datetime-local input's value (local wall time) to and from an instant.
export function toLocalInput(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}
export function fromLocalInput(value) { return new Date(value); }

export const STATE_LABEL = {
  compliant: N_("compliant"), violation: N_("in violation"), device_problem: N_("device problem"), no_data: N_("no recent data"),
};
// A person's state in the user's words.
export function stateLabel(state) { return STATE_LABEL[state] ? _(STATE_LABEL[state]) : String(state || ""); }

export function announce(text) {
  const a = document.getElementById("announce");
  a.textContent = ""; setTimeout(() => { a.textContent = text; }, 50);
}

export function banner(text) {
  const b = document.getElementById("banner");
  b.hidden = !text; b.textContent = text || "";
}

// Sound: a short tone made with Web Audio (no sound files), on unless the user turned it off.
let audio = null;
export const sound = {
  get on() { return localStorage.getItem("ronda.sound") !== "off"; },
  set on(v) { localStorage.setItem("ronda.sound", v ? "on" : "off"); },
  // Browsers let a page play sound only after a user gesture: call this in one (signing in).
  unlock() { try { audio = audio || new AudioContext(); audio.resume(); } catch (e) { /* no audio */ } },
  beep(severity) {
    if (!this.on) return;
    try {
      audio = audio || new AudioContext();
      const urgent = severity === "critical" || severity === "high";
      [0, urgent ? 0.25 : null].filter((t) => t !== null).forEach((t) => {
        const o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = urgent ? 880 : 660; g.gain.value = 0.15;
        o.connect(g).connect(audio.destination);
        o.start(audio.currentTime + t); o.stop(audio.currentTime + t + 0.18);
      });
    } catch (e) { /* no audio device: the visual cue remains */ }
  },
};
