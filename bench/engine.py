"""Engine throughput on a synthetic city, beside a naive per-fix shapely loop.

    .venv/bin/python bench/engine.py [--persons 10000] [--hours 6] [--interval-s 60]

The city is built in memory (no files, no I/O): N monitored persons around
Madrid (Europe/Madrid), each under an order of

  * 2 exclusion polygons of 100 vertices, drawn from a shared pool of 200;
  * an inclusion circle of 100 m around home, active 22:00-06:00 local (curfew);
  * an inclusion polygon of 100 vertices: the city limits (shared);
  * for 20 % of them, a 500 m proximity rule to a protected person with a phone.

Every monitored person wears a gps_tag reporting once per --interval-s, every
protected person a phone reporting twice as often. Positions are a random walk
about home (out by day, at home by night, 5 % breaking curfew), so fixes enter
exclusion zones, leave home at curfew and come near protected persons. A
fix arrives 1-8 s after it was taken; records are fed in arrival order.

Measured: only `Engine.feed_columns` (or, with --path records, `Engine.feed`
for each record) + `Engine.advance(chunk_end)` for each simulated minute of
arrivals, then `Engine.flush` (time.perf_counter; building the columns or
`Position` objects of the next minute is not timed). Memory is the process
peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), before the engine
starts and after it has run; the stream is generated minute by minute, so the
growth is the engine's state and working set.

The naive baseline is what one writes first: for each fix, a Python loop over
its wearer's zones calling `shapely.contains_xy` on a prepared lon/lat
geometry, plus a distance to the other side's last fix for proximity rules. It
only answers inside/outside: no reordering, accuracy, depth, hysteresis,
schedules or health, so it does less work than the engine. It runs on the first
--naive-records records of the same stream.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import math
import os
import platform
import pstats
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ronda.cases.caseload import Caseload
from ronda.cases.models import Device, DeviceKind, Person, PersonRole
from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import EpisodeOpened
from ronda.engine.state import Columns
from ronda.rules.models import Order, Rule, RuleType
from ronda.rules.schedule import Schedule, WeeklyWindow
from ronda.tracking.records import Position
from ronda.types import DeviceId, OrderId, PersonId, RuleId, ZoneId
from ronda.zones.models import Zone

Floats = npt.NDArray[np.float64]

TZ = ZoneInfo("Europe/Madrid")
LAT0, LON0 = 40.4168, -3.7038  # Puerta del Sol
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))
START_S = dt.datetime(2026, 6, 10, 18, 0, tzinfo=TZ).timestamp()  # a Wednesday, 18:00 local
CHUNK_S = 60.0  # feed one simulated minute of arrivals, then advance the clock
POOL = 200  # shared exclusion polygons
VERTICES = 100
PROTECTED_SHARE = 0.2
CURFEW_BREAKERS = 0.05
INVALID_SHARE = 0.01  # reports without a fix

FIX = np.dtype(
    [
        ("dev", "i4"),
        ("t", "f8"),
        ("recv", "f8"),
        ("lat", "f8"),
        ("lon", "f8"),
        ("acc", "f8"),
        ("speed", "f8"),
        ("batt", "f8"),
        ("valid", "?"),
    ]
)


def to_lonlat(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    """Metres east/north of the centre to degrees (equirectangular, fine for a city)."""
    return LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT


def blob(rng: np.random.Generator, cx: float, cy: float, radius_m: float) -> list[list[float]]:
    """A star-shaped (so always valid) polygon ring of VERTICES points, as GeoJSON [lon, lat]."""
    a = np.linspace(0, 2 * np.pi, VERTICES, endpoint=False)
    r = radius_m * (1 + sum(0.08 * np.sin(k * a + rng.uniform(0, 6.3)) for k in (2, 3, 5, 7)))
    lon, lat = to_lonlat(cx + r * np.cos(a), cy + r * np.sin(a))
    ring = np.column_stack([lon, lat]).tolist()
    return [*ring, ring[0]]


@dataclass
class City:
    caseload: Caseload
    devices: list[DeviceId]  # walker index -> its device (tags first, then phones)
    home: Floats  # (walkers, 2) metres
    out_scale_m: Floats  # how far each walker roams by day
    leave_h: Floats  # local hour of leaving home, and of coming back
    back_h: Floats
    phones: int
    partner: dict[DeviceId, tuple[DeviceId, float]]  # proximity: the other device, distance


def build_city(persons: int, interval_s: float, seed: int = 1) -> City:
    rng = np.random.default_rng(seed)
    n, n_prot = persons, int(persons * PROTECTED_SHARE)
    zones: dict[ZoneId, Zone] = {}

    def polygon_zone(zid: str, ring: list[list[float]]) -> ZoneId:
        zones[ZoneId(zid)] = Zone(ZoneId(zid), zid, {"type": "Polygon", "coordinates": [ring]})
        return ZoneId(zid)

    city = polygon_zone("city", blob(rng, 0, 0, 11_000))
    pool_xy = rng.uniform(-1, 1, (POOL, 2)) * 7_000
    pool_r = rng.uniform(150, 350, POOL)
    pool = [
        polygon_zone(f"x{i:03}", blob(rng, x, y, r))
        for i, ((x, y), r) in enumerate(zip(pool_xy, pool_r, strict=True))
    ]
    dist, angle = 7_000 * np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    home_xy = np.column_stack([dist * np.cos(angle), dist * np.sin(angle)])
    # each person's exclusions: the two nearest pool polygons at least 1 km from home
    gap = np.hypot(*(home_xy[:, None, :] - pool_xy[None, :, :]).transpose(2, 0, 1)) - pool_r
    nearest = np.argsort(np.where(gap > 1_000, gap, np.inf), axis=1)[:, :2]
    protected_of = rng.choice(n, n_prot, replace=False)
    prot_home = home_xy[protected_of] + rng.uniform(-4_000, 4_000, (n_prot, 2))

    curfew = (WeeklyWindow(frozenset(range(7)), dt.time(22), dt.time(6)),)
    people: dict[PersonId, Person] = {}
    devices: dict[DeviceId, Device] = {}
    orders: list[Order] = []
    partner: dict[DeviceId, tuple[DeviceId, float]] = {}
    prot_index = {int(m): j for j, m in enumerate(protected_of)}
    for i in range(n):
        pid, tag = PersonId(f"m{i}"), DeviceId(f"tag{i}")
        people[pid] = Person(pid, PersonRole.MONITORED)
        devices[tag] = Device(tag, DeviceKind.GPS_TAG, pid, interval_s, 10 * interval_s)
        (lon,), (lat,) = to_lonlat(home_xy[i, :1], home_xy[i, 1:])
        hz = ZoneId(f"home{i}")
        zones[hz] = Zone(hz, hz, {"type": "Point", "coordinates": [lon, lat]}, radius_m=100.0)
        rules = [
            Rule(RuleId(f"r{i}-x0"), RuleType.EXCLUSION, zone=pool[nearest[i, 0]]),
            Rule(RuleId(f"r{i}-x1"), RuleType.EXCLUSION, zone=pool[nearest[i, 1]]),
            Rule(RuleId(f"r{i}-home"), RuleType.INCLUSION, Schedule(TZ, curfew), zone=hz),
            Rule(RuleId(f"r{i}-city"), RuleType.INCLUSION, zone=city),
        ]
        if i in prot_index:
            j = prot_index[i]
            vid, phone = PersonId(f"v{j}"), DeviceId(f"phone{j}")
            people[vid] = Person(vid, PersonRole.PROTECTED)
            devices[phone] = Device(phone, DeviceKind.PHONE, vid, interval_s / 2)
            near = Rule(RuleId(f"r{i}-near"), RuleType.PROXIMITY, None, None, vid, 500.0)
            rules.append(near)
            partner[tag], partner[phone] = (phone, 500.0), (tag, 500.0)
        orders.append(Order(OrderId(f"o{i}"), pid, tuple(rules)))
    caseload = Caseload(TZ, zones, people, devices, tuple(orders), name="bench")

    walkers = n + n_prot
    breakers = rng.uniform(0, 1, walkers) < CURFEW_BREAKERS
    return City(
        caseload=caseload,
        devices=[DeviceId(f"tag{i}") for i in range(n)] + [DeviceId(f"phone{j}") for j in range(n_prot)],
        home=np.vstack([home_xy, prot_home]),
        out_scale_m=rng.uniform(200, 600, walkers),
        leave_h=rng.uniform(7, 9.5, walkers),
        back_h=np.where(breakers, 23.5, rng.uniform(18, 21.5, walkers)),
        phones=n_prot,
        partner=partner,
    )


def fixes(city: City, interval_s: float, seed: int = 2) -> Iterator[np.ndarray]:
    """Reports, one reporting interval at a time: an Ornstein-Uhlenbeck walk about
    home in half-interval steps; tags report on every other step, phones on each."""
    rng = np.random.default_rng(seed)
    w, tags = len(city.devices), len(city.devices) - city.phones
    offset = np.zeros((w, 2))
    phase = rng.uniform(0, interval_s / 2, w)
    drain = rng.uniform(0.5, 3.0, w) / 3600  # battery % per second
    utc_offset = dt.datetime.fromtimestamp(START_S, TZ).utcoffset() or dt.timedelta()
    step_s = interval_s / 2
    t = START_S
    while True:
        parts = []
        for sub in (0, 1):
            hour = ((t + utc_offset.total_seconds()) % 86_400) / 3600
            out = (hour >= city.leave_h) & (hour < city.back_h)
            tau = np.where(out, 1_800.0, 120.0)
            scale = np.where(out, city.out_scale_m, 10.0)
            a = np.exp(-step_s / tau)[:, None]
            new = a * offset + np.sqrt(1 - a**2) * scale[:, None] * rng.standard_normal((w, 2))
            speed = np.hypot(*(new - offset).T) / step_s
            offset = new
            who = np.arange(tags, w) if sub == 0 else np.arange(w)  # tags: every other step
            f = np.empty(len(who), FIX)
            f["dev"] = who
            f["t"] = t + step_s * sub + phase[who]
            f["recv"] = f["t"] + rng.uniform(1, 8, len(who))
            f["acc"] = rng.uniform(4, 30, len(who))
            noise = rng.standard_normal((len(who), 2)) * f["acc"][:, None] / 2
            x, y = (city.home[who] + offset[who] + noise).T
            f["lon"], f["lat"] = to_lonlat(x, y)
            f["speed"] = speed[who] * rng.uniform(0.8, 1.2, len(who))
            f["batt"] = np.maximum(100 - drain[who] * (t - START_S), 20.0)
            f["valid"] = rng.uniform(0, 1, len(who)) >= INVALID_SHARE
            parts.append(f)
        yield np.concatenate(parts)
        t += interval_s


def minutes(city: City, interval_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """The stream cut into chunks of one simulated minute of arrivals, each as
    (chunk end, reports in arrival order)."""
    source = fixes(city, interval_s)
    pending = np.empty(0, FIX)
    end = START_S + CHUNK_S
    while True:
        while len(pending) == 0 or pending["t"].max() < end:
            pending = np.concatenate([pending, next(source)])
        now = pending[pending["recv"] < end]
        pending = pending[pending["recv"] >= end]
        yield end, now[np.argsort(now["recv"], kind="stable")]
        end += CHUNK_S


def as_positions(city: City, now: np.ndarray) -> list[Position]:
    devs = city.devices
    return [
        Position(devs[d], t, rc, la, lo, ac, sp, b)
        if v
        else Position(devs[d], t, rc, battery_pct=b, valid=False)
        for d, t, rc, la, lo, ac, sp, b, v in now.tolist()
    ]


def as_columns(numbers: npt.NDArray[np.int64], now: np.ndarray) -> Columns:
    valid = now["valid"].astype(bool)
    return Columns(
        dev=numbers[now["dev"]],
        time_s=now["t"].astype(np.float64),
        received_s=now["recv"].astype(np.float64),
        lat=np.where(valid, now["lat"], np.nan),
        lon=np.where(valid, now["lon"], np.nan),
        accuracy_m=now["acc"].astype(np.float64),
        speed_mps=now["speed"].astype(np.float64),
        battery_pct=now["batt"].astype(np.float64),
        valid=valid,
    )


def _nothing() -> None:
    pass


def run_engine(
    city: City, interval_s: float, hours: float, path: str, profile: cProfile.Profile | None = None
) -> tuple[int, float, int, int]:
    """Records, seconds spent in the engine, episodes opened, peak RSS growth (KiB).
    `path` "columns" feeds each minute with `feed_columns`, "records" one
    `Position` at a time with `feed`; converting the stream is not timed."""
    engine = Engine(compile_caseload(city.caseload))
    numbers = np.array([engine.device_number(d) for d in city.devices], np.int64)
    on, off = (profile.enable, profile.disable) if profile else (_nothing, _nothing)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    records, spent, opened = 0, 0.0, 0
    chunks = minutes(city, interval_s)
    for _ in range(int(hours * 3600 / CHUNK_S)):
        end, now = next(chunks)
        if path == "columns":
            cols = as_columns(numbers, now)
            on()
            t0 = time.perf_counter()
            effects = engine.feed_columns(cols)
        else:
            batch = as_positions(city, now)
            feed = engine.feed
            on()
            t0 = time.perf_counter()
            effects = [e for r in batch for e in feed(r)]
        effects += engine.advance(end)
        spent += time.perf_counter() - t0
        off()
        records += len(now)
        opened += sum(isinstance(e, EpisodeOpened) for e in effects)
    on()
    t0 = time.perf_counter()
    effects = engine.flush()
    spent += time.perf_counter() - t0
    off()
    opened += sum(isinstance(e, EpisodeOpened) for e in effects)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    return records, spent, opened, rss_growth


def run_naive(city: City, interval_s: float, limit: int) -> tuple[int, float]:
    """Records and seconds of the per-fix loop over the first `limit` records."""
    geoms: dict[ZoneId, BaseGeometry] = {}
    for zid, z in city.caseload.zones.items():
        if z.is_circle:  # a 100 m circle as a 64-gon in lon/lat
            lon, lat = z.geometry["coordinates"]
            a = np.linspace(0, 2 * np.pi, 64)
            radius_m = z.radius_m or 0.0
            g = shapely.Polygon(
                np.column_stack(
                    [lon + radius_m * np.cos(a) / M_PER_DEG_LON, lat + radius_m * np.sin(a) / M_PER_DEG_LAT]
                )
            )
        else:
            g = shapely.geometry.shape(z.geometry)
        shapely.prepare(g)
        geoms[zid] = g
    tag_of = {d.person: d.id for d in city.caseload.devices.values()}
    zones_of = {
        tag_of[o.person]: [geoms[r.zone] for r in o.rules if r.zone is not None] for o in city.caseload.orders
    }
    batch: list[Position] = []
    for _, now in minutes(city, interval_s):
        batch += as_positions(city, now)
        if len(batch) >= limit:
            break
    batch = batch[:limit]

    contains_xy = shapely.contains_xy
    last: dict[DeviceId, tuple[float, float]] = {}
    hits = 0
    t0 = time.perf_counter()
    for r in batch:
        if not r.valid or r.lon is None or r.lat is None:
            continue
        for g in zones_of.get(r.device, ()):
            hits += bool(contains_xy(g, r.lon, r.lat))
        last[r.device] = (r.lon, r.lat)
        pair = city.partner.get(r.device)
        if pair is not None and (other := last.get(pair[0])) is not None:
            dx = (other[0] - r.lon) * M_PER_DEG_LON
            dy = (other[1] - r.lat) * M_PER_DEG_LAT
            hits += math.hypot(dx, dy) < pair[1]
    return len(batch), time.perf_counter() - t0


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=10_000, help="monitored persons")
    ap.add_argument("--hours", type=float, default=6.0, help="simulated hours (24 = a day)")
    ap.add_argument("--interval-s", type=float, default=60.0, help="tag reporting interval")
    ap.add_argument(
        "--path",
        choices=("columns", "records"),
        default="columns",
        help="feed minutes as columns (feed_columns, default) or one Position at a time (feed)",
    )
    ap.add_argument("--naive-records", type=int, default=200_000, help="records for the baseline")
    ap.add_argument(
        "--gc",
        choices=("on", "freeze", "off"),
        default="on",
        help="Python's cyclic GC during the run: as is (default), gc.freeze() after setup, or disabled",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="cProfile feed/advance/flush only (slows them) and print the top 25",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    city = build_city(args.persons, args.interval_s)
    setup_s = time.perf_counter() - t0
    if args.gc == "freeze":
        gc.freeze()  # objects alive now (the caseload) are never scanned again
    elif args.gc == "off":
        gc.disable()
    profile = cProfile.Profile() if args.profile else None
    records, spent, opened, rss_growth_kib = run_engine(city, args.interval_s, args.hours, args.path, profile)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    naive_n, naive_s = run_naive(city, args.interval_s, args.naive_records)

    rate, naive_rate = records / spent, naive_n / naive_s
    per_day = records * 24 / args.hours
    rows = [
        ("monitored persons", f"{args.persons:,} (+{city.phones:,} protected with phones)"),
        (
            "rules",
            f"{sum(len(o.rules) for o in city.caseload.orders):,} in {len(city.caseload.zones):,} zones",
        ),
        ("simulated", f"{args.hours:g} h from {dt.datetime.fromtimestamp(START_S, TZ):%Y-%m-%d %H:%M %Z}"),
        ("records through engine", f"{records:,}"),
        ("episodes opened", f"{opened:,}"),
        ("engine time", f"{spent:.1f} s"),
        ("engine records/s", f"{rate:,.0f} (fed as {args.path})"),
        (
            "engine peak memory",
            f"{peak_mib:,.0f} MiB peak RSS of the process"
            f" (+{rss_growth_kib / 1024:,.0f} MiB while the engine ran)",
        ),
        ("naive records/s", f"{naive_rate:,.0f} (first {naive_n:,} records)"),
        ("speed-up", f"{rate / naive_rate:.2f}x"),
        (
            "versions",
            f"python {platform.python_version()}, numpy {np.__version__},"
            f" shapely {shapely.__version__} (GEOS {shapely.geos_version_string}),"
            f" pyproj {pyproj.__version__}",
        ),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores (engine runs on one)"),
        ("garbage collector", args.gc + (", engine under cProfile" if profile else "")),
        ("setup (not timed)", f"{setup_s:.1f} s city"),
    ]
    if args.hours < 24:
        rows.append(
            (
                "EXTRAPOLATED to 24 h",
                f"~{per_day:,.0f} records, ~{per_day / rate:,.0f} s of engine time at the rate above",
            )
        )
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if profile:
        print()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
