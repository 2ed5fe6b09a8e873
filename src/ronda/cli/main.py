"""`ronda` command line."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from ronda.cli.typer_words import speak
from ronda.cli.words import _, cli_language, error, number
from ronda.config import Settings
from ronda.engine.snapshot import snapshot
from ronda.errors import RondaError
from ronda.scenarios.loader import load_scenario
from ronda.scenarios.replay import replay as run_replay
from ronda.types import to_iso


class RondaGroup(TyperGroup):
    """The `ronda` command: typer's own words (Usage, Options, its errors) in
    the command line's language, set each time it runs (ronda.cli.typer_words)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        speak(cli_language())
        return super().main(*args, **kwargs)


app = typer.Typer(
    cls=RondaGroup, help=_("Ronda: open electronic monitoring."), no_args_is_help=True, add_completion=False
)
console = Console()
err = Console(stderr=True)


@app.callback(help=_("Ronda: open electronic monitoring."))
def root() -> None:
    """Ronda: open electronic monitoring."""


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample-city"


def _count_lines(path: Path) -> int:
    """Lines of an arrivals file, for the progress bar (a quick pass, even gzip)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


@app.command(
    help=_(
        "Replay a scenario through the engine: records in arrival order, the clock following `received`; "
        "write the alerts and print a summary."
    )
)
def replay(
    scenario_dir: Annotated[
        Path, typer.Argument(help=_("Folder with scenario.json and arrivals.jsonl[.gz]"))
    ] = SAMPLE,
    alerts: Annotated[Path | None, typer.Option("--alerts", help=_("Write alerts here (JSON Lines)"))] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help=_("Write the engine's final state here (JSON)"))
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_("No progress bar"))] = False,
) -> None:
    """Replay a scenario through the engine: records in arrival order, the clock
    following `received`; write the alerts and print a summary."""
    try:
        settings = Settings.from_env()
        scenario = load_scenario(scenario_dir)
        arrivals = scenario.arrivals_path()
        total = _count_lines(arrivals)
        with Progress(
            TextColumn("[bold]replay[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=quiet,
            transient=True,
        ) as progress:
            task = progress.add_task(scenario.caseload.name, total=total)
            result = run_replay(
                scenario, settings.engine, progress=lambda n: progress.update(task, completed=n)
            )
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(error(exc)))
        raise typer.Exit(2) from exc
    if alerts is not None:
        alerts.parent.mkdir(parents=True, exist_ok=True)
        with alerts.open("w", encoding="utf-8") as fh:
            for ep in result.episodes:
                fh.write(json.dumps(ep.to_alert()) + "\n")
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps(snapshot(result.engine), indent=1), encoding="utf-8")
    _summary(result, scenario.caseload.name, alerts)


def _summary(result: object, name: str, alerts: Path | None) -> None:
    from ronda.scenarios.replay import ReplayResult

    assert isinstance(result, ReplayResult)
    by_type = Counter(ep.type for ep in result.episodes)
    still_open = Counter(ep.type for ep in result.episodes if ep.end_s is None)
    table = Table(title=_("Alerts for {name}", name=name), show_lines=False)
    table.add_column(_("type"))
    table.add_column(_("alerts"), justify="right")
    table.add_column(_("still open"), justify="right")
    for kind, n in sorted(by_type.items()):
        table.add_row(kind, str(n), str(still_open.get(kind, 0)))
    every = _("all")
    table.add_row(f"[bold]{every}[/]", f"[bold]{sum(by_type.values())}[/]", str(sum(still_open.values())))
    console.print(table)
    for ep in result.episodes[:8]:
        who = ep.rule or ep.device
        end = to_iso(ep.end_s) if ep.end_s is not None else _("open")
        console.print(f"  {ep.type:<11} {ep.person or '':<6} {who:<22} {to_iso(ep.start_s)} → {end}")
    if len(result.episodes) > 8:
        more = len(result.episodes) - 8
        text = _("… and {n} more in {file}", n=more, file=alerts) if alerts else _("… and {n} more", n=more)
        console.print("  " + text, markup=False)
    c = result.engine.counters
    skipped = sum(result.arrivals.skipped.values())
    console.print(
        _(
            "records {records}: positions {positions}, events {events}; dropped: duplicates {duplicates}, "
            "stale {stale}, spikes {spikes}; malformed lines skipped {skipped}; unknown devices {unknown}",
            records=number(c["records"]),
            positions=number(c["positions"]),
            events=number(c["events"]),
            duplicates=number(c["duplicate"]),
            stale=number(c["stale"]),
            spikes=number(c["spike"]),
            skipped=number(skipped),
            unknown=number(sum(result.unknown_devices.values())),
        ),
        markup=False,
    )
    for line in result.arrivals.first_errors[:5]:
        err.print("[yellow]" + _("skipped:") + f"[/] {line}")
    if result.unknown_devices:
        names = ", ".join(sorted(result.unknown_devices)[:5])
        err.print("[yellow]" + _("unknown devices:") + f"[/] {names}")


from ronda.cli.gateway import GATEWAY_HELP, gateway  # noqa: E402

app.command("gateway", help=GATEWAY_HELP)(gateway)

from ronda.cli.worker import WORKER_HELP, worker  # noqa: E402

app.command("worker", help=WORKER_HELP)(worker)


# Users, agencies, audit, retention, legal holds (src/ronda/cli/security.py).
from ronda.cli import security as _security  # noqa: E402

app.add_typer(_security.users, name="users")
app.add_typer(_security.agencies, name="agencies")
app.add_typer(_security.audit, name="audit")
app.add_typer(_security.retention, name="retention")
app.add_typer(_security.holds, name="holds")

# The server's commands (src/ronda/cli/server.py).
from ronda.cli import server as _server  # noqa: E402

app.command("serve", help=_server.SERVE_HELP)(_server.serve)
app.command("demo", help=_server.DEMO_HELP)(_server.demo)
app.command("import", help=_server.IMPORT_HELP)(_server.import_scenario)
app.command("export", help=_server.EXPORT_HELP)(_server.export)

# Notifications and alerts (src/ronda/cli/notify.py, issue 7).
from ronda.cli.notify import notify_app  # noqa: E402

app.add_typer(notify_app, name="notify")

# Evidence and the open exchange format (src/ronda/cli/evidence.py).
from ronda.cli.evidence import evidence_app, exchange_app, report_app  # noqa: E402

app.add_typer(report_app, name="report")
app.add_typer(evidence_app, name="evidence")
app.add_typer(exchange_app, name="exchange")

# Investigation: crime-scene correlation, compliance (src/ronda/cli/investigate.py).
from ronda.cli.investigate import investigate_app  # noqa: E402

app.add_typer(investigate_app, name="investigate")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
