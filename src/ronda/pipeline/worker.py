"""`ronda worker`: engine workers sharing the partitions of the record stream.

A worker holds leases on some partitions (pipeline/leases.py) and runs one
engine per partition, over the part of the caseload routed there
(pipeline/partitions.py). For each partition, in stream order:

1. fetch a batch of messages (an ephemeral JetStream pull consumer filtered
   to the partition, starting after the checkpoint's stream sequence);
2. store the records in PostgreSQL (idempotent on device, time and kind);
3. feed them to the engine exactly as embedded mode does (`advance(received)`,
   then `feed`) and store the effects (idempotent on type, subject and start:
   the episodes' unique key), then tell the `EffectListener`s and announce
   new alerts to API servers on core NATS;
4. every `checkpoint_every_s`, write the engine's state with the stream
   sequence of the last message fed (``partition_checkpoints``).

The engine's clock follows the records' receipt times while a partition has
a backlog, and the wall clock (ticks: comms-loss and schedule timers) only
once it has caught up: a worker catching up after an outage must not declare
every device silent before it has read what they sent.

Leases: a runner acts (stores effects, writes checkpoints) only while its
worker trusts the lease (pipeline/leases.py). When the trust lapses, because
renewals were late, the runner pauses, and goes on once a renewal succeeds;
a step cut short by the lapse (records fed, effects not stored) is started
again from the checkpoint. Only the lease layer stops a runner (lease refused
or given up, or released), so a partition the worker holds is always being
read. Decoding and every other CPU-bound step runs in a thread, off the
event loop that renews the leases.

Takeover: a worker that dies stops renewing its leases; within the lease
ttl another worker acquires each partition, restores its last checkpoint and
re-reads the stream from there. Records and effects of the messages between
that checkpoint and the crash are stored again, which changes nothing; the
engine comes out in the state it would have had, so no alert is lost and
none is raised twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as Nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from ronda.cases.caseload import Caseload
from ronda.config import Settings
from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Effect, EpisodeClosed
from ronda.engine.snapshot import restore, snapshot
from ronda.pipeline import jetstream
from ronda.pipeline.leases import Leases
from ronda.pipeline.ops import OpsEndpoint
from ronda.pipeline.partitions import PartitionMap, sub_caseload, subject
from ronda.pipeline.ports import EffectListener, dispatch_effects
from ronda.pipeline.service import alert_message, carry_state, effect_event
from ronda.storage import alerts
from ronda.storage.caseload import load_caseload
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models_distributed import PartitionCheckpointRow
from ronda.storage.records import insert_records
from ronda.tracking.records import Record

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x726F6E6461  # "ronda": one migrating process at a time


def migrate_locked(db: DbEngine) -> None:
    """Migrate, holding a PostgreSQL advisory lock so that workers and API
    servers starting together do not run the same migration twice."""
    if db.dialect.name != "postgresql":
        migrate(db)
        return
    with db.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        try:
            migrate(db)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            conn.commit()


# ------------------------------------------------------------- checkpoints


def load_checkpoint(s: Session, stream: str, partition: int) -> PartitionCheckpointRow | None:
    return s.execute(
        select(PartitionCheckpointRow).where(
            PartitionCheckpointRow.stream == stream, PartitionCheckpointRow.partition == partition
        )
    ).scalar_one_or_none()


def save_checkpoint(
    s: Session, stream: str, partition: int, last_seq: int, state: dict[str, Any], worker: str
) -> None:
    """Upsert the partition's checkpoint; never moves it backwards (a worker
    that lost its lease while writing cannot undo its successor's progress)."""
    row: dict[str, Any] = {
        "stream": stream,
        "partition": partition,
        "last_stream_seq": last_seq,
        "state": state,
        "created_s": time.time(),
        "worker_id": worker,
    }
    if s.get_bind().dialect.name == "postgresql":
        table = PartitionCheckpointRow.__table__
        stmt = postgresql.insert(PartitionCheckpointRow).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["stream", "partition"],
            set_={k: stmt.excluded[k] for k in ("last_stream_seq", "state", "created_s", "worker_id")},
            where=table.c.last_stream_seq <= stmt.excluded.last_stream_seq,
        )
        s.execute(stmt)
        return
    existing = load_checkpoint(s, stream, partition)
    if existing is None:
        s.add(PartitionCheckpointRow(**row))
    elif existing.last_stream_seq <= last_seq:
        existing.last_stream_seq, existing.state = last_seq, state
        existing.created_s, existing.worker_id = float(row["created_s"]), worker


