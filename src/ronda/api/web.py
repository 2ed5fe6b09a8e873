"""A minimal live page (no external assets): alerts and positions as they come.
The full dashboard is the web/ package's work."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ronda live</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse;width:100%}
td,th{padding:.25em .5em;border-bottom:1px solid #ddd;text-align:left}
.critical{color:#b00;font-weight:600}.high{color:#c50}.medium{color:#a80}.low{color:#666}
#stats{color:#555}
</style></head><body>
<h1>Ronda &middot; live alerts</h1>
<p id="stats">connecting&hellip;</p>
<p><a href="/docs">API documentation</a></p>
<table><thead><tr><th>alert</th><th>type</th><th>severity</th><th>person</th><th>rule / device</th>
<th>start</th><th>end</th><th>status</th></tr></thead><tbody id="alerts"></tbody></table>
<script>
const token = new URLSearchParams(location.search).get("token");
const q = token ? "?token=" + encodeURIComponent(token) : "";
const rows = new Map(); let positions = 0; const devices = new Set();
function show(a) {
  let tr = rows.get(a.id);
  if (!tr) { tr = document.createElement("tr"); rows.set(a.id, tr);
             document.getElementById("alerts").prepend(tr); }
  const cells = [a.id, a.type, a.severity, a.person || "", a.rule || a.device || "",
                 a.start, a.end || "open", a.status];
  tr.replaceChildren(...cells.map(v => { const td = document.createElement("td");
                                         td.textContent = v; return td; }));
  tr.className = a.severity;
}
function stats() { document.getElementById("stats").textContent =
  positions + " positions from " + devices.size + " devices; " + rows.size + " alerts"; }
fetch("/api/alerts?limit=200" + (token ? "&token=" + encodeURIComponent(token) : ""))
  .then(r => r.json()).then(list => { list.forEach(show); stats(); });
const es = new EventSource("/api/stream" + q);
es.addEventListener("alert", e => { show(JSON.parse(e.data)); stats(); });
es.addEventListener("position", e => { positions++; devices.add(JSON.parse(e.data).device);
                                       if (positions % 20 === 0) stats(); });
</script></body></html>
"""
