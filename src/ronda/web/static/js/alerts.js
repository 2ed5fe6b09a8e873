// The alert queue: open alerts by severity and age, a timer against the
// response target, actions in a click (forms inline, keyboard first), live
// updates from the stream, filters.
import { api, session } from "./api.js";
import { el, fmtTime, fmtDuration, announce, sound } from "./ui.js";

const RANK = { critical: 0, high: 1, medium: 2, low: 3 };
// Used only when the server does not send a target with the alert.
const DEFAULT_TARGET_S = { critical: 4 * 60, high: 10 * 60, medium: 30 * 60, low: 120 * 60 };
const UNACKNOWLEDGED = new Set(["new", "assigned", "escalated"]);
const OPEN = ["new", "assigned", "escalated", "acknowledged"];
const OUTCOMES = [["violation_confirmed", "violation confirmed"], ["false_alarm", "false alarm"],
  ["technical_issue", "technical issue"], ["authorised", "authorised"], ["other", "other"]];
const TYPES = ["exclusion", "inclusion", "proximity", "tamper", "low_battery", "comms_loss", "no_fix"];

function targetS(a) {
  if (a.response_target_s) return a.response_target_s;
  if (a.due) return (Date.parse(a.due) - Date.parse(a.raised)) / 1000;
  return DEFAULT_TARGET_S[a.severity] || DEFAULT_TARGET_S.low;
}

