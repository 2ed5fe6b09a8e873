"""The live prison service: stored before fed, idempotent on resend, resumed
after a restart from the stored sightings without a second alert."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from tests.unit.facility.builders import document, local

from ronda.facility.records import FacilityRecord, ReaderHeartbeat
from ronda.pipeline.prison import PrisonService, PrisonSettings
from ronda.storage import prison as store
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import AlertRow
from ronda.storage.models_prison import EpisodeDetailRow, MovementRow
from ronda.tracking.records import Sighting
from ronda.types import DeviceId

READERS = ["R-A-01", "R-A-02", "R-land", "R-corr", "R-yard-1", "R-yard-2", "R-shop", "D-gate"]


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = connect(db_url)
    migrate(engine)
    with sessions(engine).begin() as s:
        store.save_facility(s, document(), "test")
    yield engine
    engine.dispose()


def minute(start: float, places: dict[str, str]) -> list[FacilityRecord]:
    out: list[FacilityRecord] = []
    for k in range(30):
        t = start + 2 * k
        out += [ReaderHeartbeat(r, t, t) for r in READERS]
        out += [Sighting(DeviceId(b), t, t, reader=r, rssi_dbm=-55) for b, r in places.items()]
    return out


def service(db: Engine, now: float) -> PrisonService:
    return PrisonService(
        sessions(db), settings=PrisonSettings(wall_clock=False, recover_s=600), clock=lambda: now
    )


def count(db: Engine, table: type) -> int:
    with sessions(db)() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def test_restart_resumes_without_a_second_alert(db: Engine) -> None:
    cells = {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}
    svc = service(db, local(8, 3))
    assert svc.ingest("test", minute(local(8), cells)).alerts == 0
    first = svc.ingest("test", minute(local(8, 1), {**cells, "W3": "R-shop"}))
    assert first.alerts == 1 and first.stored > 0
    again = svc.ingest("test", minute(local(8, 1), {**cells, "W3": "R-shop"}))
    assert (again.stored, again.alerts) == (0, 0), "a resent batch feeds nothing"
    assert count(db, AlertRow) == 1 and count(db, EpisodeDetailRow) == 1
    moves = count(db, MovementRow)

    restarted = service(db, local(8, 3))  # a new process: replays the stored sightings
    m = restarted.monitor("test")
    assert m.presence.bands[DeviceId("W3")].zone == "workshop"
    assert [e.type for e in m.open_episodes()] == ["out_of_bounds"]
    more = restarted.ingest("test", minute(local(8, 2), {**cells, "W3": "R-shop"}))
    assert more.alerts == 0
    assert count(db, AlertRow) == 1 and count(db, MovementRow) == moves


def test_scheduled_counts_are_stored_when_due(db: Engine) -> None:
    svc = service(db, local(21, 5))
    cells = {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}
    for k in range(4):
        svc.ingest("test", minute(local(20, 58) + 60 * k, cells))
    with sessions(db)() as s:
        counts = store.list_headcounts(s, "test")
    assert [(c.kind, c.status, c.at_s) for c in counts] == [("scheduled", "exact", local(21))]


def test_a_record_from_the_future_is_refused(db: Engine) -> None:
    from ronda.errors import InvalidInput

    svc = service(db, local(8))
    with pytest.raises(InvalidInput, match="future"):
        svc.ingest("test", minute(local(9), {"W1": "R-A-01"}))
    assert svc.stats.counters["refused_future"] == 1


def test_raw_sightings_are_purged_after_the_keep_time_moves_stay(db: Engine) -> None:
    svc = PrisonService(
        sessions(db),
        settings=PrisonSettings(wall_clock=False, keep_sightings_s=3600, purge_every_s=0),
        clock=lambda: local(12),
    )
    svc.ingest("test", minute(local(8), {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}))
    with sessions(db)() as s:
        before = store.count_sightings(s, "test")
    moves = count(db, MovementRow)
    assert before > 0 and moves == 3
    svc.tick(local(8, 30))  # within the hour: nothing goes
    with sessions(db)() as s:
        assert store.count_sightings(s, "test") == before
    svc.tick(local(10))
    with sessions(db)() as s:
        assert store.count_sightings(s, "test") == 0
    assert count(db, MovementRow) == moves and svc.stats.counters["sightings_purged"] == before
