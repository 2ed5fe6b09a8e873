"""`ronda notify`: the notification worker on its own, the outbox, the alert policy."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ronda.cli.words import _, error
from ronda.errors import RondaError

notify_app = typer.Typer(
    help=_("Notifications: the outbox worker, the outbox, the alert policy."), no_args_is_help=True
)
console = Console()
err = Console(stderr=True)

Database = Annotated[
    str | None,
    typer.Option("--database", help=_("SQLAlchemy URL [RONDA_DATABASE_URL; SQLite in the data folder]")),
]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", help=_("alerts TOML file [RONDA_ALERTS_CONFIG, <data>/alerts.toml]")),
]


def _db_url(database: str | None) -> tuple[str, Path]:
    from ronda.config import Settings

    s = Settings.from_env()
    return (database or s.effective_database_url), s.data_dir


@notify_app.command(
    "run",
    help=_(
        "Send the outbox (a worker of its own; `ronda serve` runs one too unless [notify] enabled = false). "
        "Several may run against PostgreSQL at once."
    ),
)
def run(
    database: Database = None,
    config: ConfigPath = None,
    once: Annotated[bool, typer.Option("--once", help=_("send what is due now, then exit"))] = False,
    name: Annotated[str | None, typer.Option(help=_("worker name in claims [host:pid]"))] = None,
) -> None:
    """Send the outbox (a worker of its own; `ronda serve` runs one too unless
    [notify] enabled = false). Several may run against PostgreSQL at once."""
    from ronda.notify.config import load_config
    from ronda.notify.worker import OutboxWorker
    from ronda.storage.db import connect, migrate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        url, data_dir = _db_url(database)
        cfg = load_config(config, data_dir)
        db = connect(url)
        migrate(db)
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(error(exc)))
        raise typer.Exit(2) from exc
    worker = OutboxWorker(
        db, cfg.channels, name=name, lease_s=cfg.lease_s, batch=cfg.batch, poll_s=cfg.poll_s
    )
    if once:
        n = worker.drain()
        console.print(_("claimed {n}: {counters}", n=n, counters=dict(worker.counters)), markup=False)
        return

    def stop(*_: object) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ronda notify: " + _("worker {name} sending the outbox", name=worker.name), flush=True)
    worker.run_forever()
    print(
        "ronda notify: " + _("stopped {counters}", counters=dict(worker.counters)),
        file=sys.stderr,
        flush=True,
    )


@notify_app.command("outbox", help=_("The latest notifications and their delivery outcome."))
def outbox(
    database: Database = None,
    status: Annotated[str | None, typer.Option(help=_("pending, sending, sent or failed"))] = None,
    limit: Annotated[int, typer.Option(help=_("at most this many, newest first"))] = 50,
) -> None:
    """The latest notifications and their delivery outcome."""
    from ronda.storage import notify as store
    from ronda.storage.db import connect, migrate, sessions
    from ronda.types import to_iso

    url = _db_url(database)[0]
    db = connect(url)
    migrate(db)  # a new data folder: an empty outbox rather than a missing table
    table = Table(
        _("id"),
        _("alert"),
        _("kind"),
        _("recipient"),
        _("channel"),
        _("status"),
        _("tries"),
        _("sent"),
        _("error"),
    )
    with sessions(db)() as s:
        for r in store.list_outbox(s, status=status, limit=limit):
            sent = to_iso(r.sent_s) if r.sent_s else ""
            channel = r.target.split(":", 1)[0]
            table.add_row(
                str(r.id), str(r.alert_id or ""), r.kind, r.recipient, channel, r.status,
                f"{r.attempts}/{r.max_attempts}", sent, (r.last_error or "")[:60],
            )  # fmt: skip
    console.print(table)


@notify_app.command(
    "check", help=_("Read the alerts configuration and print the policy it gives (or what is wrong).")
)
def check(config: ConfigPath = None) -> None:
    """Read the alerts configuration and print the policy it gives (or what is wrong)."""
    from ronda.notify.config import load_config

    try:
        cfg = load_config(config, _db_url(None)[1])
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(error(exc)))
        raise typer.Exit(2) from exc
    p = cfg.policy
    console.print("[bold]" + _("alerts policy") + "[/] " + _("from {source}", source=cfg.source))
    table = Table(_("type"), _("severity"), _("target"))
    for kind, sev in sorted(p.severities.items()):
        table.add_row(kind, sev.value, f"{p.targets_s[sev]:.0f} s")
    console.print(table)
    for agency, chain in sorted(p.chains.items()):
        links = " → ".join(_("{link} ({n} addresses)", link=link.name, n=len(link.notify)) for link in chain)
        console.print(_("chain {agency}: {links}", agency=agency, links=links), markup=False)
    channels = ", ".join(sorted(cfg.channels)) or _("none (only url: addresses work)")
    console.print(_("channels: {channels}", channels=channels), markup=False)


@notify_app.command("test", help=_("Send one test message now (not through the outbox) to check a channel."))
def send_test(
    address: Annotated[str, typer.Argument(help=_("channel:address, e.g. email:desk@centre.example"))],
    config: ConfigPath = None,
) -> None:
    """Send one test message now (not through the outbox) to check a channel."""
    from ronda.notify.channels import apprise_url
    from ronda.notify.config import load_config
    from ronda.notify.sender import AppriseSender

    try:
        cfg = load_config(config, _db_url(None)[1])
        AppriseSender().send(
            apprise_url(address, cfg.channels), _("Ronda test"), _("A test message from Ronda.")
        )
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(error(exc)))
        raise typer.Exit(1) from exc
    console.print(_("sent to {address}", address=address), markup=False)
