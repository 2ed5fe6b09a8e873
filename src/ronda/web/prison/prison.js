// The prison page: the facility's floor plan with zone occupancy, the
// headcount screen with reconciliation, an inmate's movement history.
// Reads the API with the session the main page keeps in this tab's
// sessionStorage (or a token given as #token=... by `ronda demo --prison`).
// Every value from the server is inserted as text, never as HTML.

import { _, fmtInstant, label, language, loadLanguage } from "/static/js/i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const RESOLUTIONS = ["found", "in_medical", "at_court", "at_hospital", "visit", "transferred", "released",
  "band_fault", "escalated", "other"];
const $ = (id) => document.getElementById(id);

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) {
  sessionStorage.setItem("ronda.session", JSON.stringify({ token: fromHash, user: null }));
  history.replaceState(null, "", location.pathname);
}
const session = JSON.parse(sessionStorage.getItem("ronda.session") || "null");

const state = { facility: null, doc: null, zone: null, count: null, timer: null };

function el(tag, attrs = {}, text) {
  const svg = tag.startsWith("svg:");
  const n = svg ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined && text !== null) n.textContent = String(text);
  return n;
}

function say(text) {
  const m = $("message");
  m.hidden = !text;
  m.textContent = text || "";
}

async function api(path, { method = "GET", body } = {}) {
  // Errors come back in the language this page shows (docs/api.md).
  const headers = { "Accept-Language": language() };
  if (session && session.token) headers.Authorization = "Bearer " + session.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch("/api/prison" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let msg = r.statusText;
    try { const j = await r.json(); msg = j.error || j.detail || msg; } catch { /* not JSON */ }
    if (r.status === 401) msg = _("Sign in on the main page first (Monitoring centre), then come back.");
    throw new Error(msg);
  }
  return r.json();
}

// An instant the user's way, in the facility's time zone, the zone named.
function time(iso) {
  if (!iso) return "–";
  return fmtInstant(iso, state.doc && state.doc.timezone);
}

function row(cells, attrs = {}) {
  const tr = el("tr", attrs);
  for (const c of cells) {
    const td = el("td");
    if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "–" : String(c);
    tr.append(td);
  }
  return tr;
}

// A row's first cell as a button: the row is picked with the keyboard too.
function pick(text, onPick) {
  const b = el("button", { type: "button", class: "link" }, text);
  b.addEventListener("click", (ev) => { ev.stopPropagation(); onPick(); });
  return b;
}

function head(names) {
  const tr = el("tr");
  for (const n of names) tr.append(el("th", {}, n));
  return el("thead").appendChild(tr).parentNode;
}

// ------------------------------------------------------------- the plan

function drawPlan(doc, occ) {
  const svg = $("plan");
  const zones = doc.zones;
  const xs = zones.flatMap((z) => z.polygon.map((p) => p[0]));
  const ys = zones.flatMap((z) => z.polygon.map((p) => p[1]));
  const x0 = Math.min(...xs) - 2, x1 = Math.max(...xs) + 2, y0 = Math.min(...ys) - 2, y1 = Math.max(...ys) + 2;
  svg.setAttribute("viewBox", `${x0} ${-y1} ${x1 - x0} ${y1 - y0}`);  // y up on the plan, down on screen
  const byZone = Object.fromEntries(occ.zones.map((z) => [z.zone, z]));
  const alerted = new Set(occ.open_episodes.map((e) => e.zone).filter(Boolean));
  const down = new Set(occ.readers_down);
  svg.replaceChildren();
  for (const z of zones) {
    const o = byZone[z.id] || { inmates: [], staff: [] };
    const n = o.inmates.length;
    const cls = alerted.has(z.id) ? "alert" : n ? "ok" : "empty";
    const poly = el("svg:polygon", {
      points: z.polygon.map((p) => `${p[0]},${-p[1]}`).join(" "),
      class: `zone ${cls}${state.zone === z.id ? " sel" : ""}`,
    });
    poly.append(el("svg:title", {}, _("{zone}: {n} inmate(s)", { zone: z.name || z.id, n })));
    // a zone is a button: Tab reaches it, Enter or Space chooses it
    poly.setAttribute("tabindex", "0");
    poly.setAttribute("role", "button");
    poly.setAttribute("aria-label", alerted.has(z.id)
      ? _("Zone {zone}: {n} inmate(s), open alert", { zone: z.name || z.id, n })
      : _("Zone {zone}: {n} inmate(s)", { zone: z.name || z.id, n }));
    if (state.zone === z.id) poly.setAttribute("aria-pressed", "true");
    const choose = () => { state.zone = z.id; refresh().then(() => $("zone-title").focus()); };
    poly.addEventListener("click", () => { state.zone = z.id; refresh(); });
    poly.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(); } });
    svg.append(poly);
    const cx = z.polygon.reduce((a, p) => a + p[0], 0) / z.polygon.length;
    const cy = z.polygon.reduce((a, p) => a + p[1], 0) / z.polygon.length;
    if (z.kind !== "cell") svg.append(el("svg:text", { x: cx, y: -cy - 1.2, "text-anchor": "middle" }, z.name || z.id));
    if (n || o.staff.length) {  // inmates, then "+n" staff badges
      const label = [n ? String(n) : "", o.staff.length ? `+${o.staff.length}` : ""].filter(Boolean).join(" ");
      svg.append(el("svg:text", { x: cx, y: -cy + 0.8, "text-anchor": "middle", class: "count" }, label));
    }
  }
  for (const r of doc.readers) {
    svg.append(el("svg:circle", { cx: r.x, cy: -r.y, r: 0.35, class: `reader${down.has(r.id) ? " down" : ""}` }));
  }
}

