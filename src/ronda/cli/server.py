"""`ronda serve`, `ronda demo`, `ronda import`, `ronda export`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ronda.cli import words
from ronda.cli.words import _
from ronda.config import Settings
from ronda.errors import RondaError

console = Console()
err = Console(stderr=True)

Host = Annotated[str | None, typer.Option("--host", help=_("address to listen on [RONDA_HOST, 127.0.0.1]"))]
Port = Annotated[int | None, typer.Option("--port", help=_("API port [RONDA_PORT, 8080]"))]
IngestPort = Annotated[
    int | None, typer.Option("--ingest-port", help=_("device ingest port [RONDA_INGEST_PORT, 5055]"))
]
Database = Annotated[
    str | None,
    typer.Option("--database", help=_("SQLAlchemy URL [RONDA_DATABASE_URL; SQLite in the data folder]")),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help=_("data folder [RONDA_DATA_DIR, ./data]"))]


def _settings(
    host: str | None = None,
    port: int | None = None,
    ingest_port: int | None = None,
    database: str | None = None,
    data_dir: Path | None = None,
    api_token: str | None = None,
) -> Settings:
    s = Settings.from_env()
    return dataclasses.replace(
        s,
        data_dir=s.data_dir if data_dir is None else data_dir,
        database_url=s.database_url if database is None else database,
        host=host or s.host,
        port=s.port if port is None else port,
        ingest_port=s.ingest_port if ingest_port is None else ingest_port,
        api_token=api_token or s.api_token,
    )


GatewayPort = Annotated[int | None, typer.Option(help=_("TCP port (-1: off) [RONDA_<PROTOCOL>_PORT]"))]

SERVE_HELP = _(
    "Run the server: REST API, live stream and /docs on one port, device ingest (OsmAnd, native) on "
    "another, the device gateway (GT06 5023, Teltonika 5027, H02 5013, Watch 5093, MQTT), the live "
    "engine, the database."
)


def serve(
    host: Host = None,
    port: Port = None,
    ingest_port: IngestPort = None,
    database: Database = None,
    data_dir: DataDir = None,
    gateway: Annotated[
        bool | None,
        typer.Option(
            "--gateway/--no-gateway", help=_("device gateway: TCP protocols and MQTT [RONDA_GATEWAY, on]")
        ),
    ] = None,
    gateway_host: Annotated[
        str | None, typer.Option(help=_("address of the device TCP ports [RONDA_GATEWAY_HOST, --host]"))
    ] = None,
    gt06_port: GatewayPort = None,
    teltonika_port: GatewayPort = None,
    h02_port: GatewayPort = None,
    watch_port: GatewayPort = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            help=_("auto (subscribe if a broker answers on 127.0.0.1:1883), off, HOST[:PORT] [RONDA_MQTT]")
        ),
    ] = None,
    distributed: Annotated[
        bool | None,
        typer.Option(
            "--distributed/--embedded",
            help=_(
                "a stateless API over PostgreSQL and NATS; engines run in `ronda worker` "
                "[RONDA_DISTRIBUTED, embedded]"
            ),
        ),
    ] = None,
) -> None:
    """Run the server: REST API, live stream and /docs on one port, device
    ingest (OsmAnd, native) on another, the device gateway (GT06 5023,
    Teltonika 5027, H02 5013, Watch 5093, MQTT), the live engine, the database."""
    from ronda.api.server import serve as run

    settings = _settings(host, port, ingest_port, database, data_dir)
    g = settings.gateway
    ports = dict(g.ports)
    asked = {"gt06": gt06_port, "teltonika": teltonika_port, "h02": h02_port, "watch": watch_port}
    for name, value in asked.items():
        if value is not None and value < 0:
            ports.pop(name, None)
        elif value is not None:
            ports[name] = value
    g = dataclasses.replace(
        g,
        enabled=g.enabled if gateway is None else gateway,
        host=gateway_host or g.host,
        ports=ports,
        mqtt=mqtt or g.mqtt,
    )
    settings = dataclasses.replace(settings, gateway=g)
    if distributed is not None:
        settings = dataclasses.replace(
            settings, distributed=dataclasses.replace(settings.distributed, enabled=distributed)
        )
    if settings.api_token is None:
        err.print(
            words._("no service token (RONDA_API_TOKEN): API clients sign in as users (`ronda users add`)")
        )
    try:
        asyncio.run(run(settings))
    except (RondaError, OSError) as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(words.error(exc)))
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        pass


DEMO_HELP = _(
    "Serve a simulated city: monitored persons and victims moving, some breaking their orders, their "
    "devices reporting through the ingest port, so that alerts appear live. Prints the URL to open. "
    "With --prison: a prison day (regime, wristbands, readers, incidents) instead."
)


def demo(
    persons: Annotated[int, typer.Option(help=_("monitored persons in the simulated city"))] = 12,
    city: Annotated[
        str, typer.Option(help=_("auckland, chicago, lisbon, madrid, oslo or santiago"))
    ] = "madrid",
    speed: Annotated[float, typer.Option(help=_("simulated seconds per real second"))] = 120.0,
    seed: Annotated[int, typer.Option(help=_("random seed of the simulation (same seed, same day)"))] = 7,
    host: Host = None,
    port: Port = None,
    ingest_port: IngestPort = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help=_("default: a new temporary folder"))
    ] = None,
    prison: Annotated[
        bool, typer.Option("--prison", help=_("a simulated prison day instead of a city (docs/prison.md)"))
    ] = False,
) -> None:
    """Serve a simulated city: monitored persons and victims moving, some
    breaking their orders, their devices reporting through the ingest port, so
    that alerts appear live. Prints the URL to open. With --prison: a prison
    day (regime, wristbands, readers, incidents) instead."""
    from ronda.cli.demo import run_demo

    folder = data_dir or Path(tempfile.mkdtemp(prefix="ronda-demo-"))
    settings = _settings(host, port, ingest_port, None, folder)
    settings = dataclasses.replace(settings, database_url=None)
    if prison:  # issue 10
        from ronda.cli.demo_prison import run_prison_demo

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_prison_demo(settings, folder, wings=3, speed=min(speed, 20.0), seed=seed))
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(settings, folder, persons=persons, city=city, speed=speed, seed=seed))


IMPORT_HELP = _(
    "Import a scenario's setup: zones, persons, devices (assigned to their persons), orders with their "
    "rules, time zone and device-health policy."
)


def import_scenario(
    scenario_dir: Annotated[Path, typer.Argument(help=_("folder with scenario.json"))],
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Import a scenario's setup: zones, persons, devices (assigned to their
    persons), orders with their rules, time zone and device-health policy."""
    from ronda.storage.db import connect, migrate, sessions
    from ronda.storage.importer import import_scenario as run

    settings = _settings(database=database, data_dir=data_dir)
    db = connect(settings.effective_database_url)
    try:
        migrate(db)
        with sessions(db).begin() as s:
            counts = run(s, scenario_dir)
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(words.error(exc)))
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    console.print(
        words._(
            "imported {zones} zones, {persons} persons, {devices} devices, {orders} orders into {database}",
            zones=counts.zones,
            persons=counts.persons,
            devices=counts.devices,
            orders=counts.orders,
            database=settings.effective_database_url,
        ),
        markup=False,
    )


