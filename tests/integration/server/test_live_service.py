"""The live engine of the server: records committed, fed in order, effects
stored as one episode and one alert each, and a restart from the checkpoint
that loses no alert and raises none twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Episode, EpisodeClosed, EpisodeOpened
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.scenarios.loader import load_scenario, read_arrivals
from ronda.storage import alerts, records
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.tracking.records import Record

pytestmark = pytest.mark.asyncio

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"
Key = tuple[str, str, float, float | None]


def expected_episodes(recs: list[Record], end_s: float) -> set[Key]:
    """What an uninterrupted engine decides: clock on `received`, then `end_s`."""
    engine = Engine(compile_caseload(load_scenario(SAMPLE).caseload))
    seen: dict[tuple[str, str, float], Episode] = {}
    for rec in recs:
        for eff in [*engine.advance(rec.received_s), *engine.feed(rec)]:
            assert isinstance(eff, EpisodeOpened | EpisodeClosed)
            seen[(eff.episode.type, str(eff.episode.rule or eff.episode.device), eff.episode.start_s)] = (
                eff.episode
            )
    for eff in engine.advance(end_s):
        seen[(eff.episode.type, str(eff.episode.rule or eff.episode.device), eff.episode.start_s)] = (
            eff.episode
        )
    return {(t, s, st, ep.end_s) for (t, s, st), ep in seen.items()}


def stored_episodes(db: DbEngine) -> set[Key]:
    with sessions(db)() as s:
        rows = alerts.list_episodes(s, alerts.EpisodeFilter(), limit=100_000)
    keys = [(e.type, e.subject, e.start_s, e.end_s) for e, _ in rows]
    assert len(keys) == len(set(keys)) and len({a.id for _, a in rows}) == len(rows)
    return set(keys)


@pytest.fixture
def db(db_url: str) -> Iterator[DbEngine]:
    engine = connect(db_url)
    migrate(engine)
    with sessions(engine).begin() as s:
        import_scenario(s, SAMPLE)
    yield engine
    engine.dispose()


def sample_records() -> list[Record]:
    return list(read_arrivals(load_scenario(SAMPLE).arrivals_path()))


def service(db: DbEngine, clock: list[float]) -> LiveService:
    # the clock is the test's: ticks only come from settle(now_s)
    return LiveService(db, config=ServiceConfig(tick_s=3600.0), clock=lambda: clock[0])


async def send(svc: LiveService, recs: list[Record], size: int = 400) -> None:
    for i in range(0, len(recs), size):
        await svc.sink.accept(recs[i : i + size])


async def test_live_alerts_equal_an_uninterrupted_engine_run(db: DbEngine) -> None:
    recs = sample_records()
    end_s = recs[-1].received_s + 60
    clock = [recs[0].received_s]
    svc = service(db, clock)
    await svc.start()
    await send(svc, recs)
    await send(svc, recs[:1000])  # a resend: stored nothing, raised nothing
    await svc.settle(end_s)
    await svc.stop()
    with sessions(db)() as s:
        assert records.count_records(s) == len({records.record_key(r) for r in recs})
    got = stored_episodes(db)
    assert got and got == expected_episodes(recs, end_s)
    assert svc.sink.stats.counters["duplicates"] >= 1000


async def test_restart_from_checkpoint_loses_no_alert_and_raises_none_twice(db: DbEngine) -> None:
    recs = sample_records()
    end_s = recs[-1].received_s + 60
    clock = [recs[0].received_s]
    first = service(db, clock)
    await first.start()
    cut = len(recs) // 3
    await send(first, recs[:cut])
    await first.settle()
    first._checkpoint()  # a periodic checkpoint ...
    await send(first, recs[cut : 2 * cut])  # ... then more records and alerts, and a crash:
    await first.settle()
    for task in first._tasks:
        task.cancel()
    first.sink._task.cancel()  # type: ignore[union-attr]

    second = service(db, clock)  # resumes from the checkpoint and the records after it
    await second.start()
    with sessions(db)() as s:
        assert second.state.last_seq == records.last_seq(s)  # every committed record was fed again
    await send(second, recs[cut - 500 :])  # the client resends what it was unsure of
    await second.settle(end_s)
    await second.stop()
    assert stored_episodes(db) == expected_episodes(recs, end_s)
