"""The live engine of a server: committed records in, episodes and alerts out.

One engine task owns the engine; everything it does runs in order:
  - records, as committed (sequence order): `advance(received)` then `feed`;
  - ticks of the real clock: `advance(now)` (reorder buffers, comms-loss and
    schedule timers);
  - caseload reloads (after the API changed persons, devices, zones, orders);
  - checkpoints: the engine's snapshot with the last sequence number fed.
Every effect is stored (one episode, one alert, idempotent on type, subject
and start) before the next item, so a checkpoint never runs ahead of the
stored effects.

Restart: restore the latest checkpoint, then feed the records stored after
it, exactly as live (`advance(received)`, `feed`); their effects are stored
again, which changes nothing for those already stored. No alert is lost
(every committed record is fed) and none is raised twice (idempotent store).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Effect, EpisodeClosed
from ronda.engine.params import EngineParams
from ronda.engine.snapshot import restore, snapshot
from ronda.pipeline.bus import Bus, publish_positions
from ronda.pipeline.ports import EffectEvent, EffectListener, dispatch_effects
from ronda.pipeline.store_sink import Committed, StoreSink
from ronda.storage import alerts, cases, checkpoints, records
from ronda.storage.caseload import load_caseload
from ronda.storage.db import sessions
from ronda.types import to_iso

log = logging.getLogger(__name__)


@dataclass
class ServiceConfig:
    tick_s: float = 1.0
    checkpoint_every_s: float = 30.0
    replay_page: int = 5000


@dataclass
class _State:
    last_seq: int = 0
    last_checkpoint_s: float = 0.0
    alerts_raised: int = 0
    counters: dict[str, int] = field(default_factory=dict)


def alert_message(stored: alerts.Stored) -> dict[str, Any]:
    e, a = stored.episode, stored.alert
    return {
        "id": a.id,
        "episode": e.id,
        "type": e.type,
        "person": e.person_id,
        "rule": e.rule_id,
        "device": e.device_id,
        "start": to_iso(e.start_s),
        "raised": to_iso(e.raised_s),
        "end": None if e.end_s is None else to_iso(e.end_s),
        "status": a.status,
        "severity": a.severity,
        "new": stored.new,
    }


def effect_event(stored: alerts.Stored, closed: bool) -> EffectEvent:
    e, a = stored.episode, stored.alert
    return EffectEvent(
        kind="closed" if closed else "opened",
        episode_id=e.id,
        alert_id=a.id,
        type=e.type,
        person=e.person_id,
        rule=e.rule_id,
        device=e.device_id,
        start_s=e.start_s,
        raised_s=e.raised_s,
        end_s=e.end_s,
        severity=a.severity,
        new=stored.new,
    )


def carry_state(old: Engine, new: Engine) -> Engine:
    """Move an engine's state onto an engine over a changed caseload, dropping
    devices and rules that no longer exist."""
    data = snapshot(old)
    data["devices"] = {d: v for d, v in data["devices"].items() if d in new.c.devices}
    data["rules"] = {r: v for r, v in data["rules"].items() if r in new.c.rules}
    data["history"] = {p: v for p, v in data["history"].items() if p in new.c.caseload.persons}
    return restore(new, data)


class LiveService:
    def __init__(
        self,
        db: DbEngine,
        params: EngineParams | None = None,
        config: ServiceConfig | None = None,
        clock: Callable[[], float] = time.time,
        listeners: Sequence[EffectListener] = (),
    ) -> None:
        self.db = db
        # Told of every stored effect after its commit (also on replay: they are idempotent).
        self.listeners: list[EffectListener] = list(listeners)
        # The site's severity per episode type and rule (None: the built-in defaults).
        self.severity: alerts.SeverityOf | None = None
        self.sessions: sessionmaker[Session] = sessions(db)
        self.params = params or EngineParams()
        self.config = config or ServiceConfig()
        self.clock = clock
        self.bus = Bus()
        self.state = _State()
        self.engine: Engine | None = None
        self.known_devices: set[str] = set()
        self.tokens: dict[str, str] = {}
        self.sink = StoreSink(db, lambda: self.known_devices, self._committed)
        self._items: deque[tuple[str, Any]] = deque()
        self._has_items = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tick_queued = False
        self.started = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.bind(self._loop)
        await asyncio.to_thread(self._recover)
        self.sink.start()
        self._tasks = [
            asyncio.create_task(self._engine_loop(), name="engine"),
            asyncio.create_task(self._ticker(), name="engine-clock"),
        ]
        self.started = True

    async def stop(self) -> None:
        """Drain what was committed, then a last checkpoint."""
        await self.sink.stop()
        ticker = self._tasks[1] if len(self._tasks) > 1 else None
        if ticker is not None:
            ticker.cancel()
        self._put(("stop", None))
        if self._tasks:
            await self._tasks[0]
        await asyncio.to_thread(self._checkpoint)
        self.started = False

    async def settle(self, now_s: float | None = None) -> None:
        """Wait until everything committed so far has been through the engine
        and its effects stored; with `now_s`, after a tick of the clock at it."""
        assert self._loop is not None
        done: asyncio.Future[None] = self._loop.create_future()
        if now_s is not None:
            self._put(("tick", now_s))
        self._put(("barrier", done))
        await done

    def caseload_changed(self) -> None:
        """Call after persons, devices, zones or orders changed (from any thread)."""
        self._refresh_inventory()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._put, ("reload", None))

    # ------------------------------------------------------------- recovery

    def _refresh_inventory(self) -> None:
        with self.sessions() as s:
            self.known_devices = {d.id for d in cases.list_devices(s, limit=10**9) if d.status != "retired"}
            self.tokens = cases.device_tokens(s)

    def _build_engine(self) -> Engine:
        with self.sessions() as s:
            caseload = load_caseload(s)
        return Engine(compile_caseload(caseload), self.params)

    def _recover(self) -> None:
        self._refresh_inventory()
        engine = self._build_engine()
        with self.sessions() as s:
            cp = checkpoints.latest_checkpoint(s)
        if cp is not None:
            fresh = Engine(engine.c, self.params)
            restore(fresh, cp.state)
            engine = carry_state(fresh, engine)
            self.state.last_seq = cp.last_seq
        self.engine = engine
        replayed = 0
        while True:
            with self.sessions() as s:
                page = records.records_after(s, self.state.last_seq, self.config.replay_page)
            if not page:
                break
            self._feed(page, publish=False)
            replayed += len(page)
        log.info("engine resumed at sequence %d (%d records replayed)", self.state.last_seq, replayed)
        self._checkpoint()

    # ---------------------------------------------------------- engine task

    def _committed(self, new: Committed) -> None:
        self._put(("records", new))
        if self.bus.subscribers:
            publish_positions(self.bus, (rec for _, rec in new))

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_s)
            if not self._tick_queued:
                self._tick_queued = True
                self._put(("tick", None))

    def _put(self, item: tuple[str, Any]) -> None:
        self._items.append(item)
        self._has_items.set()

    async def _engine_loop(self) -> None:
        while True:
            if not self._items:
                self._has_items.clear()
                await self._has_items.wait()
                continue
            kind, payload = self._items.popleft()
            if kind == "stop":
                return
            if kind == "records":  # consecutive batches go through the engine together
                batch: Committed = list(payload)
                while self._items and self._items[0][0] == "records" and len(batch) < 50_000:
                    batch.extend(self._items.popleft()[1])
                payload = batch
            await self._run(kind, payload)

    async def _run(self, kind: str, payload: Any) -> None:
        try:
            if kind == "records":
                await asyncio.to_thread(self._feed, payload, True)
            elif kind == "tick":
                if payload is None:
                    self._tick_queued = False
                await asyncio.to_thread(self._tick, payload)
            elif kind == "barrier":
                payload.set_result(None)
            elif kind == "reload":
                await asyncio.to_thread(self._reload)
        except Exception:  # a failing step is logged; the engine goes on
            log.exception("engine step %s failed", kind)

    def _feed(self, batch: Committed, publish: bool = True) -> None:
        engine = self.engine
        assert engine is not None
        effects: list[Effect] = []
        for _, rec in batch:
            effects += engine.advance(rec.received_s)
            effects += engine.feed(rec)
        if batch:
            self._store(effects, publish)
            self.state.last_seq = max(self.state.last_seq, batch[-1][0])

    def _tick(self, now_s: float | None = None) -> None:
        engine = self.engine
        assert engine is not None
        self._store(engine.advance(self.clock() if now_s is None else now_s), True)
        if self.clock() - self.state.last_checkpoint_s >= self.config.checkpoint_every_s:
            self._checkpoint()

    def _reload(self) -> None:
        assert self.engine is not None
        self.engine = carry_state(self.engine, self._build_engine())

    def _store(self, effects: list[Effect], publish: bool) -> None:
        if not effects:
            return
        with self.sessions.begin() as s:
            stored = [alerts.store_episode(s, eff.episode, self.severity) for eff in effects]
            messages = [alert_message(x) for x in stored]
            pairs = zip(stored, effects, strict=True)
            events = [effect_event(x, isinstance(eff, EpisodeClosed)) for x, eff in pairs]
        self.state.alerts_raised += sum(1 for x in stored if x.new)
        if self.listeners:
            self.state.counters["listener_failures"] = self.state.counters.get(
                "listener_failures", 0
            ) + dispatch_effects(self.listeners, events)
        if publish:
            for m in messages:
                self.bus.publish_threadsafe("alert", m)

    def _checkpoint(self) -> None:
        if self.engine is None:
            return
        state = snapshot(self.engine)
        with self.sessions.begin() as s:
            checkpoints.save_checkpoint(s, self.state.last_seq, state)
        self.state.last_checkpoint_s = self.clock()

    # ---------------------------------------------------------------- stats

    def status(self) -> dict[str, Any]:
        engine_counters = dict(self.engine.counters) if self.engine is not None else {}
        return {
            "last_seq": self.state.last_seq,
            "alerts_raised": self.state.alerts_raised,
            "ingest": dict(self.sink.stats.counters),
            "unknown_devices": dict(self.sink.stats.unknown_devices.most_common(20)),
            "engine": engine_counters,
            "devices_known": len(self.known_devices),
            "listener_failures": self.state.counters.get("listener_failures", 0),
        }
