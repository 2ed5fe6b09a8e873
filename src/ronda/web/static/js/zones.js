// The zone editor: draw and edit polygons and circles (Leaflet-Geoman), name
// them, attach them to a rule of an order, save through the API; the API's
// refusal (an invalid shape, a zone still used) is shown as it says it.
import { api } from "./api.js";
import { el } from "./ui.js";
import { _ } from "./i18n.js";
import { makeMap, zoneLayer } from "./map.js";

const EDIT_STYLE = { color: "#a33c00", weight: 3, fillOpacity: 0.15 };

export function toFeature(layer, id, name) {
  if (layer instanceof L.Circle) {
    const c = layer.getLatLng();
    return { type: "Feature", id, geometry: { type: "Point", coordinates: [c.lng, c.lat] }, properties: { name, radius_m: layer.getRadius() } };
  }
  const gj = layer.toGeoJSON();
  const f = gj.type === "FeatureCollection" ? gj.features[0] : gj;
  return { type: "Feature", id, geometry: f.geometry, properties: { name } };
}

// Geoman's corner handles are focusable markers (role "button") with no name:
// name each one as it appears, so a screen reader says what it is.
function nameHandles(map) {
  const pane = map.getPane("markerPane");
  const name = () => {
    for (const m of pane.querySelectorAll(".marker-icon:not([aria-label])")) {
      m.setAttribute("aria-label", m.classList.contains("marker-icon-middle")
        ? _("Add a corner here (drag)") : _("Corner of the zone (drag to move, right-click to remove)"));
    }
  };
  new MutationObserver(name).observe(pane, { childList: true });
  name();
}

