"""`ronda report court`, `ronda evidence export|verify`, `ronda exchange
export|import|load-scenario`: evidence for courts and the open exchange format."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ronda.cli.words import _, cli_language, error, number
from ronda.errors import RondaError

console = Console()
err = Console(stderr=True)

report_app = typer.Typer(help=_("Reports for courts and officers."), no_args_is_help=True)
evidence_app = typer.Typer(
    help=_("Evidence bundles: export a person's data with hashes; verify a bundle."), no_args_is_help=True
)
exchange_app = typer.Typer(
    help=_("The open exchange format: full history export and import."), no_args_is_help=True
)

Database = Annotated[
    str | None,
    typer.Option("--database", help=_("SQLAlchemy URL [RONDA_DATABASE_URL; SQLite in the data folder]")),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help=_("data folder [RONDA_DATA_DIR, ./data]"))]
From = Annotated[str, typer.Option("--from", help=_("start of the period (ISO 8601; no zone means UTC)"))]
To = Annotated[str, typer.Option("--to", help=_("end of the period, excluded (ISO 8601)"))]
Purpose = Annotated[
    str, typer.Option("--purpose", help=_("why the data are taken (recorded in the audit trail)"))
]
Actor = Annotated[
    str | None, typer.Option("--actor", help=_("who asks, for the audit trail [cli:<login name>]"))
]


def _db_url(database: str | None, data_dir: Path | None) -> str:
    from ronda.config import Settings

    s = Settings.from_env()
    if data_dir is not None:
        s = dataclasses.replace(s, data_dir=data_dir)
    if database is not None:
        s = dataclasses.replace(s, database_url=database)
    return s.effective_database_url


def _instant(text: str, name: str) -> float:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            _("not an ISO 8601 instant: {text}", text=repr(text)), param_hint=name
        ) from exc
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def _period(start: str, end: str) -> tuple[float, float]:
    a, b = _instant(start, "--from"), _instant(end, "--to")
    if b <= a:
        raise typer.BadParameter(_("must be after --from"), param_hint="--to")
    return a, b


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _purpose(purpose: str) -> str:
    if not purpose.strip():
        raise typer.BadParameter(_("state why the data are taken"), param_hint="--purpose")
    return purpose.strip()


def _fail(exc: Exception) -> typer.Exit:
    err.print("[red]" + _("error:") + "[/] " + escape(error(exc)))
    return typer.Exit(2)


@report_app.command(
    "court",
    help=_(
        "A court report (PDF/A-3b) of PERSON over a period: the order in words, a map, each violation "
        "with the fixes that decided it, device events and gaps, and the data behind it attached with "
        "its SHA-256 digests."
    ),
)
def court(
    person: Annotated[str, typer.Argument(help=_("the person's id"))],
    start: From,
    end: To,
    out: Annotated[Path, typer.Option("--out", "-o", help=_("PDF file to write"))],
    purpose: Purpose = "court report",
    actor: Actor = None,
    lang: Annotated[
        str | None, typer.Option(help=_("language of the report: en, es or pt [RONDA_LANGUAGE, the locale]"))
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """A court report (PDF/A-3b) of PERSON over a period: the order in words,
    a map, each violation with the fixes that decided it, device events and
    gaps, and the data behind it attached with its SHA-256 digests."""
    from ronda.audit.chain import AuditEntry
    from ronda.i18n.catalog import normalize
    from ronda.reports.bundle import EXPORT_ACTION, audit_export
    from ronda.reports.casefile import gather
    from ronda.reports.court import court_report
    from ronda.storage.db import connect, sessions

    a, b = _period(start, end)
    why = _purpose(purpose)
    who = _actor(actor)
    db = connect(_db_url(database, data_dir))
    try:
        with sessions(db)() as s:
            case = gather(s, person, a, b)
        rep = court_report(case, actor=who, purpose=why, lang=normalize(lang or cli_language()))
        audit_export(
            db,
            AuditEntry(
                at_s=time.time(),
                actor=who,
                role="cli",
                agency=None,
                action=EXPORT_ACTION,
                target=f"court report of person {person}",
                person=person,
                purpose=why,
                source="cli",
                detail={"data_manifest_sha256": rep.digests["manifest.json"], "pdf_sha256": _sha(rep.pdf)},
            ),
        )
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(rep.pdf)
    console.print(
        _(
            "wrote {file} ({size} bytes): {violations} violations, data manifest SHA-256 {digest}",
            file=out,
            size=number(len(rep.pdf)),
            violations=len(rep.violations),
            digest=rep.digests["manifest.json"],
        ),
        markup=False,
    )


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@evidence_app.command(
    "export",
    help=_(
        "Write an evidence bundle: positions, events, episodes, alerts and who handled them, the audit "
        "excerpt, and a manifest of SHA-256 digests. The export is recorded in the audit trail with its "
        "purpose."
    ),
)
def evidence_export(
    person: Annotated[str, typer.Option("--person", help=_("the person's id"))],
    start: From,
    end: To,
    purpose: Purpose,
    out: Annotated[Path, typer.Option("--out", "-o", help=_("ZIP file to write"))],
    actor: Actor = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Write an evidence bundle: positions, events, episodes, alerts and who
    handled them, the audit excerpt, and a manifest of SHA-256 digests.
    The export is recorded in the audit trail with its purpose."""
    from ronda.reports.bundle import Requester, export_bundle
    from ronda.storage.db import connect

    a, b = _period(start, end)
    why = _purpose(purpose)
    db = connect(_db_url(database, data_dir))
    try:
        data, digest = export_bundle(
            db,
            person,
            a,
            b,
            purpose=why,
            who=Requester(_actor(actor), "cli", source="cli"),
            now_s=time.time(),
            lang=cli_language(),
        )
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    console.print(
        _(
            "wrote {file} ({size} bytes); manifest SHA-256 {digest} (recorded in the audit trail)",
            file=out,
            size=number(len(data)),
            digest=digest,
        ),
        markup=False,
    )