export function alertQueue(container, { onFocus } = {}) {
  const alerts = new Map();
  const me = () => (session.user && session.user.username) || "operator";
  const status = el("select", { id: "f-status" },
    el("option", { value: "open", text: "open (not resolved)" }), ...OPEN.map((s) => el("option", { value: s, text: s })),
    el("option", { value: "resolved", text: "resolved (last 24 h)" }));
  const severity = el("select", { id: "f-severity" }, el("option", { value: "", text: "any" }),
    ...Object.keys(RANK).map((s) => el("option", { value: s, text: s })));
  const type = el("select", { id: "f-type" }, el("option", { value: "", text: "any" }),
    ...TYPES.map((s) => el("option", { value: s, text: s.replace("_", " ") })));
  const mine = el("select", { id: "f-owner" }, el("option", { value: "", text: "anyone" }),
    el("option", { value: "me", text: "assigned to me" }));
  const list = el("ol", { class: "alerts", id: "alert-list", "aria-label": "Alerts" });
  const count = el("p", { class: "muted", role: "status" });
  const title = el("h2", { text: "Alert queue", id: "queue-title", tabindex: "-1" });
  container.append(
    title,
    el("div", { class: "filters", role: "group", "aria-label": "Filters" },
      el("div", {}, el("label", { for: "f-status", text: "Status" }), status),
      el("div", {}, el("label", { for: "f-severity", text: "Severity" }), severity),
      el("div", {}, el("label", { for: "f-type", text: "Type" }), type),
      el("div", {}, el("label", { for: "f-owner", text: "Owner" }), mine)),
    count, list);
  for (const f of [severity, type, mine]) f.addEventListener("change", render);
  status.addEventListener("change", load);

  function visible(a) {
    const st = status.value;
    if (st === "open" ? a.status === "resolved" : a.status !== st) return false;
    if (severity.value && a.severity !== severity.value) return false;
    if (type.value && a.type !== type.value) return false;
    if (mine.value === "me" && a.owner !== me()) return false;
    return true;
  }

  function order(a, b) {
    return (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9)
      || (UNACKNOWLEDGED.has(b.status) - UNACKNOWLEDGED.has(a.status))
      || Date.parse(a.raised) - Date.parse(b.raised);
  }

  async function act(a, path, body) {
    try {
      const out = await api(`/alerts/${a.id}/${path}`, { method: "POST", body: { by: me(), ...body } });
      upsert(out, false);
      announce(`Alert ${a.id}: ${path} done`);
      return true;
    } catch (e) { announce(e.message); throw e; }
  }

  function actionForm(a, li, kind, opener) {
    li.querySelector("form")?.remove();
    const err = el("p", { class: "error", role: "alert" });
    const id = `a${a.id}-${kind}`;
    let fields, submit;
    if (kind === "assign") {
      const owner = el("input", { id, required: true, value: a.owner || me() });
      fields = [el("label", { for: id, text: "Assign to (user name)" }), owner];
      submit = () => act(a, "assign", { owner: owner.value.trim() });
    } else if (kind === "note") {
      const text = el("textarea", { id, required: true, rows: 2 });
      fields = [el("label", { for: id, text: "Note" }), text];
      submit = () => act(a, "notes", { text: text.value });
    } else {
      const outcome = el("select", { id, required: true }, el("option", { value: "", text: "choose…" }),
        ...OUTCOMES.map(([v, t]) => el("option", { value: v, text: t })));
      const text = el("textarea", { id: id + "-text", rows: 2 });
      fields = [el("label", { for: id, text: "Outcome" }), outcome, el("label", { for: id + "-text", text: "Note (optional)" }), text];
      submit = () => act(a, "resolve", { outcome: outcome.value, text: text.value });
    }
    const form = el("form", { "aria-label": `${kind} alert ${a.id}` }, ...fields,
      el("div", { class: "actions" }, el("button", { class: "primary", type: "submit", text: kind === "resolve" ? "Resolve" : "Save" }),
        el("button", { type: "button", text: "Cancel", onclick: () => close() })), err);
    // Cancel or Escape: the form goes and the focus returns to the button that opened it.
    const close = () => { form.remove(); (opener && opener.isConnected ? opener : li.querySelector(".actions button"))?.focus(); };
    form.addEventListener("submit", async (ev) => { ev.preventDefault(); try { await submit(); } catch (e) { err.textContent = e.message; } });
    form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); close(); } });
    li.append(form);
    form.querySelector("input, select, textarea").focus();
  }

  function item(a) {
    const li = el("li", { class: `alert sev-${a.severity}`, "data-alert-id": a.id, "data-status": a.status });
    const person = a.person
      ? el("a", { href: `#/person/${encodeURIComponent(a.person)}?alert=${a.id}`, text: a.person })
      : el("span", { text: a.device || "" });
    const timer = el("span", { class: "timer", "data-timer": "" });
    li.append(
      el("h3", {}, el("span", { class: `badge ${a.severity}`, text: a.severity }), el("span", { text: a.type.replace("_", " ") }), person,
        el("span", { class: "badge status", text: a.status })),
      el("div", { class: "meta" }, `#${a.id} · raised ${fmtTime(a.raised)}`, a.rule ? ` · rule ${a.rule}` : "",
        a.end ? ` · episode ended ${fmtTime(a.end)}` : " · ongoing", a.owner ? ` · owner ${a.owner}` : "",
        a.outcome ? ` · outcome ${a.outcome.replace("_", " ")}` : ""),
      el("div", { class: "meta" }, timer));
    const actions = el("div", { class: "actions" });
    const btn = (text, on) => el("button", { type: "button", text, onclick: (ev) => on(ev.currentTarget), "aria-label": `${text} alert ${a.id}` });
    if (a.status !== "resolved") {
      if (a.status !== "acknowledged") actions.append(btn("Acknowledge", () => act(a, "acknowledge", {}).catch(() => {})));
      actions.append(btn("Assign", (b) => actionForm(a, li, "assign", b)), btn("Note", (b) => actionForm(a, li, "note", b)),
        btn("Resolve", (b) => actionForm(a, li, "resolve", b)));
    } else {
      actions.append(btn("Note", (b) => actionForm(a, li, "note", b)), btn("Reopen", () => act(a, "reopen", {}).catch(() => {})));
    }
    if (onFocus && a.person) actions.append(el("button", { type: "button", text: "Locate", onclick: () => onFocus(a), "aria-label": `Locate alert ${a.id} on the map` }));
    li.append(actions);
    return li;
  }

  function tick() {
    const now = Date.now();
    for (const li of list.children) {
      const a = alerts.get(Number(li.dataset.alertId));
      const t = li.querySelector("[data-timer]");
      if (!a || !t) continue;
      const age = (now - Date.parse(a.raised)) / 1000, target = targetS(a);
      if (UNACKNOWLEDGED.has(a.status)) {
        t.textContent = `waiting ${fmtDuration(age)} · target ${fmtDuration(target)}${a.response_target_s || a.due ? "" : " (default)"}`;
        t.classList.toggle("over", age > target);
        if (age > target) t.textContent += " · OVERDUE";
      } else {
        t.textContent = `age ${fmtDuration(age)}`; t.classList.remove("over");
      }
    }
  }

  function render() {
    const shown = [...alerts.values()].filter(visible).sort(order);
    const focused = document.activeElement && list.contains(document.activeElement)
      ? [document.activeElement.closest("li")?.dataset.alertId, document.activeElement.getAttribute("aria-label")] : null;
    const focusedAt = focused ? [...list.children].findIndex((li) => li.contains(document.activeElement)) : -1;
    const keep = new Map([...list.children].map((li) => [li.dataset.alertId, li]));
    list.replaceChildren(...shown.map((a) => {
      const old = keep.get(String(a.id));
      return old && old.dataset.version === a.updated && old.querySelector("form") ? old : item(a);
    }));
    for (const li of list.children) li.dataset.version = alerts.get(Number(li.dataset.alertId)).updated;
    // Keep the keyboard's place: the same control, else the same alert's first
    // action (its Acknowledge button is gone once done), else the alert now in
    // its place, else the queue's title; never lost to the page.
    if (focused && !list.contains(document.activeElement)) {
      const li = list.querySelector(`li[data-alert-id="${focused[0]}"]`);
      const near = list.children[Math.min(focusedAt, list.children.length - 1)];
      ((li && focused[1] && li.querySelector(`[aria-label="${focused[1]}"]`)) || li?.querySelector(".actions button")
        || near?.querySelector(".actions button") || title).focus();
    }
    const unack = shown.filter((a) => UNACKNOWLEDGED.has(a.status)).length;
    count.textContent = `${shown.length} shown, ${unack} waiting for acknowledgement`;
    tick();
  }

  function upsert(a, isNew) {
    const known = alerts.has(a.id);
    alerts.set(a.id, { ...alerts.get(a.id), ...a });
    render();
    if (isNew && !known) {
      const li = list.querySelector(`li[data-alert-id="${a.id}"]`);
      if (li) li.classList.add("fresh");
      sound.beep(a.severity);
      announce(`New ${a.severity} alert: ${a.type.replace("_", " ")}${a.person ? ", person " + a.person : ""}`);
    }
  }

  async function load() {
    const st = status.value;
    const wanted = st === "open" ? OPEN : [st];
    const query = (s) => (s === "resolved"
      ? { status: s, start: new Date(Date.now() - 86400e3).toISOString(), limit: 500 } : { status: s, limit: 1000 });
    let refused = false;
    const lists = await Promise.all(wanted.map((s) => api("/alerts", { query: query(s) }).catch(() => { refused = true; return []; })));
    // A server whose filter does not know a status still must not hide its
    // alerts: then read the last 30 days unfiltered and keep the wanted ones.
    if (refused) {
      const all = await api("/alerts", { query: { start: new Date(Date.now() - 30 * 86400e3).toISOString(), limit: 10000 } }).catch(() => []);
      lists.push(all.filter((a) => wanted.includes(a.status)));
    }
    alerts.clear();
    for (const a of lists.flat()) alerts.set(a.id, a);
    render();
  }

  const timer = setInterval(tick, 1000);
  return { load, upsert, alerts, stop: () => clearInterval(timer) };
}
