"""Distributed mode end to end: GT06 trackers -> `ronda gateway --nats` ->
JetStream -> `ronda worker`s -> PostgreSQL, with 1, 2 and 4 workers.

For each worker count, on a fresh PostgreSQL schema and fresh JetStream
names (deleted afterwards): start the gateways and workers as processes,
wait until the workers share the partitions, then let every simulated
tracker (ronda.pipeline.loadgen: exclusion zones, proximity pairs, strap
tampers) send all its fixes as fast as acknowledgements come back. It prints

- ingest records/s: acknowledged records / (last ack - first send);
- end-to-end records/s: records / (first send -> every record stored by a
  worker, its engine fed and its effects stored);
- receipt -> alert stored p50/p99: for each strap-tamper alert, the alert's
  creation time minus the receipt time of the tamper record (an event acts
  at once; position alerts wait in the engine's reorder buffer by design,
  `reorder_hold_s`, and would measure that wait instead);
- catch-up records/s: before the workers start, a backlog of the same
  devices' fixes (a day earlier) is put straight onto JetStream; timed from
  the first partition lease a worker takes to the last record stored (and
  its effects): the workers' capacity, as after an outage.

    .venv/bin/python bench/distributed.py
    .venv/bin/python bench/distributed.py --workers 1 2 4 --devices 1000 --fixes 20

Needs NATS JetStream on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432
(database `test`, trust), as the test suite does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
from sqlalchemy import create_engine, text

from ronda.config import Settings
from ronda.pipeline import jetstream
from ronda.pipeline.loadgen import build_fleet, run_device
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.tracking.records import Position
from ronda.types import DeviceId

PG = os.environ.get("RONDA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RONDA_TEST_NATS", "nats://127.0.0.1:4222")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def leases_held(bucket: str, partitions: int, workers: int, timeout_s: float = 120) -> None:
    """Wait until `workers` distinct workers hold all the partitions."""
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                kv = await js.key_value(bucket)
                owners = {}
                for key in await kv.keys():
                    if key.startswith("p"):
                        entry = await kv.get(key)
                        owners[key] = json.loads(entry.value or b"{}").get("worker")
                if len(owners) == partitions and len(set(owners.values())) == workers:
                    return
            except Exception:
                pass
            await asyncio.sleep(0.5)
        raise SystemExit("the workers did not share the partitions in time")
    finally:
        await nc.close()


async def publish_backlog(env: dict[str, str], db: Any, records: list[Position]) -> float:
    """Put records straight onto the stream (group-published, as a busy
    gateway does); returns records/s."""
    d = Settings.from_env(env).distributed
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        await jetstream.ensure_stream(js, d)
        inventory = jetstream.Inventory(db, d.partitions)
        await asyncio.to_thread(inventory.load)
        sink = jetstream.JetStreamSink(js, d, inventory.partition)
        gate = asyncio.Semaphore(500)

        async def publish(rec: Position) -> None:
            async with gate:
                await sink.accept([rec])

        t0 = time.time()
        await asyncio.gather(*(publish(r) for r in records))
        return len(records) / (time.time() - t0)
    finally:
        await nc.close()


class LeaseClock:
    """When the first worker took its first partition (from the lease values)."""

    def __init__(self, nc: Any, bucket: str) -> None:
        self.nc, self.bucket = nc, bucket

    @classmethod
    async def start(cls, bucket: str) -> LeaseClock:
        return cls(await nats.connect(NATS_URL), bucket)

    async def first_acquired(self) -> float:
        js = self.nc.jetstream()
        kv = await js.key_value(self.bucket)
        watcher = await kv.watchall()  # what the bucket holds now, then live updates
        first = float("inf")
        while True:
            try:
                entry = await watcher.updates(timeout=2.0)
            except Exception:
                break
            if entry is None:
                break
            if entry.key.startswith("p") and entry.value:
                first = min(first, float(json.loads(entry.value)["acquired_s"]))
        await watcher.stop()
        return first

    async def stop(self) -> None:
        await self.nc.close()


async def run_once(args: argparse.Namespace, workers: int, folder: Path) -> dict[str, float]:
    tag = uuid.uuid4().hex[:10]
    schema = f"bench_{tag}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    env = {
        **os.environ,
        "RONDA_DATABASE_URL": url,
        "RONDA_NATS_URL": NATS_URL,
        "RONDA_NATS_STREAM": f"BENCH_{tag}",
        "RONDA_NATS_SUBJECT": f"bench_{tag}.records",
        "RONDA_NATS_LIVE_SUBJECT": f"bench_{tag}.live",
        "RONDA_LEASE_BUCKET": f"bench_{tag}",
        "RONDA_PARTITIONS": str(args.partitions),
        "RONDA_CASELOAD_REFRESH_S": "60",
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = folder / f"w{workers}"
    logs.mkdir()
    try:
        # the backlog (a day ago, as after an outage), then the live stream (now)
        day_ago = float(int(time.time()) - 86_400)
        backlog_fleet = build_fleet(args.devices, args.backlog_fixes, day_ago, seed=11)
        fleet = build_fleet(args.devices, args.fixes, float(int(time.time()) - 3_600), seed=11)
        (logs / "scenario.json").write_text(json.dumps(fleet.scenario))
        db = connect(url)
        migrate(db)
        with sessions(db).begin() as s:
            import_scenario(s, logs)

        def start(name: str, cmd: list[str]) -> None:
            out = (logs / f"{name}.log").open("wb")
            cmdline = [sys.executable, "-m", "ronda.cli.main", *cmd]
            procs.append(subprocess.Popen(cmdline, env=env, stdout=out, stderr=out))

        # catch-up: a backlog waiting in JetStream when the workers start, timed
        # from the first partition lease taken to the last record stored
        backlog = [
            Position(DeviceId(dev.imei), t, time.time(), lat=y, lon=x, accuracy_m=10.0, speed_mps=v)
            for dev in backlog_fleet.devices
            for t, y, x, v in dev.fixes
        ]
        published_rps = await publish_backlog(env, db, backlog)
        clock = await LeaseClock.start(f"bench_{tag}")
        ports = [free_port() for _ in range(args.gateways)]
        for i in range(workers):
            start(f"worker{i}", ["worker", "--id", f"w{i}", "--port", "-1", "--log-level", "WARNING"])
        with db.connect() as c:
            while c.execute(text("SELECT count(*) FROM records")).scalar_one() < len(backlog):
                c.commit()
                await asyncio.sleep(0.05)
        drain_rps = len(backlog) / (time.time() - await clock.first_acquired())
        await clock.stop()
        for i, port in enumerate(ports):
            start(
                f"gateway{i}",
                ["gateway", "--nats", "--host", "127.0.0.1", "--gt06-port", str(port),
                 "--teltonika-port", "-1", "--h02-port", "-1", "--watch-port", "-1", "--no-mqtt",
                 "--metrics-port", "-1", "--log-level", "WARNING"],
            )  # fmt: skip
        await leases_held(f"bench_{tag}", args.partitions, workers)
        for port in ports:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    await asyncio.sleep(0.2)

        t0 = time.time()
        await asyncio.gather(
            *(run_device(d, "127.0.0.1", ports[i % len(ports)]) for i, d in enumerate(fleet.devices))
        )
        t_acked = time.time()
        tampers = sum(1 for d in fleet.devices if d.tamper_at is not None)
        total = sum(len(d.acked) for d in fleet.devices) + tampers  # an alarm frame: a fix and an event
        with db.connect() as c:
            while c.execute(text("SELECT count(*) FROM records")).scalar_one() < total + len(backlog):
                c.commit()
                await asyncio.sleep(0.05)
        t_stored = time.time()
        with db.connect() as c:
            while c.execute(text("SELECT count(*) FROM episodes WHERE type='tamper'")).scalar_one() < tampers:
                c.commit()
                await asyncio.sleep(0.05)
            lat = c.execute(
                text(
                    "SELECT a.created_s - r.received_s FROM episodes e JOIN alerts a ON a.episode_id = e.id "
                    "JOIN records r ON r.device_id = e.device_id AND r.kind = 'strap_tamper' "
                    "WHERE e.type = 'tamper'"
                )
            ).scalars()
            latencies = [float(x) for x in lat]

        db.dispose()
        return {
            "publish_rps": published_rps,
            "drain_rps": drain_rps,
            "workers": workers,
            "records": total,
            "ingest_rps": total / (t_acked - t0),
            "e2e_rps": total / (t_stored - t0),
            "seconds": t_stored - t0,
            "alerts": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1000 * percentile(latencies, 0.99),
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for coro in (js.delete_stream(f"BENCH_{tag}"), js.delete_key_value(f"bench_{tag}")):
            with contextlib.suppress(Exception):
                await coro
        await nc.close()
        with admin.connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--fixes", type=int, default=20, help="fixes per device")
    ap.add_argument("--backlog-fixes", type=int, default=60, help="fixes per device in the catch-up backlog")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--gateways", type=int, default=2)
    args = ap.parse_args()
    print(
        f"distributed bench: {args.devices} GT06 trackers x {args.fixes} fixes "
        f"(backlog: x {args.backlog_fixes}), "
        f"{args.gateways} gateways, "
        f"{args.partitions} partitions; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"Python {platform.python_version()}",
        flush=True,
    )
    print(f"{'workers':>7} {'records':>8} {'ingest rec/s':>12} {'e2e rec/s':>10} {'alerts':>6} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'catch-up rec/s':>14} {'published/s':>11}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ronda-bench-") as tmp:
        for w in args.workers:
            r = await run_once(args, w, Path(tmp))
            print(
                f"{w:>7} {int(r['records']):>8} {r['ingest_rps']:>12,.0f} {r['e2e_rps']:>10,.0f} "
                f"{int(r['alerts']):>6} {r['p50_ms']:>8.0f} {r['p99_ms']:>8.0f} "
                f"{r['drain_rps']:>14,.0f} {r['publish_rps']:>11,.0f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