export function zonesPage(root) {
  const mapDiv = el("div", { class: "map", id: "zone-map" });
  const list = el("ul", { class: "zone-list", "aria-label": _("Zones") });
  const msg = el("p", { role: "alert", id: "zone-msg" });
  const name = el("input", { id: "zone-name", required: true, maxlength: 200 });
  const zid = el("input", { id: "zone-id", pattern: "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", placeholder: _("made up when empty") });
  const order = el("select", { id: "zone-order" }, el("option", { value: "", text: _("no rule") }));
  const rtype = el("select", { id: "zone-rule-type" }, el("option", { value: "exclusion", text: _("exclusion (must stay out)") }),
    el("option", { value: "inclusion", text: _("inclusion (must be inside)") }));
  const save = el("button", { class: "primary", type: "submit", text: _("Save zone"), id: "zone-save" });
  const del = el("button", { class: "danger", type: "button", text: _("Delete zone"), id: "zone-delete", hidden: true });
  const drawPoly = el("button", { type: "button", id: "draw-polygon", text: _("Draw polygon") });
  const drawCircle = el("button", { type: "button", id: "draw-circle", text: _("Draw circle") });
  const newBtn = el("button", { type: "button", id: "zone-new", text: _("New zone") });
  // Drawing needs a pointer: the same shapes can be typed (keyboard, or copied from a court order).
  const coords = el("textarea", { id: "zone-coords", rows: 4, spellcheck: "false" });
  const useCoords = el("button", { type: "button", id: "zone-coords-use", text: _("Use these coordinates") });
  const form = el("form", { "aria-labelledby": "zone-form-title" },
    el("h2", { id: "zone-form-title", text: _("New zone") }),
    el("p", { class: "muted", id: "zone-hint", text: _("Draw a polygon or a circle on the map (click the corners; click the first corner to close), then name it and save.") }),
    el("div", { class: "row" }, drawPoly, drawCircle),
    el("details", { class: "typed" }, el("summary", { text: _("Or type the shape") }),
      el("label", { for: "zone-coords", text: _("Corners, one “latitude, longitude” a line (a circle: one line “latitude, longitude, radius in metres”)") }),
      coords, useCoords),
    el("label", { for: "zone-name", text: _("Name") }), name,
    el("label", { for: "zone-id", text: _("Id (new zones)") }), zid,
    el("label", { for: "zone-order", text: _("Attach to a rule of the order") }), order,
    el("label", { for: "zone-rule-type", text: _("Rule type") }), rtype,
    el("div", { class: "row", style: "margin-top:.8em" }, save, del), msg);
  root.append(el("div", { class: "zones-page" }, el("div", { class: "map-wrap", style: "position:relative" }, mapDiv),
    el("section", { class: "side", "aria-label": _("Zone editor") }, el("h1", { text: _("Zones") }), newBtn, list, form)));

  let map = null, closed = false, selected = null; // selected: {id|null, layer}
  const layers = new Map();

  function select(id) {
    if (selected && selected.layer) {
      selected.layer.pm && selected.layer.pm.disable();
      if (!selected.id) selected.layer.remove();
      else if (selected.layer.setStyle) selected.layer.setStyle({ color: "#0b57d0", weight: 2, fillOpacity: 0.08 });
    }
    selected = id ? { id, layer: layers.get(id) } : null;
    document.getElementById("zone-form-title").textContent = id ? _("Zone {id}", { id }) : _("New zone");
    del.hidden = !id; zid.disabled = !!id; msg.textContent = ""; msg.className = "";
    for (const b of list.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.zone === id));
    if (selected && selected.layer) {
      name.value = selected.layer.zoneName || "";
      zid.value = id;
      if (selected.layer.setStyle) selected.layer.setStyle(EDIT_STYLE);
      editable(selected.layer).pm.enable({ allowSelfIntersection: true });
      map.fitBounds(selected.layer.getBounds(), { maxZoom: 17 });
    } else { name.value = ""; zid.value = ""; }
  }
  // Geoman edits the shape itself: for a GeoJSON group, its one inner layer.
  function editable(layer) { return layer.getLayers ? layer.getLayers()[0] : layer; }

  async function loadZones(focusId) {
    const zones = await api("/zones");
    if (closed) return;
    for (const l of layers.values()) l.remove();
    layers.clear();
    for (const f of zones.features) {
      const l = zoneLayer(f);
      l.zoneName = f.properties.name;
      if (map) { l.addTo(map); l.on("click", () => select(f.id)); }
      layers.set(f.id, l);
    }
    list.replaceChildren(...zones.features.map((f) => el("li", {}, el("button", {
      type: "button", "data-zone": f.id, "aria-pressed": "false", text: `${f.properties.name || f.id} (${f.id})`, onclick: () => select(f.id),
    }))));
    if (focusId) select(focusId);
  }

  async function loadOrders() {
    const orders = await api("/orders").catch(() => []);
    order.append(...orders.filter((o) => o.active).map((o) => el("option", { value: o.id, text: _("{order} (person {person})", { order: o.id, person: o.person }) })));
  }

  function startDraw(shape) {
    if (!map) return;
    select(null);
    map.pm.enableDraw(shape, { allowSelfIntersection: true, templineStyle: EDIT_STYLE, pathOptions: EDIT_STYLE });
    msg.className = "muted"; msg.textContent = shape === "Circle" ? _("Click the centre, then click at the radius.") : _("Click each corner; click the first corner to finish.");
  }
  useCoords.addEventListener("click", () => {
    msg.className = "error";
    if (!map) { msg.textContent = _("Map unavailable: the shape cannot be shown."); return; }
    const pts = coords.value.split(/[\n;]+/).map((l) => l.trim()).filter(Boolean)
      .map((l) => l.split(/[\s,]+/).filter(Boolean).map(Number));
    const bad = pts.find((p) => p.length < 2 || p.length > 3 || p.some((x) => !Number.isFinite(x))
      || Math.abs(p[0]) > 90 || Math.abs(p[1]) > 180);
    let layer = null;
    if (bad) msg.textContent = _("Not a “latitude, longitude” line: {line}", { line: bad.join(", ") });
    else if (pts.length === 1 && pts[0].length === 3 && pts[0][2] > 0) layer = L.circle([pts[0][0], pts[0][1]], { radius: pts[0][2], ...EDIT_STYLE });
    else if (pts.length >= 3 && pts.every((p) => p.length === 2)) layer = L.polygon(pts, EDIT_STYLE);
    else msg.textContent = _("A polygon needs three corners or more; a circle, one line with its radius.");
    if (!layer) { coords.focus(); return; }
    select(null);
    layer.addTo(map);
    if (layer.pm) layer.pm.enable({ allowSelfIntersection: true });
    selected = { id: null, layer };
    map.fitBounds(layer.getBounds(), { maxZoom: 17 });
    msg.className = "muted"; msg.textContent = _("Shape drawn: name it and save.");
    name.focus();
  });
  drawPoly.addEventListener("click", () => startDraw("Polygon"));
  drawCircle.addEventListener("click", () => startDraw("Circle"));
  newBtn.addEventListener("click", () => { select(null); name.focus(); });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    msg.className = "error"; msg.textContent = "";
    if (!selected || !selected.layer) { msg.textContent = _("Draw the zone on the map first."); return; }
    const shape = selected.id ? editable(selected.layer) : selected.layer;
    const feature = toFeature(shape, selected.id || zid.value.trim() || undefined, name.value.trim());
    if (!feature.id) delete feature.id;
    try {
      const saved = selected.id
        ? await api(`/zones/${encodeURIComponent(selected.id)}`, { method: "PUT", body: feature })
        : await api("/zones", { method: "POST", body: feature });
      let note = _("Zone {id} saved.", { id: saved.id });
      if (order.value) {
        const ruleId = `r-${saved.id}-${rtype.value}`.slice(0, 64);
        await api(`/orders/${encodeURIComponent(order.value)}/rules`, { method: "POST", body: { id: ruleId, type: rtype.value, zone: saved.id } });
        note += " " + _("Rule {rule} added to order {order}.", { rule: ruleId, order: order.value });
      }
      if (!selected.id) selected.layer.remove();
      selected = null;
      await loadZones(saved.id);
      msg.className = ""; msg.textContent = note;
    } catch (e) { msg.textContent = _("Not saved: {error}", { error: e.message }); }
  });

  del.addEventListener("click", async () => {
    if (!selected || !selected.id || !confirm(_("Delete zone {id}?", { id: selected.id }))) return;
    try { await api(`/zones/${encodeURIComponent(selected.id)}`, { method: "DELETE" }); selected = null; await loadZones(); select(null); msg.textContent = _("Zone deleted."); }
    catch (e) { msg.className = "error"; msg.textContent = _("Not deleted: {error}", { error: e.message }); }
  });

  (async () => {
    map = await makeMap(mapDiv);
    if (closed) { if (map) map.remove(); return; }
    if (map) {
      nameHandles(map);
      map.pm.setGlobalOptions({ allowSelfIntersection: true });
      map.on("pm:create", (e) => {
        select(null);
        selected = { id: null, layer: e.layer };
        e.layer.pm.enable({ allowSelfIntersection: true });
        msg.className = "muted"; msg.textContent = _("Shape drawn: name it and save.");
        name.focus();
      });
    }
    await Promise.all([loadZones(), loadOrders()]).catch((e) => { msg.textContent = e.message; });
    if (map && layers.size) {
      const b = [...layers.values()].map((l) => l.getBounds()).reduce((a, c) => a.extend(c));
      map.fitBounds(b, { maxZoom: 15 });
    }
  })();
  return () => { closed = true; if (map) { map.pm.disableDraw(); map.remove(); } map = null; };
}
