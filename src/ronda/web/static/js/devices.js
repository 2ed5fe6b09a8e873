// Devices and inventory: every device with its status and wearer; a device's
// page with its assignment history, assign / unassign, and status changes.
import { api, session } from "./api.js";
import { el, fmtTime } from "./ui.js";
import { _, label } from "./i18n.js";

const STATUSES = ["in_stock", "active", "faulty", "retired"];
const KINDS = ["gps_tag", "home_unit", "phone", "wristband"];
const by = () => (session.user && session.user.username) || "operator";

export function devicesPage(root) {
  const filter = el("select", { id: "dev-status" }, el("option", { value: "", text: _("any status") }), ...STATUSES.map((s) => el("option", { value: s, text: label("device_status", s) })));
  const body = el("tbody");
  const msg = el("p", { role: "alert" });
  const nid = el("input", { id: "new-dev-id", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}" });
  const nkind = el("select", { id: "new-dev-kind" }, ...KINDS.map((k) => el("option", { value: k, text: label("device", k) })));
  const nserial = el("input", { id: "new-dev-serial" });
  const add = el("form", { "aria-labelledby": "h-newdev" }, el("h2", { id: "h-newdev", text: _("Add a device to stock") }),
    el("div", { class: "row" }, el("div", {}, el("label", { for: "new-dev-id", text: _("Device id (as it reports)") }), nid),
      el("div", {}, el("label", { for: "new-dev-kind", text: _("Kind") }), nkind),
      el("div", {}, el("label", { for: "new-dev-serial", text: _("Serial") }), nserial),
      el("button", { class: "primary", type: "submit", text: _("Add") })), msg);
  add.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("/devices", { method: "POST", body: { id: nid.value.trim(), kind: nkind.value, serial: nserial.value.trim() } });
      msg.className = ""; msg.textContent = _("Device {id} added.", { id: nid.value }); nid.value = nserial.value = ""; load();
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  });
  root.append(el("div", { class: "page" }, el("h1", { text: _("Devices") }),
    el("div", { class: "row" }, el("div", {}, el("label", { for: "dev-status", text: _("Status") }), filter)),
    el("table", {}, el("thead", {}, el("tr", {}, ...[_("Device"), _("Kind"), _("Serial"), _("Status"), _("Worn by"), _("Home zone")].map((h) => el("th", { scope: "col", text: h })))), body),
    add));
  async function load() {
    const list = await api("/devices", { query: { status: filter.value } });
    body.replaceChildren(...list.map((d) => el("tr", {},
      el("td", {}, el("a", { href: `#/device/${encodeURIComponent(d.id)}`, text: d.id })),
      el("td", { text: label("device", d.kind) }), el("td", { text: d.serial }), el("td", { text: label("device_status", d.status) }),
      el("td", {}, d.person ? el("a", { href: `#/person/${encodeURIComponent(d.person)}`, text: d.person }) : "—"),
      el("td", { text: d.home_zone || "—" }))));
  }
  filter.addEventListener("change", load);
  load().catch((e) => { msg.className = "error"; msg.textContent = e.message; });
}

export function devicePage(root, id) {
  const page = el("div", { class: "page" });
  root.append(page);
  async function load() {
    let d, history, persons;
    try {
      [d, history, persons] = await Promise.all([api(`/devices/${encodeURIComponent(id)}`),
        api(`/devices/${encodeURIComponent(id)}/assignments`), api("/persons", { query: { role: "monitored" } }).catch(() => [])]);
    } catch (e) { page.replaceChildren(el("h1", { text: _("Device {id}", { id }) }), el("p", { class: "error", text: e.message })); return; }
    const msg = el("p", { role: "alert", id: "dev-msg" });
    const status = el("select", { id: "dev-status-set" }, ...STATUSES.map((s) => el("option", { value: s, text: label("device_status", s), selected: s === d.status })));
    const person = el("select", { id: "dev-person" }, ...persons.map((p) => el("option", { value: p.id, text: p.name ? `${p.name} (${p.id})` : p.id })));
    async function run(f, done) {
      try { await f(); await load(); document.getElementById("dev-msg").className = ""; document.getElementById("dev-msg").textContent = done; }
      catch (e) { msg.className = "error"; msg.textContent = e.message; }
    }
    const assignForm = el("form", { "aria-label": _("Assign") }, el("div", { class: "row" },
      el("div", {}, el("label", { for: "dev-person", text: _("Assign to") }), person),
      el("button", { class: "primary", type: "submit", id: "dev-assign", text: d.person ? _("Move to this person") : _("Assign") })));
    assignForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(() => api(`/devices/${encodeURIComponent(id)}/assign`, { method: "POST", body: { person: person.value, by: by() } }), _("Assigned to {person}.", { person: person.value }));
    });
    const unassign = el("button", { type: "button", id: "dev-unassign", text: _("Unassign (take back)"), hidden: !d.person,
      onclick: () => run(() => api(`/devices/${encodeURIComponent(id)}/assign`, { method: "POST", body: { person: null, by: by() } }), _("Taken back.")) });
    const setStatus = el("button", { type: "button", text: _("Set status"),
      onclick: () => run(() => api(`/devices/${encodeURIComponent(id)}`, { method: "PATCH", body: { status: status.value } }), _("Status set to {status}.", { status: label("device_status", status.value) })) });
    page.replaceChildren(
      el("h1", { text: _("Device {id}", { id: d.id }) }),
      el("table", {}, el("tbody", {}, ...[[_("Kind"), label("device", d.kind)], [_("Serial"), d.serial || "—"], [_("Status"), label("device_status", d.status)],
        [_("Worn by"), d.person ? el("a", { href: `#/person/${encodeURIComponent(d.person)}`, text: d.person }) : _("nobody (in stock)")],
        [_("Home zone"), d.home_zone || "—"], [_("Report interval"), d.report_interval_s ? `${d.report_interval_s} s` : "—"],
        [_("Silence before comms loss"), d.comms_timeout_s ? `${Math.round(d.comms_timeout_s)} s` : "—"],
        [_("Ingest token"), d.has_token ? _("issued") : _("none")], [_("In inventory since"), fmtTime(d.created)]]
        .map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", {}, v))))),
      el("h2", { text: _("Assignment") }), assignForm, unassign,
      el("div", { class: "row", style: "margin-top:.6em" }, el("div", {}, el("label", { for: "dev-status-set", text: _("Status") }), status), setStatus),
      msg,
      el("h2", { text: _("Assignment history") }),
      history.length ? el("table", { id: "dev-history" }, el("thead", {}, el("tr", {}, ...[_("Person"), _("From"), _("Assigned by"), _("To"), _("Ended by")].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...history.map((a) => el("tr", {}, el("td", {}, el("a", { href: `#/person/${encodeURIComponent(a.person)}`, text: a.person })),
          el("td", { text: fmtTime(a.start) }), el("td", { text: a.assigned_by }), el("td", { text: a.end ? fmtTime(a.end) : _("now") }), el("td", { text: a.ended_by || "—" })))))
        : el("p", { class: "muted", text: _("Never assigned.") }));
  }
  load();
}
