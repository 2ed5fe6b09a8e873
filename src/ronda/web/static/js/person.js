// Persons: the list (with state), and a person's page: identity, orders and
// rules with weekly grids, zones on the map, devices, a timeline, and trail
// playback with a time slider (fixes drawn with their accuracy).
import { api, setPurpose, ApiError } from "./api.js";
import { el, fmtTime, stateLabel, toLocalInput, fromLocalInput } from "./ui.js";
import { _, N_, label } from "./i18n.js";
import { makeMap, zoneLayer } from "./map.js";

export function personsPage(root) {
  const page = el("div", { class: "page" }, el("h1", { text: _("Persons") }));
  const table = el("table", {}, el("thead", {}, el("tr", {}, ...[_("Person"), _("Role"), _("State"), _("Last fix"), _("Devices")].map((h) => el("th", { scope: "col", text: h })))));
  const body = el("tbody");
  table.append(body);
  page.append(table);
  root.append(page);
  api("/map/persons").then((list) => {
    list.sort((a, b) => a.person.localeCompare(b.person));
    body.replaceChildren(...list.map((p) => el("tr", {},
      el("td", {}, el("a", { href: `#/person/${encodeURIComponent(p.person)}`, text: p.name ? `${p.name} (${p.person})` : p.person })),
      el("td", { text: label("role", p.role) }),
      el("td", {}, el("i", { class: `dot st-${p.state}` }), " ", stateLabel(p.state)),
      el("td", { text: fmtTime(p.time) }),
      el("td", { text: p.devices.map((d) => d.id).join(", ") }))));
  }).catch((e) => page.append(el("p", { class: "error", text: e.message })));
}

const DAYS = ["mo", "tu", "we", "th", "fr", "sa", "su"];
const DAY_NAMES = [N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")];
// The days of a weekly window in the user's words: "Mon, Tue".
const dayList = (days) => days.map((d) => (DAYS.includes(d) ? _(DAY_NAMES[DAYS.indexOf(d)]) : d)).join(", ");
const minutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };

// The weekly windows as 7 × 24 hour cells, in the order's time zone; a window
// whose end is not after its start runs over midnight into the next day.
export function weekGrid(weekly) {
  const on = DAYS.map(() => new Array(24).fill(false));
  const mark = (day, from, to) => { for (let h = 0; h < 24; h++) if (h * 60 < to && (h + 1) * 60 > from) on[day][h] = true; };
  for (const w of weekly) {
    const s = minutes(w.start), e = minutes(w.end);
    for (const d of w.days) {
      const i = DAYS.indexOf(d);
      if (e > s) mark(i, s, e); else { mark(i, s, 1440); mark((i + 1) % 7, 0, e); }
    }
  }
  const grid = el("div", { class: "week", role: "img", "aria-label": _("weekly schedule: {windows}", { windows: weekly.map((w) => `${dayList(w.days)} ${w.start}–${w.end}`).join("; ") }) });
  grid.append(el("div", { class: "hdr" }), ...Array.from({ length: 24 }, (_, h) => el("div", { class: "hdr", text: h % 3 === 0 ? String(h) : "" })));
  on.forEach((hours, d) => {
    grid.append(el("div", { class: "day", text: _(DAY_NAMES[d]) }), ...hours.map((x) => el("div", { class: x ? "on" : "" })));
  });
  return grid;
}

function ruleText(r, zoneNames) {
  if (r.type === "proximity") return _("keep {distance} m from protected person {person}", { distance: r.distance_m, person: r.person });
  const name = zoneNames.get(r.zone);
  const zone = name ? `${name} (${r.zone})` : r.zone;
  const curfew = r.type === "inclusion" && r.schedule && r.schedule.weekly && r.schedule.weekly.length;
  const text = r.type === "exclusion" ? _("must stay out of zone {zone}", { zone }) : _("must be inside zone {zone}", { zone });
  return `${label("rule", curfew ? "curfew" : r.type)}: ${text}`;
}

