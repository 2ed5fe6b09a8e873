"""Device gateway under load: thousands of concurrent GT06 trackers on 127.0.0.1.

Starts the gateway in a child process (so that its RSS is its own), then opens
``--devices`` TCP connections to its GT06 port (at most ``--connect-batch``
connecting at a time), each logging in with its own IMEI and then sending a
0x12 location frame every ``--interval-s`` seconds (first frame at a random
offset within the interval; ``--interval-s 0``: the next frame as soon as the
previous one is acknowledged, to find the ceiling). After ``--seconds`` of
sending, it stops by itself and prints:

- frames/s decoded and acknowledged, counted by the gateway (its metrics) and
  by the devices (acks received, each checked byte for byte);
- ack latency p50/p99/max: from a device's write to the last byte of its ack;
- memory per connection: gateway RSS after every device logged in minus RSS
  before the first connection, divided by the connections.

Sinks (``--sink``): ``count`` (in memory, counts records and keeps nothing: the
gateway's own cost), ``memory`` (MemorySink: keeps every record, idempotent),
``server`` (the server's durable sink: a LiveService on SQLite, or on
``--database URL``, with every IMEI registered; each ack after the commit, and
the records go through the live engine).

    .venv/bin/python bench/gateway.py                                  # 2,000 devices, one frame / 10 s, 30 s
    .venv/bin/python bench/gateway.py --interval-s 0 --seconds 15      # the ceiling
    .venv/bin/python bench/gateway.py --sink server --interval-s 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ronda.devices.protocols import gt06, testing
from ronda.pipeline.ports import Accepted
from ronda.tracking.records import Record

CENTRE = (40.42, -3.70)


def imei(index: int) -> str:
    return f"8647170{index:08d}"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------- gateway side
class CountingSink:
    """Counts records and keeps none: what the gateway costs on its own."""

    def __init__(self) -> None:
        self.records = 0

    async def accept(self, records: Sequence[Record]) -> Accepted:
        self.records += len(records)
        return Accepted(len(records), 0)


async def serve(args: argparse.Namespace) -> None:
    """The child: a gateway on a free GT06 port; answers STATS lines on stdin."""
    from ronda.gateway.service import Gateway, GatewayConfig
    from ronda.gateway.tcp import TcpLimits
    from ronda.pipeline.memory import MemorySink

    raise_fd_limit()
    svc = None
    sink: Any
    if args.sink == "server":
        from ronda.pipeline.service import LiveService
        from ronda.storage import cases
        from ronda.storage.db import connect, migrate

        url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='ronda-gw-bench-')}/ronda.db"
        db = connect(url)
        migrate(db)
        svc = LiveService(db)
        with svc.sessions.begin() as s:
            have = cases.device_ids(s)
            for i in range(args.devices):
                if imei(i) not in have:
                    cases.create_device(s, imei(i), "gps_tag")
        await svc.start()
        sink = svc.sink
    elif args.sink == "memory":
        sink = MemorySink()
    else:
        sink = CountingSink()
    config = GatewayConfig(host="127.0.0.1", ports={"gt06": 0}, limits=TcpLimits(idle_timeout_s=3600))
    gateway = Gateway(sink, config)
    await gateway.start()
    print(json.dumps({"port": gateway.port("gt06")}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"STATS":
            m = gateway.metrics
            out = {
                "frames": _value(m.frames.labels("gt06")),
                "acks": _value(m.acks.labels("gt06")),
                "records_stored": _value(m.records.labels("gt06", "stored")),
                "open": _value(m.connections.labels("gt06")),
            }
            print(json.dumps(out), flush=True)
    await gateway.stop()
    if svc is not None:
        await svc.stop()


def _value(metric: Any) -> float:
    return float(metric._value.get())


# ---------------------------------------------------------------------- device side
class Load:
    def __init__(self, devices: int) -> None:
        self.latencies: list[float] = []
        self.acks = 0
        self.bad_acks = 0
        self.logged_in = 0
        self.failed = 0
        self.sending = False
        self.stop = False
        self.devices = devices
        self.all_in = asyncio.Event()


async def device(
    index: int, port: int, load: Load, args: argparse.Namespace, gate: asyncio.Semaphore
) -> None:
    rng = random.Random(index)
    async with gate:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(testing.gt06_login(imei(index), serial=1))
            await writer.drain()
            ack = await reader.readexactly(10)
        except OSError:
            load.failed += 1
            _check_all_in(load)
            return
    if ack != gt06.ack(0x01, 1):
        load.bad_acks += 1
    load.logged_in += 1
    _check_all_in(load)
    while not load.sending:
        await asyncio.sleep(0.05)
    serial = 2
    lat = CENTRE[0] + rng.uniform(-0.05, 0.05)
    lon = CENTRE[1] + rng.uniform(-0.05, 0.05)
    if args.interval_s > 0:
        await asyncio.sleep(rng.uniform(0, args.interval_s))
    next_s = time.perf_counter()
    # GT06 times are whole seconds: a device's fixes are one second apart at least
    # (with --interval-s 0 they run ahead of the clock), so no frame is a duplicate.
    fix_s = float(int(time.time()) - 3600)
    try:
        while not load.stop:
            fix_s = max(fix_s + 1, float(int(time.time())) if args.interval_s >= 1 else fix_s + 1)
            frame = testing.gt06_location(fix_s, lat, lon, serial=serial)
            sent = time.perf_counter()
            writer.write(frame)
            await writer.drain()
            got = await reader.readexactly(10)
            done = time.perf_counter()
            if load.stop:
                break
            load.latencies.append(done - sent)
            load.acks += 1
            if got != gt06.ack(0x12, serial):
                load.bad_acks += 1
            serial = serial % 0xFFFF + 1
            lat += rng.uniform(-1e-4, 1e-4)
            lon += rng.uniform(-1e-4, 1e-4)
            if args.interval_s > 0:
                next_s += args.interval_s
                await asyncio.sleep(max(0.0, next_s - time.perf_counter()))
    except (OSError, asyncio.IncompleteReadError):
        load.failed += 1
    finally:
        writer.close()


def _check_all_in(load: Load) -> None:
    if load.logged_in + load.failed >= load.devices:
        load.all_in.set()


async def drive(args: argparse.Namespace) -> None:
    raise_fd_limit()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--sink", args.sink, "--devices", str(args.devices)]
        + (["--database", args.database] if args.database else []),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None

    def stats() -> dict[str, float]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("STATS\n")
        child.stdin.flush()
        return dict(json.loads(child.stdout.readline()))

    try:
        port = json.loads(child.stdout.readline())["port"]
        await asyncio.sleep(0.5)
        rss_before = rss_kib(child.pid)
        load = Load(args.devices)
        gate = asyncio.Semaphore(args.connect_batch)
        t_connect = time.perf_counter()
        tasks = [asyncio.create_task(device(i, port, load, args, gate)) for i in range(args.devices)]
        await asyncio.wait_for(load.all_in.wait(), 300)
        connect_s = time.perf_counter() - t_connect
        await asyncio.sleep(0.5)
        rss_connected = rss_kib(child.pid)
        load.sending = True
        warmup = min(args.interval_s, args.seconds / 3) if args.interval_s > 0 else 1.0
        await asyncio.sleep(warmup)  # devices start at random offsets within the interval
        s1, acks1, lat1, t1 = (
            await asyncio.to_thread(stats),
            load.acks,
            len(load.latencies),
            time.perf_counter(),
        )
        await asyncio.sleep(args.seconds)
        s2, acks2, t2 = await asyncio.to_thread(stats), load.acks, time.perf_counter()
        load.stop = True
        rss_end = rss_kib(child.pid)
        await asyncio.wait(tasks, timeout=10)
        window = t2 - t1
        lat = sorted(load.latencies[lat1 : lat1 + (acks2 - acks1)]) or [float("nan")]
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        per_conn = (rss_connected - rss_before) * 1024 / max(1, load.logged_in)
        print(
            f"gateway benchmark: GT06, sink={args.sink}, {args.devices} devices, "
            f"interval {args.interval_s:g} s, {args.seconds:g} s measured after {warmup:g} s warm-up"
        )
        print(
            f"  python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
            f"({_cpu()}), load generator and gateway on the same machine"
        )
        print(f"  connected and logged in: {load.logged_in} (failed {load.failed}) in {connect_s:.1f} s")
        print(f"  gateway frames decoded:  {(s2['frames'] - s1['frames']) / window:,.0f} /s")
        print(f"  gateway acks written:    {(s2['acks'] - s1['acks']) / window:,.0f} /s")
        print(f"  acks received, checked:  {(acks2 - acks1) / window:,.0f} /s (bad acks: {load.bad_acks})")
        print(f"  records stored:          {(s2['records_stored'] - s1['records_stored']) / window:,.0f} /s")
        print(
            f"  ack latency p50 {q[49] * 1e3:.1f} ms, p99 {q[98] * 1e3:.1f} ms, max {lat[-1] * 1e3:.1f} ms "
            f"({len(lat)} acks)"
        )
        print(
            f"  gateway RSS: {rss_before / 1024:.1f} MiB idle, {rss_connected / 1024:.1f} MiB with "
            f"{load.logged_in} connections ({per_conn / 1024:.1f} KiB per connection), "
            f"{rss_end / 1024:.1f} MiB at the end"
        )
    finally:
        if child.stdin:
            child.stdin.close()
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument(
        "--interval-s", type=float, default=10.0, help="seconds between a device's frames (0: closed loop)"
    )
    p.add_argument("--seconds", type=float, default=30.0, help="measured sending time")
    p.add_argument("--sink", choices=["count", "memory", "server"], default="count")
    p.add_argument(
        "--database", help="with --sink server: a SQLAlchemy URL (default: SQLite in a temp folder)"
    )
    p.add_argument("--connect-batch", type=int, default=200, help="devices connecting at the same time")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    asyncio.run(serve(args) if args.serve else drive(args))


if __name__ == "__main__":
    main()
