"""Running the server: one process, one event loop, two ports (API and ingest)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import uvicorn

from ronda.api.app import PortRouter, create_app
from ronda.api.ingest import create_ingest_app
from ronda.api.settings import ServerSettings
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


async def serve(
    settings: ServerSettings,
    *,
    config: ServiceConfig | None = None,
    on_ready: Callable[[Running], Awaitable[None]] | None = None,
) -> None:
    """Migrate the database, resume the engine, serve until told to stop
    (SIGINT/SIGTERM: graceful, with a last checkpoint)."""
    db = connect(settings.base.effective_database_url)
    await asyncio.to_thread(migrate, db)
    svc = LiveService(
        db, settings.base.engine, config or ServiceConfig(checkpoint_every_s=settings.checkpoint_every_s)
    )
    api_sock = bind(settings.host, settings.port)
    ingest_sock = bind(settings.host, settings.ingest_port)
    api_port, ingest_port = api_sock.getsockname()[1], ingest_sock.getsockname()[1]
    app = PortRouter(create_app(svc, settings.api_token), create_ingest_app(svc), ingest_port)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    )

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        running = Running(svc, api_port, ingest_port, server)
        print(f"ronda: API on http://{settings.host}:{api_port} ingest on :{ingest_port}", flush=True)
        if on_ready is not None:
            await on_ready(running)

    watcher = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[api_sock, ingest_sock])
    finally:
        watcher.cancel()
        db.dispose()
