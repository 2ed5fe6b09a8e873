"""Victim protection end to end, with a real SMTP server and a real webhook
receiver: the wearer comes close to the protected person, the engine opens
a proximity episode, and within seconds the protected person gets an email
in Spanish and the police a webhook in Portuguese, each with the right
content; the wearer's devices go into pursuit mode and back. A tamper
tells the protected person they may not be warned; after consent is
withdrawn, she is told nothing more."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine as DbEngine

from ronda.alerts.policy import AlertPolicy, ChainLink
from ronda.gateway.commands import Command, CommandKind, MemoryCommandStore
from ronda.notify.config import NotifyConfig
from ronda.notify.runtime import AlertsRuntime
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import alerts
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId

from .conftest import HOME, NEAR, Mailbox, Webhook, approach, build_world, wait_for

pytestmark = pytest.mark.asyncio



class FakeGateway:
    """What pursuit mode needs of the gateway: its command queue (the real one)."""

    def __init__(self) -> None:
        self.commands = MemoryCommandStore()

    async def submit(
        self, device: str, kind: CommandKind, *, interval_s: int | None = None, text: str | None = None
    ) -> Command:
        return await self.commands.add(device, kind, time.time(), interval_s=interval_s, text=text)


def config(mailbox: Mailbox, webhook: Webhook) -> NotifyConfig:
    return NotifyConfig(
        policy=AlertPolicy(
            centre_phone="+34 900 100 200",
            chains={"default": (ChainLink("operator", (webhook.url("/desk"),)), ChainLink("supervisor"))},
        ),
        channels={"email": f"mailto://127.0.0.1:{mailbox.port}?from=ronda@centre.example&to={{to}}"},
        poll_s=0.2,
    )


@pytest_asyncio.fixture
async def running(
    db: DbEngine, mailbox: Mailbox, webhook: Webhook
) -> AsyncIterator[tuple[LiveService, AlertsRuntime]]:
    build_world(db, webhook.url("/police"))
    svc = LiveService(db, config=ServiceConfig(tick_s=0.2))
    rt = AlertsRuntime(db, svc, config(mailbox, webhook))
    await svc.start()
    gw = FakeGateway()
    rt.attach_gateway(gw)
    await rt.start()
    rt.gateway = gw  # type: ignore[attr-defined]
    yield svc, rt
    await rt.stop()
    await svc.stop()


async def test_a_proximity_warns_the_victim_and_the_police_within_seconds(
    running: tuple[LiveService, AlertsRuntime], mailbox: Mailbox, webhook: Webhook, db: DbEngine
) -> None:
    svc, rt = running
    await svc.sink.accept(approach(time.time()))
    await wait_for(
        lambda: mailbox.to("ana@example.org") and webhook.at("/police"), 10.0, "victim and police messages"
    )

    (mail,) = mailbox.to("ana@example.org")
    assert mail["Subject"] == "Ronda: alerta de seguridad"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ana, la persona sujeta a su orden de protección está cerca de usted" in text
    assert "+34 900 100 200" in text and "Bruno" not in text
    assert mail["X-Ronda-Idempotency-Key"]

    (police,) = webhook.at("/police")
    assert police.body["title"].startswith("Ronda: alerta de proximidade #")
    assert "Bruno Díaz está dentro da distância de afastamento de Ana" in police.body["message"]
    assert f"{NEAR[0]:.5f}, {NEAR[1]:.5f}" in police.body["message"]  # the wearer's last fix
    assert police.headers["X-Ronda-Idempotency-Key"]
    await wait_for(lambda: webhook.at("/desk"), 5.0, "the operator desk")  # link 0 of the chain

    with sessions(db)() as s:
        ((episode, alert),) = alerts.list_episodes(s, alerts.EpisodeFilter(type="proximity"))
        assert alert.severity == "critical"

    def outcomes() -> set[tuple[str, str]]:  # the outcome is committed just after the receiver answered
        with sessions(db)() as s:
            return {(r.kind, r.status) for r in store.outbox_for_alert(s, alert.id)}

    await wait_for(lambda: "sending" not in {st for _, st in outcomes()}, 10.0, "delivery outcomes")
    with sessions(db)() as s:
        sent = outcomes()
        assert sent >= {
            ("victim_proximity", "sent"),
            ("police_proximity", "sent"),
            ("staff_new_alert", "sent"),
        }
        timer = store.get_timer(s, alert.id)
        assert timer is not None and timer.due_s == pytest.approx(timer.created_s + 120.0)
        pursued = {p.device_id: p for p in store.pursuits_of_episode(s, episode.id)}
    # pursuit mode: both devices asked for 15 s reports through the command queue
    assert set(pursued) == {"tag-w1", "phone-v1"}
    gw = rt.gateway  # type: ignore[attr-defined]
    queued = {c.device: c.interval_s for d in pursued for c in await gw.commands.for_device(d)}
    assert queued == {"tag-w1": 15, "phone-v1": 15}

    # Bruno drives away (5 km in two minutes) and stays away: the episode closes
    # and each device gets its own interval back
    now = time.time()
    far = [
        Position(DeviceId(dev), now + t + off, now + t + off, *pos, accuracy_m=10.0)
        for t in range(120, 540, 60)
        for dev, pos, off in (("tag-w1", (40.45, -3.75), 1), ("phone-v1", HOME, 0))
    ]
    await svc.sink.accept(far)
    await svc.settle(now + 700)

    def restored() -> bool:
        with sessions(db)() as s:
            return all(p.end_command is not None for p in store.pursuits_of_episode(s, episode.id))

    await wait_for(restored, 10.0, "pursuit to end")
    last = {d: (await gw.commands.for_device(d))[-1].interval_s for d in pursued}
    assert last == {"tag-w1": 60, "phone-v1": 120}
    # nothing was sent twice, and the closing told the police nothing new
    assert len(mailbox.to("ana@example.org")) == 1 and len(webhook.at("/police")) == 1


async def test_a_device_failure_tells_the_victim_and_withdrawn_consent_stops_messages(
    running: tuple[LiveService, AlertsRuntime], mailbox: Mailbox, db: DbEngine
) -> None:
    svc, _ = running
    now = time.time()
    await svc.sink.accept([DeviceEvent(DeviceId("tag-w1"), now - 5, now, EventKind.STRAP_TAMPER)])
    await wait_for(lambda: mailbox.to("ana@example.org"), 10.0, "the tamper warning")
    (mail,) = mailbox.to("ana@example.org")
    assert mail["Subject"] == "Ronda: puede que no reciba avisos"
    assert "el dispositivo ha sido manipulado" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    with sessions(db).begin() as s:
        (contact,) = store.list_contacts(s, person_id="v1")
        store.record_consent(
            s, contact.id, granted=False, method="phone", actor="operator", now_s=time.time()
        )
        assert [c.granted for c in store.consents(s, contact.id)] == [True, False]  # the history stays
    later = time.time()
    await svc.sink.accept(approach(later))
    await svc.settle()

    def queued_police() -> bool:
        with sessions(db)() as s:
            rows = alerts.list_episodes(s, alerts.EpisodeFilter(type="proximity"))
            return bool(rows) and any(
                r.kind == "police_proximity" and r.status == "sent"
                for r in store.outbox_for_alert(s, rows[0][1].id)
            )

    await wait_for(queued_police, 10.0, "the police message")
    with sessions(db)() as s:
        ((_, alert),) = alerts.list_episodes(s, alerts.EpisodeFilter(type="proximity"))
        kinds = [r.kind for r in store.outbox_for_alert(s, alert.id)]
    assert "victim_proximity" not in kinds  # consent withdrawn: nothing queued for her
    assert len(mailbox.to("ana@example.org")) == 1
