"""Ingest throughput of a running server: many simulated devices posting batches.

Sets up a database (SQLite in a temporary folder, or the PostgreSQL URL given),
with N monitored persons each wearing a tag under an exclusion order, starts
`ronda serve` on it, and lets N devices post batches of records to the native
endpoint (each with its own token) from `--clients` concurrent connections for
`--seconds`. Every device also reports one strap_tamper. Prints records/s
accepted (200 after commit) and, for the tamper alerts, p50/p99 from the
server's receipt of the record to the alert stored.

    .venv/bin/python bench/ingest.py --devices 2000 --seconds 20
    .venv/bin/python bench/ingest.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text

from ronda.storage import cases, orders
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import AlertRow, EpisodeRow, RecordRow

RONDA = str(Path(sys.executable).parent / "ronda")
CENTRE = (-3.70, 40.42)
ZONE = {
    "type": "Polygon",
    "coordinates": [[[-3.60, 40.50], [-3.58, 40.50], [-3.58, 40.52], [-3.60, 40.52], [-3.60, 40.50]]],
}


def setup(url: str, devices: int) -> dict[str, str]:
    db = connect(url)
    migrate(db)
    tokens: dict[str, str] = {}
    with sessions(db).begin() as s:
        cases.put_zone(s, "zx", "restricted", ZONE, None, create=True)
        for i in range(devices):
            p, d = f"p{i}", f"tag-{i:05d}"
            cases.create_person(s, p, "monitored")
            cases.create_device(s, d, "gps_tag", comms_timeout_s=3600)
            cases.assign_device(s, d, p, "bench")
            tokens[d] = cases.issue_token(s, d, f"tok-{i}")
            orders.create_order(
                s, f"o{i}", p, "Europe/Madrid", [{"id": f"r{i}", "type": "exclusion", "zone": "zx"}]
            )
    db.dispose()
    return tokens


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


async def drive(
    ingest: str, tokens: dict[str, str], seconds: float, clients: int, batch: int
) -> tuple[int, float]:
    devices = list(tokens)
    t_base = time.time() - 7200
    clock = {d: t_base for d in devices}
    tampered: set[str] = set()
    accepted = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=ingest, limits=limits, timeout=60) as client:

        async def worker(k: int) -> None:
            nonlocal accepted
            rng = random.Random(k)
            mine = devices[k::clients]
            i = 0
            while time.monotonic() < stop_at and mine:
                d = mine[i % len(mine)]
                i += 1
                recs = []
                for _ in range(batch):
                    clock[d] += 1.0
                    lon = CENTRE[0] + rng.uniform(-0.02, 0.02)
                    lat = CENTRE[1] + rng.uniform(-0.02, 0.02)
                    recs.append(
                        {
                            "time": iso(clock[d]),
                            "lat": lat,
                            "lon": lon,
                            "accuracy": 8.0,
                            "speed": 1.0,
                            "battery": 80,
                        }
                    )
                if d not in tampered and i > len(mine):
                    tampered.add(d)
                    recs.append({"time": iso(clock[d] + 0.5), "event": "strap_tamper"})
                r = await client.post(
                    "/api/v1/records", json=recs, headers={"Authorization": f"Bearer {tokens[d]}"}
                )
                if r.status_code == 200:
                    accepted += len(recs)

        t0 = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        return accepted, time.monotonic() - t0


def latencies(url: str) -> list[float]:
    db = connect(url)
    with sessions(db)() as s:
        rows = s.execute(
            select(AlertRow.created_s, RecordRow.received_s)
            .join(EpisodeRow, EpisodeRow.id == AlertRow.episode_id)
            .join(
                RecordRow,
                (RecordRow.device_id == EpisodeRow.device_id)
                & (RecordRow.time_s == EpisodeRow.start_s)
                & (RecordRow.kind == "strap_tamper"),
            )
            .where(EpisodeRow.type == "tamper")
        ).all()
    db.dispose()
    return sorted(created - received for created, received in rows)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--batch", type=int, default=20, help="records per request")
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ronda-bench-"))
    url, schema = a.database or f"sqlite:///{folder / 'ronda.db'}", None
    if url.startswith("postgresql"):  # a fresh schema, dropped afterwards
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    print(f"setting up {a.devices} devices ...", flush=True)
    tokens = setup(url, a.devices)
    proc = subprocess.Popen(
        [RONDA, "serve", "--port", "0", "--ingest-port", "0", "--database", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "RONDA_API_TOKEN": "bench"},
    )
    try:
        assert proc.stdout is not None
        ingest = ""
        for line in proc.stdout:
            m = re.search(r"ingest on :(\d+)", line)
            if m:
                ingest = f"http://127.0.0.1:{m.group(1)}"
                break
        accepted, elapsed = asyncio.run(drive(ingest, tokens, a.seconds, a.clients, a.batch))
        time.sleep(3)  # let the engine store the last alerts
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    lat = latencies(url)
    backend = "PostgreSQL" if schema else "SQLite"
    print(f"{backend}: {a.devices} devices, {a.clients} clients, {a.batch} records/request, {elapsed:.1f} s")
    print(f"accepted {accepted:,} records: {accepted / elapsed:,.0f} records/s (200 after commit)")
    print(
        f"receipt -> alert stored (tamper, {len(lat)} alerts): "
        f"p50 {pct(lat, 0.5) * 1000:.0f} ms, p99 {pct(lat, 0.99) * 1000:.0f} ms"
    )
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}"
    )
    if schema:
        with create_engine(a.database or "", isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
