"""Distributed mode's durable hand-off: records published to NATS JetStream.

The stream (``RONDA_RECORDS`` by default) has one subject per partition,
``<prefix>.<partition>``; a device's records always go to the partition of
its group (pipeline/partitions.py). A gateway calls `JetStreamSink.accept`
and acknowledges the device only after JetStream has acknowledged every
publish of the frame (stored, and replicated on a cluster): a gateway that
dies before that leaves the frame unacknowledged, and the device resends it.

Each publish carries a message id made of its records' keys, so a resend
within JetStream's duplicate window is not stored twice; later resends are
stored again and dropped by the worker (records' unique key in PostgreSQL).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from sqlalchemy import Engine as DbEngine

from ronda.config import DistributedSettings
from ronda.pipeline.partitions import PartitionMap, subject
from ronda.pipeline.ports import Accepted
from ronda.storage import cases
from ronda.storage.caseload import load_caseload
from ronda.storage.db import sessions
from ronda.storage.records import record_key
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, ZoneId

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 120.0
"""JetStream drops a publish whose message id it saw this recently."""


# ------------------------------------------------------------------ wiring


async def connect(d: DistributedSettings, name: str) -> Nats:
    """A connection to the NATS cluster that reconnects for ever."""
    servers = [u.strip() for u in d.nats_url.split(",") if u.strip()]
    return await nats.connect(
        servers=servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )


async def ensure_stream(js: JetStreamContext, d: DistributedSettings) -> None:
    """Create the record stream if it is missing (idempotent)."""
    config = StreamConfig(
        name=d.stream,
        subjects=[f"{d.subject_prefix}.*"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=d.max_age_s,
        num_replicas=d.replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:  # exists with another configuration: bring it in line
        await js.update_stream(config)


async def ensure_leases(js: JetStreamContext, d: DistributedSettings) -> KeyValue:
    """The lease bucket: every key lives `lease_ttl_s` after its last write."""
    return await js.create_key_value(bucket=d.lease_bucket, ttl=d.lease_ttl_s, history=1, replicas=d.replicas)


# The message body: a JSON list of records with epoch-second times (parsing
# ISO 8601 cost more than the rest of a worker's decoding). Positions carry
# "p": [lat, lon, accuracy_m, speed_mps, battery_pct, course_deg, altitude_m]
# (valid fixes) or "i": battery_pct (no fix); events "e": kind and "b":
# battery_pct; sightings "s": [reader, zone, rssi_dbm]. Always "d" device,
# "t" event time, "r" receipt time.


def _compact(rec: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"d": rec.device, "t": rec.time_s, "r": rec.received_s}
    if isinstance(rec, Position):
        if rec.valid:
            out["p"] = [rec.lat, rec.lon, rec.accuracy_m, rec.speed_mps, rec.battery_pct, rec.course_deg,
                        rec.altitude_m]  # fmt: skip
        else:
            out["i"] = rec.battery_pct
    elif isinstance(rec, DeviceEvent):
        out["e"], out["b"] = rec.kind.value, rec.battery_pct
    else:
        out["s"] = [rec.reader, rec.zone, rec.rssi_dbm]
    return out


def _record(o: dict[str, Any]) -> Record:
    device, t, r = DeviceId(o["d"]), float(o["t"]), float(o["r"])
    if "p" in o:
        lat, lon, acc, speed, battery, course, alt = o["p"]
        return Position(device, t, r, lat, lon, acc, speed, battery, True, course, alt)
    if "i" in o:
        return Position(device, t, r, battery_pct=o["i"], valid=False)
    if "e" in o:
        return DeviceEvent(device, t, r, EventKind(o["e"]), o.get("b"))
    reader, zone, rssi = o["s"]
    return Sighting(device, t, r, str(reader), ZoneId(zone) if zone else None, rssi)


def encode(records: Sequence[Record]) -> bytes:
    return json.dumps([_compact(r) for r in records], separators=(",", ":")).encode()


def decode(data: bytes) -> list[Record]:
    return [_record(o) for o in json.loads(data)]


def message_id(records: Sequence[Record]) -> str:
    keys = sorted(f"{d}|{t!r}|{k}" for d, t, k in map(record_key, records))
    return hashlib.blake2b("\n".join(keys).encode(), digest_size=16).hexdigest()


# --------------------------------------------------------------- inventory


@dataclass
class Inventory:
    """What a gateway must know: which devices exist and their partitions,
    read from PostgreSQL (a replica will do) and refreshed periodically."""

    db: DbEngine
    partitions: int
    refresh_s: float = 10.0
    known: set[str] = field(default_factory=set)
    routes: PartitionMap | None = None
    loaded_s: float = 0.0
    _task: asyncio.Task[None] | None = None

    def load(self) -> None:
        with sessions(self.db)() as s:
            known = {d.id for d in cases.list_devices(s, limit=10**9) if d.status != "retired"}
            routes = PartitionMap.of(load_caseload(s), self.partitions)
        self.known, self.routes, self.loaded_s = known, routes, time.time()

    async def start(self) -> None:
        await asyncio.to_thread(self.load)
        self._task = asyncio.create_task(self._refresh(), name="inventory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await asyncio.to_thread(self.load)
            except Exception as exc:  # keep the last inventory; readiness shows its age
                log.warning("inventory refresh failed: %s", exc)

    def partition(self, device: str) -> int | None:
        if self.routes is None or device not in self.known:
            return None
        return self.routes.device_partition.get(device)  # type: ignore[call-overload, no-any-return]


# -------------------------------------------------------------------- sink


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = PromCounter(
            "ronda_published_records", "Records handed to JetStream, by outcome", ["outcome"], registry=r
        )
        self.publish_s = Histogram(
            "ronda_publish_seconds",
            "Time from publish to JetStream's acknowledgement",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=r,
        )


@dataclass
class _Waiting:
    records: list[Record]
    done: asyncio.Future[bool]  # the publish's "duplicate" flag


class JetStreamSink:
    """A RecordSink: `accept` returns when JetStream holds every record.

    Group publishing: frames arriving while a partition's publish is in
    flight wait and go out together in its next publish (up to
    `MAX_BATCH` records), so that a thousand devices sending at once cost
    JetStream, and the workers reading it, far fewer messages than frames;
    a lone frame goes out at once."""

    MAX_BATCH = 1000

    def __init__(
        self,
        js: JetStreamContext,
        d: DistributedSettings,
        partition_of: Callable[[str], int | None],
        metrics: SinkMetrics | None = None,
    ) -> None:
        self.js = js
        self.d = d
        self.partition_of = partition_of
        self.metrics = metrics or SinkMetrics()
        self.counters: Counter[str] = Counter()
        self.unknown_devices: Counter[str] = Counter()
        self._waiting: dict[int, list[_Waiting]] = defaultdict(list)
        self._flushing: dict[int, asyncio.Task[None]] = {}

    async def accept(self, records: Sequence[Record]) -> Accepted:
        by_partition: dict[int, list[Record]] = defaultdict(list)
        unknown = 0
        for rec in records:
            p = self.partition_of(rec.device)
            if p is None:
                unknown += 1
                self.unknown_devices[rec.device] += 1
            else:
                by_partition[p].append(rec)
        if unknown:
            self.counters["refused_unknown_device"] += unknown
            self.metrics.records.labels("refused_unknown_device").inc(unknown)
        if not by_partition:
            return Accepted(0, 0, unknown)
        loop = asyncio.get_running_loop()
        futures: list[tuple[int, asyncio.Future[bool]]] = []
        for p, recs in by_partition.items():
            w = _Waiting(recs, loop.create_future())
            self._waiting[p].append(w)
            futures.append((len(recs), w.done))
            if p not in self._flushing:
                self._flushing[p] = asyncio.create_task(self._flush(p), name=f"publish-{p}")
        # every publish must succeed before the device is answered
        outcomes = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        duplicate = [bool(x) for x in outcomes]
        stored = sum(n for (n, _), dup in zip(futures, duplicate, strict=True) if not dup)
        duplicates = sum(n for (n, _), dup in zip(futures, duplicate, strict=True) if dup)
        return Accepted(stored, duplicates, unknown)

    async def _flush(self, partition: int) -> None:
        try:
            while self._waiting[partition]:
                queue = self._waiting[partition]
                batch: list[_Waiting] = []
                size = 0
                while queue and (not batch or size + len(queue[0].records) <= self.MAX_BATCH):
                    w = queue.pop(0)
                    batch.append(w)
                    size += len(w.records)
                records = [r for w in batch for r in w.records]
                try:
                    duplicate = await self._publish(partition, records)
                except Exception as exc:
                    for w in batch:
                        if not w.done.done():
                            w.done.set_exception(exc)
                    continue
                for w in batch:
                    if not w.done.done():
                        w.done.set_result(duplicate)
        finally:
            self._flushing.pop(partition, None)

    async def _publish(self, partition: int, records: list[Record]) -> bool:
        t0 = time.perf_counter()
        try:
            ack = await self.js.publish(
                subject(self.d.subject_prefix, partition),
                encode(records),
                timeout=self.d.publish_timeout_s,
                stream=self.d.stream,
                headers={"Nats-Msg-Id": message_id(records)},
            )
        except Exception:
            self.counters["publish_failed"] += len(records)
            self.metrics.records.labels("publish_failed").inc(len(records))
            raise  # the gateway answers the device nothing: it will resend
        self.metrics.publish_s.observe(time.perf_counter() - t0)
        outcome = "duplicate" if ack.duplicate else "published"
        self.counters[outcome if outcome == "published" else "duplicates"] += len(records)
        self.metrics.records.labels(outcome).inc(len(records))
        return bool(ack.duplicate)

    def status(self) -> dict[str, Any]:
        unknown = dict(self.unknown_devices.most_common(20))
        return {"counters": dict(self.counters), "unknown_devices": unknown}