def _instant(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            words._("not an ISO 8601 instant: {text}", text=repr(text)), param_hint=name
        ) from exc
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


EXPORT_HELP = _(
    "Export alerts (the scenario format's alert lines, JSON Lines) or positions (GeoJSON or CSV) of a "
    "device or a person over a period; an export of positions states its purpose and is recorded in the "
    "audit trail."
)


def export(
    what: Annotated[str, typer.Argument(help=_("alerts | positions"))],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=_("file to write (default: standard output)"))
    ] = None,
    device: Annotated[str | None, typer.Option(help=_("positions of this device"))] = None,
    person: Annotated[str | None, typer.Option(help=_("positions (or alerts) of this person"))] = None,
    start: Annotated[str | None, typer.Option(help=_("from (ISO 8601)"))] = None,
    end: Annotated[str | None, typer.Option(help=_("to (ISO 8601)"))] = None,
    fmt: Annotated[str, typer.Option("--format", help=_("positions: geojson | csv"))] = "geojson",
    purpose: Annotated[
        str | None, typer.Option(help=_("why (required for positions; recorded in the audit trail)"))
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Export alerts (the scenario format's alert lines, JSON Lines) or
    positions (GeoJSON or CSV) of a device or a person over a period; an
    export of positions states its purpose and is recorded in the audit trail."""
    from ronda.api.routes_positions import person_positions, positions_csv, positions_geojson
    from ronda.storage import alerts, records
    from ronda.storage.db import connect, sessions

    if what not in ("alerts", "positions"):
        raise typer.BadParameter(words._("alerts or positions"), param_hint="WHAT")
    if fmt not in ("geojson", "csv"):
        raise typer.BadParameter(words._("geojson or csv"), param_hint="--format")
    a, b = _instant(start, "--start"), _instant(end, "--end")
    if what == "positions" and not (purpose or "").strip():
        why = words._("an export of positions states why (it goes into the audit trail)")
        raise typer.BadParameter(why, param_hint="--purpose")
    settings = _settings(database=database, data_dir=data_dir)
    db = connect(settings.effective_database_url)
    try:
        with sessions(db)() as s:
            if what == "alerts":
                rows = alerts.list_episodes(
                    s, alerts.EpisodeFilter(person=person, start_s=a, end_s=b), limit=10**9
                )
                text = "".join(json.dumps(_alert_line(e)) + "\n" for e, _ in rows)
            else:
                if (device is None) == (person is None):
                    raise typer.BadParameter(words._("give --device or --person"), param_hint="--device")
                lo, hi = a if a is not None else float("-inf"), b if b is not None else float("inf")
                found = (
                    records.device_records(s, [device], lo, hi, limit=10**9)
                    if device is not None
                    else person_positions(s, str(person), lo, hi, 10**9)
                )
                text = positions_csv(found) if fmt == "csv" else json.dumps(positions_geojson(found)) + "\n"
                from ronda.cli.security import cli_entry
                from ronda.storage.security import audit

                whose = f"device {device}" if device else f"person {person}"
                detail: dict[str, object] = {"start": start, "end": end, "records": len(found)}
                what_ = f"positions of {whose}"
                entry = cli_entry("export", what_, person=person, purpose=purpose, detail=detail)
                audit(sessions(db), entry)
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(words.error(exc)))
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _alert_line(e: object) -> dict[str, object]:
    """The scenario format's alert line of a stored episode (Episode.to_alert)."""
    from ronda.engine.episodes import Episode
    from ronda.storage.models import EpisodeRow
    from ronda.types import DeviceId, PersonId, RuleId

    assert isinstance(e, EpisodeRow)
    episode = Episode(
        type=e.type,
        person=PersonId(e.person_id) if e.person_id else None,
        start_s=e.start_s,
        raised_s=e.raised_s,
        rule=RuleId(e.rule_id) if e.rule_id else None,
        device=DeviceId(e.device_id) if e.device_id else None,
        end_s=e.end_s,
    )
    return episode.to_alert()
