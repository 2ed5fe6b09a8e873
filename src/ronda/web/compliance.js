// The compliance and programme page: figures from the public API drawn as
// inline SVG (no library, no CDN). Uses the session the main page stored in
// this tab's sessionStorage; every value is inserted as text, never as HTML.

import { _, intlLocale, label, language, loadLanguage } from "/static/js/i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f5fa8", "#c62828", "#2e7d32", "#b26a00", "#6a1b9a", "#00838f", "#5d4037", "#9e9d24"];
const OUTCOME_COLORS = {
  violation_confirmed: "#c62828", false_alarm: "#2e7d32", technical_issue: "#b26a00",
  authorised: "#00838f", other: "#6a6a6a", open: "#1f5fa8",
};

const session = JSON.parse(sessionStorage.getItem("ronda.session") || "null");
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const n = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = String(text);
  return n;
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  // Errors come back in the language this page shows (docs/api.md).
  const headers = { Authorization: "Bearer " + (session && session.token), "Accept-Language": language() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(`${r.status}: ${msg}`);
  }
  return raw ? r : r.json();
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// A code of the domain (an alert type or outcome, a device kind) in the user's words.
function word(code) {
  for (const kind of ["alert_outcome", "alert_type", "device", "alert_severity"]) {
    const w = label(kind, code);
    if (w !== String(code).replace(/_/g, " ")) return w;
  }
  return code === "open" ? _("open") : String(code).replaceAll("_", " ");
}

function legend(target, names, colors) {
  target.replaceChildren(...names.map((n, i) => {
    const s = el("span"); const sw = el("i"); sw.style.background = colors[n] || COLORS[i % COLORS.length];
    s.append(sw, document.createTextNode(word(n))); return s;
  }));
}

// Horizontal stacked bars: rows [{label, parts: {key: value}}].
function stacked(target, rows, colors, unit = "") {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.parts)))].sort();
  const max = Math.max(1, ...rows.map((r) => Object.values(r.parts).reduce((a, b) => a + b, 0)));
  const w = 460, left = 110, bar = 22, gap = 8, h = rows.length * (bar + gap) + 10;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img" });
  rows.forEach((r, i) => {
    const y = 5 + i * (bar + gap);
    svg.append(el("svg:text", { x: left - 6, y: y + bar * 0.7, "text-anchor": "end" }, r.name || word(r.label)));
    let x = left; let total = 0;
    keys.forEach((k, j) => {
      const v = r.parts[k] || 0; if (!v) return;
      const bw = ((w - left - 50) * v) / max;
      const rect = el("svg:rect", { x, y, width: Math.max(bw, 1), height: bar, fill: colors[k] || COLORS[j % COLORS.length] });
      rect.append(el("svg:title", {}, `${word(k)}: ${v}${unit}`));
      svg.append(rect); x += bw; total += v;
    });
    svg.append(el("svg:text", { x: x + 4, y: y + bar * 0.7 }, `${Math.round(total * 1000) / 1000}${unit}`));
  });
  if (!rows.length) svg.append(el("svg:text", { x: 10, y: 20 }, _("nothing in this period")));
  // the chart's figures as text, for screen readers (an img role needs a name)
  svg.setAttribute("aria-label", rows.length ? rows.map((r) => `${r.name || word(r.label)}: `
    + Object.entries(r.parts).map(([k, v]) => `${word(k)} ${v}${unit}`).join(", ")).join("; ") : _("nothing in this period"));
  target.replaceChildren(svg);
  return keys;
}