@evidence_app.command(
    "verify",
    help=_(
        "Check every file and line of a bundle against its manifest and the audit excerpt against the "
        "hash chain; names the file (and line) that fails. Exit status 0: intact; 1: something differs."
    ),
)
def evidence_verify(
    bundle: Annotated[Path, typer.Argument(help=_("the bundle (ZIP)"))],
    database: Annotated[
        str | None,
        typer.Option("--database", help=_("check the audit excerpt against this database's chain too")),
    ] = None,
) -> None:
    """Check every file and line of a bundle against its manifest and the
    audit excerpt against the hash chain; names the file (and line) that fails.
    Exit status 0: intact; 1: something differs."""
    from ronda.reports.bundle import verify_bundle
    from ronda.storage.db import connect

    try:
        data = bundle.read_bytes()
    except OSError as exc:
        raise _fail(exc) from exc
    db = connect(database) if database else None
    try:
        rep, notes = verify_bundle(data, db)
    finally:
        if db is not None:
            db.dispose()
    files = len(rep.manifest.get("files", [])) if rep.manifest else 0
    for note in notes:
        console.print(_("note: {note}", note=note), markup=False)
    if rep.ok:
        ok = _(
            "{files} files and {entries} audit entries match ({bundle})",
            files=files,
            entries=len(rep.audit_rows),
            bundle=bundle,
        )
        console.print("[green]" + _("OK") + f"[/]: {escape(ok)}")
        return
    for p in rep.problems:
        console.print("[red]" + _("FAIL") + f"[/] {escape(str(p))}")
    raise typer.Exit(1)


@exchange_app.command(
    "export",
    help=_(
        "Export the whole history in the open exchange format (docs/exchange-format.md): persons, "
        "devices, assignments, zones, orders, positions, events, alerts and their actions, as CSV and "
        "GeoJSON Lines, with a manifest of SHA-256 digests."
    ),
)
def exchange_export(
    directory: Annotated[Path, typer.Argument(help=_("folder to write (created; files are replaced)"))],
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Export the whole history in the open exchange format (docs/exchange-format.md):
    persons, devices, assignments, zones, orders, positions, events, alerts and
    their actions, as CSV and GeoJSON Lines, with a manifest of SHA-256 digests."""
    from ronda.exchange.export import export_dir
    from ronda.exchange.format import iso
    from ronda.storage.db import connect, sessions

    db = connect(_db_url(database, data_dir))
    try:
        with sessions(db)() as s:
            n = export_dir(s, directory, iso(time.time()) or "")
    except (RondaError, OSError) as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    console.print(_("wrote {n} files to {directory}", n=n, directory=directory), markup=False)


@exchange_app.command(
    "import",
    help=_(
        "Import exchange files: ours, or another system's through a column mapping. Rows that cannot be "
        "taken are counted and the first named."
    ),
)
def exchange_import(
    directory: Annotated[Path, typer.Argument(help=_("folder with exchange files (or another system's)"))],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help=_("TOML column mapping for another system's files"))
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Import exchange files: ours, or another system's through a column
    mapping. Rows that cannot be taken are counted and the first named."""
    from ronda.exchange.importer import import_dir
    from ronda.exchange.mapping import load_mapping
    from ronda.storage.db import connect, migrate, sessions

    db = connect(_db_url(database, data_dir))
    try:
        maps = load_mapping(mapping) if mapping is not None else None
        migrate(db)
        with sessions(db).begin() as s:
            rep = import_dir(s, directory, maps)
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    taken = ", ".join(f"{k} {number(v)}" for k, v in rep.counts.items()) or _("nothing")
    console.print(
        _("imported {taken}; {n} new records", taken=taken, n=number(rep.new_records)), markup=False
    )
    if rep.skipped:
        refused = ", ".join(f"{k} {number(v)}" for k, v in rep.skipped.items())
        err.print("[yellow]" + _("refused:") + f"[/] {escape(refused)}")
        for line in rep.first_errors[:10]:
            err.print(f"  {line}")


@exchange_app.command(
    "load-scenario",
    help=_(
        "Load a recorded scenario's whole history: its setup, every record, and the alerts the engine "
        "raises on replaying it (for demos, training, tests)."
    ),
)
def load_scenario(
    scenario_dir: Annotated[
        Path, typer.Argument(help=_("folder with scenario.json and arrivals.jsonl[.gz]"))
    ],
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Load a recorded scenario's whole history: its setup, every record, and
    the alerts the engine raises on replaying it (for demos, training, tests)."""
    from ronda.exchange.scenario import load_history
    from ronda.storage.db import connect, migrate

    db = connect(_db_url(database, data_dir))
    try:
        migrate(db)
        loaded = load_history(db, scenario_dir)
    except RondaError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    console.print(
        _(
            "stored {records} records and {episodes} episodes with their alerts",
            records=number(loaded.records),
            episodes=number(loaded.episodes),
        ),
        markup=False,
    )
