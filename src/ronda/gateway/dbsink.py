"""The database as the sink of a stand-alone gateway (``ronda gateway --database``).

The server's durable sink (`ronda.pipeline.store_sink.StoreSink`: group
commit, idempotent on device, time and kind, unknown devices refused) over a
database shared with a server. The device inventory is re-read every
``refresh_s`` seconds, so devices registered through the API are accepted
shortly after.

Records stored this way are in the database (positions and exports see them
at once), but the server's live engine only feeds records that its own sink
committed: for alerts on these records, run the gateway embedded in
``ronda serve`` (the default) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType

from ronda.pipeline.ports import Accepted
from ronda.pipeline.store_sink import Committed, StoreSink
from ronda.storage import cases
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import Record

log = logging.getLogger(__name__)


class DatabaseSink:
    def __init__(self, url: str, *, refresh_s: float = 10.0) -> None:
        self.url = url
        self.refresh_s = refresh_s
        self.db = connect(url)
        self.known: set[str] = set()
        self.stored = 0
        self.sink = StoreSink(self.db, lambda: self.known, self._committed)
        self._refresher: asyncio.Task[None] | None = None

    def _committed(self, new: Committed) -> None:
        self.stored += len(new)

    def _load_inventory(self) -> set[str]:
        with sessions(self.db)() as s:
            return {d.id for d in cases.list_devices(s, limit=10**9) if d.status != "retired"}

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                self.known = await asyncio.to_thread(self._load_inventory)
            except Exception:
                log.exception("could not re-read the device inventory; keeping the last one")

    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.db)
        self.known = await asyncio.to_thread(self._load_inventory)
        log.info("database sink on %s: %d devices known", self.url, len(self.known))
        self.sink.start()
        self._refresher = asyncio.create_task(self._refresh(), name="inventory-refresh")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await self.sink.stop()
        self.db.dispose()

    async def accept(self, records: Sequence[Record]) -> Accepted:
        return await self.sink.accept(records)

    async def __aenter__(self) -> DatabaseSink:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
