"""`ronda worker` (an engine worker of distributed mode) and the JetStream
wiring of `ronda gateway --nats`. Settings: ronda.config (the
``[distributed]`` section, ``RONDA_DATABASE_URL``); docs/deployment.md."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ronda.cli import words
from ronda.cli.words import _
from ronda.config import Settings
from ronda.errors import RondaError
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.pipeline.ports import EffectListener
from ronda.storage.alerts import SeverityOf

if TYPE_CHECKING:  # `ronda` starts without loading the worker (nats, prometheus)
    from ronda.pipeline.worker import Worker

log = logging.getLogger(__name__)


def _stop_on_signals(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    return installed


def load_settings(config: Path | None, database: str | None) -> Settings:
    s = Settings.from_env(file=config)
    if database is not None:
        s = dataclasses.replace(s, database_url=database)
    if s.database_url is None or not s.database_url.startswith("postgresql"):
        raise typer.BadParameter(
            words._("distributed mode needs PostgreSQL: --database or RONDA_DATABASE_URL"),
            param_hint="--database",
        )
    return s


WORKER_HELP = _(
    "Run an engine worker: share the stream's partitions with the other workers (leases in NATS), run "
    "their engines, store records and alerts in PostgreSQL, checkpoint; take over partitions of workers "
    "that die."
)


def worker(
    database: Annotated[
        str | None, typer.Option("--database", help=_("PostgreSQL URL [RONDA_DATABASE_URL]"))
    ] = None,
    nats_url: Annotated[
        str | None, typer.Option("--nats-url", help=_("NATS server URL [RONDA_NATS_URL]"))
    ] = None,
    worker_id: Annotated[str | None, typer.Option("--id", help=_("worker name [RONDA_WORKER_ID]"))] = None,
    port: Annotated[
        int | None, typer.Option("--port", help=_("/healthz /readyz /metrics port [RONDA_WORKER_PORT, 9110]"))
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help=_("TOML settings [RONDA_CONFIG]"))] = None,
    log_level: Annotated[str, typer.Option(help=_("DEBUG, INFO, WARNING, ERROR"))] = "INFO",
) -> None:
    """Run an engine worker: share the stream's partitions with the other
    workers (leases in NATS), run their engines, store records and alerts in
    PostgreSQL, checkpoint; take over partitions of workers that die."""
    from ronda.pipeline.worker import run_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        s = load_settings(config, database)
        d = s.distributed
        d = dataclasses.replace(
            d,
            nats_url=nats_url or d.nats_url,
            worker_id=worker_id or d.worker_id,
            worker_port=d.worker_port if port is None else (None if port < 0 else port),
        )
        s = dataclasses.replace(s, distributed=d)
    except RondaError as exc:
        typer.echo(_("error:") + " " + words.error(exc), err=True)
        raise typer.Exit(2) from exc

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        listeners, severity, on_started = alert_hooks(s)
        await run_worker(s, stop, listeners, severity, on_started)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except (RondaError, OSError) as exc:
        typer.echo(_("error:") + " " + words.error(exc), err=True)
        raise typer.Exit(2) from exc


def alert_hooks(
    settings: Settings,
) -> tuple[list[EffectListener], SeverityOf | None, Callable[[Worker], Awaitable[None]]]:
    """What `ronda serve` attaches to its engine, for a worker's engines: the
    alert policy's severities, the listener that queues notifications (the
    outbox is sent by `ronda serve --distributed` or `ronda notify run`), and
    pursuit mode, whose commands reach the devices through the gateways
    (pipeline/commands.py)."""
    from ronda.notify.config import load_config
    from ronda.notify.effects import AlertsListener
    from ronda.notify.pursuit import PursuitListener
    from ronda.pipeline.commands import NatsCommander
    from ronda.storage.db import connect
    from ronda.storage.notify import DbCommandStore

    config = load_config(data_dir=settings.data_dir)
    policy = config.policy
    db = connect(settings.effective_database_url)
    pursuit = PursuitListener(db, policy)

    def severity(kind: str, rule: str | None) -> str:
        return policy.severity(kind, rule).value

    async def on_started(worker: Worker) -> None:
        assert worker.nc is not None
        commander = NatsCommander(worker.nc, DbCommandStore(db), settings.distributed.live_subject)
        pursuit.attach(commander, asyncio.get_running_loop())
        await pursuit.reconcile()

    return [AlertsListener(db, policy), pursuit], severity, on_started


async def run_nats_gateway(
    settings: Settings,
    config: GatewayConfig,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Gateway], Awaitable[None]] | None = None,
) -> None:
    """Device listeners alone, publishing to JetStream: the device is acked
    once JetStream has acked. Health, readiness and metrics (the gateway's and
    the publisher's) on the gateway's metrics port."""
    from ronda.gateway.metrics import GatewayMetrics
    from ronda.pipeline import jetstream
    from ronda.pipeline.commands import relay_commands
    from ronda.pipeline.ops import OpsEndpoint
    from ronda.storage.db import connect
    from ronda.storage.notify import DbCommandStore

    d = settings.distributed
    stop = stop or asyncio.Event()
    installed = _stop_on_signals(stop)
    db = connect(settings.effective_database_url)
    inventory = jetstream.Inventory(db, d.partitions, d.caseload_refresh_s)
    nc = await jetstream.connect(d, "ronda-gateway")
    ops: OpsEndpoint | None = None
    try:
        js = nc.jetstream()
        await jetstream.ensure_stream(js, d)
        await inventory.start()
        sink = jetstream.JetStreamSink(js, d, inventory.partition)
        metrics = GatewayMetrics()

        def readiness() -> str | None:
            if not nc.is_connected:
                return "NATS disconnected"
            if inventory.routes is None:
                return "device inventory not loaded"
            return None

        ops_port = config.metrics_port
        config = dataclasses.replace(config, metrics_port=None)  # served below, with health
        if ops_port is not None:
            registries = [metrics.registry, sink.metrics.registry]
            ops = OpsEndpoint(registries, readiness, config.metrics_host, ops_port)
            await ops.start()
        # commands (pursuit) live in the database: a worker queues them, any gateway sends them
        async with Gateway(sink, config, metrics=metrics, commands=DbCommandStore(db)) as gw:
            await relay_commands(nc, gw, d.live_subject)
            ports = ", ".join(f"{name} {gw.port(name)}" for name in gw.servers)
            log.info("gateway up (JetStream %s): %s", d.stream, ports or "no TCP protocols")
            print(f"ronda gateway: {ports}" + (f" ops {ops.port}" if ops else ""), flush=True)
            if on_ready is not None:
                await on_ready(gw)
            await stop.wait()
    finally:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        if ops is not None:
            await ops.stop()
        await inventory.stop()
        await nc.drain()
        db.dispose()
