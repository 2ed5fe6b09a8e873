// Live: the map of every person the user may see (coloured by state) beside
// the alert queue; both follow the stream without a reload.
import { api } from "./api.js";
import { subscribe } from "./hub.js";
import { el, stateLabel, fmtTime } from "./ui.js";
import { _ } from "./i18n.js";
import { makeMap, zoneLayer, pinIcon, pinTitle, legend } from "./map.js";
import { alertQueue } from "./alerts.js";

export function livePage(root) {
  const mapDiv = el("div", { class: "map", id: "live-map" });
  const side = el("section", { class: "queue", "aria-labelledby": "queue-title" });
  const summary = el("p", { class: "sr-only", id: "map-summary", role: "status" });
  root.append(el("div", { class: "split" }, el("div", { class: "map-wrap" }, mapDiv, summary), side));
  const persons = new Map(); // person id -> {data, marker}
  const byDevice = new Map(); // device id -> person id
  let map = null, stopStream = null, refresh = null, closed = false, fitted = false, popupMarker = null;
  // Escape closes a pin's popup wherever the focus is in the map, and the focus returns to the pin.
  mapDiv.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || !popupMarker || !popupMarker.isPopupOpen()) return;
    const back = popupMarker.getElement();
    popupMarker.closePopup();
    if (back) back.focus();
  });

  const queue = alertQueue(side, {
    onFocus: (a) => {
      const p = persons.get(a.person);
      if (map && p && p.marker) { map.setView(p.marker.getLatLng(), Math.max(map.getZoom(), 15)); p.marker.openPopup(); }
    },
  });

  function popup(p) {
    const d = el("div", {}, el("strong", { text: p.name || p.person }), el("br"),
      p.role === "protected" ? _("protected person · {state}", { state: stateLabel(p.state) }) : stateLabel(p.state), el("br"),
      p.accuracy_m
        ? _("last fix {time} (±{accuracy} m)", { time: fmtTime(p.time), accuracy: Math.round(p.accuracy_m) })
        : _("last fix {time}", { time: fmtTime(p.time) }), el("br"),
      el("a", { href: `#/person/${encodeURIComponent(p.person)}`, text: _("Open person page") }));
    return d;
  }

  function place(p) {
    let entry = persons.get(p.person);
    if (!entry) { entry = { data: p, marker: null }; persons.set(p.person, entry); }
    entry.data = p;
    for (const d of p.devices) byDevice.set(d.id, p.person);
    if (!map || p.lat === null || p.lat === undefined) { if (entry.marker) { entry.marker.remove(); entry.marker = null; } return; }
    if (!entry.marker) {
      entry.marker = L.marker([p.lat, p.lon], { icon: pinIcon(p), title: pinTitle(p), keyboard: true, riseOnHover: true })
        .bindPopup(() => popup(entry.data)).addTo(map);
      entry.marker.getElement()?.setAttribute("data-person", p.person);
      // Opened from the keyboard (Enter on the pin): the focus goes into the popup.
      const marker = entry.marker;
      marker.on("popupopen", (e) => {
        popupMarker = marker;
        if (document.activeElement === marker.getElement()) e.popup.getElement()?.querySelector(".leaflet-popup-content a")?.focus();
      });
    } else {
      entry.marker.setLatLng([p.lat, p.lon]);
      entry.marker.setIcon(pinIcon(p));
      const elm = entry.marker.getElement();
      if (elm) { elm.title = pinTitle(p); elm.setAttribute("data-person", p.person); }
    }
    entry.marker.getElement()?.setAttribute("data-state", p.state);
    entry.marker.setZIndexOffset(p.state === "violation" ? 1000 : 0);
  }

  async function loadPersons() {
    const list = await api("/map/persons");
    if (closed) return;
    const seen = new Set(list.map((p) => p.person));
    for (const [id, e] of persons) if (!seen.has(id)) { if (e.marker) e.marker.remove(); persons.delete(id); }
    list.forEach(place);
    const counts = {};
    for (const p of list) counts[p.state] = (counts[p.state] || 0) + 1;
    summary.textContent = _("Map: {counts}", { counts: Object.entries(counts).map(([k, n]) => `${n} ${stateLabel(k)}`).join(", ") });
    if (map && !fitted) {
      const pts = list.filter((p) => p.lat !== null).map((p) => [p.lat, p.lon]);
      if (pts.length) { map.fitBounds(pts, { padding: [30, 30], maxZoom: 15 }); fitted = true; }
    }
  }
  // Zones drawn on the live map: those the user may see (which can change with alerts).
  let zoneGroup = null;
  async function loadZones() {
    const zones = await api("/zones").catch(() => ({ features: [] }));
    if (closed || !map) return;
    if (zoneGroup) zoneGroup.remove();
    zoneGroup = L.layerGroup(zones.features.map((f) => zoneLayer(f))).addTo(map);
  }
  // States (and what the user may see) change with alerts: reload soon after, at most every 2 s.
  function soon() {
    if (!refresh) refresh = setTimeout(() => { refresh = null; if (!closed) { loadPersons().catch(() => {}); loadZones(); } }, 2000);
  }

  function onEvent(type, data) {
    if (type === "state") { onState(data); return; }
    if (type === "alert") { queue.upsert(data, data.new !== false); soon(); return; }
    if (type === "position") {
      const id = byDevice.get(data.device);
      const e = id && persons.get(id);
      if (!e) { soon(); return; } // a device we do not know yet, or not visible to this user
      if (!e.data.time || Date.parse(data.time) >= Date.parse(e.data.time)) {
        place({ ...e.data, lat: data.lat, lon: data.lon, accuracy_m: data.accuracy, time: data.time, device: data.device });
      }
    }
  }

  function onState(live) {
    if (live) { queue.load().catch(() => {}); loadPersons().catch(() => {}); } // catch up on what the gap hid
  }

  (async () => {
    map = await makeMap(mapDiv);
    if (closed) { if (map) map.remove(); return; }
    if (map) {
      legend(map);
      await loadZones();
      if (closed) return;
    }
    await Promise.all([queue.load(), loadPersons()]).catch(() => {});
    if (!closed) stopStream = subscribe(onEvent);
  })();

  return () => {
    closed = true; queue.stop(); if (stopStream) stopStream(); if (refresh) clearTimeout(refresh);
    if (map) map.remove();
    map = null; // late answers must not draw on a removed map
  };
}
