// The alert queue: open alerts by severity and age, a timer against the
// response target, actions in a click (forms inline, keyboard first), live
// updates from the stream, filters.
import { api, session } from "./api.js";
import { el, fmtTime, fmtDuration, announce, sound } from "./ui.js";
import { _, label } from "./i18n.js";
import { toggleRecord } from "./record.js";

const RANK = { critical: 0, high: 1, medium: 2, low: 3 };
// Used only when the server does not send a target with the alert.
const DEFAULT_TARGET_S = { critical: 4 * 60, high: 10 * 60, medium: 30 * 60, low: 120 * 60 };
const UNACKNOWLEDGED = new Set(["new", "assigned", "escalated"]);
const OPEN = ["new", "assigned", "escalated", "acknowledged"];
const OUTCOMES = ["violation_confirmed", "false_alarm", "technical_issue", "authorised", "other"];
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
    el("option", { value: "open", text: _("open (not resolved)") }), ...OPEN.map((s) => el("option", { value: s, text: label("alert_status", s) })),
    el("option", { value: "resolved", text: _("resolved (last 24 h)") }));
  const severity = el("select", { id: "f-severity" }, el("option", { value: "", text: _("any") }),
    ...Object.keys(RANK).map((s) => el("option", { value: s, text: label("alert_severity", s) })));
  const type = el("select", { id: "f-type" }, el("option", { value: "", text: _("any") }),
    ...TYPES.map((s) => el("option", { value: s, text: label("alert_type", s) })));
  const mine = el("select", { id: "f-owner" }, el("option", { value: "", text: _("anyone") }),
    el("option", { value: "me", text: _("assigned to me") }));
  const list = el("ol", { class: "alerts", id: "alert-list", "aria-label": _("Alerts") });
  const count = el("p", { class: "muted", role: "status" });
  const title = el("h2", { text: _("Alert queue"), id: "queue-title", tabindex: "-1" });
  container.append(
    title,
    el("div", { class: "filters", role: "group", "aria-label": _("Filters") },
      el("div", {}, el("label", { for: "f-status", text: _("Status") }), status),
      el("div", {}, el("label", { for: "f-severity", text: _("Severity") }), severity),
      el("div", {}, el("label", { for: "f-type", text: _("Type") }), type),
      el("div", {}, el("label", { for: "f-owner", text: _("Owner") }), mine)),
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
      announce(_("Alert {id}: done", { id: a.id }));
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
      fields = [el("label", { for: id, text: _("Assign to (user name)") }), owner];
      submit = () => act(a, "assign", { owner: owner.value.trim() });
    } else if (kind === "note") {
      const text = el("textarea", { id, required: true, rows: 2 });
      fields = [el("label", { for: id, text: _("Note") }), text];
      submit = () => act(a, "notes", { text: text.value });
    } else {
      const outcome = el("select", { id, required: true }, el("option", { value: "", text: _("choose…") }),
        ...OUTCOMES.map((v) => el("option", { value: v, text: label("alert_outcome", v) })));
      const text = el("textarea", { id: id + "-text", rows: 2 });
      fields = [el("label", { for: id, text: _("Outcome") }), outcome, el("label", { for: id + "-text", text: _("Note (optional)") }), text];
      submit = () => act(a, "resolve", { outcome: outcome.value, text: text.value });
    }
    const formLabel = { assign: _("Assign alert {id}", { id: a.id }), note: _("Note alert {id}", { id: a.id }), resolve: _("Resolve alert {id}", { id: a.id }) }[kind];
    const form = el("form", { "aria-label": formLabel }, ...fields,
      el("div", { class: "actions" }, el("button", { class: "primary", type: "submit", text: kind === "resolve" ? _("Resolve") : _("Save") }),
        el("button", { type: "button", text: _("Cancel"), onclick: () => close() })), err);
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
      el("h3", {}, el("span", { class: `badge ${a.severity}`, text: label("alert_severity", a.severity) }), el("span", { text: label("alert_type", a.type) }), person,
        el("span", { class: "badge status", text: label("alert_status", a.status) })),
      el("div", { class: "meta" }, _("#{id} · raised {time}", { id: a.id, time: fmtTime(a.raised) }), a.rule ? " · " + _("rule {rule}", { rule: a.rule }) : "",
        " · " + (a.end ? _("episode ended {time}", { time: fmtTime(a.end) }) : _("ongoing")), a.owner ? " · " + _("owner {owner}", { owner: a.owner }) : "",
        a.outcome ? " · " + _("outcome {outcome}", { outcome: label("alert_outcome", a.outcome) }) : ""),
      el("div", { class: "meta" }, timer));
    const actions = el("div", { class: "actions" });
    const btn = (text, aria, on) => el("button", { type: "button", text, onclick: (ev) => on(ev.currentTarget), "aria-label": aria });
    const id = { id: a.id };
    const noteBtn = () => btn(_("Note"), _("Note alert {id}", id), (b) => actionForm(a, li, "note", b));
    if (a.status !== "resolved") {
      if (a.status !== "acknowledged") {
        actions.append(btn(_("Acknowledge"), _("Acknowledge alert {id}", id), () => act(a, "acknowledge", {}).catch(() => {})));
      }
      actions.append(btn(_("Assign"), _("Assign alert {id}", id), (b) => actionForm(a, li, "assign", b)), noteBtn(),
        btn(_("Resolve"), _("Resolve alert {id}", id), (b) => actionForm(a, li, "resolve", b)));
    } else {
      actions.append(noteBtn(), btn(_("Reopen"), _("Reopen alert {id}", id), () => act(a, "reopen", {}).catch(() => {})));
    }
    actions.append(el("button", { type: "button", text: _("Checklist"), "aria-expanded": "false",
      "aria-label": _("Checklist and messages of alert {id}", id), onclick: (ev) => toggleRecord(a, li, ev.currentTarget) }));
    if (onFocus && a.person) actions.append(el("button", { type: "button", text: _("Locate"), onclick: () => onFocus(a), "aria-label": _("Locate alert {id} on the map", id) }));
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
        const times = { waiting: fmtDuration(age), target: fmtDuration(target) };
        t.textContent = a.response_target_s || a.due
          ? _("waiting {waiting} · target {target}", times) : _("waiting {waiting} · target {target} (default)", times);
        t.classList.toggle("over", age > target);
        if (age > target) t.textContent += " · " + _("OVERDUE");
      } else {
        t.textContent = _("age {age}", { age: fmtDuration(age) }); t.classList.remove("over");
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
    count.textContent = _("{shown} shown, {waiting} waiting for acknowledgement", { shown: shown.length, waiting: unack });
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
      const what = { severity: label("alert_severity", a.severity), type: label("alert_type", a.type), person: a.person };
      announce(a.person ? _("New {severity} alert: {type}, person {person}", what) : _("New {severity} alert: {type}", what));
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
