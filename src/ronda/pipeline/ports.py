"""Where gateways hand records over: the durable hand-off.

A gateway (TCP, HTTP, MQTT) decodes a device's frame into records, calls
`RecordSink.accept(records)`, and sends the device its acknowledgement only
after `accept` has returned: by then the records are durable (committed to
the database in embedded mode, acknowledged by JetStream when distributed).
Accepting the same records twice stores nothing twice (idempotent on
device, event time and kind), so a device that resends what was not
acknowledged causes no duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ronda.tracking.records import Record


@dataclass(frozen=True, slots=True)
class Accepted:
    stored: int  # new records made durable
    duplicates: int  # records already held (a resend)
    unknown_device: int = 0  # records of devices not in the inventory (refused, counted)


class RecordSink(Protocol):
    async def accept(self, records: Sequence[Record]) -> Accepted:
        """Make the records durable; return only when they are."""
        ...
