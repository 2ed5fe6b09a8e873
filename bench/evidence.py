"""Evidence and exchange throughput: how long a court report, an evidence
bundle (export and verify) and a full-history exchange export and import
take, on a recorded scenario loaded into SQLite.

    .venv/bin/python bench/evidence.py [SCENARIO_DIR]   (default: the bundled sample city)
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

from ronda.exchange.export import export_dir
from ronda.exchange.importer import import_dir
from ronda.exchange.scenario import load_history
from ronda.reports.bundle import Requester, export_bundle, verify_bundle
from ronda.reports.casefile import gather
from ronda.reports.court import court_report
from ronda.scenarios.loader import load_scenario
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import EpisodeRow

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "ronda" / "samples" / "sample-city"


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE
    sc = load_scenario(directory)
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(f"sqlite:///{tmp}/a.db")
        migrate(db)
        t = time.perf_counter()
        loaded = load_history(db, directory)
        print(
            f"{directory.name}: {loaded.records:,} records, {loaded.episodes} episodes "
            f"(loaded in {time.perf_counter() - t:.1f} s)"
        )
        with sessions(db)() as s:
            people = sorted({e.person_id for e in s.query(EpisodeRow) if e.rule_id})
        days = (sc.end_s - sc.start_s) / 86400
        timings = []
        for person in people[:4]:
            t = time.perf_counter()
            with sessions(db)() as s:
                case = gather(s, person, sc.start_s, sc.end_s)
            rep = court_report(case, actor="bench", purpose="bench")
            timings.append((person, len(case.fixes), len(rep.pdf), time.perf_counter() - t))
        print(f"court report ({days:.0f} days): person, fixes, PDF bytes, seconds")
        for person, n, size, s_ in timings:
            print(f"  {person:<6} {n:>6,} {size:>9,} {s_:6.2f}")
        person = people[0]
        t = time.perf_counter()
        data, _ = export_bundle(
            db,
            person,
            sc.start_s,
            sc.end_s,
            purpose="bench",
            who=Requester("bench", "cli"),
            now_s=time.time(),
        )
        t_export = time.perf_counter() - t
        t = time.perf_counter()
        rep_, _ = verify_bundle(data, db)
        assert rep_.ok
        print(
            f"evidence bundle of {person}: {len(data):,} bytes, export {t_export:.2f} s, "
            f"verify (with the chain) {time.perf_counter() - t:.2f} s"
        )
        t = time.perf_counter()
        with sessions(db)() as s:
            n = export_dir(s, Path(tmp) / "x", "bench")
        t_out = time.perf_counter() - t
        db2 = connect(f"sqlite:///{tmp}/b.db")
        migrate(db2)
        t = time.perf_counter()
        with sessions(db2).begin() as s:
            got = import_dir(s, Path(tmp) / "x")
        t_in = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (Path(tmp) / "x").iterdir())
        print(
            f"exchange: export {n} files, {size / 1e6:.1f} MB in {t_out:.1f} s "
            f"({loaded.records / t_out:,.0f} records/s); import {got.new_records:,} records in {t_in:.1f} s "
            f"({got.new_records / t_in:,.0f} records/s)"
        )
        db.dispose()
        db2.dispose()
    print(f"Python {platform.python_version()}, {platform.machine()}")


if __name__ == "__main__":
    main()
