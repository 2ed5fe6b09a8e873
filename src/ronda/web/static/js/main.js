// The app shell: login, the header, hash routes to pages.
import { api, ApiError, session } from "./api.js";
import { el, banner, sound, announce } from "./ui.js";
import { _, label, language, loadLanguage, shippedLanguages } from "./i18n.js";
import { startHub, stopHub, subscribe } from "./hub.js";
import { livePage } from "./live.js";
import { personPage, personsPage } from "./person.js";
import { zonesPage } from "./zones.js";
import { devicePage, devicesPage } from "./devices.js";

const main = document.getElementById("main");
let cleanup = null;
const NO_MAP = () => _("The map library is not installed: run scripts/setup (it runs `npm ci` and copies Leaflet into src/ronda/web/vendor/), then restart the server. Lists and alert actions work without it.");

const routes = [
  [/^#\/live$/, livePage],
  [/^#\/persons$/, personsPage],
  [/^#\/person\/([^/]+)$/, personPage],
  [/^#\/zones$/, zonesPage],
  [/^#\/devices$/, devicesPage],
  [/^#\/device\/([^/]+)$/, devicePage],
];

function loginPage(root) {
  const msg = el("p", { class: "error", role: "alert" });
  const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const totp = el("input", { id: "totp", name: "totp", inputmode: "numeric", autocomplete: "one-time-code" });
  const form = el("form", { class: "login", "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", text: _("Ronda · sign in") }),
    el("label", { for: "username", text: _("User name") }), user,
    el("label", { for: "password", text: _("Password") }), pass,
    el("label", { for: "totp", text: _("One-time code (if your account has one)") }), totp,
    el("button", { class: "primary", type: "submit", text: _("Sign in") }), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); msg.textContent = "";
    const body = { username: user.value.trim(), password: pass.value };
    if (totp.value.trim()) body.totp = totp.value.trim();
    try {
      const r = await api("/auth/login", { method: "POST", body });
      session.set(r.token, r.user);
      sound.unlock(); // a user gesture: lets the browser play alert sounds later
      await loadLanguage(chosenLanguage(), r.token); // the user's own language, else the agency's, else the browser's
      start();
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.status === 404
        ? _("This server has no user accounts: open the link with ?token= that the server printed.")
        : e.message || _("sign-in failed");
    }
  });
  root.replaceChildren(form);
  user.focus();
}

let routed = false; // the first page of a load keeps the browser's own start (the skip link first)
function route() {
  const first = !routed; routed = true;
  if (cleanup) { cleanup(); cleanup = null; }
  banner(window.L ? "" : NO_MAP());
  if (!session.token) { document.getElementById("top").hidden = true; loginPage(main); return; }
  document.getElementById("top").hidden = false;
  const hash = location.hash || "#/live";
  for (const a of document.querySelectorAll("header nav a")) {
    const on = hash.startsWith(a.getAttribute("href")) || (a.getAttribute("href") === "#/persons" && hash.startsWith("#/person/"))
      || (a.getAttribute("href") === "#/devices" && hash.startsWith("#/device/"));
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      main.replaceChildren();
      cleanup = page(main, ...m.slice(1).map(decodeURIComponent)) || null;
      // The control that led here is gone (the sign-in button, a link in the
      // old page): the keyboard goes on from the top of the new content.
      if (!first && (!document.activeElement || document.activeElement === document.body)) main.focus({ preventScroll: true });
      return;
    }
  }
  location.hash = "#/live";
}

// Outside the live page a new alert is still heard and shown, with a link to the queue.
subscribe((type, a) => {
  if (type !== "alert" || !a.new || (location.hash || "#/live") === "#/live") return;
  sound.beep(a.severity);
  const what = { severity: label("alert_severity", a.severity), type: label("alert_type", a.type), id: a.id, person: a.person };
  announce(_("New {severity} alert: {type}", what));
  const b = document.getElementById("banner");
  b.hidden = false;
  b.replaceChildren((a.person ? _("New {severity} alert #{id} ({type}, {person}).", what) : _("New {severity} alert #{id} ({type}).", what)) + " ",
    el("a", { href: "#/live", text: _("Open the alert queue") }));
});

function start() {
  if (session.token) startHub();
  const u = session.user || {};
  document.getElementById("who").textContent = `${u.display_name || u.username || ""}${u.role ? " · " + label("role", u.role).toLocaleLowerCase(language()) : ""}`;
  showLanguages();
  showSound();
  route();
}

// The server's API token in the URL (as `ronda demo` prints it, for servers without user accounts).
const given = new URLSearchParams(location.search).get("token");
if (given) {
  session.set(given, { username: "operator", display_name: "API token", role: "" });
  history.replaceState(null, "", location.pathname + (location.hash || "#/live"));
}


const soundBtn = document.getElementById("sound");
function showSound() { soundBtn.textContent = sound.on ? _("Sound on") : _("Sound off"); soundBtn.setAttribute("aria-pressed", String(sound.on)); }

// The language: the user's own (from the server); the menu changes it.
const LANG_KEY = "ronda.language";
function chosenLanguage() { return sessionStorage.getItem(LANG_KEY) || "auto"; }
const langSelect = document.getElementById("lang");
function showLanguages() {
  if (!langSelect) return;
  langSelect.replaceChildren(...shippedLanguages().map((l) => el("option", { value: l.code, text: l.name, selected: l.code === language() })));
}
langSelect?.addEventListener("change", async () => {
  const picked = langSelect.value;
  // Kept on the user's account (the next sign-in opens in it); a session with
  // the service token has no account, so the choice lasts for the session.
  const kept = session.user && session.user.role
    ? await api("/i18n/me", { method: "PUT", body: { language: picked } }).then(() => true).catch(() => false) : false;
  if (kept) sessionStorage.removeItem(LANG_KEY); else sessionStorage.setItem(LANG_KEY, picked);
  await loadLanguage(picked, session.token);
  start();
});
soundBtn.addEventListener("click", () => { sound.on = !sound.on; if (sound.on) sound.unlock(); showSound(); });
showSound();
document.getElementById("logout").addEventListener("click", async () => {
  await api("/auth/logout", { method: "POST" }).catch(() => null);
  session.clear();
});
session.onLogout(() => {
  stopHub(); sessionStorage.removeItem(LANG_KEY); location.hash = "#/live";
  loadLanguage("auto").then(route); // the sign-in page in the browser's language
});
window.addEventListener("hashchange", route);
// The skip link moves the focus to the content without touching the hash (a
// hash change is a route change here: it would rebuild the page).
document.querySelector("a.skip").addEventListener("click", (ev) => { ev.preventDefault(); main.focus(); });
await loadLanguage(chosenLanguage(), session.token);
start();
