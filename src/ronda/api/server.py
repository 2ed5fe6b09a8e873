"""Running the server: one process, one event loop, two HTTP ports (API and
ingest) and the embedded device gateway (TCP protocols, MQTT).

Start order: the live service (database, engine, the durable sink), then the
gateway (its records go to that sink: committed, then fed to the engine,
acknowledged to the device after the commit), then HTTP. Stop order is the
reverse, so nothing is acknowledged after the sink has drained."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn

from ronda.api.app import PortRouter, create_app
from ronda.api.ingest import create_ingest_app
from ronda.config import Settings
from ronda.gateway.mqtt import MqttSettings
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage.db import connect, migrate

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@dataclass
class Running:
    service: LiveService
    api_port: int
    ingest_port: int
    server: uvicorn.Server
    gateway: Gateway | None = None
    gateway_ports: dict[str, int] = field(default_factory=dict)


async def _broker_answers(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def mqtt_settings(settings: Settings) -> MqttSettings | None:
    """The MQTT consumer to run: none when off, or when ``auto`` finds no broker."""
    g = settings.gateway
    mode = g.mqtt.strip()
    if mode.lower() == "off":
        return None
    host, port = "127.0.0.1", 1883
    if mode.lower() != "auto":
        host, _, raw = mode.rpartition(":") if mode.count(":") == 1 else (mode, "", "")
        port = int(raw) if raw.isdigit() else 1883
    elif not await _broker_answers(host, port):
        log.info("no MQTT broker on %s:%d: MQTT ingest off (RONDA_MQTT=HOST:PORT to insist)", host, port)
        return None
    return MqttSettings(
        host=host,
        port=port,
        topic_prefix=g.mqtt_prefix,
        client_id=g.mqtt_client_id,
        username=g.mqtt_username,
        password=g.mqtt_password,
    )


async def gateway_config(settings: Settings) -> GatewayConfig | None:
    """The embedded gateway's configuration; None when it is turned off."""
    g = settings.gateway
    if not g.enabled:
        return None
    return GatewayConfig(
        host=g.host or settings.host,
        ports=dict(g.ports),
        mqtt=await mqtt_settings(settings),
        metrics_host=g.host or settings.host,
        metrics_port=g.metrics_port,
    )


async def serve(
    settings: Settings,
    *,
    config: ServiceConfig | None = None,
    on_ready: Callable[[Running], Awaitable[None]] | None = None,
) -> None:
    """Migrate the database, resume the engine, start the device gateway,
    serve until told to stop (SIGINT/SIGTERM: graceful, with a last checkpoint)."""
    db = connect(settings.effective_database_url)
    svc: LiveService
    if settings.distributed.enabled:  # a stateless API: the engine runs in `ronda worker`s
        from ronda.pipeline.distributed import DistributedService
        from ronda.pipeline.worker import migrate_locked

        await asyncio.to_thread(migrate_locked, db)  # API servers and workers start together
        svc = DistributedService(db, settings)
    else:
        await asyncio.to_thread(migrate, db)
        svc = LiveService(
            db, settings.engine, config or ServiceConfig(checkpoint_every_s=settings.checkpoint_every_s)
        )
    gateway: Gateway | None = None
    socks: list[socket.socket] = []
    # issue 7: alert listeners (registered before the engine resumes), outbox worker, escalation
    from ronda.notify.runtime import AlertsRuntime, load_config
    from ronda.storage.notify import DbCommandStore

    alerts_rt = AlertsRuntime(db, svc, load_config(data_dir=settings.data_dir))
    try:
        api_sock = bind(settings.host, settings.port)
        socks.append(api_sock)
        ingest_sock = bind(settings.host, settings.ingest_port)
        socks.append(ingest_sock)
        api_port, ingest_port = api_sock.getsockname()[1], ingest_sock.getsockname()[1]
        # The service is started here rather than by the app's lifespan, so that
        # the gateway can hand records to its sink before HTTP is up.
        await svc.start()
        # distributed: devices talk to `ronda gateway --nats` processes
        gw_config = None if settings.distributed.enabled else await gateway_config(settings)
        if gw_config is not None:
            # commands kept in the database: a restart keeps what is queued (pursuit mode)
            gateway = Gateway(svc.sink, gw_config, commands=DbCommandStore(db))
            await gateway.start()
            alerts_rt.attach_gateway(gateway)  # pursuit mode asks devices through it
        await alerts_rt.start()
        api = create_app(svc, settings.api_token, security=settings.security, retention=True)
        api.state.settings = settings
        app = PortRouter(
            api,
            create_ingest_app(svc, rate_per_s=settings.security.ingest_per_s),
            ingest_port,
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app, lifespan="on", log_level="warning", access_log=False, timeout_graceful_shutdown=5
            )
        )
        gw_ports = {name: gateway.port(name) for name in gateway.servers} if gateway is not None else {}

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.05)
            running = Running(svc, api_port, ingest_port, server, gateway, gw_ports)
            devices = ", ".join(f"{name} :{port}" for name, port in gw_ports.items())
            mqtt = gateway is not None and gateway.mqtt is not None
            print(
                f"ronda: API on http://{settings.host}:{api_port} ingest on :{ingest_port}"
                + (f" devices {devices}" if devices else "")
                + (" mqtt on" if mqtt else ""),
                flush=True,
            )
            if on_ready is not None:
                await on_ready(running)

        watcher = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[api_sock, ingest_sock])
        finally:
            watcher.cancel()
    finally:
        await alerts_rt.stop()
        if gateway is not None:
            await gateway.stop()
        if svc.started:
            await svc.stop()
        for sock in socks:
            sock.close()
        db.dispose()