function drawSide(doc, occ) {
  const list = $("open-episodes");
  list.replaceChildren();
  if (!occ.open_episodes.length) list.append(el("li", { class: "muted" }, _("No open alerts.")));
  for (const e of occ.open_episodes) {
    const who = e.detail && e.detail.members ? e.detail.members.join(" & ") : e.person || e.detail.reader || "";
    const sev = ["duress", "keep_separate"].includes(e.type) ? "critical" : "high";
    list.append(el("li", { class: sev }, `${label("prison_alert", e.type)} · ${who} · ${e.zone || "?"} · ` + _("since {time}", { time: time(e.start) })));
  }
  const occTable = $("occupancy");
  occTable.replaceChildren(head([_("zone"), _("kind"), _("inmates"), _("staff"), _("not seen lately")]));
  const tb = el("tbody");
  for (const z of occ.zones) {
    if (!z.inmates.length && !z.staff.length && !z.not_seen_lately.length) continue;
    const tr = row([pick(z.name || z.zone, () => { state.zone = z.zone; refresh(); }), label("zone_kind", z.kind), z.inmates.length, z.staff.length, z.not_seen_lately.length || ""], { class: "pick" });
    tr.addEventListener("click", () => { state.zone = z.zone; refresh(); });
    tb.append(tr);
  }
  occTable.append(tb);
  const sel = occ.zones.find((z) => z.zone === state.zone);
  $("zone-title").textContent = sel ? _("Zone {id}", { id: sel.name || sel.zone }) : _("Zone");
  $("zone-hint").hidden = Boolean(sel);
  const people = $("zone-people");
  people.replaceChildren();
  if (sel) {
    people.append(head([_("who"), "", ""]));
    const body = el("tbody");
    for (const p of sel.inmates) body.append(personRow(p, _("inmate")));
    for (const p of sel.staff) body.append(row([p, _("staff"), ""]));
    for (const p of sel.not_seen_lately) body.append(personRow(p, _("not seen lately")));
    if (sel.readers_down.length) body.append(row([_("readers down"), sel.readers_down.join(", "), ""]));
    people.append(body);
  }
}

function personRow(p, what) {
  const a = el("a", { href: "#" }, _("history"));
  a.addEventListener("click", (ev) => { ev.preventDefault(); showHistory(p); });
  return row([p, what, a]);
}

async function refresh() {
  if (!state.facility) return;
  try {
    const occ = await api(`/facilities/${encodeURIComponent(state.facility)}/occupancy`);
    $("clock").textContent = occ.at ? _("facility time {time}", { time: time(occ.at) }) : _("nothing heard yet");
    drawPlan(state.doc, occ);
    drawSide(state.doc, occ);
    say("");
  } catch (e) { say(e.message); }
}

// ----------------------------------------------------------- headcounts

async function loadCounts(select) {
  const list = await api(`/facilities/${encodeURIComponent(state.facility)}/headcounts`);
  const t = $("count-list");
  t.replaceChildren(head([_("at"), _("kind"), _("status"), _("not counted")]));
  const tb = el("tbody");
  for (const c of list) {
    const status = el("span", { class: `status ${c.status}` }, label("headcount_status", c.status));
    const tr = row([pick(time(c.at), () => showCount(c.id)), label("headcount_kind", c.kind), status, c.discrepancies],
      { class: `pick${state.count === c.id ? " sel" : ""}` });
    tr.addEventListener("click", () => showCount(c.id));
    tb.append(tr);
  }
  t.append(tb);
  if (select) await showCount(select);
  else if (!state.count && list.length) await showCount(list[0].id);
}

