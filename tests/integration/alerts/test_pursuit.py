"""Pursuit mode when the gateway comes after the engine: effects replayed at
start-up open a pursuit before any gateway is attached; once it is, the
request goes out; when the episode closes, each device gets its own
interval back, and a device still pursued by another episode stays fast."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.alerts.policy import AlertPolicy
from ronda.engine.episodes import Episode
from ronda.notify.pursuit import PursuitListener
from ronda.pipeline.service import effect_event
from ronda.storage import alerts
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.types import PersonId, RuleId

from .conftest import build_world
from .test_victim_protection import FakeGateway

pytestmark = pytest.mark.asyncio


async def test_pursuit_waits_for_the_gateway_and_restores_each_device(db: DbEngine) -> None:
    build_world(db, "url:json://127.0.0.1:9/police")
    pursuit = PursuitListener(db, AlertPolicy())
    t = time.time()
    first = Episode("proximity", PersonId("w1"), t - 60, t, rule=RuleId("r-ana"))
    second = Episode("proximity", PersonId("w1"), t - 30, t, rule=RuleId("r-ana"))
    with sessions(db).begin() as s:
        a, b = alerts.store_episode(s, first), alerts.store_episode(s, second)
    # replayed at start-up: no gateway yet
    await asyncio.to_thread(
        pursuit.on_effects, [effect_event(a, closed=False), effect_event(b, closed=False)]
    )
    gw = FakeGateway()
    assert not await gw.commands.for_device("tag-w1")

    pursuit.attach(gw, asyncio.get_running_loop())
    assert await pursuit.reconcile() == 4  # two episodes x two devices
    assert {c.interval_s for c in await gw.commands.for_device("tag-w1")} == {15}
    assert await pursuit.reconcile() == 0  # nothing twice

    first.end_s = t + 100
    with sessions(db).begin() as s:
        closed = alerts.store_episode(s, first)
    await asyncio.to_thread(pursuit.on_effects, [effect_event(closed, closed=True)])
    # the second episode still pursues both devices: no restore yet
    assert [c.interval_s for c in await gw.commands.for_device("tag-w1")] == [15, 15]

    second.end_s = t + 200
    with sessions(db).begin() as s:
        closed = alerts.store_episode(s, second)
    await asyncio.to_thread(pursuit.on_effects, [effect_event(closed, closed=True)])
    assert (await gw.commands.for_device("tag-w1"))[-1].interval_s == 60
    assert (await gw.commands.for_device("phone-v1"))[-1].interval_s == 120
    with sessions(db)() as s:
        assert not store.active_pursuits(s)
