// Leaflet maps: the base map from the server's setting (none: a plain
// background), zones as GeoJSON, person pins coloured by state with a symbol.
import { api } from "./api.js";
import { STATE_LABEL, stateLabel } from "./ui.js";
import { _ } from "./i18n.js";

let config = null;
async function mapConfig() {
  if (!config) config = await api("/map/config").catch(() => ({ tile_url: "", attribution: "" }));
  return config;
}

export async function makeMap(container, { center = [40.4168, -3.7038], zoom = 12 } = {}) {
  if (!window.L) { container.textContent = _("Map unavailable: the map library is not installed."); return null; }
  // No zoom or fade animations: calmer for a 12-hour shift, and none outlives a page left mid-way.
  const map = L.map(container, { center, zoom, keyboard: true, zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false });
  const c = await mapConfig();
  if (c.tile_url) L.tileLayer(c.tile_url, { maxZoom: 19, attribution: c.attribution }).addTo(map);
  else map.attributionControl.addAttribution(_("no base map (offline)"));
  // a named region (a name on a plain div is not allowed); arrows pan it, +/- zoom, Tab reaches the pins
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", _("Map"));
  return map;
}

export const ZONE_STYLE = { color: "#0b57d0", weight: 2, fillOpacity: 0.08 };

// A zone Feature as a Leaflet layer: a Point with radius_m is a circle.
export function zoneLayer(feature, style = ZONE_STYLE) {
  const g = feature.geometry;
  let layer;
  if (g.type === "Point" && feature.properties && feature.properties.radius_m) {
    layer = L.circle([g.coordinates[1], g.coordinates[0]], { radius: feature.properties.radius_m, ...style });
  } else {
    layer = L.geoJSON(feature, { style: () => style });
  }
  const name = (feature.properties && feature.properties.name) || feature.id;
  layer.bindTooltip(name);
  layer.zoneId = feature.id;
  return layer;
}

const SYMBOL = { compliant: "✓", violation: "!", device_problem: "⚡", no_data: "?" };

export function pinIcon(p) {
  const cls = `pin st-${p.state}` + (p.role === "protected" ? " protected" : "");
  return L.divIcon({
    className: "", iconSize: [26, 26], iconAnchor: [13, 13],
    html: `<div class="${cls}"><span>${SYMBOL[p.state] || ""}</span></div>`,
  });
}

export function pinTitle(p) {
  const who = p.name ? `${p.name} (${p.person})` : p.person;
  return p.role === "protected"
    ? _("{who}: protected person, {state}", { who, state: stateLabel(p.state) })
    : _("{who}: {state}", { who, state: stateLabel(p.state) });
}

export function legend(map) {
  const ctl = L.control({ position: "bottomleft" });
  ctl.onAdd = () => {
    const d = L.DomUtil.create("div", "legend");
    const entries = [...Object.keys(STATE_LABEL).map((k) => [`st-${k}`, stateLabel(k)]), ["protected", _("protected person")]];
    for (const [cls, text] of entries) {
      const span = L.DomUtil.create("span", "", d);
      L.DomUtil.create("i", `dot ${cls}`, span);
      span.append(" " + text); // text, never HTML: translations are data
    }
    return d;
  };
  ctl.addTo(map);
}