export function personPage(root, rawId) {
  const [id, qs] = rawId.split("?");
  const alertId = new URLSearchParams(qs || "").get("alert");
  setPurpose(alertId ? `alert #${alertId}` : sessionStorage.getItem("ronda.purpose." + id) || ""); // for the audit trail: not translated
  const page = el("div", { class: "page" });
  root.append(page);
  let map = null, closed = false, timer = null;

  async function load() {
    let person;
    try { person = await api(`/persons/${encodeURIComponent(id)}`); } catch (e) { return refused(e); }
    const [orders, devices, states, zones, episodes, events] = await Promise.all([
      api("/orders", { query: { person: id } }).catch(() => []),
      api("/devices", { query: { person: id } }).catch(() => []),
      api("/map/persons").catch(() => []),
      api("/zones").catch(() => ({ features: [] })),
      api("/episodes", { query: { person: id, start: new Date(Date.now() - 30 * 86400e3).toISOString(), limit: 500 } }).catch(() => []),
      api(`/persons/${encodeURIComponent(id)}/events`, { query: { start: new Date(Date.now() - 30 * 86400e3).toISOString(), end: new Date(Date.now() + 86400e3).toISOString(), limit: 500 } }).catch(() => []),
    ]);
    if (closed) return;
    const state = states.find((p) => p.person === id);
    const zoneNames = new Map(zones.features.map((z) => [z.id, z.properties && z.properties.name]));
    const active = orders.filter((o) => o.active);
    const tz = active.length ? active[0].timezone : undefined; // times in the order's zone, named
    const zoneIds = new Set(active.flatMap((o) => o.rules.map((r) => r.zone)).filter(Boolean));
    for (const d of devices) if (d.home_zone) zoneIds.add(d.home_zone);

    const left = el("div");
    const right = el("div");
    page.replaceChildren(
      el("h1", {}, person.name || person.id, " ", el("span", { class: "muted", text: `(${person.id}, ${label("role", person.role)})` })),
      el("p", {}, state ? el("span", {}, el("i", { class: `dot st-${state.state}` }), " " + _("{state} · last fix {time}", { state: stateLabel(state.state), time: fmtTime(state.time, tz) })) : _("no position"),
        alertId ? " · " + _("opened for alert #{id}", { id: alertId }) : ""),
      el("div", { class: "person" }, left, right));

    // Orders and rules
    const oc = el("section", { class: "card", "aria-labelledby": "h-orders" }, el("h2", { id: "h-orders", text: _("Order and rules") }));
    if (!active.length) oc.append(el("p", { class: "muted", text: _("No active order.") }));
    for (const o of active) {
      oc.append(el("p", {}, el("strong", { text: _("Order {id}", { id: o.id }) }), " · " + _("version {version} · times in {timezone}", { version: o.version, timezone: o.timezone })));
      for (const r of o.rules) {
        const sch = r.schedule && r.schedule.weekly;
        oc.append(el("div", { class: "rule" }, el("p", {}, el("strong", { text: r.id }), ": ", ruleText(r, zoneNames),
          sch ? ` · ${sch.map((w) => `${dayList(w.days)} ${w.start}–${w.end}`).join("; ")}` : " · " + _("at all times")),
          sch ? weekGrid(sch) : null,
          r.schedule && r.schedule.exceptions && r.schedule.exceptions.length
            ? el("p", { class: "muted", text: _("Exceptions: {periods}", { periods: r.schedule.exceptions.map((x) => `${fmtTime(x.start, o.timezone)} – ${fmtTime(x.end, o.timezone)}`).join("; ") }) }) : null));
      }
    }
    // Devices
    const dc = el("section", { class: "card", "aria-labelledby": "h-dev" }, el("h2", { id: "h-dev", text: _("Devices") }));
    const dstate = new Map((state ? state.devices : []).map((d) => [d.id, d]));
    dc.append(el("table", {}, el("thead", {}, el("tr", {}, ...[_("Device"), _("Kind"), _("Status"), _("Battery"), _("Last contact")].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...devices.map((d) => {
        const s = dstate.get(d.id) || {};
        return el("tr", {}, el("td", {}, el("a", { href: `#/device/${encodeURIComponent(d.id)}`, text: d.id })),
          el("td", { text: label("device", d.kind) }), el("td", { text: label("device_status", d.status) }),
          el("td", { text: s.battery_pct == null ? "—" : `${Math.round(s.battery_pct)} %` }), el("td", { text: fmtTime(s.last_contact, tz) }));
      }))));
    // Timeline: episodes and device events, newest first
    const items = [
      ...episodes.map((e) => {
        const what = { type: label("alert_type", e.type), start: fmtTime(e.start, tz), end: fmtTime(e.end, tz) };
        const when = e.end ? _("{type} episode from {start} to {end}", what) : _("{type} episode since {start} (ongoing)", what);
        const alert = _("alert #{id} {status}", { id: e.id, status: label("alert_status", e.status) })
          + (e.outcome ? ` (${label("alert_outcome", e.outcome)})` : "");
        return { t: e.start, text: `${when} · ${alert}`, cls: "episode" };
      }),
      ...events.map((v) => ({ t: v.time, text: _("{time} · device {device}: {event}", { time: fmtTime(v.time, tz), device: v.device, event: label("event", v.kind) }), cls: "event" })),
    ].sort((a, b) => Date.parse(b.t) - Date.parse(a.t));
    const tc = el("section", { class: "card", "aria-labelledby": "h-time" }, el("h2", { id: "h-time", text: _("Timeline (30 days)") }),
      items.length ? el("ul", { class: "timeline" }, ...items.map((i) => el("li", { class: i.cls, text: i.text }))) : el("p", { class: "muted", text: _("Nothing in the last 30 days.") }));
    left.append(oc, dc, tc);

    // Map and playback
    const mapDiv = el("div", { class: "map static", id: "person-map" });
    const pc = el("section", { class: "card", "aria-labelledby": "h-play" }, el("h2", { id: "h-play", text: _("Zones and trail playback") }), mapDiv);
    right.append(pc);
    map = await makeMap(mapDiv);
    if (closed) { if (map) map.remove(); return; }
    const bounds = [];
    if (map) {
      for (const f of zones.features.filter((z) => zoneIds.has(z.id))) {
        const lyr = zoneLayer(f).addTo(map);
        bounds.push(lyr.getBounds());
      }
      if (state && state.lat != null) {
        L.circle([state.lat, state.lon], { radius: state.accuracy_m || 10, color: "#111", weight: 1, fillOpacity: 0.1 }).addTo(map);
        L.circleMarker([state.lat, state.lon], { radius: 6, color: "#111", fillColor: "#111", fillOpacity: 1 }).bindTooltip(_("latest fix")).addTo(map);
        map.setView([state.lat, state.lon], 14);
      } else if (bounds.length) map.fitBounds(bounds.reduce((a, b) => a.extend(b)));
    }
    pc.append(playback(id, map, state, tz));
  }

  function playback(personId, map, state, tz) {
    const end = state && state.time ? new Date(state.time) : new Date();
    const from = el("input", { id: "pb-from", type: "datetime-local", value: toLocalInput(new Date(end.getTime() - 2 * 3600e3)) });
    const to = el("input", { id: "pb-to", type: "datetime-local", value: toLocalInput(new Date(end.getTime() + 60e3)) });
    const loadBtn = el("button", { type: "submit", class: "primary", text: _("Load trail") });
    const slider = el("input", { id: "pb-slider", type: "range", min: 0, max: 0, value: 0, disabled: true, "aria-label": _("Time of the trail") });
    const play = el("button", { type: "button", id: "pb-play", text: _("Play"), disabled: true });
    const speed = el("select", { id: "pb-speed", "aria-label": _("Playback speed") }, ...[1, 4, 16, 64].map((x) => el("option", { value: x, text: _("{n} fixes/s", { n: x }), selected: x === 4 })));
    const info = el("p", { id: "pb-info", role: "status", text: _("Choose a period and load the trail.") });
    let fixes = [], layer = null, current = null;

    function show(i) {
      const f = fixes[i];
      if (!f) return;
      const [lon, lat] = f.geometry.coordinates, p = f.properties;
      slider.value = i;
      slider.setAttribute("aria-valuetext", fmtTime(p.time, tz));
      info.textContent = _("Fix {i} of {n}: {time} · ±{accuracy} m", { i: i + 1, n: fixes.length, time: fmtTime(p.time, tz), accuracy: Math.round(p.accuracy_m || 0) })
        + (p.speed_mps != null ? ` · ${(p.speed_mps * 3.6).toFixed(0)} km/h` : "") + " · " + _("device {device}", { device: p.device });
      if (!map) return;
      if (current) current.remove();
      current = L.layerGroup([
        L.polyline(fixes.slice(0, i + 1).map((x) => [x.geometry.coordinates[1], x.geometry.coordinates[0]]), { color: "#b3261e", weight: 3 }),
        L.circle([lat, lon], { radius: p.accuracy_m || 5, color: "#b3261e", weight: 2, fillOpacity: 0.15 }),
        L.circleMarker([lat, lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#b3261e", fillOpacity: 1 }),
      ]).addTo(map);
      if (!map.getBounds().contains([lat, lon])) map.panTo([lat, lon]);
    }

    const form = el("form", { class: "playback", "aria-label": _("Trail playback") },
      el("div", { class: "row" }, el("div", {}, el("label", { for: "pb-from", text: _("From") }), from),
        el("div", {}, el("label", { for: "pb-to", text: _("To") }), to), loadBtn),
      slider, el("div", { class: "row" }, play, speed), info);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      stop();
      try {
        if (closed) return;
        const data = await api(`/persons/${encodeURIComponent(personId)}/positions`, { query: { start: fromLocalInput(from.value).toISOString(), end: fromLocalInput(to.value).toISOString(), limit: 10000 } });
        fixes = data.features;
      } catch (e) { info.textContent = e.message; return; }
      if (closed) return;
      if (layer) layer.remove();
      slider.max = Math.max(0, fixes.length - 1); slider.disabled = play.disabled = !fixes.length;
      if (!fixes.length) { info.textContent = _("No fixes in this period."); return; }
      if (map) {
        // Every fix with its accuracy circle; the path in grey under the played part.
        const pts = fixes.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
        layer = L.layerGroup([L.polyline(pts, { color: "#6b7280", weight: 2, dashArray: "4 4" }),
          ...fixes.map((f, i) => L.circle(pts[i], { radius: f.properties.accuracy_m || 5, color: "#4a4f55", weight: 1, fillOpacity: 0.04 }))]).addTo(map);
        map.fitBounds(L.latLngBounds(pts), { padding: [20, 20], maxZoom: 17 });
      }
      show(0);
    });
    slider.addEventListener("input", () => show(Number(slider.value)));
    function stop() { if (timer) clearInterval(timer); timer = null; play.textContent = _("Play"); }
    play.addEventListener("click", () => {
      if (timer) return stop();
      if (Number(slider.value) >= fixes.length - 1) show(0);
      play.textContent = _("Pause");
      timer = setInterval(() => {
        const i = Number(slider.value) + 1;
        if (i >= fixes.length) return stop();
        show(i);
      }, 1000 / Number(speed.value));
    });
    return form;
  }

  function refused(e) {
    page.replaceChildren(el("h1", { text: _("Person {id}", { id }) }), el("p", { class: "error", role: "alert", text: e.message }));
    // Operators see persons in alert; others only with a stated purpose (the
    // server answers 404 so as not to tell whether the person exists).
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      const why = el("input", { id: "purpose", required: true, minlength: 3 });
      const f = el("form", {}, el("label", { for: "purpose", text: _("If this person is not in alert, state why you open them (recorded in the audit trail)") }), why,
        el("button", { class: "primary", type: "submit", id: "purpose-open", text: _("Open") }));
      f.addEventListener("submit", (ev) => {
        ev.preventDefault(); sessionStorage.setItem("ronda.purpose." + id, why.value); setPurpose(why.value); load();
      });
      page.append(f);
    }
  }

  load();
  return () => { closed = true; if (timer) clearInterval(timer); if (map) map.remove(); map = null; setPurpose(""); };
}

