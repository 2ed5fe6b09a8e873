// One live stream for the whole app while signed in; pages subscribe to it.
import { stream } from "./api.js";
import { _ } from "./i18n.js";

const subs = new Set();
let stop = null;

export function startHub() {
  if (stop) return;
  stop = stream("position,alert", (type, data) => subs.forEach((f) => f(type, data)), (live) => {
    const c = document.getElementById("conn");
    c.textContent = live ? _("live") : _("reconnecting…"); c.classList.toggle("live", live);
    subs.forEach((f) => f("state", live));
  });
}

export function stopHub() {
  if (stop) stop();
  stop = null;
  const c = document.getElementById("conn"); c.textContent = _("offline"); c.classList.remove("live");
}

export function subscribe(f) { subs.add(f); return () => subs.delete(f); }
