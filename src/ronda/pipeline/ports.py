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

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ronda.tracking.records import Record

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    stored: int  # new records made durable
    duplicates: int  # records already held (a resend)
    unknown_device: int = 0  # records of devices not in the inventory (refused, counted)


class RecordSink(Protocol):
    async def accept(self, records: Sequence[Record]) -> Accepted:
        """Make the records durable; return only when they are."""
        ...


# ------------------------------------------------------------------ effects


@dataclass(frozen=True, slots=True)
class EffectEvent:
    """One stored effect of the engine, as listeners see it: an episode opened
    or closed, with the alert the monitoring centre works on.

    Listeners are called after the transaction that stored the effect has
    committed, and again for the same effect when it is replayed after a
    restart (``new`` is then False): they must be idempotent (an outbox row
    keyed on the episode and what it is about, a command keyed on the
    episode), so that a crash between the commit and the listener loses
    nothing and repeats nothing."""

    kind: str  # "opened" | "closed"
    episode_id: int
    alert_id: int
    type: str  # episode type: proximity, exclusion, curfew/inclusion, tamper, ...
    person: str | None
    rule: str | None
    device: str | None
    start_s: float
    raised_s: float
    end_s: float | None
    severity: str
    new: bool  # the alert was created by this very store (False: an update or a replay)


class EffectListener(Protocol):
    """Told of the engine's effects once they are committed.

    Called from the thread that committed them (the engine's worker thread in
    embedded mode, the worker's loop in distributed mode), in order, one call
    per batch; it should be quick (write a row, queue a command) and leave
    slow work (sending mail) to its own worker. An exception is logged and
    isolated: it never stops the engine, other listeners or other batches."""

    def on_effects(self, events: Sequence[EffectEvent]) -> None: ...


def dispatch_effects(listeners: Sequence[EffectListener], events: Sequence[EffectEvent]) -> int:
    """Hand ``events`` to every listener, isolating failures; returns how many failed."""
    if not events:
        return 0
    failed = 0
    for listener in listeners:
        try:
            listener.on_effects(events)
        except Exception:  # a failing listener is logged; the others still run
            failed += 1
            _log.exception("effect listener %r failed on %d events", listener, len(events))
    return failed