function responseChart(target, response) {
  const order = ["critical", "high", "medium", "low"];
  const sevs = Object.keys(response).filter((s) => response[s].alerts > 0)
    .sort((a, b) => (order.indexOf(a) + 99 * (order.indexOf(a) < 0)) - (order.indexOf(b) + 99 * (order.indexOf(b) < 0)));
  if (!sevs.length) { target.replaceChildren(el("p", { class: "muted" }, _("no alert in this period"))); return; }
  const values = sevs.flatMap((s) => [response[s].p90_ack_s || 0, response[s].target_s || 0]);
  const max = Math.max(60, ...values) * 1.1;
  const w = 460, h = 220, base = 170, colw = (w - 40) / Math.max(1, sevs.length);
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img" });
  sevs.forEach((s, i) => {
    const f = response[s]; const x0 = 30 + i * colw;
    const y = (v) => base - (150 * v) / max;
    [[_("median"), f.median_ack_s, "#1f5fa8"], [_("p90"), f.p90_ack_s, "#90b4e0"]].forEach(([name, v, c], j) => {
      if (v === null || v === undefined) return;
      const r = el("svg:rect", { x: x0 + 8 + j * 28, y: y(v), width: 24, height: base - y(v), fill: c });
      r.append(el("svg:title", {}, `${word(s)} ${name}: ${seconds(v)}`)); svg.append(r);
    });
    if (f.target_s) {
      svg.append(el("svg:line", { x1: x0 + 2, x2: x0 + 70, y1: y(f.target_s), y2: y(f.target_s), stroke: "#c62828", "stroke-width": 2, "stroke-dasharray": "4 3" }));
      svg.append(el("svg:text", { x: x0 + 72, y: y(f.target_s) + 4 }, seconds(f.target_s)));
    }
    svg.append(el("svg:text", { x: x0 + 8, y: base + 16 }, `${word(s)} (${f.alerts})`));
    const share = f.within_target_share === null ? "–" : _("{pct} % within target", { pct: Math.round(f.within_target_share * 100) });
    svg.append(el("svg:text", { x: x0 + 8, y: base + 32 }, share));
  });
  svg.setAttribute("aria-label", sevs.map((s) => { const f = response[s]; return _("{severity}, {n} alerts: median {median}, 90th percentile {p90}, target {target}",
    { severity: word(s), n: f.alerts, median: seconds(f.median_ack_s), p90: seconds(f.p90_ack_s), target: seconds(f.target_s) }); }).join("; "));
  target.replaceChildren(svg);
}

function share(target, resolved, none, fraction) {
  const w = 460, h = 60;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img" });
  svg.append(el("svg:rect", { x: 0, y: 10, width: w, height: 22, fill: "#e3e7eb" }));
  if (fraction !== null) svg.append(el("svg:rect", { x: 0, y: 10, width: w * fraction, height: 22, fill: "#2e7d32" }));
  const text = fraction === null ? _("no alert resolved in this period")
    : _("{none} of {resolved} resolved alerts ({pct} %) were not a violation", { none, resolved, pct: new Intl.NumberFormat(intlLocale()).format(Math.round(fraction * 1000) / 10) });
  svg.append(el("svg:text", { x: 0, y: 52 }, text));
  svg.setAttribute("aria-label", text);
  target.replaceChildren(svg);
}

function period() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value + "T00:00:00Z");
  if ($("to").value) q.set("to", $("to").value + "T23:59:59Z");
  return q;
}

async function loadProgramme() {
  $("status").textContent = _("loading…");
  try {
    const p = await api("/api/compliance/programme?" + period());
    const causes = Object.entries(p.alerts_by_cause).map(([label, parts]) => ({ label, parts }));
    legend($("causes-legend"), stacked($("causes"), causes, OUTCOME_COLORS), OUTCOME_COLORS);
    responseChart($("response"), p.response_times);
    share($("noviolation"), p.resolved, p.resolved_no_violation, p.no_violation_share);
    const devs = Object.entries(p.device_failures).map(([kind, f]) => ({ label: kind, name: `${word(kind)} (${f.devices})`, parts: f.per_100_device_days }));
    legend($("devices-legend"), stacked($("devices"), devs, {}), {});
    $("status").textContent = _("{from} to {to}", { from: p.from.slice(0, 10), to: p.to.slice(0, 10) });
  } catch (e) { $("status").textContent = e.message; }
}

async function downloadCsv() {
  try {
    const r = await api("/api/compliance/programme?" + period() + "&format=csv", { raw: true });
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: "ronda-programme.csv" }); document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) { $("status").textContent = e.message; }
}

