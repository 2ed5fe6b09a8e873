"""The warm trail cache answers exactly as the database does: the same runs
through the reference path (one `Trail` per person, `TrailIndex.build`), the
database path and the warm path give the same results, as records arrive,
devices change hands, the retention purge deletes history, the warm window
moves and the memory bound bites; through the API too."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from ronda.api.app import create_app
from ronda.api.auth import hasher
from ronda.cases.models import PersonRole
from ronda.correlation import Incident, Params, Trail, TrailIndex, correlate
from ronda.correlation.incidents import point_incident
from ronda.geo.projection import LocalProjection
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import cases, records, security
from ronda.storage import investigation as repo
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.investigation import IN_CHUNK, POSITION, TRACKED_KINDS
from ronda.storage.models import AssignmentRow, DeviceRow, PersonRow, RecordRow
from ronda.storage.trail_cache import TrailCache, WarmSettings
from ronda.tracking.records import Position
from ronda.types import DeviceId

LAT, LON = 40.4168, -3.7038
PROJ = LocalProjection(LAT, LON)
T0 = 1_780_300_800.0  # 2026-06-01T08:00:00Z
H = 3600.0
DAY = 86400.0
PERSONS = 24
WHO = repo.Requester("tester", "admin", None, "cache equivalence")


def fixes_of(i: int, t0: float, t1: float, rng: np.random.Generator) -> list[Position]:
    """A person wandering around the scene: a fix a minute (some without
    accuracy, some too poor), and for every fourth person a 40-minute silence."""
    ts = np.arange(t0, t1, 60.0) + rng.uniform(-5, 5, int(np.ceil((t1 - t0) / 60.0)))
    if i % 4 == 0:
        s0 = t0 + rng.uniform(0, t1 - t0)
        ts = ts[(ts < s0) | (ts > s0 + 2400)]
    x = np.cumsum(rng.normal(0, 40, len(ts))) + rng.uniform(-1500, 1500)
    y = np.cumsum(rng.normal(0, 40, len(ts))) + rng.uniform(-1500, 1500)
    lon, lat = PROJ.to_lonlat(x, y)
    acc = rng.uniform(3, 60, len(ts))
    out = []
    for k, t in enumerate(ts.tolist()):
        a = None if k % 17 == 0 else (900.0 if k % 23 == 0 else float(acc[k]))
        out.append(
            Position(DeviceId(f"tag-{i}"), t, t + 3, lat=float(lat[k]), lon=float(lon[k]), accuracy_m=a)
        )
    return out


def incidents(seed: int, start_s: float, end_s: float) -> list[Incident]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(6):
        ws = float(rng.uniform(start_s, end_s - H))
        lon, lat = PROJ.to_lonlat([rng.uniform(-800, 800)], [rng.uniform(-800, 800)])
        out.append(point_incident(f"pt{seed}-{k}", float(lat[0]), float(lon[0]), 300, ws, ws + H))
    sq = [(-400, -400), (400, -400), (400, 400), (-400, 400)]
    lon, lat = PROJ.to_lonlat([p[0] for p in sq], [p[1] for p in sq])
    ws = float(rng.uniform(start_s, end_s - 2 * H))
    out.append(Incident(f"poly{seed}", ws, ws + 2 * H, Polygon(zip(lon, lat, strict=True)), 50.0))
    return out


def previous_load_trails(
    s: Session,
    start_s: float,
    end_s: float,
    params: Params,
    now_s: float,
    persons: set[str] | None = None,
) -> list[Trail]:
    """(The path before the warm cache, verbatim but for this docstring's
    start: the reference the new paths must match.) The GPS trails of
    monitored persons around [start_s, end_s]: their tags'
    valid fixes from one gap before to one gap after, within the periods each
    wore the tag (never a protected person, never a device before or after it
    was worn). `persons` limits the answer to those the caller may see."""
    lo, hi = start_s - params.max_gap_s, end_s + params.max_gap_s
    stmt = (
        select(AssignmentRow.device_id, AssignmentRow.person_id, AssignmentRow.start_s, AssignmentRow.end_s)
        .join(DeviceRow, DeviceRow.id == AssignmentRow.device_id)
        .join(PersonRow, PersonRow.id == AssignmentRow.person_id)
        .where(
            DeviceRow.kind.in_(TRACKED_KINDS),
            PersonRow.role == PersonRole.MONITORED.value,
            AssignmentRow.start_s <= min(hi, now_s),
            or_(AssignmentRow.end_s.is_(None), AssignmentRow.end_s >= lo),
        )
        .order_by(AssignmentRow.start_s, AssignmentRow.id)
    )
    worn: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for device, person, a0, a1 in s.execute(stmt):
        if persons is not None and person not in persons:
            continue
        worn[device].append((person, float(a0), math.inf if a1 is None else float(a1)))
    cover: dict[str, list[float]] = {}
    for spans in worn.values():
        for person, a0, a1 in spans:
            c = cover.setdefault(person, [math.inf, -math.inf])
            c[0] = min(c[0], max(a0, lo))
            c[1] = max(c[1], min(a1, hi, now_s))
    # Columns straight from the driver (no ORM rows), then numpy: a window of
    # a large caseload is ~10^5 fixes.
    devices = sorted(worn)
    code = {d: i for i, d in enumerate(devices)}
    cols: list[list[Any]] = [[], [], [], [], []]
    conn = s.connection()
    for i in range(0, len(devices), IN_CHUNK):
        rows = conn.execute(
            select(
                RecordRow.device_id, RecordRow.time_s, RecordRow.lat, RecordRow.lon, RecordRow.accuracy_m
            ).where(
                RecordRow.device_id.in_(devices[i : i + IN_CHUNK]),
                RecordRow.kind == POSITION,
                RecordRow.valid.is_(True),
                RecordRow.lat.is_not(None),
                RecordRow.lon.is_not(None),
                RecordRow.time_s >= lo,
                RecordRow.time_s <= hi,
            )
        ).all()
        if rows:
            for col, values in zip(cols, zip(*rows, strict=True), strict=True):
                col.extend(values)
    dev = np.fromiter((code[d] for d in cols[0]), np.int64, len(cols[0]))
    t = np.asarray(cols[1], float)
    acc = np.array([math.nan if a is None else a for a in cols[4]], float)
    # who wore the device at each fix: one span per device is the rule, several the exception
    owner = np.full(len(t), -1, np.int64)
    person_ids = sorted(cover)
    pcode = {p: i for i, p in enumerate(person_ids)}
    by_dev = np.argsort(dev, kind="stable")
    dev_bounds = np.searchsorted(dev[by_dev], np.arange(len(devices) + 1))
    for d, spans in worn.items():
        rows_d = by_dev[dev_bounds[code[d]] : dev_bounds[code[d] + 1]]
        td = t[rows_d]
        for person, a0, a1 in spans:
            hit = rows_d[(td >= a0) & (td < a1)]  # [start, end): at a handover, the new wearer's
            owner[hit[owner[hit] < 0]] = pcode[person]
    keep = owner >= 0
    order = np.lexsort((t[keep], owner[keep]))
    idx = np.flatnonzero(keep)[order]
    owner_sorted = owner[idx]
    bounds = np.searchsorted(owner_sorted, np.arange(len(person_ids) + 1))
    lat, lon = np.asarray(cols[2], float), np.asarray(cols[3], float)
    trails = []
    for j, person in enumerate(person_ids):
        c0, c1 = cover[person]
        if c1 < c0:
            continue
        sel = idx[bounds[j] : bounds[j + 1]]
        trails.append(
            Trail(
                person, t[sel], lat[sel], lon[sel], acc[sel], [devices[k] for k in dev[sel].tolist()], c0, c1
            )
        )
    return trails


@dataclass
class World:
    db: Engine
    cache: TrailCache
    now_s: float

    def reference(self, incs: list[Incident], params: Params) -> list[dict[str, Any]]:
        """The path as it was: one Trail per person read as before, TrailIndex.build."""
        out = []
        with sessions(self.db)() as s:
            for lo, hi, group in repo.group_incidents(incs):
                index = TrailIndex.build(previous_load_trails(s, lo, hi, params, self.now_s), params)
                out += [correlate(index, inc).as_json() for inc in group]
        by_id = {r["incident"]["id"]: r for r in out}
        return [by_id[i.id] for i in incs]

    def run(self, incs: list[Incident], params: Params, warm: bool) -> tuple[list[dict[str, Any]], set[str]]:
        with sessions(self.db).begin() as s:
            row, _ = repo.run_correlation(
                s, incs, params, WHO, now_s=self.now_s, cache=self.cache if warm else None
            )
            out = repo.run_json(row)
        return out["results"], {x["trails_from"] for x in out["summary"]}

    def same_three_ways(self, incs: list[Incident], params: Params | None = None) -> set[str]:
        """Reference, database and warm paths agree; where the warm one read from."""
        params = params or Params()
        ref = self.reference(incs, params)
        db_results, db_from = self.run(incs, params, warm=False)
        warm_results, warm_from = self.run(incs, params, warm=True)
        assert db_from == {"database"}
        assert db_results == ref
        assert warm_results == ref
        assert sum(len(r["near"]) + len(r["could_not_be_placed"]) for r in ref) > 0  # not vacuous
        if warm_from == {"warm"}:  # it holds every usable fix since its floor, no more
            assert self.cache.stats()["fixes"] == self.fixes_since(float(self.cache.stats()["floor_s"] or 0))
        return warm_from

    def fixes_since(self, floor_s: float) -> int:
        with sessions(self.db)() as s:
            return int(
                s.execute(
                    select(func.count()).where(
                        RecordRow.kind == "position",
                        RecordRow.valid.is_(True),
                        RecordRow.lat.is_not(None),
                        RecordRow.time_s >= floor_s,
                    )
                ).scalar_one()
            )


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    db = connect(db_url)
    migrate(db)
    rng = np.random.default_rng(7)
    with sessions(db).begin() as s:
        for i in range(PERSONS):
            cases.create_person(s, f"p{i}", "monitored")
            cases.create_device(s, f"tag-{i}", "gps_tag")
            cases.assign_device(s, f"tag-{i}", f"p{i}", "setup", at_s=T0 - 2 * DAY)
        cases.create_person(s, "victim", "protected")
        cases.create_device(s, "phone-v", "phone")
        cases.assign_device(s, "phone-v", "victim", "setup", at_s=T0 - 2 * DAY)
        # tag-0 changes hands mid-morning of day 2; tag-1 is taken back for an afternoon
        cases.create_person(s, "p-next", "monitored")
        cases.assign_device(s, "tag-0", "p-next", "officer", at_s=T0 + DAY + 2.5 * H)
        cases.assign_device(s, "tag-1", None, "officer", at_s=T0 + DAY + 6 * H)
        cases.assign_device(s, "tag-1", "p1", "officer", at_s=T0 + DAY + 9 * H)
    recs: list[Position] = []
    for i in range(PERSONS):
        recs += fixes_of(i, T0 - DAY, T0 + 2 * DAY, rng)
    recs += [
        Position(DeviceId("phone-v"), T0 + k * 60.0, T0 + k * 60.0, lat=LAT, lon=LON) for k in range(600)
    ]
    recs.append(Position(DeviceId("tag-2"), T0 + 30.5, T0 + 31, valid=False))  # no fix
    with db.begin() as conn:
        records.insert_records(conn, recs)
    now = T0 + 3 * DAY
    cache = TrailCache(WarmSettings(days=3.5), clock=lambda: now)  # from T0 - 12 h
    cache.build(db)
    yield World(db, cache, now)
    db.dispose()


def test_warm_and_database_paths_give_the_same_runs(world: World) -> None:
    incs = incidents(1, T0 + 2 * H, T0 + 2 * DAY - 2 * H)
    assert world.same_three_ways(incs) == {"warm"}
    # at the handovers: around tag-0 changing hands, and tag-1's afternoon back in stock
    for k, at in enumerate((T0 + DAY + 2.5 * H, T0 + DAY + 6 * H, T0 + DAY + 9 * H)):
        lon, lat = PROJ.to_lonlat([0.0], [0.0])
        inc = point_incident(f"hand{k}", float(lat[0]), float(lon[0]), 3000, at - 1800, at + 1800)
        assert world.same_three_ways([inc]) == {"warm"}
    # other parameters decide gaps and usable fixes differently: still the same
    assert world.same_three_ways(incs, Params(max_gap_s=300, max_accuracy_m=40, accuracy_factor=2)) == {
        "warm"
    }
    stats = world.cache.stats()
    assert stats["ready"] and 0 < int(stats["fixes"] or 0) < PERSONS * 3 * 1440


def test_records_stored_after_the_build_are_seen(world: World) -> None:
    incs = incidents(2, T0 + DAY, T0 + 2 * DAY - 2 * H)
    before, _ = world.run(incs, Params(), warm=True)
    # a newcomer walks through every incident's scene, and a late record fills a silence
    with sessions(world.db).begin() as s:
        cases.create_person(s, "p-new", "monitored")
        cases.create_device(s, "tag-new", "gps_tag")
        cases.assign_device(s, "tag-new", "p-new", "setup", at_s=T0)
    recs = []
    for inc in incs:
        c = inc.area.centroid
        recs += [
            Position(DeviceId("tag-new"), t, t, lat=c.y, lon=c.x, accuracy_m=5.0)
            for t in np.arange(inc.start_s, inc.end_s, 120.0).tolist()
        ]
    with world.db.begin() as conn:
        records.insert_records(conn, recs)
    assert world.same_three_ways(incs) == {"warm"}
    after, _ = world.run(incs, Params(), warm=True)
    assert after != before
    assert all(any(m["person"] == "p-new" for m in r["near"]) for r in after)


def test_a_purge_raises_the_floor_and_older_windows_read_the_database(world: World) -> None:
    early = incidents(3, T0 + 2 * H, T0 + 10 * H)
    late = incidents(4, T0 + DAY + 2 * H, T0 + 2 * DAY - 2 * H)
    assert world.same_three_ways(early) == {"warm"}
    with sessions(world.db).begin() as s:
        security.add_hold(s, "p3", T0, T0 + 6 * H, "case 17", "admin")
    result = security.purge(sessions(world.db), T0 + 12 * H, now_s=world.now_s)
    assert result.deleted > 0 and result.kept_held > 0
    # the early windows are gone from the database but for the held person:
    # the cache now reads them from there, and answers as it does
    assert world.same_three_ways(early) == {"database"}
    assert world.same_three_ways(late) == {"warm"}
    assert world.cache.stats()["floor_s"] == T0 + 12 * H


def test_the_warm_window_and_the_memory_bound(world: World) -> None:
    # before the warm window (3.5 days before "now"): the database
    old = incidents(5, T0 - DAY + 2 * H, T0 - 14 * H)
    assert world.same_three_ways(old) == {"database"}
    # a bound of 20,000 fixes: the floor moves up to keep at most 18,000
    small = TrailCache(WarmSettings(days=2.5, max_fixes=20_000), clock=lambda: world.now_s)
    small.build(world.db)
    stats = small.stats()
    assert 0 < int(stats["fixes"] or 0) <= 18_000
    floor = float(stats["floor_s"] or 0)
    assert floor > T0
    world.cache = small
    recent = incidents(6, floor + 2 * H, T0 + 2 * DAY - 2 * H)
    assert world.same_three_ways(recent) == {"warm"}
    assert world.same_three_ways(incidents(7, T0 + 2 * H, floor - 2 * H)) == {"database"}
    # as time passes, the floor follows the window
    later = [world.now_s + DAY]
    moving = TrailCache(WarmSettings(days=2.5), clock=lambda: later[0])
    moving.build(world.db)
    floor0 = float(moving.stats()["floor_s"] or 0)
    later[0] += 1.5 * DAY
    world.cache = moving
    assert world.same_three_ways(incidents(8, T0 + DAY + 2 * H, T0 + 2 * DAY - 2 * H)) == {"database"}
    assert float(moving.stats()["floor_s"] or 0) == floor0 + 1.5 * DAY


PASSWORD = "correct horse battery staple"


def test_the_api_warms_in_the_background_and_answers_the_same(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RONDA_CORRELATION_WARM_DAYS", "3650")  # the test's history is in 2026
    svc = LiveService(world.db, config=ServiceConfig(tick_s=0.2))
    with sessions(world.db).begin() as s:
        security.create_user(s, "u-sup", "sup", "supervisor", "main", hasher.hash(PASSWORD))
    inc = incidents(9, T0 + DAY, T0 + 2 * DAY - 2 * H)[0]
    body = {
        "purpose": "case 9",
        "incidents": [
            {
                "id": inc.id,
                "start": inc.describe()["from"],
                "end": inc.describe()["to"],
                "lat": inc.area.y,
                "lon": inc.area.x,
                "radius_m": 1500,
            }
        ],
    }
    with TestClient(create_app(svc, "service-token")) as client:
        r = client.post("/api/auth/login", json={"username": "sup", "password": PASSWORD})
        sup = {"Authorization": f"Bearer {r.json()['token']}"}
        first = client.post("/api/investigations/correlate", json=body, headers=sup)
        assert first.status_code == 201, first.text
        cache = client.app.state.trail_cache  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        while not cache.ready and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cache.ready, cache.failed
        second = client.post("/api/investigations/correlate", json=body, headers=sup)
        assert second.status_code == 201, second.text
    assert second.json()["summary"][0]["trails_from"] == "warm"
    assert first.json()["results"] == second.json()["results"]
    (res,) = first.json()["results"]
    assert res["persons_considered"] == PERSONS and len(res["near"]) > 0


def test_postgresql_a_record_committed_late_below_the_highest_seq_is_not_lost(world: World) -> None:
    """PostgreSQL hands out sequence numbers before commit: a record can
    become visible after one with a higher number. The cache reads the last
    seconds' numbers again."""
    if world.db.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time: sequence numbers appear in order")
    inc = incidents(10, T0 + DAY, T0 + 2 * DAY - 2 * H)[0]
    c = inc.area.centroid
    with sessions(world.db)() as s:
        top = int(s.execute(select(func.max(RecordRow.seq))).scalar_one())

    def fix(seq: int, t: float) -> RecordRow:
        return RecordRow(
            seq=seq,
            device_id="tag-5",
            time_s=t,
            kind="position",
            received_s=t,
            lat=c.y,
            lon=c.x,
            accuracy_m=4.0,
        )

    with sessions(world.db).begin() as s:
        s.add(fix(top + 1000, inc.start_s + 600.5))
    assert world.same_three_ways([inc]) == {"warm"}
    with sessions(world.db).begin() as s:  # committed after, numbered before
        s.add(fix(top + 500, inc.start_s + 1200.5))
    assert world.same_three_ways([inc]) == {"warm"}
    results, _ = world.run([inc], Params(), warm=True)
    p5 = next(m for m in results[0]["near"] if m["person"] == "p5")
    assert {f["time"][11:19] for f in p5["supporting_fixes"]} >= {
        time.strftime("%H:%M:%S", time.gmtime(inc.start_s + 600.5)),
        time.strftime("%H:%M:%S", time.gmtime(inc.start_s + 1200.5)),
    }
