"""The court report: a case file drawn as HTML (every string through
`ronda.evidence.text.Words`), printed to PDF/A-3b by WeasyPrint with its data
files attached and their SHA-256 digests printed.

PDF/A-3 is the archival PDF that allows embedded files: the fonts are
embedded, nothing is fetched, and the attachments travel inside the PDF.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any

from ronda.engine.params import EngineParams
from ronda.evidence import analysis as an
from ronda.evidence.datafiles import data_manifest, report_files
from ronda.evidence.manifest import sha256_hex
from ronda.evidence.model import CaseFile, EpisodeFact, Fix
from ronda.evidence.svgmap import MapZone, draw_map
from ronda.evidence.text import Words, duration, local_time, metres, msg
from ronda.evidence.wording import DEVICE_KINDS, EPISODE_TYPES, EVENT_KINDS, named, rule_words
from ronda.i18n.vocabulary import label

MAX_EVIDENCE_ROWS = 40  # fixes listed per violation; all of them are in the attached data
MAX_EVENT_ROWS = 200
PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class CourtReport:
    pdf: bytes
    files: dict[str, bytes]  # attached data files, the manifest included
    digests: dict[str, str]  # name -> SHA-256
    violations: list[EpisodeFact]


@dataclass
class _Ctx:
    case: CaseFile
    tr: Words
    params: EngineParams

    def when(self, epoch_s: float | None) -> str:
        return "—" if epoch_s is None else local_time(epoch_s, self.case.timezone, lang=self.tr.lang)

    def p(self, message: str, cls: str = "", /, **values: object) -> str:
        """A paragraph of one translated message (marked `msg(...)` where it is
        written, so that extraction finds it)."""
        attr = f' class="{cls}"' if cls else ""
        return f"<p{attr}>{_e(self.tr(message, **values))}</p>"


def _e(text: object) -> str:
    return escape(str(text))


def _h(level: int, text: str) -> str:
    """A heading of already translated text (written `_h(2, tr("..."))`: a
    call inside an f-string is invisible to message extraction)."""
    return f"<h{level}>{_e(text)}</h{level}>"


def _svg(svg: str, cls: str) -> str:
    """An SVG as an image: WeasyPrint parses it as XML, far faster than as
    inline HTML with a style cascade over thousands of marks."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<div class="{cls}"><img src="data:image/svg+xml;base64,{data}"></div>'


def _zone_role(rule: dict[str, Any]) -> str:
    return "exclusion" if rule.get("type") == "exclusion" else "inclusion"


def _map_zones(case: CaseFile, rules: list[dict[str, Any]]) -> list[MapZone]:
    out: list[MapZone] = []
    seen: set[str] = set()
    for r in rules:
        z = case.zones.get(str(r.get("zone", "")))
        if z is not None and z.id not in seen:
            seen.add(z.id)
            out.append(MapZone(z, _zone_role(r)))
    for d in case.devices:
        z = case.zones.get(d.home_zone or "")
        if z is not None and z.id not in seen:
            seen.add(z.id)
            out.append(MapZone(z, "home"))
    return out


def _weigh(ctx: _Ctx, ep: EpisodeFact, fixes: list[Fix]) -> list[an.WeighedFix]:
    rule = ctx.case.rule(ep.rule)
    if rule is None:
        return []
    if rule.get("type") == "proximity":
        other = ctx.case.protected_fixes.get(str(rule.get("person")), [])
        return an.weigh_proximity_fixes(
            fixes, float(rule.get("distance_m") or 0), other, ctx.params, ctx.case.schedules.get(str(ep.rule))
        )
    zone = ctx.case.zones.get(str(rule.get("zone")))
    if zone is None:
        return []
    return an.weigh_zone_fixes(fixes, rule, zone, ctx.params, ctx.case.schedules.get(str(ep.rule)))


