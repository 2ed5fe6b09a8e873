"""The batched record insert on both backends (PostgreSQL has its own path: one
JSON document into one INSERT ... SELECT, run in autocommit by the writer):
exact round trips of every kind, awkward floats, duplicates, and the group
commit answering each caller."""

from __future__ import annotations

import asyncio
import math

import pytest

from ronda.pipeline.store_sink import StoreSink
from ronda.storage import records
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, ZoneId

DEV = DeviceId("tag-1")


def every_kind() -> list[Record]:
    return [
        Position(
            DEV,
            1_764_380_000.123,
            1_764_380_000.5,
            lat=40.416775000000001,
            lon=-3.7037901999999998,
            accuracy_m=0.1 + 0.2,
            speed_mps=1e-300,
            battery_pct=80,  # an int from a decoder: stored and read back as 80.0
            course_deg=359.99999999999994,
            altitude_m=-12.5,
        ),
        Position(DEV, 1_764_380_001.0, 1_764_380_002.0, battery_pct=12.5, valid=False),
        Position(DEV, 1_764_380_002.0, 1_764_380_003.0, lat=1.0, lon=2.0),
        Sighting(DEV, 1_764_380_003.0, 1_764_380_004.0, reader="door-1", zone=ZoneId("z1"), rssi_dbm=-71.5),
        Sighting(DEV, 1_764_380_004.0, 1_764_380_005.0, reader='quote" and \\', zone=None, rssi_dbm=None),
        DeviceEvent(DEV, 1_764_380_002.0, 1_764_380_003.0, EventKind.STRAP_TAMPER),
        DeviceEvent(DEV, 1_764_380_005.0, 1_764_380_006.0, EventKind.LOW_BATTERY, 9.0),
    ]


def test_every_kind_round_trips_exactly(db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    batch = every_kind()
    with sessions(engine).begin() as s:
        new = records.insert_records(s.connection(), [*batch, *batch])  # the second copy is skipped
    assert [r for _, r in new] == batch
    assert [seq for seq, _ in new] == sorted(seq for seq, _ in new)
    with sessions(engine)() as s:
        stored = records.records_after(s, 0)
    assert [r for _, r in stored] == batch
    assert stored[0][1].battery_pct == 80.0
    with sessions(engine).begin() as s:  # resent: nothing new
        assert records.insert_records(s.connection(), batch) == []
    engine.dispose()


def test_infinite_values_are_stored(db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    rec = Position(DEV, 10.0, 11.0, lat=1.0, lon=2.0, altitude_m=math.inf, course_deg=-math.inf)
    with sessions(engine).begin() as s:
        assert [r for _, r in records.insert_records(s.connection(), [rec])] == [rec]
    with sessions(engine)() as s:
        assert [r for _, r in records.records_after(s, 0)] == [rec]
    engine.dispose()


def test_postgresql_stores_nan(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite stores NaN as NULL")
    engine = connect(db_url)
    migrate(engine)
    rec = Position(DEV, 10.0, 11.0, lat=1.0, lon=2.0, altitude_m=math.nan)
    with sessions(engine).begin() as s:
        assert len(records.insert_records(s.connection(), [rec])) == 1
    with sessions(engine)() as s:
        (_, back), *_ = records.records_after(s, 0)
    assert isinstance(back, Position) and back.altitude_m is not None and math.isnan(back.altitude_m)
    engine.dispose()


def test_group_commit_answers_each_caller_in_seq_order(db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    committed: list[tuple[int, Record]] = []

    async def run() -> list[tuple[int, int, int]]:
        sink = StoreSink(engine, {"tag-1", "tag-2"}, committed.extend)
        sink.start()
        a = [Position(DEV, float(t), float(t) + 1, lat=1.0, lon=2.0) for t in range(100)]
        b = [Position(DeviceId("tag-2"), float(t), float(t) + 1, lat=1.0, lon=2.0) for t in range(50)]
        other = [Position(DeviceId("nobody"), 1.0, 2.0, lat=1.0, lon=2.0)]
        results = await asyncio.gather(
            sink.accept(a), sink.accept(b), sink.accept(a[:10] + other), sink.accept(a[90:])
        )
        await sink.stop()
        return [(x.stored, x.duplicates, x.unknown_device) for x in results]

    answers = asyncio.run(run())
    assert answers[0] == (100, 0, 0) and answers[1] == (50, 0, 0)
    assert answers[2] == (0, 10, 1) and answers[3] == (0, 10, 0)
    seqs = [seq for seq, _ in committed]
    assert len(committed) == 150 and seqs == sorted(seqs)
    with sessions(engine)() as s:
        assert records.count_records(s) == 150
    engine.dispose()
