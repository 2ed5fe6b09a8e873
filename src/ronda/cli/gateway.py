"""`ronda gateway`: the device gateway on its own (TCP protocols, MQTT, metrics).

Received records are appended to a JSON Lines file (``--out``, fsynced
before each acknowledgement), or, with ``--database URL``, committed to the
server's database (before each acknowledgement). ``ronda serve`` runs the same
gateway embedded, feeding its live engine too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer

from ronda.cli import words
from ronda.cli.words import _
from ronda.gateway.dbsink import DatabaseSink
from ronda.gateway.jsonl import JsonLinesSink
from ronda.gateway.mqtt import MqttSettings
from ronda.gateway.protocols import PROTOCOLS
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.gateway.tcp import TcpLimits
from ronda.pipeline.ports import RecordSink

GATEWAY_HELP = _(
    "Receive devices over TCP (GT06, Teltonika, H02, Watch) and MQTT; acknowledge each frame only after "
    "its records are written; serve Prometheus metrics."
)


def gateway(
    out: Annotated[
        Path, typer.Option("--out", help=_("Append received records here (JSON Lines, native shape)"))
    ] = Path("data/records.jsonl"),
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help=_("Commit records to this database (SQLAlchemy URL) instead of --out"),
        ),
    ] = None,
    host: Annotated[str, typer.Option(help=_("Address the TCP servers listen on"))] = "0.0.0.0",
    gt06_port: Annotated[int, typer.Option(help=_("GT06 TCP port (-1: off)"))] = PROTOCOLS[
        "gt06"
    ].default_port,
    teltonika_port: Annotated[int, typer.Option(help=_("Teltonika TCP port (-1: off)"))] = PROTOCOLS[
        "teltonika"
    ].default_port,
    h02_port: Annotated[int, typer.Option(help=_("H02 TCP port (-1: off)"))] = PROTOCOLS["h02"].default_port,
    watch_port: Annotated[int, typer.Option(help=_("Watch TCP port (-1: off)"))] = PROTOCOLS[
        "watch"
    ].default_port,
    idle_timeout_s: Annotated[float, typer.Option(help=_("Close connections silent this long"))] = 600.0,
    max_buffer_bytes: Annotated[int, typer.Option(help=_("Close connections with more unframed bytes"))] = (
        512 * 1024
    ),
    mqtt: Annotated[bool, typer.Option("--mqtt/--no-mqtt", help=_("Subscribe on an MQTT broker"))] = True,
    mqtt_host: Annotated[str, typer.Option(help=_("MQTT broker host"))] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help=_("MQTT broker port"))] = 1883,
    mqtt_prefix: Annotated[
        str, typer.Option(help=_("Topics are <prefix>/<device>/records"))
    ] = "ronda/devices",
    mqtt_client_id: Annotated[str, typer.Option(help=_("Client id (persistent session)"))] = "ronda-gateway",
    mqtt_username: Annotated[
        str | None, typer.Option(envvar="RONDA_MQTT_USERNAME", help=_("MQTT user name"))
    ] = None,
    mqtt_password: Annotated[
        str | None, typer.Option(envvar="RONDA_MQTT_PASSWORD", help=_("MQTT password"))
    ] = None,
    metrics_host: Annotated[str, typer.Option(help=_("Address of the /metrics endpoint"))] = "127.0.0.1",
    metrics_port: Annotated[int, typer.Option(help=_("Port of the /metrics endpoint (-1: off)"))] = 9108,
    log_level: Annotated[str, typer.Option(help=_("DEBUG, INFO, WARNING, ERROR"))] = "INFO",
    nats: Annotated[
        bool,
        typer.Option(
            "--nats",
            help=_(
                "Distributed mode: publish to NATS JetStream, ack after JetStream's ack "
                "([distributed] settings; --database or RONDA_DATABASE_URL for the device inventory)"
            ),
        ),
    ] = False,
) -> None:
    """Receive devices over TCP (GT06, Teltonika, H02, Watch) and MQTT; acknowledge
    each frame only after its records are written; serve Prometheus metrics."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    requested = {"gt06": gt06_port, "teltonika": teltonika_port, "h02": h02_port, "watch": watch_port}
    config = GatewayConfig(
        host=host,
        ports={name: port for name, port in requested.items() if port >= 0},
        limits=TcpLimits(idle_timeout_s=idle_timeout_s, max_buffer_bytes=max_buffer_bytes),
        mqtt=MqttSettings(
            host=mqtt_host,
            port=mqtt_port,
            topic_prefix=mqtt_prefix.rstrip("/"),
            client_id=mqtt_client_id,
            username=mqtt_username,
            password=mqtt_password,
        )
        if mqtt
        else None,
        metrics_host=metrics_host,
        metrics_port=metrics_port if metrics_port >= 0 else None,
    )
    try:
        if nats:
            from ronda.cli.worker import load_settings, run_nats_gateway

            asyncio.run(run_nats_gateway(load_settings(None, database), config))
        elif database is not None:
            asyncio.run(run_database_gateway(database, config))
        else:
            asyncio.run(run_gateway(JsonLinesSink(out), config))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        typer.echo(_("error:") + " " + words.error(exc), err=True)
        raise typer.Exit(2) from exc


async def run_database_gateway(
    url: str,
    config: GatewayConfig,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Gateway], Awaitable[None]] | None = None,
) -> None:
    """Run a gateway whose sink is the database at ``url``."""
    async with DatabaseSink(url) as sink:
        await run_gateway(sink, config, stop, on_ready)


async def run_gateway(
    sink: RecordSink,
    config: GatewayConfig,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Gateway], Awaitable[None]] | None = None,
) -> None:
    """Run a gateway with ``sink`` until ``stop`` is set (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        async with Gateway(sink, config) as gw:
            ports = ", ".join(f"{name} {gw.port(name)}" for name in gw.servers)
            logging.getLogger("ronda.gateway").info("gateway up: %s", ports or "no TCP protocols")
            if on_ready is not None:
                await on_ready(gw)
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