function weekly(target, weeks) {
  const w = 460, h = 120, max = Math.max(1, ...weeks.map((x) => x.violations)), bw = (w - 20) / weeks.length;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img" });
  weeks.forEach((x, i) => {
    const bh = (80 * x.violations) / max;
    const r = el("svg:rect", { x: 10 + i * bw + 2, y: 90 - bh, width: bw - 4, height: Math.max(bh, x.violations ? 2 : 0.5), fill: x.violations ? "#c62828" : "#9aa5b1" });
    r.append(el("svg:title", {}, _("week of {week}: {n}", { week: x.week.slice(0, 10), n: x.violations }))); svg.append(r);
  });
  svg.append(el("svg:text", { x: 10, y: 110 }, _("confirmed violations per week, last {n} weeks", { n: weeks.length })));
  svg.setAttribute("aria-label", _("confirmed violations per week: {weeks}", { weeks: weeks.map((x) => _("week of {week}: {n}", { week: x.week.slice(0, 10), n: x.violations })).join(", ") }));
  target.replaceChildren(svg);
}

function renderPerson(h) {
  const out = $("person-out"); out.replaceChildren();
  const top = el("div", { class: "row" });
  for (const [name, value] of [[_("days without violation"), h.days_clean], [_("days monitored"), h.days_monitored],
    [_("longest clean run (days)"), h.longest_clean_days], [_("trend"), label("trend", h.trend.direction)]]) {
    const box = el("div"); box.append(el("div", { class: "figure" }, value), el("div", { class: "muted" }, name)); top.append(box);
  }
  out.append(top);
  const types = Object.entries(h.violations.confirmed_by_type).map(([t, n]) => `${word(t)}: ${n}`).join(", ") || _("none");
  out.append(el("p", {}, _("Confirmed violations by type: {types}. Pending: {pending}. Dismissed: {dismissed}. Last 30 days {recent}, the 30 before {previous}.", {
    types, pending: Object.values(h.violations.pending_by_type).reduce((a, b) => a + b, 0), dismissed: h.violations.dismissed,
    recent: h.trend.recent, previous: h.trend.previous })));
  const chart = el("div"); out.append(chart); weekly(chart, h.weekly);
  const table = el("table"); const head = el("tr");
  [_("Step-down"), _("Needs"), _("Counted"), _("Status"), ""].forEach((t) => head.append(el("th", {}, t))); table.append(head);
  for (const f of h.step_down) {
    const tr = el("tr");
    tr.append(el("td", {}, _(f.step.suggestion)), el("td", {}, _("{n} days", { n: f.days_needed })), el("td", {}, _("{n} days", { n: f.days_counted })),
      el("td", { class: f.status === "due" ? "due" : "" }, label("step_down_status", f.status)));
    const act = el("td");
    if (f.status === "due") {
      const reason = el("input", { placeholder: _("reason (needed to reject)"), maxlength: "2000" });
      const yes = el("button", {}, _("Accept")); const no = el("button", {}, _("Reject"));
      yes.onclick = () => decide(h.person, f.step.id, "accepted", reason.value);
      no.onclick = () => decide(h.person, f.step.id, "rejected", reason.value);
      act.append(reason, yes, no);
    }
    tr.append(act); table.append(tr);
  }
  out.append(table);
  if (h.decisions.length) {
    const list = el("ul");
    h.decisions.forEach((d) => list.append(el("li", {}, `${d.at.slice(0, 16).replace("T", " ")}: `
      + _("{step} {decision} by {officer}", { step: d.step, decision: label("decision", d.decision), officer: d.officer }) + (d.reason ? ` (${d.reason})` : ""))));
    out.append(el("h3", {}, _("Decisions")), list);
  }
}

async function lookup() {
  const id = $("person").value.trim(); if (!id) return;
  $("person-status").textContent = _("loading…");
  try { renderPerson(await api(`/api/persons/${encodeURIComponent(id)}/compliance`)); $("person-status").textContent = ""; }
  catch (e) { $("person-status").textContent = e.message; $("person-out").replaceChildren(); }
}

