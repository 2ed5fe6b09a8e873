"""Running distributed mode for tests: a throwaway PostgreSQL schema, unique
JetStream names, `ronda gateway --nats` and `ronda worker` subprocesses, and a
watcher of the lease bucket (the time line of partition ownership)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

PG_BASE = os.environ.get("RONDA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RONDA_TEST_NATS", "nats://127.0.0.1:4222")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


needs_services = pytest.mark.skipif(
    not (_answers("127.0.0.1", 5432) and _answers("127.0.0.1", 4222)),
    reason="distributed mode needs PostgreSQL on 127.0.0.1:5432 and NATS JetStream on 127.0.0.1:4222",
)


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema, dropped afterwards."""
    schema = f"t_dist_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Names:
    """JetStream names no other test run uses."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def stream(self) -> str:
        return f"RONDA_TEST_{self.tag}"

    @property
    def bucket(self) -> str:
        return f"ronda_test_{self.tag}"

    def env(self, db_url: str, partitions: int, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "RONDA_DATABASE_URL": db_url,
            "RONDA_NATS_URL": NATS_URL,
            "RONDA_NATS_STREAM": self.stream,
            "RONDA_NATS_SUBJECT": f"ronda_test_{self.tag}.records",
            "RONDA_NATS_LIVE_SUBJECT": f"ronda_test_{self.tag}.live",
            "RONDA_LEASE_BUCKET": self.bucket,
            "RONDA_PARTITIONS": str(partitions),
            **extra,
        }


async def delete_jetstream(names: Names) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    for delete in (js.delete_stream(names.stream), js.delete_key_value(names.bucket)):
        with contextlib.suppress(Exception):
            await delete
    await nc.close()


class Processes:
    """Subprocesses of `ronda ...`, their output in files, all stopped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ronda.cli.main", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class LeaseEvent:
    key: str
    operation: str | None  # None: a value written; "DEL"/"PURGE": removed
    value: dict[str, Any] | None
    seen_s: float


class LeaseWatcher:
    """Every write to the lease bucket, in order, as the workers wrote them."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.events: list[LeaseEvent] = []
        self._task: asyncio.Task[None] | None = None
        self._nc: Any = None

    async def start(self) -> None:
        import nats

        self._nc = await nats.connect(NATS_URL)
        js = self._nc.jetstream()
        kv = None
        for _ in range(200):  # the first worker creates the bucket
            try:
                kv = await js.key_value(self.bucket)
                break
            except Exception:
                await asyncio.sleep(0.1)
        assert kv is not None, "no worker created the lease bucket"
        watcher = await kv.watchall()

        async def collect() -> None:
            while True:
                try:
                    entry = await watcher.updates(timeout=1.0)
                except Exception:
                    continue
                if entry is None:
                    continue
                value = json.loads(entry.value) if entry.value else None
                self.events.append(LeaseEvent(entry.key, entry.operation, value, time.time()))

        self._task = asyncio.create_task(collect())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._nc is not None:
            await self._nc.close()

    def owners(self) -> dict[int, str]:
        """The current holder of each partition, as last written (expiries are not seen)."""
        out: dict[int, str] = {}
        for e in self.events:
            if not e.key.startswith("p"):
                continue
            p = int(e.key[1:])
            if e.value is None:
                out.pop(p, None)
            else:
                out[p] = e.value["worker"]
        return out
