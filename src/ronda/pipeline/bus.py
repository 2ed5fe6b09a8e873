"""In-process publish/subscribe for the live stream (positions and alerts).

Publishing never blocks ingest: a subscriber that does not keep up loses
its oldest messages (and is told how many)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ronda.tracking.records import Position, Record
from ronda.types import to_iso


@dataclass(frozen=True, slots=True)
class Message:
    topic: str  # "position" or "alert"
    data: dict[str, Any]


class Subscription:
    def __init__(self, bus: Bus, topics: frozenset[str], size: int) -> None:
        self._bus = bus
        self.topics = topics
        self.queue: asyncio.Queue[Message] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, msg: Message) -> None:
        if msg.topic not in self.topics:
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(msg)

    async def get(self) -> Message:
        return await self.queue.get()

    def close(self) -> None:
        self._bus.subscribers.discard(self)


class Bus:
    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(
        self, topics: frozenset[str] = frozenset({"position", "alert"}), size: int = 1000
    ) -> Subscription:
        sub = Subscription(self, topics, size)
        self.subscribers.add(sub)
        return sub

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Publish from the event loop's thread."""
        msg = Message(topic, data)
        for sub in list(self.subscribers):
            sub.offer(msg)

    def publish_threadsafe(self, topic: str, data: dict[str, Any]) -> None:
        """Publish from a worker thread (the engine's)."""
        if self._loop is not None and self.subscribers:
            self._loop.call_soon_threadsafe(self.publish, topic, data)


def publish_positions(bus: Bus, records: Iterable[Record]) -> None:
    """Each valid fix as a `position` event of the live stream (what the map draws)."""
    for rec in records:
        if isinstance(rec, Position) and rec.valid:
            bus.publish(
                "position",
                {
                    "device": rec.device,
                    "time": to_iso(rec.time_s),
                    "lat": rec.lat,
                    "lon": rec.lon,
                    "accuracy": rec.accuracy_m,
                },
            )