def _verdict(tr: Words, v: an.Verdict) -> str:
    return {
        an.Verdict.VIOLATING: tr("violating"),
        an.Verdict.COMPLIANT: tr("compliant"),
        an.Verdict.UNCERTAIN: tr("within uncertainty"),
        an.Verdict.INACTIVE: tr("rule not in force"),
    }[v]


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def _violation(ctx: _Ctx, n: int, ep: EpisodeFact, highlight: set[tuple[str, float]]) -> str:
    case, tr = ctx.case, ctx.tr
    rule = case.rule(ep.rule) or {"id": ep.rule, "type": ep.type}
    words = rule_words(rule, case.zones, case.timezone, tr, case.person_names)
    lo, hi = an.episode_window(ep.start_s, ep.end_s, case.end_s)
    window = [f for f in case.fixes if lo <= f.time_s <= hi]
    weighed = _weigh(ctx, ep, window)
    for w in weighed:
        if w.verdict == an.Verdict.VIOLATING and ep.start_s <= w.fix.time_s <= (ep.end_s or case.end_s):
            highlight.add((w.fix.device, w.fix.time_s))
    decided = an.deciding(weighed, ep.start_s, ep.raised_s, ep.end_s)
    end_text = ctx.when(ep.end_s) if ep.end_s is not None else tr("still open at the end of the period")
    parts = [
        '<section class="violation"><h3>'
        + _e(tr("Violation {n}", n=n))
        + ": "
        + _e(named(EPISODE_TYPES, ep.type, tr))
        + ' <span class="ref">('
        + _e(tr("rule {rule}", rule=ep.rule))
        + ")</span></h3>",
        f"<p>{_e(words)}</p>",
        "<p>"
        + _e(
            tr(
                "Began {start}; decided by the engine {raised}; ended {end}.",
                start=ctx.when(ep.start_s),
                raised=ctx.when(ep.raised_s),
                end=end_text,
            )
        )
        + " "
        + _e(tr("Duration: {duration}.", duration=duration((ep.end_s or case.end_s) - ep.start_s, tr)))
        + "</p>",
        "<p>"
        + _e(
            tr(
                "Alert {alert}: status {status}, severity {severity}, outcome {outcome}, owner {owner}.",
                alert=ep.alert_id,
                status=label("alert_status", ep.status, tr.lang),  # lower case: inside a sentence
                severity=label("alert_severity", ep.severity, tr.lang),
                outcome=label("alert_outcome", ep.outcome, tr.lang) if ep.outcome else tr("none"),
                owner=ep.owner or tr("none"),
            )
        )
        + "</p>",
        _h(4, tr("Fixes that decided it")),
        '<p class="note">'
        + _e(
            tr(
                "A fix counts as violating only when it lies beyond the boundary by more than its own "
                "uncertainty ({k} × the reported accuracy + {margin} m).",
                k=format(ctx.params.accuracy_k, "g"),
                margin=format(ctx.params.margin_m, "g"),
            )
        )
        + "</p>",
    ]
    if decided:
        rows = []
        proximity = rule.get("type") == "proximity"
        for w in decided[:MAX_EVIDENCE_ROWS]:
            f = w.fix
            beyond = f"{w.beyond_m:+.0f} m / ±{w.uncertainty_m:.0f} m"
            if proximity and w.distance_m is not None:
                beyond = f"{w.distance_m:.0f} m ({beyond})"
            rows.append(
                [
                    _e(ctx.when(f.time_s)),
                    _e(f.device),
                    f"{f.lat:.5f}, {f.lon:.5f}",
                    _e(metres(f.accuracy_m) if f.accuracy_m is not None else "—"),
                    _e(beyond),
                    f'<span class="{w.verdict.value}">{_e(_verdict(tr, w.verdict))}</span>',
                ]
            )
        head = [
            tr("Time"),
            tr("Device"),
            tr("Position (lat, lon)"),
            tr("Accuracy"),
            tr("Distance to protected person") if proximity else tr("Beyond boundary / uncertainty"),
            tr("Counted as"),
        ]
        parts.append(_table(head, rows, "evidence"))
        if len(decided) > MAX_EVIDENCE_ROWS:
            parts.append(
                ctx.p(
                    msg("{n} further fixes of this episode are in the attached data."),
                    "note",
                    n=len(decided) - MAX_EVIDENCE_ROWS,
                )
            )
        focus = [w.fix for w in decided if w.verdict == an.Verdict.VIOLATING] or [w.fix for w in decided]
        other = case.protected_fixes.get(str(rule.get("person")), []) if proximity else []
        other = [f for f in other if lo <= f.time_s <= hi]
        parts.append(
            _svg(
                draw_map(
                    window,
                    _map_zones(case, [rule]),
                    highlight=highlight,
                    other_fixes=other,
                    width_px=520,
                    height_px=300,
                    title=tr("Violation {n}", n=n),
                    focus=focus,
                    frame_zones=True,
                ),
                "map small",
            )
        )
    else:
        parts.append(
            ctx.p(
                msg("No stored fix of the wearer falls in this episode: it was decided by events or timers.")
            )
        )
    # the home unit's view
    units = {d.id for d in case.devices if d.kind == "home_unit"}
    if units:
        before, within = an.home_view(case.events, units, ep.start_s, ep.end_s or case.end_s)
        parts.append(_h(4, tr("The home unit’s view")))
        if before is None:
            parts.append(
                ctx.p(msg("At the start the home unit had not yet reported whether the tag was at home."))
            )
        else:
            parts.append(
                ctx.p(
                    msg("At the start the home unit last said: {state} ({when})."),
                    "",
                    state=named(EVENT_KINDS, before.kind, tr),
                    when=ctx.when(before.time_s),
                )
            )
        if within:
            parts.append(
                _table(
                    [tr("Time"), tr("Device"), tr("Event")],
                    [
                        [_e(ctx.when(e.time_s)), _e(e.device), _e(named(EVENT_KINDS, e.kind, tr))]
                        for e in within[:MAX_EVIDENCE_ROWS]
                    ],
                    "events",
                )
            )
        else:
            parts.append(ctx.p(msg("No presence report from the home unit during the episode.")))
    # who handled it
    parts.append(_h(4, tr("Who handled it")))
    if ep.actions:
        parts.append(
            _table(
                [tr("Time"), tr("By"), tr("Action"), tr("Note")],
                [
                    [
                        _e(ctx.when(a.at_s)),
                        _e(a.actor),
                        _e(
                            f"{label('action', a.action, tr.lang)}: {label('status', a.from_status, tr.lang)}"
                            f" → {label('status', a.to_status, tr.lang)}"
                        ),
                        _e(a.text),
                    ]
                    for a in ep.actions
                ],
                "actions",
            )
        )
    else:
        parts.append(ctx.p(msg("No one has acted on this alert yet.")))
    parts.append("</section>")
    return "\n".join(parts)


