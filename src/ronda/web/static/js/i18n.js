// The web app in its user's language. Messages come from the server's gettext
// catalogs (GET /api/i18n/{lang}: msgid -> text, the English text being the
// msgid), so the web app, the CLI, notifications and reports share one set of
// translations (docs/translating.md). Strings are marked `_("...")` where they
// are written, with `{name}` placeholders; pages' HTML marks elements with
// `data-i18n` (their text) and `data-i18n-<attribute>`. Instants are written
// with Intl in a named time zone (the order's, else the site's), zone shown.

let lang = "en";
let messages = {};
let vocabulary = {};
let siteZone = "UTC";
let languages = [{ code: "en", name: "English" }];

// `_("Alert {id} acknowledged", { id: 7 })`: the message in the user's language.
export function _(msgid, values) {
  const text = messages[msgid] || msgid;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

// A code of the domain in words (`label("rule", "curfew")` -> "Toque de queda").
export function label(kind, code) {
  const msgid = vocabulary[kind] && vocabulary[kind][code];
  return msgid ? _(msgid) : String(code || "").replace(/_/g, " ");
}

export function language() { return lang; }
// The locale dates and numbers are written in: Portuguese as in Portugal, like
// the translations (01/06/2026, 13 456,5); Spanish in its generic form.
const INTL_LOCALE = { pt: "pt-PT" };
export function intlLocale() { return INTL_LOCALE[lang] || lang; }
export function shippedLanguages() { return languages; }
export function timeZone() { return siteZone; }

// Load the catalog: `wanted` (a language code) or "auto", which the server
// resolves to the user's own language, their agency's, or the browser's.
export async function loadLanguage(wanted = "auto", token = null) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  try {
    const r = await fetch(`/api/i18n/${encodeURIComponent(wanted || "auto")}`, { headers });
    if (!r.ok) throw new Error("catalog " + r.status);
    const data = await r.json();
    lang = data.language; messages = data.messages || {}; vocabulary = data.vocabulary || {};
    siteZone = data.timezone || siteZone; languages = data.languages || languages;
  } catch (e) {
    lang = "en"; messages = {}; // the English msgids are the text: the app still works
  }
  document.documentElement.lang = lang;
  translatePage(document);
  return lang;
}

// Elements marked in HTML: `data-i18n` is the msgid of their text,
// `data-i18n-title` (-aria-label, -placeholder ...) of an attribute.
export function translatePage(root) {
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = _(e.dataset.i18n);
  for (const e of root.querySelectorAll("*")) {
    for (const a of e.attributes) {
      if (a.name.startsWith("data-i18n-")) e.setAttribute(a.name.slice(10), _(a.value));
    }
  }
}

function zoneOk(tz) {
  try { new Intl.DateTimeFormat("en", { timeZone: tz }); return true; } catch (e) { return false; }
}

// An instant in the reader's way, in `tz` (the order's zone; the site's when
// not given), the zone named: "1 jun 2026, 18:34:49 (Europe/Madrid)".
export function fmtInstant(value, tz, { seconds = true } = {}) {
  if (!value) return "—";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "—";
  const zone = tz && zoneOk(tz) ? tz : (zoneOk(siteZone) ? siteZone : "UTC");
  const f = new Intl.DateTimeFormat(intlLocale(), {
    timeZone: zone, year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined, hourCycle: "h23",
  });
  return `${f.format(d)} (${zone})`;
}

// A number the reader's way: 12.345,6 in Spanish and Portuguese.
export function fmtNumber(n, digits = 0) {
  return new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(n);
}

// Marks a string for extraction without translating it yet (tables of labels).
export const N_ = (msgid) => msgid;
