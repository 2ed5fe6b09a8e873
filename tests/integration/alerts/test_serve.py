"""`ronda serve` runs the alert machinery: with `alerts.toml` in the data
folder, a proximity episode reaches the protected person's mailbox and the
police webhook through the server's own listeners and outbox worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ronda.api.server import Running, serve
from ronda.config import GatewaySettings, Settings
from ronda.pipeline.service import ServiceConfig
from ronda.storage.db import connect, migrate

from .conftest import Mailbox, Webhook, build_world, wait_for
from .test_victim_protection import approach

pytestmark = pytest.mark.asyncio


async def test_serve_warns_the_victim_and_the_police(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    url = f"sqlite:///{tmp_path / 'ronda.db'}"
    db = connect(url)
    migrate(db)
    build_world(db, webhook.url("/police"), victim_language="pt", police_language="es")
    db.dispose()
    (tmp_path / "alerts.toml").write_text(
        f"""
[alerts]
centre_phone = "+351 800 000 000"

[channels]
email = "mailto://127.0.0.1:{mailbox.port}?from=ronda@centre.example&to={{to}}"

[notify]
poll_s = 0.2
escalation_every_s = 0.5
""",
        encoding="utf-8",
    )
    settings = Settings(
        data_dir=tmp_path, database_url=url, port=0, ingest_port=0, gateway=GatewaySettings(enabled=False)
    )
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()

    async def on_ready(running: Running) -> None:
        ready.set_result(running)

    task = asyncio.create_task(serve(settings, config=ServiceConfig(tick_s=0.2), on_ready=on_ready))
    running = await asyncio.wait_for(asyncio.shield(ready), 30)
    try:
        await running.service.sink.accept(approach(time.time()))
        await wait_for(lambda: mailbox.to("ana@example.org") and webhook.at("/police"), 15.0, "both messages")
    finally:
        running.server.should_exit = True
        await asyncio.wait_for(task, 30)
    (mail,) = mailbox.to("ana@example.org")
    assert mail["Subject"] == "Ronda: alerta de segurança"
    assert "+351 800 000 000" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (police,) = webhook.at("/police")
    assert police.body["title"].startswith("Ronda: alerta de proximidad #")