def _status(tr: Words, ep: EpisodeFact) -> str:
    """'Resolved / False alarm': an alert's status and outcome in the reader's words."""
    outcome = label("outcome", ep.outcome, tr.lang) if ep.outcome else "—"
    return f"{label('status', ep.status, tr.lang)} / {outcome}"


def _css(tr: Words) -> str:
    """The style sheet, with the page footer's word in the report's language."""
    page = tr("Page").replace("\\", "").replace('"', "")
    return CSS.replace('content: "Page "', f'content: "{page} "')


CSS = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm;
  @bottom-right { content: "Page " counter(page) " / " counter(pages); font-size: 8pt; color: #555; }
  @bottom-left { content: string(doc-ref); font-size: 8pt; color: #555; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; color: #111; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; string-set: doc-ref content(); }
h2 { font-size: 12.5pt; border-bottom: 1px solid #999; margin-top: 7mm; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 5mm 0 1mm 0; }
h4 { font-size: 9.5pt; margin: 3mm 0 1mm 0; }
.sub { color: #444; margin: 0 0 4mm 0; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm 0; font-size: 8pt; }
td:first-child { white-space: nowrap; }
th, td { border: 0.5pt solid #bbb; padding: 0.6mm 1.2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
table.facts td:first-child { width: 30%; font-weight: bold; }
.violating { color: #b0281a; font-weight: bold; }
.compliant { color: #1e7040; }
.uncertain { color: #7a6a00; }
.inactive { color: #777; }
.note { color: #444; font-size: 8.5pt; }
.ref { font-weight: normal; color: #555; font-size: 9pt; }
.map { margin: 2mm 0; }
.map img { width: 100%; }
.map.small img { width: 78%; }
.digest { font-family: "DejaVu Sans Mono", monospace; font-size: 7pt; }
section.violation { break-inside: auto; border-left: 2pt solid #c0392b; padding-left: 3mm;
  margin-bottom: 4mm; }
"""


def words_for(lang: str) -> Words:
    """The report's words in `lang`, looked up in Ronda's message catalogues
    (ronda.i18n, through `Words`); a message not yet translated stays in English."""
    return Words(lang)


def build_html(
    case: CaseFile,
    *,
    actor: str,
    purpose: str,
    generated_s: float,
    lang: str = "en",
    params: EngineParams | None = None,
) -> tuple[str, dict[str, bytes], list[EpisodeFact]]:
    tr = words_for(lang)
    ctx = _Ctx(case, tr, params or EngineParams())
    rules = list(case.order.rules) if case.order else []
    violations = [e for e in case.episodes if e.is_violation]
    health = [e for e in case.episodes if not e.is_violation]
    # what the engine could not see
    blind: list[tuple[str, an.Period]] = []
    for d in case.devices:
        times = [f.time_s for f in case.fixes if f.device == d.id] + [
            e.time_s for e in case.events if e.device == d.id
        ]
        blind += [("no_data", p) for p in an.data_gaps(d, times, case.start_s, case.end_s)]
    blind += [("no_fix", p) for p in an.no_fix_periods(case.fixes)]
    blind.sort(key=lambda wp: (wp[1].start_s, wp[1].device))
    files = report_files(case, blind)
    files["manifest.json"] = data_manifest(case, files)
    digests = {name: sha256_hex(data) for name, data in files.items()}

    tz = case.timezone
    h: list[str] = [
        f'<html lang="{_e(lang)}"><head><meta charset="utf-8">',
        "<title>" + _e(tr("Electronic monitoring report")) + f": {_e(case.person_id)}</title>",
        f"<style>{_css(tr)}</style></head><body>",
    ]
    title = tr("Electronic monitoring report")
    h.append(f"<h1>{_e(title)}: {_e(case.person_name or case.person_id)}</h1>")
    h.append(ctx.p(msg("Prepared for the court by Ronda from the records it holds."), "sub"))
    tr_identifier = tr("identifier")
    facts = [
        [tr("Person"), f"{_e(case.person_name or '—')} ({_e(tr_identifier)} {_e(case.person_id)})"],
        [
            tr("Period"),
            _e(
                tr(
                    "From {start} to {end}",
                    start=local_time(case.start_s, tz, lang=lang),
                    end=local_time(case.end_s, tz, lang=lang),
                )
            ),
        ],
        [
            tr("Time zone"),
            _e(tr("{tz}: times in this report are local to the order, with the zone shown", tz=tz.key)),
        ],
        [
            tr("Generated"),
            _e(tr("{when} by {actor}", when=local_time(generated_s, tz, lang=lang), actor=actor)),
        ],
        [tr("Stated purpose"), _e(purpose)],
        [
            tr("SHA-256 of the attached data manifest"),
            f'<span class="digest">{digests["manifest.json"]}</span>',
        ],
    ]
    h.append(
        '<table class="facts"><tbody>'
        + "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in facts)
        + "</tbody></table>"
    )

    # order
    h.append(_h(2, tr("The order and its rules")))
    if case.order is None:
        h.append(ctx.p(msg("No order is recorded for this person.")))
    else:
        o = case.order
        head = tr(
            "Order {order}, version {version}, recorded {recorded} by {by}.",
            order=o.id,
            version=o.version,
            recorded=local_time(o.recorded_s, tz, lang=lang),
            by=o.recorded_by,
        )
        h.append(f"<p>{_e(head)}")
        if o.versions > 1:
            h.append(
                " "
                + _e(tr("The order has {n} versions; these are the rules of the current one.", n=o.versions))
            )
        h.append("</p><ol>")
        for r in rules:
            words = rule_words(r, case.zones, tz, tr, case.person_names)
            ref = tr("rule {rule}", rule=r.get("id"))
            h.append(f'<li>{_e(words)} <span class="ref">({_e(ref)})</span></li>')
        h.append("</ol>")
    # devices
    h.append(_h(2, tr("Devices worn")) + "<ul>")
    for d in case.devices:
        h.append(
            "<li>"
            + _e(
                tr(
                    "{kind} {device} (serial {serial}), worn from {start} to {end}",
                    kind=named(DEVICE_KINDS, d.kind, tr),
                    device=d.id,
                    serial=d.serial or "—",
                    start=local_time(d.start_s, tz, lang=lang),
                    end=local_time(d.end_s, tz, lang=lang) if d.end_s is not None else tr("now"),
                )
            )
            + "</li>"
        )
    if not case.devices:
        h.append("<li>" + _e(tr("No device was assigned to this person in the period.")) + "</li>")
    h.append("</ul>")
    # summary
    located = [f for f in case.fixes if f.located]
    h.append(
        _h(2, tr("Summary"))
        + "<p>"
        + _e(
            tr(
                "{fixes} fixes with a position, {nofix} reports without a fix, {events} device events, "
                "{violations} violations, "
                "{health} device problems.",
                fixes=len(located),
                nofix=len(case.fixes) - len(located),
                events=len(case.events),
                violations=len(violations),
                health=len(health),
            )
        )
        + "</p>"
    )
    if violations:
        h.append(
            _table(
                [tr("Violation"), tr("Rule"), tr("Began"), tr("Ended"), tr("Alert status")],
                [
                    [
                        str(i),
                        _e(v.rule),
                        _e(ctx.when(v.start_s)),
                        _e(ctx.when(v.end_s) if v.end_s else tr("open")),
                        _e(_status(tr, v)),
                    ]
                    for i, v in enumerate(violations, start=1)
                ],
            )
        )
    # violations (their highlighted fixes also mark the overview map)
    highlight: set[tuple[str, float]] = set()
    body_violations = [_violation(ctx, i, ep, highlight) for i, ep in enumerate(violations, start=1)]
    h.append(_h(2, tr("Map of the period")))
    if located:
        h.append(
            _svg(
                draw_map(
                    case.fixes, _map_zones(case, rules), highlight=highlight, title=tr("Map of the period")
                ),
                "map",
            )
        )
        h.append(
            ctx.p(
                msg(
                    "Drawn by Ronda from the stored fixes, with no map service. Each dot is a fix and"
                    " the pale circle around it the accuracy the device reported; fixes counted as "
                    "violating are red; green outlines are zones the person must stay in, red "
                    "outlines zones they must not enter, the dashed orange circle the home. North is "
                    "up."
                ),
                "note",
            )
        )
    else:
        h.append(ctx.p(msg("No fix with a position in this period: there is nothing to draw.")))
    h.append(_h(2, tr("Violations")))
    h.extend(body_violations or [ctx.p(msg("No violation of the order was recorded in this period."))])
    # device problems and events
    h.append(_h(2, tr("Device events and problems")))
    if health:
        h.append(
            _table(
                [tr("Problem"), tr("Device"), tr("From"), tr("To"), tr("Alert status")],
                [
                    [
                        _e(named(EPISODE_TYPES, e.type, tr)),
                        _e(e.device),
                        _e(ctx.when(e.start_s)),
                        _e(ctx.when(e.end_s) if e.end_s else tr("open")),
                        _e(_status(tr, e)),
                    ]
                    for e in health
                ],
            )
        )
    else:
        h.append(ctx.p(msg("No device problem was recorded in this period.")))
    shown = [e for e in case.events if e.kind != "heartbeat"]
    beats = Counter(e.device for e in case.events if e.kind == "heartbeat")
    if shown:
        h.append(
            _table(
                [tr("Time"), tr("Device"), tr("Event"), tr("Received")],
                [
                    [
                        _e(ctx.when(e.time_s)),
                        _e(e.device),
                        _e(named(EVENT_KINDS, e.kind, tr)),
                        _e(ctx.when(e.received_s)),
                    ]
                    for e in shown[:MAX_EVENT_ROWS]
                ],
                "events",
            )
        )
        if len(shown) > MAX_EVENT_ROWS:
            h.append(
                ctx.p(
                    msg("{n} further events are in the attached data."), "note", n=len(shown) - MAX_EVENT_ROWS
                )
            )
    else:
        h.append(ctx.p(msg("No device event in this period.")))
    for dev, n in sorted(beats.items()):
        h.append(
            ctx.p(
                msg("{device} sent {n} heartbeats (listed in the attached events.csv)."),
                "note",
                device=dev,
                n=n,
            )
        )
    # blind spots
    h.append(_h(2, tr("What the engine could not see")))
    h.append(
        ctx.p(
            msg(
                "Ronda decides only from what devices report. During the periods below it had no "
                "data, or no position, from the device named; nothing in this report says where "
                "the person was then."
            )
        )
    )
    if blind:
        rows = []
        for what, p in blind:
            gap = tr("no data") if what == "no_data" else tr("no position fix ({n} reports)", n=p.reports)
            rows.append(
                [
                    _e(p.device),
                    _e(gap),
                    _e(ctx.when(p.start_s)),
                    _e(ctx.when(p.end_s)),
                    _e(duration(p.duration_s, tr)),
                ]
            )
        h.append(_table([tr("Device"), tr("What"), tr("From"), tr("To"), tr("Duration")], rows, "gaps"))
    else:
        h.append(
            ctx.p(
                msg(
                    "No silence longer than the device’s expected reporting allows, and no run of "
                    "reports without a fix."
                )
            )
        )
    # method
    fields = ", ".join(f"{f.name}={getattr(ctx.params, f.name)}" for f in dataclasses.fields(ctx.params))
    h.append(
        _h(2, tr("How Ronda decides"))
        + "<p>"
        + _e(
            tr(
                "Fixes are taken in the order the device recorded them; duplicates and jumps no person "
                "could make are set aside. A violation opens after several fixes beyond the boundary by "
                "more than their uncertainty (or one far beyond it that agrees with its reported speed), "
                "and closes after fixes on the right side for several minutes, or at once when the home "
                "unit reports the tag at home. Engine parameters used to weigh the fixes in this report: "
                "{params}.",
                params=fields,
            )
        )
        + "</p>"
    )
    # data
    h.append(_h(2, tr("The data behind this report")))
    h.append(
        ctx.p(
            msg(
                "The files below are attached to this PDF (see the attachments panel of a PDF "
                "reader). Anyone can check that a file is the one this report was drawn from by "
                "computing its SHA-256 digest (for example with sha256sum) and comparing it with "
                "the value printed here."
            )
        )
    )
    h.append(
        _table(
            [tr("File"), tr("Bytes"), "SHA-256"],
            [
                [_e(name), str(len(files[name])), f'<span class="digest">{digests[name]}</span>']
                for name in sorted(files)
            ],
            "data",
        )
    )
    h.append("</body></html>")
    return "".join(h), files, violations


def render_pdf(html: str, files: dict[str, bytes], title: str) -> bytes:
    from weasyprint import HTML, Attachment

    attachments = [
        Attachment(string=data, name=name, description=name, relationship="Data")
        for name, data in sorted(files.items())
    ]
    doc = HTML(string=html)
    out = doc.write_pdf(pdf_variant=PDF_VARIANT, attachments=attachments)
    assert isinstance(out, bytes)
    return out


def court_report(
    case: CaseFile,
    *,
    actor: str,
    purpose: str,
    generated_s: float | None = None,
    lang: str = "en",
    params: EngineParams | None = None,
) -> CourtReport:
    generated = generated_s if generated_s is not None else dt.datetime.now(dt.UTC).timestamp()
    html, files, violations = build_html(
        case, actor=actor, purpose=purpose, generated_s=generated, lang=lang, params=params
    )
    pdf = render_pdf(html, files, case.person_id)
    return CourtReport(pdf, files, {n: sha256_hex(d) for n, d in files.items()}, violations)
