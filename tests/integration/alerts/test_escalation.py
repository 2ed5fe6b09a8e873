"""Escalation on an injected clock: an alert nobody acknowledges within its
response target goes to the next link of its agency's chain at that
instant (not before), each link is notified through a real SMTP server and
webhook receiver, and an alert acknowledged in time never escalates."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.alerts.policy import AlertPolicy, ChainLink
from ronda.alerts.workflow import AlertAction
from ronda.engine.episodes import Episode
from ronda.notify.effects import AlertsListener
from ronda.notify.escalation import EscalationLoop
from ronda.notify.worker import OutboxWorker
from ronda.pipeline.ports import EffectEvent
from ronda.pipeline.service import effect_event
from ronda.storage import alerts, cases
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.types import DeviceId, PersonId

from .conftest import Mailbox, Webhook

T0 = 1_800_000_000.0


def policy(webhook: Webhook) -> AlertPolicy:
    return AlertPolicy(
        chains={
            "north": (
                ChainLink("operator", (webhook.url("/desk"),)),
                ChainLink("supervisor", ("email:sup@north.example",)),
                ChainLink("on-call", (webhook.url("/on-call"), "email:oncall@north.example"), wait_s=600),
            ),
        }
    )


def raise_alert(db: DbEngine, listener: AlertsListener, device: str) -> int:
    """What the pipeline does: store the effect, commit, tell the listener."""
    ep = Episode("tamper", PersonId("w1"), T0 - 30, T0, device=DeviceId(device))
    with sessions(db).begin() as s:
        stored = alerts.store_episode(s, ep, lambda t, r: listener.policy.severity(t, r).value)
    events: Sequence[EffectEvent] = [effect_event(stored, closed=False)]
    listener.on_effects(events)
    return stored.alert.id


def trail(db: DbEngine, alert_id: int) -> list[tuple[str, str, str]]:
    with sessions(db)() as s:
        return [(a.action, a.actor, a.to_status) for a in alerts.alert_actions(s, alert_id)]


@pytest.mark.parametrize("acknowledge_at_s", [None, 60.0])
def test_an_unacknowledged_alert_escalates_at_its_target_link_by_link(
    db: DbEngine, mailbox: Mailbox, webhook: Webhook, acknowledge_at_s: float | None
) -> None:
    with sessions(db).begin() as s:
        cases.create_person(s, "w1", "monitored", "Bruno")
        store.set_case_contacts(
            s,
            "w1",
            police_contact_id=None,
            officer_contact_id=None,
            agency_id="north",
            actor="admin",
            now_s=T0,
        )
    clock = [T0]
    pol = policy(webhook)
    listener = AlertsListener(db, pol, clock=lambda: clock[0])
    loop = EscalationLoop(db, pol, clock=lambda: clock[0])
    channels = {"email": f"mailto://127.0.0.1:{mailbox.port}?from=ronda@centre.example&to={{to}}"}
    worker = OutboxWorker(db, channels, clock=lambda: clock[0])

    alert_id = raise_alert(db, listener, "tag-1")
    with sessions(db)() as s:
        timer = store.get_timer(s, alert_id)
        assert timer is not None and (timer.agency_id, timer.target_s) == ("north", 120.0)  # tamper: critical
    worker.drain()
    assert len(webhook.at("/desk")) == 1  # link 0 hears of the new alert at once

    if acknowledge_at_s is not None:
        clock[0] = T0 + acknowledge_at_s
        with sessions(db).begin() as s:
            alerts.act(s, alert_id, AlertAction.ACKNOWLEDGE, "ana")

    clock[0] = T0 + 119.9
    assert loop.run_once() == 0  # not before its target
    clock[0] = T0 + 120.0
    moved = loop.run_once()
    worker.drain()

    if acknowledge_at_s is not None:  # taken on in time: it never escalates
        assert moved == 0
        clock[0] = T0 + 10_000
        assert loop.run_once() == 0
        assert [a for a, _, _ in trail(db, alert_id)] == ["acknowledge"]
        assert not mailbox.messages and not webhook.at("/on-call")
        with sessions(db)() as s:
            timer = store.get_timer(s, alert_id)
            assert timer is not None and timer.due_s is None and timer.level == 0
        return

    assert moved == 1
    assert trail(db, alert_id) == [("escalate", "system:escalation", "escalated")]
    (mail,) = mailbox.to("sup@north.example")
    assert mail["Subject"] == f"Ronda: ESCALATED critical tamper alert #{alert_id}"
    assert "not been acknowledged within its target of 2 min" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert not webhook.at("/on-call")

    clock[0] = T0 + 239.0  # the supervisor has the alert's target too
    assert loop.run_once() == 0
    clock[0] = T0 + 240.0
    assert loop.run_once() == 1
    worker.drain()
    assert len(webhook.at("/on-call")) == 1 and len(mailbox.to("oncall@north.example")) == 1
    assert "(on-call)" in webhook.at("/on-call")[0].body["message"]

    clock[0] = T0 + 100_000  # the last link keeps it: nothing further, nothing twice
    assert loop.run_once() == 0
    worker.drain()
    assert [a for a, _, _ in trail(db, alert_id)] == ["escalate", "escalate"]
    assert len(mailbox.messages) == 2 and len(webhook.received) == 2
    with sessions(db)() as s:
        statuses = {(r.kind, r.status) for r in store.outbox_for_alert(s, alert_id)}
    assert statuses == {("staff_new_alert", "sent"), ("staff_escalation", "sent")}


def test_two_escalation_loops_escalate_an_alert_once(db: DbEngine, webhook: Webhook) -> None:
    """Two servers running the loop at the same instant move the alert one link, not two."""
    with sessions(db).begin() as s:
        cases.create_person(s, "w1", "monitored", "Bruno")
        store.set_case_contacts(
            s,
            "w1",
            police_contact_id=None,
            officer_contact_id=None,
            agency_id="north",
            actor="admin",
            now_s=T0,
        )
    clock = [T0]
    pol = policy(webhook)
    listener = AlertsListener(db, pol, clock=lambda: clock[0])
    ids = [raise_alert(db, listener, f"tag-{i}") for i in range(20)]
    clock[0] = T0 + 120.0
    a, b = EscalationLoop(db, pol, clock=lambda: clock[0]), EscalationLoop(db, pol, clock=lambda: clock[0])

    async def both() -> list[int]:
        return list(await asyncio.gather(asyncio.to_thread(a.run_once), asyncio.to_thread(b.run_once)))

    moved = asyncio.run(both())
    assert sum(moved) == 20
    for alert_id in ids:
        assert [x for x, _, _ in trail(db, alert_id)] == ["escalate"]
