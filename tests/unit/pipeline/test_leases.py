"""Partition leases on a key-value bucket that expires keys, with a fake clock.

The fake bucket keeps JetStream's rules that the leases rely on: `create`
only for an absent key, `update`/`delete` only at the key's last revision,
and every key gone `ttl` after its last write (by the bucket's clock, which
is when the write reached it, not when it was sent)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from nats.js.errors import KeyWrongLastSequenceError, NoKeysError

from ronda.config import DistributedSettings, Settings
from ronda.errors import InvalidInput
from ronda.pipeline.leases import Leases, lease_key

TTL_S = 4.0


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


class FakeBucket:
    def __init__(self, clock: Clock, ttl_s: float = TTL_S) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self.seq = 0
        self.entries: dict[str, tuple[int, bytes, float]] = {}  # key -> revision, value, written
        self.before_write: Callable[[], Awaitable[None]] | None = None  # a slow network

    def _live(self, key: str) -> int:
        entry = self.entries.get(key)
        if entry is None or self.clock() - entry[2] >= self.ttl_s:
            self.entries.pop(key, None)
            return 0
        return entry[0]

    async def _write(self, key: str, value: bytes, last: int | None) -> int:
        if self.before_write is not None:
            await self.before_write()
        if last is not None and self._live(key) != last:
            raise KeyWrongLastSequenceError(f"wrong last sequence: {self._live(key)}")
        self.seq += 1
        self.entries[key] = (self.seq, value, self.clock())
        return self.seq

    async def create(self, key: str, value: bytes) -> int:
        return await self._write(key, value, 0)

    async def update(self, key: str, value: bytes, last: int) -> int:
        return await self._write(key, value, last)

    async def put(self, key: str, value: bytes) -> int:
        return await self._write(key, value, None)

    async def delete(self, key: str, last: int | None = None) -> None:
        if last is not None and self._live(key) != last:
            raise KeyWrongLastSequenceError("wrong last sequence")
        self.entries.pop(key, None)

    async def keys(self) -> list[str]:
        live = [k for k in list(self.entries) if self._live(k)]
        if not live:
            raise NoKeysError()
        return live


class Owner:
    """What the worker does on lease events, recorded."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    async def acquired(self, p: int) -> None:
        self.events.append(("acquired", p))

    async def lost(self, p: int) -> None:
        self.events.append(("lost", p))

    async def release(self, p: int) -> None:
        self.events.append(("release", p))


def leases(bucket: FakeBucket, clock: Clock, worker: str = "w1", partitions: int = 2) -> tuple[Leases, Owner]:
    owner = Owner()
    lz = Leases(
        bucket,  # type: ignore[arg-type]
        worker, partitions, TTL_S, owner.acquired, owner.lost, owner.release, clock=clock,
    )  # fmt: skip
    return lz, owner


@pytest.mark.asyncio
async def test_a_late_renewal_pauses_the_partition_and_a_successful_one_resumes_it() -> None:
    clock = Clock()
    bucket = FakeBucket(clock)
    lz, owner = leases(bucket, clock)
    await lz.step()
    assert sorted(lz.held) == [0, 1] and lz.valid(0)
    # the event loop was busy for 3.5 s: past the trust window, not the ttl
    clock.now_s += 3.5
    assert not lz.valid(0), "no acting for a partition on a lease that may be about to expire"
    await lz.renew_round()
    assert lz.valid(0) and lz.valid(1)
    assert ("lost", 0) not in owner.events, "a lease renewed in time is kept, its partition goes on"


@pytest.mark.asyncio
async def test_a_lease_that_expired_and_was_taken_is_lost() -> None:
    clock = Clock()
    bucket = FakeBucket(clock)
    lz, owner = leases(bucket, clock, partitions=1)
    await lz.step()
    clock.now_s += TTL_S + 0.5  # starved past the ttl: the key expired
    other, _ = leases(bucket, clock, worker="w2", partitions=1)
    await other.scan_round()
    assert 0 in other.held
    await lz.renew_round()
    assert 0 not in lz.held and ("lost", 0) in owner.events
    assert not lz.valid(0)


@pytest.mark.asyncio
async def test_a_lease_is_trusted_from_when_its_renewal_was_sent_not_answered() -> None:
    clock = Clock()
    bucket = FakeBucket(clock)
    lz, _ = leases(bucket, clock, partitions=1)
    await lz.step()
    sent_s = clock.now_s + 1.0
    clock.now_s = sent_s

    async def slow() -> None:  # the reply is read 2 s after the bucket wrote the key
        clock.now_s += 2.0

    bucket.before_write = slow
    await lz.renew_round()
    bucket.before_write = None
    clock.now_s = sent_s + TTL_S * 0.75 + 0.01
    assert not lz.valid(0), "trusting from the reply would outlive what the bucket promises"


@pytest.mark.asyncio
async def test_the_membership_key_is_renewed_with_the_leases() -> None:
    clock = Clock()
    bucket = FakeBucket(clock)
    a, _ = leases(bucket, clock, "w1", partitions=4)
    b, _ = leases(bucket, clock, "w2", partitions=4)
    await a.step()
    await b.step()
    await a.scan_round()
    assert a.members == 2 and b.members == 2
    for _ in range(6):  # only renewals for 6 s: nobody's membership or lease expires
        clock.now_s += 1.0
        await a.renew_round()
        await b.renew_round()
    await a.scan_round()
    await b.scan_round()
    assert a.members == 2 and b.members == 2
    assert len(a.held) == 2 and len(b.held) == 2


@pytest.mark.asyncio
async def test_a_release_deletes_the_key_after_a_renewal_in_flight() -> None:
    clock = Clock()
    bucket = FakeBucket(clock)
    lz, owner = leases(bucket, clock, partitions=1)
    await lz.step()
    gate = asyncio.Event()

    async def held_up() -> None:
        await gate.wait()

    bucket.before_write = held_up
    renewal = asyncio.create_task(lz.renew_round())
    await asyncio.sleep(0)
    release = asyncio.create_task(lz._release(0))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(renewal, release)
    assert lease_key(0) not in bucket.entries, "the key is free at once for the next owner"
    assert ("release", 0) in owner.events and 0 not in lz.held


def test_the_renewal_interval_must_leave_a_second_chance() -> None:
    assert DistributedSettings().lease_renew_every_s == 1.0
    assert DistributedSettings(lease_ttl_s=10.0).lease_renew_every_s == 2.5
    s = Settings.from_env({"RONDA_LEASE_TTL_S": "6", "RONDA_LEASE_RENEW_S": "0.5"})
    assert s.distributed.lease_renew_every_s == 0.5
    assert Settings.from_env({"RONDA_LEASE_RENEW_S": "auto"}).distributed.lease_renew_s is None
    with pytest.raises(InvalidInput, match="RONDA_LEASE_RENEW_S"):
        Settings.from_env({"RONDA_LEASE_TTL_S": "4", "RONDA_LEASE_RENEW_S": "2"})
    with pytest.raises(ValueError):
        Leases(None, "w", 1, 4.0, Owner().acquired, Owner().lost, Owner().release, renew_s=2.0)  # type: ignore[arg-type]
