"""`ronda investigate`: crime-scene correlation, compliance histories and
programme figures, straight on the database (for investigators' scripts and
for a monitoring centre without the web UI). Every correlation run is
recorded and audited like one made through the API."""

from __future__ import annotations

import csv
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ronda.cli import words
from ronda.cli.server import Database, DataDir, _instant, _settings
from ronda.cli.words import _
from ronda.errors import InvalidInput, RondaError
from ronda.types import to_iso

investigate_app = typer.Typer(
    help=_("Investigation: crime-scene correlation, compliance."), no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err.print("[red]" + _("error:") + "[/] " + escape(words.error(exc)))
    return typer.Exit(2)


@investigate_app.command(
    "correlate",
    help=_(
        "Which monitored persons were near an incident (a point and a window, or a CSV batch), ranked, "
        "and who could not be placed."
    ),
)
def correlate_cmd(
    purpose: Annotated[str, typer.Option("--purpose", help=_("why: a case or warrant reference (recorded)"))],
    at: Annotated[str | None, typer.Option("--at", help=_("the scene: LAT,LON"))] = None,
    radius: Annotated[float, typer.Option("--radius", help=_("metres around the scene"))] = 200.0,
    start: Annotated[str | None, typer.Option("--from", help=_("window start, ISO 8601"))] = None,
    end: Annotated[str | None, typer.Option("--to", help=_("window end, ISO 8601"))] = None,
    incident_id: Annotated[str, typer.Option("--id", help=_("the incident's reference"))] = "incident-1",
    incidents: Annotated[
        Path | None, typer.Option("--incidents", help=_("a CSV batch instead (docs/investigation.md)"))
    ] = None,
    max_gap_s: Annotated[float, typer.Option(help=_("do not interpolate across longer silences"))] = 900.0,
    max_speed_mps: Annotated[float, typer.Option(help=_("fastest assumed movement, for gaps"))] = 30.0,
    requester: Annotated[str, typer.Option(help=_("who asks (recorded)"))] = "",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=_("write the full run as JSON here"))
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Which monitored persons were near an incident (a point and a window,
    or a CSV batch), ranked, and who could not be placed."""
    from ronda.audit.chain import AuditEntry
    from ronda.correlation import Params
    from ronda.correlation.incidents import parse_csv, point_incident
    from ronda.storage import investigation as repo
    from ronda.storage import security
    from ronda.storage.db import connect, migrate, sessions

    try:
        params = Params(max_gap_s=max_gap_s, max_speed_mps=max_speed_mps)
        if incidents is not None:
            parsed = parse_csv(incidents.read_text(encoding="utf-8"))
            if parsed.errors:
                for e in parsed.errors:
                    err.print(f"[red]{incidents}:[/] " + words.error(e))
                raise typer.Exit(2)
            batch = parsed.incidents
        else:
            if at is None or start is None or end is None:
                raise typer.BadParameter(words._("give --at LAT,LON --from --to, or --incidents FILE"))
            try:
                lat_s, lon_s = at.split(",")
                lat, lon = float(lat_s), float(lon_s)
            except ValueError as exc:
                raise typer.BadParameter(
                    words._("expected LAT,LON such as 40.4168,-3.7038"), param_hint="--at"
                ) from exc
            a, b = _instant(start, "--from"), _instant(end, "--to")
            assert a is not None and b is not None
            batch = [point_incident(incident_id, lat, lon, radius, a, b)]
    except (InvalidInput, OSError) as exc:
        raise _fail(exc) from exc
    who = repo.Requester(requester or f"cli:{getpass.getuser()}", "cli", None, purpose)
    settings = _settings(database=database, data_dir=data_dir)
    db = connect(settings.effective_database_url)
    try:
        migrate(db)
        with sessions(db).begin() as s:
            row, results = repo.run_correlation(s, batch, params, who)
            run = repo.run_json(row)
        security.audit(
            sessions(db),
            AuditEntry(
                at_s=time.time(),
                actor=who.user,
                role="cli",
                agency=None,
                action="correlate",
                target=f"correlation run {row.id}",
                purpose=who.purpose,
                source="cli",
                detail={"run": row.id, "algorithm": row.algorithm, "persons_listed": row.persons_listed},
            ),
        )
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    if out is not None:
        out.write_text(json.dumps(run, indent=1), encoding="utf-8")
    for res in results:
        title = words._(
            "{incident}: {n} monitored persons considered", incident=res.incident.id, n=res.persons_considered
        )
        table = Table(title=title)
        for col in (
            words._("rank"),
            words._("person"),
            words._("closest"),
            words._("at most"),
            words._("when"),
            words._("how"),
            words._("confidence"),
            words._("fixes near"),
        ):
            table.add_column(col)
        for i, m in enumerate(res.near, 1):
            table.add_row(
                str(i),
                m.person,
                f"{m.min_distance_m:.0f} m",
                f"{m.worst_case_m:.0f} m",
                to_iso(m.at_s),
                m.method.value,
                m.confidence.value,
                str(m.near_fixes),
            )
        console.print(table)
        for u in res.unplaced:
            spans = ", ".join(f"{to_iso(s.from_s)} → {to_iso(s.to_s)}" for s in u.silences)
            if u.nearest_known_m is None:
                known = words._("nothing known")
            else:
                distance = round(u.nearest_known_m)
                known = words._("last/next fix {distance} m away", distance=distance)
            unplaced = words._(
                "{person}: no signal {spans} ({known})", person=u.person, spans=spans, known=known
            )
            console.print("  [yellow]" + words._("could not be placed:") + f"[/] {escape(unplaced)}")
        elsewhere = words._("placed elsewhere for the whole window: {persons}", persons=res.persons_elsewhere)
        console.print("  " + elsewhere, markup=False)
    recorded = words._(
        "recorded as correlation run {id} (purpose: {purpose})", id=run["id"], purpose=who.purpose
    )
    console.print(recorded, markup=False)


@investigate_app.command(
    "compliance", help=_("A person's compliance history and where they stand on each step-down.")
)
def compliance_cmd(
    person: Annotated[str, typer.Argument(help=_("the person's id"))],
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """A person's compliance history and where they stand on each step-down."""
    from ronda.compliance import history
    from ronda.storage import investigation as repo
    from ronda.storage.db import connect, sessions

    db = connect(_settings(database=database, data_dir=data_dir).effective_database_url)
    try:
        with sessions(db)() as s:
            repo.require_person(s, person)
            h = history(
                person,
                repo.monitored_since(s, person),
                time.time(),
                repo.person_violations(s, person),
                repo.person_decisions(s, person),
                repo.load_policy(s),
            )
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    console.print_json(json.dumps(h.as_json()))


@investigate_app.command(
    "programme",
    help=_(
        "Programme figures: alerts by cause and outcome, response times against targets, share resolved "
        "as no violation, device failure rates."
    ),
)
def programme_cmd(
    start: Annotated[
        str | None, typer.Option("--from", help=_("period start (default: 90 days ago)"))
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help=_("period end (default: now)"))] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help=_("write the figures as CSV here ('-': stdout)"))
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Programme figures: alerts by cause and outcome, response times against
    targets, share resolved as no violation, device failure rates."""
    from ronda.alerts.policy import DEFAULT_TARGETS_S
    from ronda.compliance import programme
    from ronda.storage import investigation as repo
    from ronda.storage.db import connect, sessions

    b = _instant(end, "--to") or time.time()
    a = _instant(start, "--from") or b - 90 * 86400.0
    db = connect(_settings(database=database, data_dir=data_dir).effective_database_url)
    try:
        with sessions(db)() as s:
            prog = programme(
                a,
                b,
                repo.handled_alerts(s, a, b, None),
                repo.device_use(s, a, b, None),
                {str(k): v for k, v in DEFAULT_TARGETS_S.items()},
                repo.decisions_in(s, a, b, None),
            )
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    if csv_out is None:
        console.print_json(json.dumps(prog.as_json()))
        return
    fh = sys.stdout if str(csv_out) == "-" else csv_out.open("w", newline="", encoding="utf-8")
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["section", "item", "measure", "value"])
        w.writerows(prog.csv_rows())
    finally:
        if fh is not sys.stdout:
            fh.close()