async function decide(person, step, decision, reason) {
  try {
    const r = await api(`/api/persons/${encodeURIComponent(person)}/compliance/decisions`, { method: "POST", body: { step, decision, reason } });
    renderPerson(r.compliance); $("person-status").textContent = _("recorded: {step} {decision}", { step, decision: label("decision", decision) });
  } catch (e) { $("person-status").textContent = e.message; }
}

// ---- crime-scene correlation (supervisors and admins)

function localToIso(value) {
  // datetime-local is the browser's local time: send it as an instant
  return value ? new Date(value).toISOString() : "";
}

function renderCorrelation(run) {
  const out = $("inc-out"); out.replaceChildren();
  for (const res of run.results) {
    out.append(el("p", {}, _("{incident}: {considered} monitored persons considered; {near} near, {unplaced} could not be placed, {elsewhere} placed elsewhere. Recorded as run {run}.", {
      incident: res.incident.id, considered: res.persons_considered, near: res.persons_near, unplaced: res.persons_unplaced,
      elsewhere: res.persons_elsewhere, run: run.id })));
    const table = el("table"); const head = el("tr");
    ["#", _("Person"), _("Closest"), _("At most"), _("When"), _("How"), _("Confidence"), _("Supporting fixes")].forEach((t) => head.append(el("th", {}, t)));
    table.append(head);
    for (const m of res.near) {
      const tr = el("tr");
      const fixes = [...m.supporting_fixes].sort((a, b) => a.distance_m - b.distance_m).slice(0, 3).map((f) => `${f.time.slice(11, 19)} ${Math.round(f.distance_m)} m ±${Math.round(f.accuracy_m)}`).join("; ");
      [m.rank, m.person, `${m.min_distance_m} m`, `${m.worst_case_m} m`, m.at.replace("T", " ").slice(0, 19),
        label("correlation_method", m.method), label("confidence", m.confidence), fixes]
        .forEach((v) => tr.append(el("td", {}, v)));
      table.append(tr);
    }
    for (const u of res.could_not_be_placed) {
      const tr = el("tr");
      const spans = u.silences.map((x) => _("no signal {from}–{to} UTC", { from: x.from.slice(11, 16), to: x.to.slice(11, 16) })).join("; ");
      const known = u.nearest_known_m === null ? _("nothing known") : _("last/next fix {distance} m away", { distance: Math.round(u.nearest_known_m) });
      ["–", u.person, "", "", "", _("could not be placed"), "", `${spans} (${known})`].forEach((v) => tr.append(el("td", {}, v)));
      table.append(tr);
    }
    out.append(table);
  }
}

async function correlate() {
  const lat = parseFloat($("inc-lat").value), lon = parseFloat($("inc-lon").value), radius = parseFloat($("inc-radius").value);
  const body = {
    purpose: $("inc-purpose").value,
    incidents: [{ id: $("inc-id").value || "incident-1", lat, lon, radius_m: radius,
      start: localToIso($("inc-from").value), end: localToIso($("inc-to").value) }],
  };
  $("inc-status").textContent = _("searching…");
  try {
    renderCorrelation(await api("/api/investigations/correlate", { method: "POST", body }));
    $("inc-status").textContent = "";
  } catch (e) { $("inc-status").textContent = e.message; }
}

await loadLanguage("auto", session && session.token); // the user's language, as on the main page
if (!session || !session.token) {
  $("signin").hidden = false;
} else {
  $("who").textContent = session.user
    ? `${session.user.display_name || session.user.username} (${label("role", session.user.role).toLocaleLowerCase(language())})` : "";
  const today = new Date(); const before = new Date(today.getTime() - 90 * 86400e3);
  $("to").value = today.toISOString().slice(0, 10); $("from").value = before.toISOString().slice(0, 10);
  $("load").onclick = loadProgramme; $("csv").onclick = downloadCsv; $("lookup").onclick = lookup;
  if (session.user && ["admin", "supervisor"].includes(session.user.role)) {
    $("investigation").hidden = false; $("correlate").onclick = correlate;
  }
  $("person").addEventListener("keydown", (e) => { if (e.key === "Enter") lookup(); });
  loadProgramme();
}
