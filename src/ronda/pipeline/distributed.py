"""`ronda serve --distributed`: the API over PostgreSQL, with no engine.

The API server keeps no state of its own: every read is a PostgreSQL query
(a replica will do for reads), so any number of them can run behind a load
balancer. What differs from embedded mode:

- device ingest over HTTP publishes to JetStream (the same `JetStreamSink`
  the gateways use) instead of committing to the database;
- the live stream (``/api/stream``) is fed from NATS: alerts the workers
  announce on ``<live_subject>.alert`` after storing them, and positions read
  off the record subjects as the gateways publish them;
- a caseload change made through the API needs no signal to the workers:
  they reread the caseload every ``caseload_refresh_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select

from ronda.config import Settings
from ronda.pipeline import jetstream
from ronda.pipeline.bus import publish_positions
from ronda.pipeline.jetstream import Inventory, JetStreamSink
from ronda.pipeline.service import LiveService
from ronda.storage.models_distributed import PartitionCheckpointRow
from ronda.types import to_iso

log = logging.getLogger(__name__)


class DistributedService(LiveService):
    """What the API needs of a service (sessions, sink, bus, tokens, status),
    with JetStream and NATS in place of the in-process engine."""

    def __init__(self, db: DbEngine, settings: Settings) -> None:
        super().__init__(db, settings.engine)
        self.settings = settings
        self.d = settings.distributed
        self.inventory = Inventory(db, self.d.partitions, self.d.caseload_refresh_s)
        self.nc: Nats | None = None
        self.js_sink: JetStreamSink | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.bind(self._loop)
        await asyncio.to_thread(self._refresh_inventory)
        await self.inventory.start()
        self.nc = await jetstream.connect(self.d, "ronda-api")
        js = self.nc.jetstream()
        await jetstream.ensure_stream(js, self.d)
        self.js_sink = JetStreamSink(js, self.d, self.inventory.partition)
        self.sink = self.js_sink  # type: ignore[assignment]
        await self.nc.subscribe(f"{self.d.live_subject}.alert", cb=self._alert)
        await self.nc.subscribe(f"{self.d.subject_prefix}.*", cb=self._records)
        self.started = True

    async def stop(self) -> None:
        await self.inventory.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
        self.started = False

    async def settle(self, now_s: float | None = None) -> None:
        return None  # the engine runs in the workers

    def caseload_changed(self) -> None:
        self._refresh_inventory()
        with contextlib.suppress(Exception):
            self.inventory.load()

    async def _alert(self, msg: Msg) -> None:
        if self.bus.subscribers:
            with contextlib.suppress(ValueError):
                self.bus.publish("alert", json.loads(msg.data))

    async def _records(self, msg: Msg) -> None:
        if not self.bus.subscribers:
            return  # nobody watching: do not even decode
        try:
            records = jetstream.decode(msg.data)
        except Exception:
            return
        publish_positions(self.bus, records)

    def status(self) -> dict[str, Any]:
        with self.sessions() as s:
            rows = s.execute(
                select(
                    PartitionCheckpointRow.partition,
                    PartitionCheckpointRow.last_stream_seq,
                    PartitionCheckpointRow.created_s,
                    PartitionCheckpointRow.worker_id,
                ).where(PartitionCheckpointRow.stream == self.d.stream)
            ).all()
        sink = self.js_sink.status() if self.js_sink is not None else {}
        return {
            "mode": "distributed",
            "ingest": sink.get("counters", {}),
            "unknown_devices": sink.get("unknown_devices", {}),
            "devices_known": len(self.known_devices),
            "nats": bool(self.nc is not None and self.nc.is_connected),
            "partitions": {
                p: {"checkpoint_seq": seq, "checkpoint": to_iso(at), "worker": w} for p, seq, at, w in rows
            },
        }

    def readiness(self) -> str | None:
        if self.nc is None or not self.nc.is_connected:
            return "NATS disconnected"
        return None
