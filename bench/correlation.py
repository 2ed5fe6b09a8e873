"""Crime-scene correlation over a month of a large caseload, in memory.

    .venv/bin/python bench/correlation.py [--persons 10000] [--days 30] [--interval-s 300]
    .venv/bin/python bench/correlation.py --database sqlite:////tmp/corr10k.db --persons 10000 --days 1 \
        --interval-s 60 --queries 20

Trails are generated in memory, already in metres around Madrid (no files, no
database, no projection of the fixes): each person has a home and a
workplace (uniform in a 24 km disc) and a day of home, a trip to work at
8 m/s, work, sometimes an errand, and a trip home, sampled every
--interval-s seconds (±5 s jitter) with GPS noise and accuracy 5-40 m; 3 % of
fixes are worse than 300 m (no fix), and each person-day has a 4 % chance of
a silence of 20-120 minutes (a tag off or without signal).

Timed separately (time.perf_counter):

* build: `TrailIndex.from_xy` over all fixes (links, gaps, per-person
  30-minute boxes sorted by time);
* queries: `correlate` for point incidents (200 m, one hour) half on a
  random person's trail at that moment and half anywhere in the city;
  polygon incidents (a 600 m square, two hours); one point over a whole day.
  Each time includes the index lookup, the exact distances, the ranking, the
  gaps and building the result (not serialising it).

Memory: the arrays of the fixes and of the index (`nbytes`), and the peak
RSS of the process (which includes generating the trails).

With --database (an empty database, or one this mode filled before with the
same --persons, --days, --interval-s and --seed), the trails are stored as
records of assigned GPS tags, and what is timed is the server's own path,
for one-hour point incidents on random fixes:

1. `storage.investigation.run_correlation` reading each window (plus one gap
   either side) from the database, indexing it, correlating and recording
   the run: the CLI's path, and the API's until its cache is warm;
2. `POST /api/investigations/correlate` through the API in process (FastAPI's
   test client: authentication, scope, the warm trail cache of
   `storage.trail_cache`, index, correlate, record, audit, JSON), after the
   first call has started the cache's build and the build has finished.

It prints the time of each, the warm build's time and memory, and checks
that both give the same answers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from ronda.correlation import Incident, Params, TrailIndex, correlate
from ronda.geo.projection import LocalProjection

LAT, LON = 40.4168, -3.7038
START_S = 1780264800.0  # 2026-06-01T00:00:00+02:00 (Madrid midnight)
CITY_M = 12_000.0


def generate(
    persons: int, days: int, interval_s: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    per = int(days * 86400 // interval_s)
    n = persons * per
    t = np.empty(n, np.float64)
    x = np.empty(n, np.float32)
    y = np.empty(n, np.float32)
    acc = np.empty(n, np.float32)
    base_t = START_S + np.arange(per) * interval_s
    for p in range(persons):
        r = CITY_M * np.sqrt(rng.uniform(0, 1, 3))
        a = rng.uniform(0, 2 * np.pi, 3)
        home, work, errand = np.column_stack([r * np.cos(a), r * np.sin(a)])
        kt: list[float] = []
        kx: list[float] = []
        ky: list[float] = []
        for d in range(days):
            day = START_S + d * 86400
            leave = day + rng.uniform(7, 9) * 3600
            trip = float(np.hypot(*(work - home))) / 8.0
            back = day + rng.uniform(16, 18.5) * 3600
            stops = [(day, home), (leave, home), (leave + trip, work), (back, work)]
            if rng.uniform() < 0.4:
                t_e = back + float(np.hypot(*(errand - work))) / 8.0
                stops += [(t_e, errand), (t_e + 1800, errand)]
                back = t_e + 1800
                last = errand
            else:
                last = work
            stops.append((back + float(np.hypot(*(home - last))) / 8.0, home))
            for ts, pos in stops:
                if not kt or ts > kt[-1]:
                    kt.append(ts)
                    kx.append(float(pos[0]))
                    ky.append(float(pos[1]))
        tp = base_t + rng.uniform(-5, 5, per)
        sl = slice(p * per, (p + 1) * per)
        t[sl] = tp
        x[sl] = np.interp(tp, kt, kx) + rng.normal(0, 6, per)
        y[sl] = np.interp(tp, kt, ky) + rng.normal(0, 6, per)
        accp = rng.uniform(5, 40, per).astype(np.float32)
        accp[rng.uniform(0, 1, per) < 0.03] = 1000.0  # no usable fix
        for day_i in np.flatnonzero(rng.uniform(0, 1, days) < 0.04).tolist():
            s0 = START_S + day_i * 86400 + rng.uniform(0, 86400)
            accp[(tp >= s0) & (tp < s0 + rng.uniform(1200, 7200))] = np.inf  # silence
        acc[sl] = accp
    return t, x, y, acc, base_t


def through_server(url: str, persons: int, days: int, interval_s: float, queries: int, seed: int) -> None:
    """The server's path, end to end, over a history stored in a database
    (loaded once; a database that already holds it is reused): the same
    one-hour point incidents (1) through `run_correlation` reading each
    window from the database, as the CLI does, and (2) as `POST
    /api/investigations/correlate` calls to the API, which answers from its
    warm trail cache once built. Both answers are compared."""
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from ronda.api.app import create_app
    from ronda.pipeline.service import LiveService
    from ronda.storage import cases, records
    from ronda.storage import investigation as repo
    from ronda.storage.db import connect, migrate, sessions
    from ronda.storage.models import PersonRow, RecordRow
    from ronda.tracking.records import Position
    from ronda.types import DeviceId, to_iso

    db = connect(url)
    migrate(db)
    make = sessions(db)
    t, x, y, acc, _ = generate(persons, days, interval_s, seed)
    per = len(t) // persons
    proj = LocalProjection(LAT, LON)
    lon, lat = proj.to_lonlat(x, y)
    with make() as s:
        stored = int(s.execute(select(func.count()).select_from(RecordRow)).scalar_one())
        have = int(s.execute(select(func.count()).select_from(PersonRow)).scalar_one())
    load_s = None
    if have == 0:
        with make.begin() as s:
            for i in range(persons):
                cases.create_person(s, f"p{i:05d}", "monitored")
                cases.create_device(s, f"tag-{i:05d}", "gps_tag")
                cases.assign_device(s, f"tag-{i:05d}", f"p{i:05d}", "bench", at_s=START_S)
        t0 = time.perf_counter()
        batch: list[Position] = []
        for k in range(len(t)):
            if not np.isfinite(acc[k]) or acc[k] > 300:
                continue
            batch.append(
                Position(
                    DeviceId(f"tag-{k // per:05d}"),
                    float(t[k]),
                    float(t[k]) + 5,
                    lat=float(lat[k]),
                    lon=float(lon[k]),
                    accuracy_m=float(acc[k]),
                )
            )
            if len(batch) == 20_000:
                with db.begin() as conn:
                    records.insert_records(conn, batch)
                batch = []
        if batch:
            with db.begin() as conn:
                records.insert_records(conn, batch)
        load_s = time.perf_counter() - t0
        with make() as s:
            stored = int(s.execute(select(func.count()).select_from(RecordRow)).scalar_one())
    elif have != persons:
        raise SystemExit(f"{url} holds another history ({have} persons); use an empty database")

    rng = np.random.default_rng(seed + 1)
    who = repo.Requester("bench", "admin", None, "benchmark")
    params = Params(max_gap_s=max(900.0, 3 * interval_s))
    incidents = []
    for i in range(queries):
        # whole seconds: the API takes instants to the millisecond
        ws = float(round(rng.uniform(START_S + 3600, START_S + days * 86400.0 - 7200)))
        k = int(rng.integers(len(t)))
        incidents.append(Incident(f"q{i}", ws, ws + 3600, Point(float(lon[k]), float(lat[k])), 200.0))

    # (1) read from the database per incident (the CLI's path, the API's fallback)
    db_ms, db_answers, fixes_read = [], [], []
    for inc in incidents:
        s0 = time.perf_counter()
        with make.begin() as s:
            row, _ = repo.run_correlation(s, [inc], params, who)
            db_answers.append(json.loads(json.dumps(repo.run_json(row)["results"])))  # as sent
        db_ms.append((time.perf_counter() - s0) * 1000)

    # (2) the API, end to end (HTTP in process: auth, scope, read, index, correlate, record, audit)
    warm_days = (time.time() - START_S) / 86400 + 1  # the whole generated history is warm
    os.environ["RONDA_CORRELATION_WARM_DAYS"] = f"{warm_days:.0f}"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app = create_app(LiveService(db), "bench-token", manage_service=False)
    headers = {"Authorization": "Bearer bench-token"}

    def body(inc: Incident) -> dict[str, object]:
        p = inc.area.centroid
        return {
            "purpose": "benchmark",
            "parameters": {"max_gap_s": params.max_gap_s},
            "incidents": [
                {"id": inc.id, "start": to_iso(inc.start_s), "end": to_iso(inc.end_s),
                 "lat": p.y, "lon": p.x, "radius_m": inc.distance_m}
            ],
        }  # fmt: skip

    api_ms, same, sources = [], 0, []
    with TestClient(app) as client:
        s0 = time.perf_counter()
        r = client.post("/api/investigations/correlate", json=body(incidents[0]), headers=headers)
        r.raise_for_status()
        first_ms = (time.perf_counter() - s0) * 1000
        cache = app.state.trail_cache
        while not cache.ready and cache.failed is None:
            time.sleep(0.2)
        if cache.failed:
            raise SystemExit(f"the warm cache failed: {cache.failed}")
        for inc, expect in zip(incidents, db_answers, strict=True):
            s0 = time.perf_counter()
            r = client.post("/api/investigations/correlate", json=body(inc), headers=headers)
            r.raise_for_status()
            api_ms.append((time.perf_counter() - s0) * 1000)
            run = r.json()
            sources.append(run["summary"][0]["trails_from"])
            same += run["results"] == expect
        stats = cache.stats()
        with make() as s:
            for inc in incidents:
                w, _ = repo.load_window(s, inc.start_s, inc.end_s, params, time.time(), cache=cache)
                fixes_read.append(len(w.fixes.t))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose()

    def line(name: str, ms: list[float]) -> str:
        k = len(ms)
        p95 = sorted(ms)[max(0, int(0.95 * k) - 1)]
        med = statistics.median(ms)
        return f"{name:<44} n={k:<4} median {med:>7.0f} ms  p95 {p95:>6.0f}  max {max(ms):>6.0f}"

    print(f"database {url.split('://')[0]}: {persons:,} persons x {days} days, a fix every {interval_s:g} s")
    loaded = "reused" if load_s is None else f"loaded in {load_s:.0f} s"
    print(f"records stored: {stored:,} ({loaded}); query: point 200 m, 1 h, on a random fix")
    print(f"fixes per window (1 h + 15 min either side): median {statistics.median(fixes_read):,.0f}")
    print(line("(1) run_correlation reading the database", db_ms))
    print(
        f"(2) API: first call {first_ms:.0f} ms (database; starts the warm build); warm build "
        f"{cache.build_s:.1f} s, {int(stats['fixes'] or 0):,} fixes, "
        f"{int(stats['bytes'] or 0) / 2**20:,.0f} MiB, "
        f"{stats['segments']} segments; peak RSS {rss0:,.0f} -> {rss1:,.0f} MiB"
    )
    print(line("(2) POST /api/investigations/correlate, warm", api_ms))
    print(f"answers identical to (1): {same}/{len(incidents)}; read from: {sorted(set(sources))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--interval-s", type=float, default=300.0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--database",
        help="instead: store the trails in this database (SQLAlchemy URL, empty) and time the "
        "server's path: reading each window from the database, and the API's warm cache",
    )
    a = ap.parse_args()
    if a.database:
        through_server(a.database, a.persons, a.days, a.interval_s, a.queries, a.seed)
        return

    t0 = time.perf_counter()
    t, x, y, acc, _ = generate(a.persons, a.days, a.interval_s, a.seed)
    gen_s = time.perf_counter() - t0
    n = len(t)
    per = n // a.persons
    offsets = np.arange(a.persons + 1, dtype=np.int64) * per
    names = [f"p{i:05d}" for i in range(a.persons)]
    dev = np.repeat(np.arange(a.persons, dtype=np.int32), per)
    params = Params(max_gap_s=max(900.0, 3 * a.interval_s))
    rss_before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    proj = LocalProjection(LAT, LON)
    t0 = time.perf_counter()
    index = TrailIndex.from_xy(
        names,
        offsets,
        t,
        x,
        y,
        acc,
        dev,
        [f"tag-{i:05d}" for i in range(a.persons)],
        np.full(a.persons, START_S),
        np.full(a.persons, START_S + a.days * 86400.0),
        proj,
        params,
    )
    build_s = time.perf_counter() - t0
    del t, x, y, acc, dev

    rng = np.random.default_rng(a.seed + 1)
    end_s = START_S + a.days * 86400.0

    def on_trail(ws: float) -> tuple[float, float]:
        p = int(rng.integers(a.persons))
        lo, hi = int(index.offsets[p]), int(index.offsets[p + 1])
        k = lo + int(np.searchsorted(index.t[lo:hi], ws + 1800))
        k = min(k, hi - 1)
        return float(index.x[k]), float(index.y[k])

    def lonlat(xy: tuple[float, float]) -> tuple[float, float]:
        lon, lat = proj.to_lonlat([xy[0]], [xy[1]])
        return float(lon[0]), float(lat[0])

    def timed(incidents: list[Incident]) -> tuple[list[float], int, int]:
        ms: list[float] = []
        near = unplaced = 0
        for inc in incidents:
            s = time.perf_counter()
            res = correlate(index, inc)
            ms.append((time.perf_counter() - s) * 1000)
            near += len(res.near)
            unplaced += len(res.unplaced)
        return ms, near, unplaced

    points = []
    for i in range(a.queries):
        ws = float(rng.uniform(START_S, end_s - 3600))
        xy = (
            on_trail(ws)
            if i % 2 == 0
            else (float(rng.uniform(-CITY_M, CITY_M)), float(rng.uniform(-CITY_M, CITY_M)))
        )
        plon, plat = lonlat(xy)
        points.append(Incident(f"pt{i}", ws, ws + 3600, Point(plon, plat), 200.0))
    polys = []
    for i in range(a.queries // 4):
        ws = float(rng.uniform(START_S, end_s - 7200))
        cx, cy = on_trail(ws)
        sq = [(cx - 300, cy - 300), (cx + 300, cy - 300), (cx + 300, cy + 300), (cx - 300, cy + 300)]
        qlon, qlat = proj.to_lonlat([p[0] for p in sq], [p[1] for p in sq])
        ring = list(zip(qlon.tolist(), qlat.tolist(), strict=True))
        polys.append(Incident(f"poly{i}", ws, ws + 7200, Polygon(ring), 0.0))
    ws = START_S + (a.days // 3) * 86400
    day = [Incident("day", ws, ws + 86400, Point(*lonlat(on_trail(ws))), 200.0)]

    correlate(index, points[0])  # first call pays for imports and projection set-up
    rows = [
        ("point 200 m, 1 h", *timed(points)),
        ("polygon 600 m, 2 h", *timed(polys)),
        ("point 200 m, 24 h", *timed(day)),
    ]

    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"caseload: {a.persons:,} persons x {a.days} days, a fix every {a.interval_s:g} s")
    print(f"fixes kept: {len(index.t):,} (of {n:,} generated; generated in {gen_s:.1f} s)")
    print(
        f"gaps: {len(index.gaps.t0):,}   boxes: {len(index.box):,} ({index.bucket_s / 60:g}-minute buckets)"
    )
    print(f"index build: {build_s:.1f} s")
    print(
        f"memory: fixes and index {index.nbytes() / 2**20:,.0f} MiB "
        f"(index proper {index.index_nbytes() / 2**20:,.0f} MiB); process peak RSS {rss_mib:,.0f} MiB "
        f"({rss_before_mib:,.0f} MiB after generating the trails)"
    )
    print("query                 n    median ms   p95 ms   max ms   near/query  gaps/query")
    for name, ms, near, unplaced in rows:
        k = len(ms)
        p95 = sorted(ms)[max(0, int(0.95 * k) - 1)]
        print(
            f"{name:<20} {k:>4} {statistics.median(ms):>10.1f} {p95:>8.1f} {max(ms):>8.1f}"
            f" {near / k:>11.1f} {unplaced / k:>11.1f}"
        )
    cpu = platform.processor() or platform.machine()
    print(f"numpy {np.__version__}, shapely {shapely.__version__}, Python {platform.python_version()}, {cpu}")


if __name__ == "__main__":
    main()
