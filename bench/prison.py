"""A large prison through the facility monitor: throughput and latency to alert.

    .venv/bin/python bench/prison.py [--minutes 10] [--store]

The facility comes from the prison simulator (ronda.simulator.prison): 8
wings of 25 ten-bed dormitories, 2,000 inmates with a wristband each, about
290 readers (one per dormitory, three per landing, one every 12 m of the
corridor, a few in the dining hall, yard, workshop, medical and visits); the
day's regime; the usual noise (misses, neighbouring readers, stray sightings)
and injected incidents: keep-separate meetings, out-of-bounds entries,
missing inmates, reader dropouts and double-seen bands. The bench plays
`--minutes` of facility time from 07:28 local (the breakfast movement of
half the wings at 07:30), every band heard about every 2 s.

The records are generated first (not timed), then played one facility
second at a time: `advance` + `feed` for every record of that second
(`FacilityMonitor`, time.perf_counter). Reported:

- throughput: records per second of CPU the monitor needs;
- per-second batch latency p50/p99/max: how long the records of one second
  of the facility take to go through the monitor, i.e. the processing delay
  an alert raised by that batch has (the facility sends about 1,000 records
  a second: the monitor keeps up while this is below one second);
- detection delay p50/p99 (facility time): from the first sighting that
  shows a violation to the alert (the presence model's confirmation);
- with --store: the same batches through the live prison service on SQLite
  (store the sightings, feed, store the episodes, alerts and moves, one
  transaction each), the latency of each batch's ingest call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from ronda.engine.episodes import EpisodeOpened
from ronda.facility.episodes import FacilityEpisode
from ronda.facility.monitor import FacilityMonitor
from ronda.facility.records import FacilityRecord
from ronda.simulator.prison import PrisonConfig, simulate_day

TZ = "Europe/Madrid"
START_H = 7 + 28 / 60


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", action="store_true", help="also through the live service on SQLite")
    args = ap.parse_args()

    cfg = PrisonConfig(
        seed=args.seed,
        wings=8,
        cells_per_wing=25,
        per_cell=10,
        timezone=TZ,
        start_h=START_H,
        end_h=START_H + args.minutes / 60,
        landing_reader_step_m=25.0,
        corridor_reader_step_m=12.0,
        amenity_reader_step_m=12.0,
        keep_separate_pairs=20,
        meetings=12,
        out_of_bounds=4,
        missing=3,
        dropouts=6,
        double_seen=6,
        staff=20,
        quiet_around_counts_s=0.0,
    )
    t0 = time.perf_counter()
    day = simulate_day(cfg)
    f = day.facility
    seconds: dict[int, list[FacilityRecord]] = {}
    n = 0
    for rec in day.records():
        seconds.setdefault(int(rec.time_s), []).append(rec)
        n += 1
    gen_s = time.perf_counter() - t0
    span_s = day.end_s - day.start_s
    print(
        f"facility: {len(f.inmates):,} inmates, {len(f.readers):,} readers, {len(f.zones):,} zones, "
        f"{len(f.staff)} staff badges; {args.minutes:g} min from "
        f"{dt.datetime.fromtimestamp(day.start_s, ZoneInfo(TZ)):%H:%M} local"
    )
    kinds = Counter(type(r).__name__ for batch in seconds.values() for r in batch)
    print(
        f"records: {n:,} ({n / span_s:,.0f} per facility second): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))
        + f"; generated in {gen_s:.0f} s (not timed)"
    )

    m = FacilityMonitor(f)
    lat: list[float] = []
    opened: list[FacilityEpisode] = []
    busy = 0.0
    for sec in sorted(seconds):
        batch = seconds[sec]
        a = time.perf_counter()
        effects = []
        for rec in batch:
            effects += m.advance(rec.time_s)
            effects += m.feed(rec)
        effects += m.advance(sec + 1.0)
        b = time.perf_counter()
        lat.append(b - a)
        busy += b - a
        opened += [e.episode for e in effects if isinstance(e, EpisodeOpened)]  # type: ignore[misc]
    print(
        f"monitor: {n / busy:,.0f} records/s of CPU ({busy:.1f} s for {span_s:.0f} s of facility time, "
        f"{100 * busy / span_s:.1f} % of one core)"
    )
    print(
        f"per-second batch latency: p50 {1000 * pct(lat, 0.5):.1f} ms, p99 {1000 * pct(lat, 0.99):.1f} ms, "
        f"max {1000 * max(lat):.1f} ms"
    )
    by_type = Counter(e.type for e in opened)
    print("alerts: " + (", ".join(f"{k} {v}" for k, v in sorted(by_type.items())) or "none"))
    truth = day.truth
    delays: list[float] = []
    for e in opened:  # detection delay against the truth's start
        if e.type == "keep_separate":
            ivs = truth.meetings.get(tuple(sorted(e.detail["members"])), [])  # type: ignore[arg-type]
            starts = [iv.start_s for iv in ivs if iv.start_s - 10 <= e.start_s <= iv.end_s + 10]
        elif e.type == "out_of_bounds" and e.person is not None:
            starts = [
                iv.start_s
                for iv in truth.out_of_bounds.get(e.person, [])
                if iv.start_s - 10 <= e.start_s <= iv.end_s + 10
            ]
        else:
            continue
        if starts:
            delays.append(e.raised_s - min(starts, key=lambda s: abs(s - e.start_s)))
    if delays:
        print(
            f"detection delay (facility time, keep-separate and out-of-bounds, {len(delays)} alerts): "
            f"p50 {pct(delays, 0.5):.1f} s, p99 {pct(delays, 0.99):.1f} s"
        )
    missing = [e.raised_s - e.start_s for e in opened if e.type == "no_sighting"]
    if missing:
        print(
            f"missing inmates: alerted {statistics.mean(missing):.0f} s after the last sighting "
            f"(no_sighting_s {f.params.no_sighting_s:.0f} s)"
        )

    if args.store:
        from ronda.pipeline.prison import PrisonService, PrisonSettings
        from ronda.storage import prison as store
        from ronda.storage.db import connect, migrate, sessions

        with tempfile.TemporaryDirectory() as tmp:
            db = connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
            migrate(db)
            mk = sessions(db)
            with mk.begin() as s:
                store.save_facility(s, day.document, "bench")
            svc = PrisonService(
                mk, settings=PrisonSettings(wall_clock=False, max_future_s=1e10), clock=lambda: day.start_s
            )
            slat: list[float] = []
            raised = 0
            for sec in sorted(seconds):
                a = time.perf_counter()
                raised += svc.ingest(f.id, seconds[sec]).alerts
                slat.append(time.perf_counter() - a)
            db.dispose()
            print(
                f"through the live service on SQLite (store, feed, store effects per second): "
                f"p50 {1000 * pct(slat, 0.5):.0f} ms, p99 {1000 * pct(slat, 0.99):.0f} ms, "
                f"max {1000 * max(slat):.0f} ms; {n / sum(slat):,.0f} records/s; {raised} alerts"
            )
    print(f"Python {platform.python_version()}, {platform.machine()}")


if __name__ == "__main__":
    main()