async function showCount(id) {
  state.count = id;
  const c = await api(`/facilities/${encodeURIComponent(state.facility)}/headcounts/${id}`);
  const box = $("count-detail");
  box.replaceChildren();
  const s = c.summary;
  box.append(el("h2", {}, _("Count at {time} ({kind})", { time: time(c.at), kind: label("headcount_kind", c.kind) })));
  box.append(el("p", {}, _("Roll {roll}: counted {counted}, in transit {in_transit}, out of place {out_of_place}, unverified {unverified}, missing {missing}. Status: {status}.",
    { ...s, status: label("headcount_status", c.status) })));
  const done = Object.fromEntries(c.reconciliations.map((r) => [r.inmate, r]));
  if (c.discrepancies.length) {
    box.append(el("h3", {}, _("To account for")));
    const t = el("table", { class: "grid" });
    t.append(head([_("inmate"), _("status"), _("expected"), _("seen in"), _("last sighting"), _("reader"), _("reconciled")]));
    const tb = el("tbody");
    for (const d of c.discrepancies) {
      const r = done[d.inmate];
      const cell = r ? _("{resolution} by {officer}", { resolution: label("resolution", r.resolution), officer: r.officer }) + (r.note ? ": " + r.note : "")
        : reconcileForm(c.id, d.inmate);
      tb.append(row([d.inmate, el("span", { class: d.status }, label("headcount_status", d.status)), d.expected_zone,
        d.observed_zone, time(d.last_seen), d.last_reader, cell]));
    }
    t.append(tb);
    box.append(t);
  }
  box.append(el("h3", {}, _("Per zone")));
  const z = el("table", { class: "grid" });
  z.append(head([_("zone"), _("expected"), _("observed"), _("missing"), _("unexpected")]));
  const zb = el("tbody");
  for (const x of c.zones) zb.append(row([x.zone, x.expected, x.observed, x.missing.join(", "), x.unexpected.join(", ")]));
  z.append(zb);
  box.append(z);
}

function reconcileForm(countId, inmate) {
  const f = el("form", { class: "reconcile" });
  const sel = el("select", { "aria-label": _("How {inmate} is accounted for", { inmate }) });
  for (const r of RESOLUTIONS) sel.append(el("option", { value: r }, label("resolution", r)));
  const note = el("input", { placeholder: _("note"), "aria-label": _("Note on {inmate}", { inmate }) });
  f.append(sel, note, el("button", { "aria-label": _("Record {inmate}", { inmate }) }, _("Record")));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api(`/facilities/${encodeURIComponent(state.facility)}/headcounts/${countId}/reconcile`,
        { method: "POST", body: { inmate, resolution: sel.value, note: note.value } });
      await loadCounts(countId);
    } catch (e) { say(e.message); }
  });
  return f;
}

// -------------------------------------------------------------- history

async function showHistory(inmate) {
  switchView("history");
  $("history-inmate").value = inmate;
  const q = new URLSearchParams();
  if ($("history-start").value) q.set("start", new Date($("history-start").value).toISOString());
  if ($("history-end").value) q.set("end", new Date($("history-end").value).toISOString());
  try {
    const h = await api(`/facilities/${encodeURIComponent(state.facility)}/inmates/${encodeURIComponent(inmate)}/movements?${q}`);
    const box = $("history");
    box.replaceChildren();
    const now = h.now;
    box.append(el("p", {}, _("{inmate} · band {band} · cell {cell} · wing {wing}.", { inmate: h.inmate, band: h.band || _("none"), cell: h.cell, wing: h.wing }) + " "
      + (now ? _("Now in {zone} since {since}; last seen {seen} by {reader}.", { zone: now.zone || "?", since: time(now.since), seen: time(now.last_seen), reader: now.last_reader }) : _("Not heard yet."))));
    if (h.zone_at_start) box.append(el("p", { class: "muted" }, _("In {zone} when the period began.", { zone: h.zone_at_start })));
    const t = el("table", { class: "grid" });
    t.append(head([_("at"), _("from"), _("to"), _("how")]));
    const tb = el("tbody");
    for (const m of h.movements) tb.append(row([time(m.at), m.from, m.to, m.by]));
    t.append(tb);
    box.append(t);
    say("");
  } catch (e) { say(e.message); }
}

// ---------------------------------------------------------------- views

function switchView(name) {
  for (const b of document.querySelectorAll("nav button")) {
    b.classList.toggle("on", b.dataset.view === name);
    b.setAttribute("aria-pressed", String(b.dataset.view === name));
  }
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${name}`;
  if (name === "counts") loadCounts().catch((e) => say(e.message));
}

async function chooseFacility(id) {
  state.facility = id;
  state.zone = null;
  state.count = null;
  const got = await api(`/facilities/${encodeURIComponent(id)}`);
  state.doc = got.document;
  const dl = $("inmates");
  dl.replaceChildren(...state.doc.inmates.map((i) => el("option", { value: i.id })));
  await refresh();
}

async function main() {
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => switchView(b.dataset.view));
  $("count-now").addEventListener("click", async () => {
    try {
      const c = await api(`/facilities/${encodeURIComponent(state.facility)}/headcounts`, { method: "POST", body: {} });
      await loadCounts(c.id);
    } catch (e) { say(e.message); }
  });
  $("history-form").addEventListener("submit", (ev) => { ev.preventDefault(); showHistory($("history-inmate").value.trim()); });
  $("facility").addEventListener("change", (ev) => chooseFacility(ev.target.value).catch((e) => say(e.message)));
  try {
    const list = await api("/facilities");
    const sel = $("facility");
    sel.replaceChildren(...list.map((f) => el("option", { value: f.id }, f.name)));
    if (!list.length) { say(_("No facility yet: PUT one to /api/prison/facilities/{id} (docs/prison.md).", { id: "{id}" })); return; }
    await chooseFacility(list[0].id);
    state.timer = setInterval(refresh, 5000);
  } catch (e) { say(e.message); }
}

loadLanguage("auto", session && session.token).then(main); // the user's language, as on the main page
