"""The effects port: listeners hear every stored episode after its commit,
with its alert id; a failing listener is logged and isolated; a restart that
replays records tells listeners again (new=False), so idempotent listeners
lose nothing across a crash."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.pipeline.ports import EffectEvent
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.scenarios.loader import load_scenario, read_arrivals
from ronda.storage import alerts
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario

pytestmark = pytest.mark.asyncio

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"


class Recorder:
    def __init__(self, db: DbEngine) -> None:
        self.db = db
        self.events: list[EffectEvent] = []
        self.alert_seen_committed = True

    def on_effects(self, events: Sequence[EffectEvent]) -> None:
        # called after the commit: another session already sees the alert
        with sessions(self.db)() as s:
            for ev in events:
                _, alert = alerts.get_alert(s, ev.alert_id)
                self.alert_seen_committed &= alert.id == ev.alert_id
        self.events.extend(events)


class Broken:
    calls = 0

    def on_effects(self, events: Sequence[EffectEvent]) -> None:
        self.calls += 1
        raise RuntimeError("listener down")


@pytest.fixture
def db(db_url: str) -> Iterator[DbEngine]:
    engine = connect(db_url)
    migrate(engine)
    with sessions(engine).begin() as s:
        import_scenario(s, SAMPLE)
    yield engine
    engine.dispose()


async def test_listeners_hear_every_stored_effect_and_a_broken_one_is_isolated(db: DbEngine) -> None:
    recs = list(read_arrivals(load_scenario(SAMPLE).arrivals_path()))
    clock = [recs[0].received_s]
    broken, recorder = Broken(), Recorder(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=3600.0), clock=lambda: clock[0], listeners=[broken])
    svc.listeners.append(recorder)  # a listener added after construction hears too
    await svc.start()
    for i in range(0, len(recs), 500):
        await svc.sink.accept(recs[i : i + 500])
    await svc.settle(recs[-1].received_s + 60)
    await svc.stop()

    with sessions(db)() as s:
        rows = alerts.list_episodes(s, alerts.EpisodeFilter(), limit=100_000)
    assert rows, "the sample city raises alerts"
    opened = {ev.alert_id for ev in recorder.events if ev.kind == "opened" and ev.new}
    assert opened == {a.id for _, a in rows}  # every alert heard once as new
    closed = {ev.episode_id for ev in recorder.events if ev.kind == "closed"}
    assert closed == {e.id for e, _ in rows if e.end_s is not None}
    by_alert = {a.id: (e, a) for e, a in rows}
    for ev in recorder.events:
        e, a = by_alert[ev.alert_id]
        assert (ev.type, ev.person, ev.rule, ev.device, ev.start_s) == (
            e.type,
            e.person_id,
            e.rule_id,
            e.device_id,
            e.start_s,
        )
        assert ev.severity == a.severity
    assert recorder.alert_seen_committed
    assert broken.calls > 0 and svc.status()["listener_failures"] == broken.calls


async def test_a_restart_tells_listeners_again_without_new_alerts(db: DbEngine) -> None:
    recs = list(read_arrivals(load_scenario(SAMPLE).arrivals_path()))
    clock = [recs[0].received_s]
    first = LiveService(db, config=ServiceConfig(tick_s=3600.0), clock=lambda: clock[0])
    await first.start()
    for i in range(0, len(recs), 500):
        await first.sink.accept(recs[i : i + 500])
    await first.settle()
    for task in first._tasks:  # a crash: no last checkpoint
        task.cancel()
    first.sink._task.cancel()  # type: ignore[union-attr]

    recorder = Recorder(db)
    second = LiveService(
        db, config=ServiceConfig(tick_s=3600.0), clock=lambda: clock[0], listeners=[recorder]
    )
    await second.start()  # replays the records after the (initial) checkpoint
    await second.stop()
    assert recorder.events, "replayed effects reach listeners"
    assert not any(ev.new for ev in recorder.events)  # ... as repeats, not new alerts
