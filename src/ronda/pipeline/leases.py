"""Partition leases on a JetStream key-value bucket: no consensus of our own.

Each partition has one key (``p<n>``) in a bucket whose entries expire
`lease_ttl_s` after their last write (the bucket's max age). A worker:

- **acquires** a free partition with `create` (succeeds only if the key is
  absent: never held, released, or expired);
- **renews** each of its leases every `renew_s` (ttl/4 by default) with
  `update(last=revision)`, which fails if the key changed since (expired, or
  someone else holds it now): the worker then stops that partition at once;
- **releases** a partition (graceful stop, or rebalancing to a newcomer) by
  deleting the key at its revision, after a last checkpoint;
- acts for a partition only while the lease is **trusted**: for 3/4 of the
  ttl after the last successful renewal was *sent* (JetStream restarts the
  key's ttl when it writes it, which is after we sent; so the key outlives
  our trust by at least a quarter of the ttl, whatever the reply's delay).

Renewals run in their own task, apart from the slower scan (membership
count, rebalancing, acquisitions: listing the bucket's keys costs a consumer
round trip), and all leases are renewed concurrently, so that a slow scan, a
slow reply or a busy event loop does not make a worker miss its renewals.
A lease whose trust lapses is not dropped: its partition pauses (the runner
waits, pipeline/worker.py) until a renewal succeeds, which proves nobody else
wrote the key meanwhile, or is refused, which stops the partition. With NATS
unreachable for a whole ttl the lease is given up (the key has expired).

A worker that dies stops renewing: JetStream expires its keys after the ttl
and the others `create` them on their next scan. Each worker also keeps a
membership key (``w.<id>``) alive, renewed with its leases, so that every
worker knows how many share the partitions and takes no more than its fair
share (ceil(partitions / workers)), releasing extras when a worker joins.

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
from dataclasses import dataclass, field

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

from ronda.config import LEASE_TRUST

log = logging.getLogger(__name__)

SAFETY = LEASE_TRUST
"""A lease is trusted for this share of the ttl after its last renewal was sent."""


def lease_key(partition: int) -> str:
    return f"p{partition}"


def member_key(worker: str) -> str:
    return "w." + "".join(c if c.isalnum() or c in "-_" else "_" for c in worker)


@dataclass
class Held:
    revision: int
    acquired_s: float
    renewed_s: float  # our clock when the last successful write was sent
    # one KV write of this key at a time: a release's delete must carry the
    # revision of the latest renewal, not race it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t


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
        renew_s: float | None = None,
    ) -> None:
        self.kv = kv
        self.worker = worker
        self.partitions = partitions
        self.ttl_s = ttl_s
        self.renew_s = renew_s if renew_s is not None else ttl_s / 4
        if self.renew_s * 2 > ttl_s * SAFETY:
            raise ValueError(f"lease renewal every {self.renew_s} s is too slow for a {ttl_s} s ttl")
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.on_release = on_release
        self.clock = clock
        self.held: dict[int, Held] = {}
        self.members = 1
        self._member_rev: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.last_scan_s = 0.0
        self.last_renewal_s = 0.0
        # start scanning at a worker-specific partition, so that workers
        # starting together do not all race for partition 0 first
        self._offset = zlib.crc32(worker.encode()) % max(partitions, 1)

    # --------------------------------------------------------------- state

    def valid(self, partition: int) -> bool:
        """Whether this worker may act for the partition right now."""
        h = self.held.get(partition)
        return h is not None and self.clock() - h.renewed_s < self.ttl_s * SAFETY

    def fair_share(self) -> int:
        return math.ceil(self.partitions / max(self.members, 1))

    def _value(self, acquired_s: float, now_s: float) -> bytes:
        return json.dumps({"worker": self.worker, "acquired_s": acquired_s, "renewed_s": now_s}).encode()

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.renew_s, self.renew_round), name="lease-renewals"),
            asyncio.create_task(self._every(self.renew_s, self.scan_round), name="lease-scan"),
        ]

    async def stop(self) -> None:
        """Release every partition (after its owner's last checkpoint)."""
        self._stopping = True
        # the scan first; renewals go on while the partitions take their last checkpoints
        renewals = [t for t in self._tasks if t.get_name() == "lease-renewals"]
        await _cancel([t for t in self._tasks if t not in renewals])
        for p in sorted(self.held):
            await self._release(p)
        await _cancel(renewals)
        if self._member_rev is not None:
            with contextlib.suppress(Exception):
                await self.kv.delete(member_key(self.worker), last=self._member_rev)

    async def _every(self, period_s: float, round_: Callable[[], Awaitable[None]]) -> None:
        while True:
            started = self.clock()
            try:
                await round_()
            except Exception as exc:  # NATS down: keep trying; leases lapse on their own
                log.warning("lease %s failed: %s", round_.__name__, exc)
            await asyncio.sleep(max(0.05, period_s - (self.clock() - started)))

    # --------------------------------------------------------------- rounds

    async def step(self) -> None:
        """One whole round (tests): renewals, then the scan."""
        await self.renew_round()
        await self.scan_round()

    async def renew_round(self) -> None:
        """Membership key and every lease, written concurrently."""
        held = sorted(self.held)
        results = await asyncio.gather(
            self._heartbeat(), *(self._renew(p) for p in held), return_exceptions=True
        )
        for outcome in results:
            if isinstance(outcome, Exception):
                log.warning("lease renewal failed: %s", outcome)
        self.last_renewal_s = self.clock()
        for p in held:
            h = self.held.get(p)
            if h is not None and self.clock() - h.renewed_s >= self.ttl_s:
                # not renewed for a whole ttl (NATS unreachable): the key has expired
                log.warning("partition %d: lease not renewed for %.1f s, giving it up", p, self.ttl_s)
                await self._lose(p)

    async def scan_round(self) -> None:
        """Membership count, releases above the fair share, acquisitions."""
        if self._member_rev is None:  # count ourselves from the start, not only after a renewal
            await self._heartbeat()
        # a listing is a consumer round trip: one that hangs is given up and retried
        keys = await asyncio.wait_for(self._keys(), timeout=self.ttl_s)
        members = {k for k in keys if k.startswith("w.")} | {member_key(self.worker)}
        if len(members) != self.members:
            log.info("%d workers share the partitions: fair share %d", len(members),
                     math.ceil(self.partitions / len(members)))  # fmt: skip
        self.members = len(members)
        share = self.fair_share()
        while len(self.held) > share:
            await self._release(max(self.held))  # hand the highest ones over
        if len(self.held) < share and not self._stopping:
            await self._acquire(share - len(self.held), set(keys))
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

    async def _keys(self) -> list[str]:
        try:
            return await self.kv.keys()
        except (NotFoundError, KeyNotFoundError, NoKeysError):  # an empty bucket
            return []

    async def _renew(self, partition: int) -> None:
        h = self.held.get(partition)
        if h is None:
            return
        async with h.lock:
            if self.held.get(partition) is not h:
                return  # released meanwhile
            sent_s = self.clock()
            try:
                h.revision = await self.kv.update(
                    lease_key(partition), self._value(h.acquired_s, sent_s), last=h.revision
                )
            except KeyWrongLastSequenceError:
                log.warning("partition %d: lease expired or taken by another worker", partition)
                refused = True
            else:
                h.renewed_s = sent_s
                refused = False
        if refused:
            await self._lose(partition)

    async def _lose(self, partition: int) -> None:
        if self.held.pop(partition, None) is not None:
            await self.on_lost(partition)

    async def _acquire(self, wanted: int, taken: set[str]) -> None:
        for i in range(self.partitions):
            if wanted <= 0:
                return
            p = (self._offset + i) % self.partitions
            if p in self.held or lease_key(p) in taken:
                continue
            now = self.clock()
            try:
                rev = await self.kv.create(lease_key(p), self._value(now, now))
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
            async with h.lock:  # after any renewal in flight: delete at the latest revision
                if self.held.get(partition) is h:
                    del self.held[partition]
                    with contextlib.suppress(Exception):
                        await self.kv.delete(lease_key(partition), last=h.revision)
                    log.info("partition %d: released", partition)
