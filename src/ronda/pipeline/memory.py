"""An in-process sink for tests and tools: durable only as long as the process."""

from __future__ import annotations

from collections.abc import Sequence

from ronda.pipeline.ports import Accepted
from ronda.tracking.records import DeviceEvent, Record


def record_key(rec: Record) -> tuple[str, float, str]:
    """Identity of a record for idempotence: device, event time and kind."""
    kind = rec.kind.value if isinstance(rec, DeviceEvent) else type(rec).__name__.lower()
    return (rec.device, rec.time_s, kind)


class MemorySink:
    def __init__(self, known_devices: set[str] | None = None) -> None:
        self.records: list[Record] = []
        self._seen: set[tuple[str, float, str]] = set()
        self.known_devices = known_devices

    async def accept(self, records: Sequence[Record]) -> Accepted:
        stored = dup = unknown = 0
        for rec in records:
            if self.known_devices is not None and rec.device not in self.known_devices:
                unknown += 1
                continue
            key = record_key(rec)
            if key in self._seen:
                dup += 1
                continue
            self._seen.add(key)
            self.records.append(rec)
            stored += 1
        return Accepted(stored, dup, unknown)
