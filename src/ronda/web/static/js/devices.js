// Devices and inventory: every device with its status and wearer; a device's
// page with its assignment history, assign / unassign, and status changes.
import { api, session } from "./api.js";
import { el, fmtTime } from "./ui.js";

const STATUSES = ["in_stock", "active", "faulty", "retired"];
const KINDS = ["gps_tag", "home_unit", "phone", "wristband"];
const by = () => (session.user && session.user.username) || "operator";

export function devicesPage(root) {
  const filter = el("select", { id: "dev-status" }, el("option", { value: "", text: "any status" }), ...STATUSES.map((s) => el("option", { value: s, text: s.replace("_", " ") })));
  const body = el("tbody");
  const msg = el("p", { role: "alert" });
  const nid = el("input", { id: "new-dev-id", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}" });
  const nkind = el("select", { id: "new-dev-kind" }, ...KINDS.map((k) => el("option", { value: k, text: k.replace("_", " ") })));
  const nserial = el("input", { id: "new-dev-serial" });
  const add = el("form", { "aria-labelledby": "h-newdev" }, el("h2", { id: "h-newdev", text: "Add a device to stock" }),
    el("div", { class: "row" }, el("div", {}, el("label", { for: "new-dev-id", text: "Device id (as it reports)" }), nid),
      el("div", {}, el("label", { for: "new-dev-kind", text: "Kind" }), nkind),
      el("div", {}, el("label", { for: "new-dev-serial", text: "Serial" }), nserial),
      el("button", { class: "primary", type: "submit", text: "Add" })), msg);
  add.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("/devices", { method: "POST", body: { id: nid.value.trim(), kind: nkind.value, serial: nserial.value.trim() } });
      msg.className = ""; msg.textContent = `Device ${nid.value} added.`; nid.value = nserial.value = ""; load();
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  });
  root.append(el("div", { class: "page" }, el("h1", { text: "Devices" }),
    el("div", { class: "row" }, el("div", {}, el("label", { for: "dev-status", text: "Status" }), filter)),
    el("table", {}, el("thead", {}, el("tr", {}, ...["Device", "Kind", "Serial", "Status", "Worn by", "Home zone"].map((h) => el("th", { scope: "col", text: h })))), body),
    add));
  async function load() {
    const list = await api("/devices", { query: { status: filter.value } });
    body.replaceChildren(...list.map((d) => el("tr", {},
      el("td", {}, el("a", { href: `#/device/${encodeURIComponent(d.id)}`, text: d.id })),
      el("td", { text: d.kind.replace("_", " ") }), el("td", { text: d.serial }), el("td", { text: d.status.replace("_", " ") }),
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
    } catch (e) { page.replaceChildren(el("h1", { text: `Device ${id}` }), el("p", { class: "error", text: e.message })); return; }
    const msg = el("p", { role: "alert", id: "dev-msg" });
    const status = el("select", { id: "dev-status-set" }, ...STATUSES.map((s) => el("option", { value: s, text: s.replace("_", " "), selected: s === d.status })));
    const person = el("select", { id: "dev-person" }, ...persons.map((p) => el("option", { value: p.id, text: p.name ? `${p.name} (${p.id})` : p.id })));
    async function run(f, done) {
      try { await f(); await load(); document.getElementById("dev-msg").className = ""; document.getElementById("dev-msg").textContent = done; }
      catch (e) { msg.className = "error"; msg.textContent = e.message; }
    }
    const assignForm = el("form", { "aria-label": "Assign" }, el("div", { class: "row" },
      el("div", {}, el("label", { for: "dev-person", text: "Assign to" }), person),
      el("button", { class: "primary", type: "submit", id: "dev-assign", text: d.person ? "Move to this person" : "Assign" })));
    assignForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(() => api(`/devices/${encodeURIComponent(id)}/assign`, { method: "POST", body: { person: person.value, by: by() } }), `Assigned to ${person.value}.`);
    });
    const unassign = el("button", { type: "button", id: "dev-unassign", text: "Unassign (take back)", hidden: !d.person,
      onclick: () => run(() => api(`/devices/${encodeURIComponent(id)}/assign`, { method: "POST", body: { person: null, by: by() } }), "Taken back.") });
    const setStatus = el("button", { type: "button", text: "Set status",
      onclick: () => run(() => api(`/devices/${encodeURIComponent(id)}`, { method: "PATCH", body: { status: status.value } }), `Status set to ${status.value}.`) });
    page.replaceChildren(
      el("h1", { text: `Device ${d.id}` }),
      el("table", {}, el("tbody", {}, ...[["Kind", d.kind.replace("_", " ")], ["Serial", d.serial || "—"], ["Status", d.status.replace("_", " ")],
        ["Worn by", d.person ? el("a", { href: `#/person/${encodeURIComponent(d.person)}`, text: d.person }) : "nobody (in stock)"],
        ["Home zone", d.home_zone || "—"], ["Report interval", d.report_interval_s ? `${d.report_interval_s} s` : "—"],
        ["Silence before comms loss", d.comms_timeout_s ? `${Math.round(d.comms_timeout_s)} s` : "—"],
        ["Ingest token", d.has_token ? "issued" : "none"], ["In inventory since", fmtTime(d.created)]]
        .map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", {}, v))))),
      el("h2", { text: "Assignment" }), assignForm, unassign,
      el("div", { class: "row", style: "margin-top:.6em" }, el("div", {}, el("label", { for: "dev-status-set", text: "Status" }), status), setStatus),
      msg,
      el("h2", { text: "Assignment history" }),
      history.length ? el("table", { id: "dev-history" }, el("thead", {}, el("tr", {}, ...["Person", "From", "Assigned by", "To", "Ended by"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...history.map((a) => el("tr", {}, el("td", {}, el("a", { href: `#/person/${encodeURIComponent(a.person)}`, text: a.person })),
          el("td", { text: fmtTime(a.start) }), el("td", { text: a.assigned_by }), el("td", { text: a.end ? fmtTime(a.end) : "now" }), el("td", { text: a.ended_by || "—" })))))
        : el("p", { class: "muted", text: "Never assigned." }));
  }
  load();
}
