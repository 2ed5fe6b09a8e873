"""The durable hand-off in embedded mode: records committed to the database.

Gateways call `accept`; one writer task takes every batch waiting at that
moment, inserts them in one transaction (group commit), and only then
answers each caller. Records of unknown devices are refused and counted.
Commit order is sequence order, and the new records go to the engine in that
order (`on_committed`), so the engine's checkpoint can say "everything up to
sequence N"."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from ronda.pipeline.ports import Accepted
from ronda.storage.records import insert_records, record_key
from ronda.tracking.records import Record

log = logging.getLogger(__name__)

Committed = list[tuple[int, Record]]


@dataclass
class _Batch:
    records: list[Record]
    unknown: int
    future: asyncio.Future[Accepted]


@dataclass
class SinkStats:
    counters: Counter[str] = field(default_factory=Counter)
    unknown_devices: Counter[str] = field(default_factory=Counter)


class StoreSink:
    def __init__(
        self,
        db: Engine,
        known_devices: Callable[[], set[str]] | set[str],
        on_committed: Callable[[Committed], None],
        *,
        max_records: int = 20_000,
    ) -> None:
        self.db = db
        self._known = known_devices
        self.on_committed = on_committed
        self.max_records = max_records
        self.stats = SinkStats()
        self._pending: list[_Batch] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def known(self) -> set[str]:
        return self._known() if callable(self._known) else self._known

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="record-writer")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def accept(self, records: Sequence[Record]) -> Accepted:
        if self._closing:
            raise RuntimeError("the server is shutting down")
        known = self.known()
        kept: list[Record] = []
        unknown = 0
        for rec in records:
            if rec.device in known:
                kept.append(rec)
            else:
                unknown += 1
                self.stats.unknown_devices[rec.device] += 1
        self.stats.counters["refused_unknown_device"] += unknown
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        if not kept:
            return Accepted(0, 0, unknown)
        self._pending.append(_Batch(kept, unknown, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batches: list[_Batch] = []
                size = 0
                while self._pending and (
                    not batches or size + len(self._pending[0].records) <= self.max_records
                ):
                    b = self._pending.pop(0)
                    batches.append(b)
                    size += len(b.records)
                await self._commit(batches)
            if self._closing and not self._pending:
                return

    async def _commit(self, batches: list[_Batch]) -> None:
        everything = [r for b in batches for r in b.records]
        try:
            new = await asyncio.to_thread(self._insert, everything)
        except Exception as exc:  # the callers get the error: nothing acknowledged
            log.exception("storing %d records failed", len(everything))
            for b in batches:
                if not b.future.done():
                    b.future.set_exception(exc)
            return
        self.stats.counters["stored"] += len(new)
        self.stats.counters["duplicates"] += len(everything) - len(new)
        if new:
            self.on_committed(new)
        fresh = {record_key(r) for _, r in new}
        for b in batches:
            stored = 0
            for r in b.records:
                key = record_key(r)
                if key in fresh:
                    fresh.discard(key)
                    stored += 1
            if not b.future.done():
                b.future.set_result(Accepted(stored, len(b.records) - stored, b.unknown))

    def _insert(self, records: list[Record]) -> Committed:
        if self.db.dialect.name == "postgresql":
            # one INSERT statement (storage.records): atomic and durable when it
            # returns, so no BEGIN/COMMIT round trips around it
            with self.db.connect() as conn:
                return insert_records(conn.execution_options(isolation_level="AUTOCOMMIT"), records)
        with self.db.begin() as conn:
            return insert_records(conn, records)
