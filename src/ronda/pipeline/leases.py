"""Partition leases on a JetStream key-value bucket: no consensus of our own.

Each partition has one key (``p<n>``) in a bucket whose entries expire
`lease_ttl_s` after their last write (the bucket's max age). A worker:

- **acquires** a free partition with `create` (succeeds only if the key is
  absent: never held, released, or expired);
- **renews** each of its leases every ttl/4 with `update(last=revision)`,
  which fails if the key changed since (someone else holds it now): the
  worker then stops that partition at once;
- **releases** a partition (graceful stop, or rebalancing to a newcomer) by
  deleting the key at its revision, after a last checkpoint;
- stops treating a lease as its own once it has not renewed it for 3/4 of
  the ttl (NATS unreachable): by then another worker may take it.

A worker that dies stops renewing: JetStream expires its keys after the ttl
and the others `create` them on their next scan. Each worker also keeps a
membership key (``w.<id>``) alive, so that every worker knows how many share
the partitions and takes no more than its fair share (ceil(partitions /
workers)), releasing extras when a worker joins.

Every lease value is JSON ``{"worker", "acquired_s", "renewed_s"}``: the
time line of ownership can be read from the bucket (the failover test does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

SAFETY = 0.75
"""A lease is trusted for this share of the ttl after its last renewal."""


def lease_key(partition: int) -> str:
    return f"p{partition}"


def member_key(worker: str) -> str:
    return "w." + "".join(c if c.isalnum() or c in "-_" else "_" for c in worker)


@dataclass
class Held:
    revision: int
    acquired_s: float
    renewed_s: float  # our clock at the last successful write


class Leases:
    def __init__(
        self,
        kv: KeyValue,
        worker: str,
        partitions: int,
        ttl_s: float,
        on_acquired: Callable[[int], Awaitable[None]],
        on_lost: Callable[[int], Awaitable[None]],
        on_release: Callable[[int], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kv = kv
        self.worker = worker
        self.partitions = partitions
        self.ttl_s = ttl_s
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.on_release = on_release
        self.clock = clock
        self.held: dict[int, Held] = {}
        self.members = 1
        self._member_rev: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_scan_s = 0.0
        # start scanning at a worker-specific partition, so that workers
        # starting together do not all race for partition 0 first
        self._offset = zlib.crc32(worker.encode()) % max(partitions, 1)

    # --------------------------------------------------------------- state

    def valid(self, partition: int) -> bool:
        """Whether this worker may still act for the partition."""
        h = self.held.get(partition)
        return h is not None and self.clock() - h.renewed_s < self.ttl_s * SAFETY

    def fair_share(self) -> int:
        return math.ceil(self.partitions / max(self.members, 1))

    def _value(self, acquired_s: float) -> bytes:
        now = self.clock()
        return json.dumps({"worker": self.worker, "acquired_s": acquired_s, "renewed_s": now}).encode()

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leases")

    async def stop(self) -> None:
        """Release every partition (after its owner's last checkpoint)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for p in sorted(self.held):
            await self._release(p)
        if self._member_rev is not None:
            with contextlib.suppress(Exception):
                await self.kv.delete(member_key(self.worker), last=self._member_rev)

    async def _run(self) -> None:
        period = self.ttl_s / 4
        while True:
            started = self.clock()
            try:
                await self.step()
            except Exception as exc:  # NATS down: keep trying; leases lapse on their own
                log.warning("lease round failed: %s", exc)
            await asyncio.sleep(max(0.05, period - (self.clock() - started)))

    # --------------------------------------------------------------- rounds

    async def step(self) -> None:
        """One round: membership, renewals, releases above the fair share, acquisitions."""
        await self._heartbeat()
        for p in sorted(self.held):
            await self._renew(p)
        for p in [p for p in self.held if not self.valid(p)]:
            log.warning("partition %d: lease not renewed in time, stopping it", p)
            self.held.pop(p, None)
            await self.on_lost(p)
        share = self.fair_share()
        while len(self.held) > share:
            await self._release(max(self.held))  # hand the highest ones over
        if len(self.held) < share and not self._stopping:
            await self._acquire(share - len(self.held))
        self.last_scan_s = self.clock()

    async def _heartbeat(self) -> None:
        key = member_key(self.worker)
        value = json.dumps({"worker": self.worker, "at_s": self.clock()}).encode()
        try:
            if self._member_rev is None:
                self._member_rev = await self.kv.create(key, value)
            else:
                self._member_rev = await self.kv.update(key, value, last=self._member_rev)
        except KeyWrongLastSequenceError:
            self._member_rev = await self.kv.put(key, value)
        keys = await self._keys()
        self.members = max(1, sum(1 for k in keys if k.startswith("w.")))

    async def _keys(self) -> list[str]:
        try:
            return await self.kv.keys()
        except (NotFoundError, KeyNotFoundError, NoKeysError):  # an empty bucket
            return []

    async def _renew(self, partition: int) -> None:
        h = self.held[partition]
        try:
            value = self._value(h.acquired_s)
            h.revision = await self.kv.update(lease_key(partition), value, last=h.revision)
            h.renewed_s = self.clock()
        except KeyWrongLastSequenceError:
            log.warning("partition %d: lease taken by another worker", partition)
            self.held.pop(partition, None)
            await self.on_lost(partition)

    async def _acquire(self, wanted: int) -> None:
        taken = set(await self._keys())
        for i in range(self.partitions):
            if wanted <= 0:
                return
            p = (self._offset + i) % self.partitions
            if p in self.held or lease_key(p) in taken:
                continue
            now = self.clock()
            try:
                rev = await self.kv.create(lease_key(p), self._value(now))
            except KeyWrongLastSequenceError:
                continue  # another worker was faster
            self.held[p] = Held(rev, now, now)
            log.info("partition %d: acquired", p)
            wanted -= 1
            try:
                await self.on_acquired(p)
            except Exception:
                log.exception("partition %d: failed to start, releasing it", p)
                await self._release(p)

    async def _release(self, partition: int) -> None:
        h = self.held.get(partition)
        if h is None:
            return
        try:
            await self.on_release(partition)  # stops the partition, last checkpoint
        finally:
            self.held.pop(partition, None)
            with contextlib.suppress(Exception):
                await self.kv.delete(lease_key(partition), last=h.revision)
            log.info("partition %d: released", partition)