# ----------------------------------------------------------------- metrics


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter("ronda_worker_records", "Records fed to the engine", ["partition"], registry=r)
        self.stored = Counter(
            "ronda_worker_records_stored", "Records new to PostgreSQL (not redeliveries)", registry=r
        )
        self.effects = Counter("ronda_worker_effects", "Engine effects stored, by kind", ["kind"], registry=r)
        self.lag = Gauge(
            "ronda_partition_lag_records", "Messages of the partition not yet processed", ["partition"],
            registry=r,
        )  # fmt: skip
        self.lag_s = Gauge(
            "ronda_partition_lag_seconds",
            "Receipt age of the last record processed while behind (0 when caught up)",
            ["partition"],
            registry=r,
        )
        self.owned = Gauge("ronda_partition_owned", "1 while this worker runs the partition", ["partition"],
                           registry=r)  # fmt: skip
        self.takeovers = Counter(
            "ronda_partition_acquired", "Partitions acquired (start or takeover)", registry=r
        )
        self.alert_latency = Histogram(
            "ronda_receipt_to_alert_seconds",
            "From the receipt of the record that raised an alert to the alert stored",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.failures = Counter("ronda_worker_step_failures", "Failed batch steps (retried)", registry=r)


# --------------------------------------------------------------- partition


@dataclass
class _Progress:
    last_seq: int = 0
    last_checkpoint_s: float = 0.0
    last_tick_s: float = 0.0
    caught_up: bool = False
    pending: int = 0


@dataclass
class Announce:
    """What a step produced that the event loop must send out."""

    messages: list[dict[str, Any]] = field(default_factory=list)


class PartitionRunner:
    """The engine of one partition, while this worker holds its lease."""

    def __init__(self, worker: Worker, partition: int) -> None:
        self.w = worker
        self.p = partition
        self.engine: Engine | None = None
        self.caseload: Caseload | None = None
        self.progress = _Progress()
        self.task: asyncio.Task[None] | None = None
        self.sub: JetStreamContext.PullSubscription | None = None
        # Engine steps run in threads, which cancelling the task does not stop:
        # the lock keeps a last checkpoint from snapshotting a half-fed batch.
        self.lock = threading.Lock()
        # set while the engine is ahead of what is stored (a step under way, or
        # one that failed half-way): such a state is never checkpointed
        self.dirty = False

    # ---------------------------------------------------------- engine side

    def _build(self, caseload: Caseload, routes: PartitionMap) -> Engine:
        mine = sub_caseload(caseload, routes.devices_of([self.p]))
        return Engine(compile_caseload(mine), self.w.settings.engine)

    def restore(self) -> None:
        with self.lock:
            self._restore()

    def _restore(self) -> None:
        caseload, routes = self.w.caseload, self.w.routes
        assert caseload is not None and routes is not None
        engine = self._build(caseload, routes)
        with self.w.sessions() as s:
            cp = load_checkpoint(s, self.w.d.stream, self.p)
        if cp is not None:
            fresh = Engine(engine.c, self.w.settings.engine)
            restore(fresh, cp.state)
            engine = carry_state(fresh, engine)
            self.progress.last_seq = cp.last_stream_seq
        else:
            self.progress.last_seq = 0
        self.engine, self.caseload = engine, caseload
        self.dirty = False
        self.progress.last_checkpoint_s = time.time()

    def reload(self) -> None:
        """A changed caseload: carry the state over to an engine built on it."""
        caseload, routes = self.w.caseload, self.w.routes
        if self.engine is None or caseload is None or routes is None or caseload is self.caseload:
            return
        with self.lock:
            self.engine = carry_state(self.engine, self._build(caseload, routes))
            self.caseload = caseload

    def process(self, raw: list[tuple[int, bytes]]) -> Announce:
        """Decode the messages, store the records, feed them, store the effects
        (a worker thread: none of it on the event loop that renews the leases)."""
        with self.lock:
            batch = [(seq, recs) for seq, recs in (self._decode(seq, data) for seq, data in raw)]
            if not any(recs for _, recs in batch):
                self.progress.last_seq = batch[-1][0]
                return Announce()
            self.dirty = True
            out = self._process(batch)
            self.dirty = False
            return out

    def _decode(self, seq: int, data: bytes) -> tuple[int, list[Record]]:
        try:
            return seq, jetstream.decode(data)
        except Exception:  # a message no record can come from: counted, skipped
            log.exception("partition %d: undecodable message %d skipped", self.p, seq)
            self.w.metrics.failures.inc()
            return seq, []

    def _process(self, batch: list[tuple[int, list[Record]]]) -> Announce:
        engine = self.engine
        assert engine is not None
        records = [r for _, recs in batch for r in recs]
        if self.w.db.dialect.name == "postgresql":
            with self.w.db.connect() as conn:
                new = insert_records(conn.execution_options(isolation_level="AUTOCOMMIT"), records)
        else:
            with self.w.db.begin() as conn:
                new = insert_records(conn, records)
        self.w.metrics.stored.inc(len(new))
        effects: list[Effect] = []
        received: dict[str, float] = {}
        for rec in records:
            effects += engine.advance(rec.received_s)
            effects += engine.feed(rec)
            received[rec.device] = rec.received_s
        self.w.metrics.records.labels(str(self.p)).inc(len(records))
        out = self.store(effects, received)
        self.progress.last_seq = batch[-1][0]
        if records and not self.progress.caught_up:
            self.w.metrics.lag_s.labels(str(self.p)).set(max(0.0, time.time() - records[-1].received_s))
        return out

    def tick(self, now_s: float) -> Announce:
        with self.lock:
            assert self.engine is not None
            self.progress.last_tick_s = now_s
            self.dirty = True
            out = self.store(self.engine.advance(now_s), {})
            self.dirty = False
            return out

    def store(self, effects: list[Effect], received: dict[str, float]) -> Announce:
        if not effects:
            return Announce()
        if not self.w.owns(self):
            raise LeaseLost(self.p)
        with self.w.sessions.begin() as s:
            stored = [alerts.store_episode(s, eff.episode, self.w.severity) for eff in effects]
            messages = [alert_message(x) for x in stored]
            pairs = zip(stored, effects, strict=True)
            events = [effect_event(x, isinstance(eff, EpisodeClosed)) for x, eff in pairs]
        now = time.time()
        for x, eff in zip(stored, effects, strict=True):
            self.w.metrics.effects.labels("closed" if isinstance(eff, EpisodeClosed) else "opened").inc()
            if x.new and x.episode.device_id in received:
                self.w.metrics.alert_latency.observe(max(0.0, now - received[x.episode.device_id]))
        if self.w.listeners:
            self.w.listener_failures += dispatch_effects(self.w.listeners, events)
        return Announce([m for m in messages if m["new"] or m["end"] is not None])

    def checkpoint(self) -> None:
        with self.lock:
            self._checkpoint()

    def _checkpoint(self) -> None:
        if self.engine is None or self.dirty or not self.w.owns(self):
            return
        state = snapshot(self.engine)
        with self.w.sessions.begin() as s:
            save_checkpoint(s, self.w.d.stream, self.p, self.progress.last_seq, state, self.w.d.worker_id)
        self.progress.last_checkpoint_s = time.time()

    # ------------------------------------------------------------ loop side

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        start = self.progress.last_seq + 1
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start > 1 else DeliverPolicy.ALL,
            opt_start_seq=start if start > 1 else None,
            ack_policy=AckPolicy.NONE,  # the checkpoint is the position, not acks
            inactive_threshold=60.0,
        )
        return await self.w.js.pull_subscribe(
            subject(self.w.d.subject_prefix, self.p), stream=self.w.d.stream, config=config
        )

    async def run(self) -> None:
        """Read the partition for as long as the lease layer lets it run."""
        restored = False
        paused_s: float | None = None
        while True:
            if not self.w.owns(self):
                if self.w.runners.get(self.p) is not self:
                    return  # lost or released: being stopped
                # renewals late: wait for one to succeed; a refused or lapsed
                # lease stops this task from the lease layer (Worker._lost)
                if paused_s is None:
                    paused_s = time.monotonic()
                    log.warning("partition %d: lease renewal late, paused", self.p)
                await asyncio.sleep(PAUSE_S)
                continue
            if paused_s is not None:
                waited_s = time.monotonic() - paused_s
                log.info("partition %d: lease renewed, going on after %.1f s", self.p, waited_s)
                paused_s = None
            if not restored:
                try:
                    await asyncio.to_thread(self.restore)
                except Exception:  # the database may be down: keep the lease, retry
                    log.exception("partition %d: cannot restore its checkpoint; retrying", self.p)
                    self.w.metrics.failures.inc()
                    await asyncio.sleep(1.0)
                    continue
                restored = True
                await self._drop_subscription()  # read on from the restored position
                self.w.metrics.owned.labels(str(self.p)).set(1)
                log.info("partition %d: resumed at stream sequence %d", self.p, self.progress.last_seq)
            try:
                await self.step()
            except LeaseLost:
                # the lease lapsed in the middle of a step whose effects were
                # not stored: start again from the checkpoint once it is back
                log.warning("partition %d: lease renewal late mid-step; resuming from checkpoint", self.p)
                restored = False
            except asyncio.CancelledError:
                raise
            except Exception:  # a failing step is retried from the last checkpoint
                log.exception("partition %d: step failed; resuming from its checkpoint", self.p)
                self.w.metrics.failures.inc()
                restored = False
                await asyncio.sleep(1.0)

    async def step(self) -> None:
        """Fetch a batch, process it, tick, announce, checkpoint when due."""
        cfg = self.w.settings
        if self.sub is None:
            self.sub = await self._subscribe()
        try:
            msgs = await self.sub.fetch(self.w.d.batch, timeout=0.25)
        except (TimeoutError, NatsTimeout):
            msgs = []
        raw: list[tuple[int, bytes]] = []
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq > self.progress.last_seq:  # else already fed (a consumer re-created mid-batch)
                raw.append((seq, m.data))
        if msgs:
            pending = int(msgs[-1].metadata.num_pending)
            self.progress.pending = pending
            self.progress.caught_up = pending == 0
            self.w.metrics.lag.labels(str(self.p)).set(pending)
        else:
            self.progress.caught_up = True
            self.progress.pending = 0
            self.w.metrics.lag.labels(str(self.p)).set(0)
            self.w.metrics.lag_s.labels(str(self.p)).set(0)
        announce = Announce()
        if raw:
            announce = await asyncio.to_thread(self.process, raw)
        now = time.time()
        if self.progress.caught_up and now - self.progress.last_tick_s >= self.w.tick_s:
            more = await asyncio.to_thread(self.tick, now)
            announce.messages += more.messages
        await self.w.announce(announce)
        if now - self.progress.last_checkpoint_s >= cfg.checkpoint_every_s:
            await asyncio.to_thread(self.checkpoint)

    async def _drop_subscription(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None

    async def stop(self, checkpoint: bool) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self._drop_subscription()
        if checkpoint and self.engine is not None:
            await asyncio.to_thread(self.checkpoint)
        self.w.metrics.owned.labels(str(self.p)).set(0)


PAUSE_S = 0.05
"""How often a paused partition looks whether its lease is trusted again."""


class LeaseLost(Exception):
    def __init__(self, partition: int) -> None:
        super().__init__(f"partition {partition}: lease lost")


# ------------------------------------------------------------------ worker


class Worker:
    def __init__(
        self,
        settings: Settings,
        listeners: Sequence[EffectListener] = (),
        *,
        severity: alerts.SeverityOf | None = None,
        tick_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.d = settings.distributed
        # told of every stored effect after its commit, as in embedded mode (notify, pursuit)
        self.listeners = list(listeners)
        self.severity = severity  # the site's severity per episode type and rule
        self.listener_failures = 0
        self.tick_s = tick_s
        self.metrics = WorkerMetrics()
        self.db: DbEngine = connect(settings.effective_database_url)
        self.sessions: sessionmaker[Session] = sessions(self.db)
        self.caseload: Caseload | None = None
        self.routes: PartitionMap | None = None
        self.runners: dict[int, PartitionRunner] = {}
        self.nc: Nats | None = None
        self._js: JetStreamContext | None = None
        self.leases: Leases | None = None
        self.ops: OpsEndpoint | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.db_ok_s = 0.0

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None
        return self._js

    def leases_valid(self, partition: int) -> bool:
        return self.leases is not None and self.leases.valid(partition)

    def owns(self, runner: PartitionRunner) -> bool:
        """Whether this runner may act: the current one of its partition, whose
        lease is trusted (a runner stopped after its lease was lost may still
        have a step finishing in a thread; it must not store or checkpoint)."""
        return self.runners.get(runner.p) is runner and self.leases_valid(runner.p)

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await asyncio.to_thread(migrate_locked, self.db)
        await asyncio.to_thread(self._load_caseload)
        self.nc = await jetstream.connect(self.d, f"ronda-worker {self.d.worker_id}")
        self._js = self.nc.jetstream()
        await jetstream.ensure_stream(self.js, self.d)
        kv = await jetstream.ensure_leases(self.js, self.d)
        self.leases = Leases(
            kv, self.d.worker_id, self.d.partitions, self.d.lease_ttl_s,
            self._acquired, self._lost, self._release, renew_s=self.d.lease_renew_every_s,
        )  # fmt: skip
        if self.d.worker_port is not None:
            self.ops = OpsEndpoint(
                [self.metrics.registry], self.readiness, self.d.worker_host, self.d.worker_port
            )
            await self.ops.start()
        self.leases.start()
        self._tasks.append(asyncio.create_task(self._refresh_caseload(), name="caseload"))
        log.info("worker %s up: %d partitions, stream %s", self.d.worker_id, self.d.partitions, self.d.stream)

    async def stop(self) -> None:
        """Graceful: last checkpoints, leases released (others take over at once)."""
        for t in self._tasks:
            t.cancel()
        if self.leases is not None:
            await self.leases.stop()
        for p in list(self.runners):
            await self._release(p)
        if self.ops is not None:
            await self.ops.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
        self.db.dispose()

    # -------------------------------------------------------------- leases

    async def _acquired(self, partition: int) -> None:
        stale = self.runners.pop(partition, None)
        if stale is not None:  # cannot happen: lost and released runners are removed
            await stale.stop(checkpoint=False)
        runner = PartitionRunner(self, partition)
        self.runners[partition] = runner
        self.metrics.takeovers.inc()
        runner.task = asyncio.create_task(runner.run(), name=f"partition-{partition}")

    async def _lost(self, partition: int) -> None:
        runner = self.runners.pop(partition, None)
        if runner is not None:
            await runner.stop(checkpoint=False)

    async def _release(self, partition: int) -> None:
        runner = self.runners.get(partition)
        if runner is not None:
            try:
                await runner.stop(checkpoint=True)  # still the partition's runner: may checkpoint
            finally:
                if self.runners.get(partition) is runner:
                    del self.runners[partition]

    # ------------------------------------------------------------ caseload

    def _load_caseload(self) -> bool:
        with self.sessions() as s:
            caseload = load_caseload(s)
        self.db_ok_s = time.time()
        if caseload == self.caseload:
            return False
        self.caseload = caseload
        self.routes = PartitionMap.of(caseload, self.d.partitions)
        return True

    async def _refresh_caseload(self) -> None:
        while True:
            await asyncio.sleep(self.d.caseload_refresh_s)
            try:
                if await asyncio.to_thread(self._load_caseload):
                    log.info("caseload changed: rebuilding %d partition engines", len(self.runners))
                    for runner in list(self.runners.values()):
                        await asyncio.to_thread(runner.reload)
            except Exception as exc:
                log.warning("caseload refresh failed: %s", exc)

    # ------------------------------------------------------------ outward

    async def announce(self, a: Announce) -> None:
        if not a.messages or self.nc is None:
            return
        for m in a.messages:
            with contextlib.suppress(Exception):  # live view only: PostgreSQL has it
                await self.nc.publish(f"{self.d.live_subject}.alert", json.dumps(m).encode())

    def readiness(self) -> str | None:
        if self.nc is None or not self.nc.is_connected:
            return "NATS disconnected"
        if self.leases is None or time.time() - self.leases.last_scan_s > 2 * self.d.lease_ttl_s:
            return "lease rounds not running"
        if time.time() - self.db_ok_s > 3 * self.d.caseload_refresh_s + 5:
            return "database not reached recently"
        return None

    def status(self) -> dict[str, Any]:
        return {
            "worker": self.d.worker_id,
            "partitions": {
                p: {"last_seq": r.progress.last_seq, "pending": r.progress.pending}
                for p, r in sorted(self.runners.items())
            },
            "members": self.leases.members if self.leases else 0,
            "listener_failures": self.listener_failures,
        }


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    listeners: Sequence[EffectListener] = (),
    severity: alerts.SeverityOf | None = None,
    on_started: Callable[[Worker], Awaitable[None]] | None = None,
) -> None:
    worker = Worker(settings, listeners, severity=severity)
    await worker.start()
    if on_started is not None:
        await on_started(worker)
    try:
        await stop.wait()
    finally:
        await worker.stop()
