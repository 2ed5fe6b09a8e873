"""The small typed interface every protocol decoder implements.

A stream protocol offers a splitter (bytes in, complete frames and leftover
out) and a per-connection session (one frame in, canonical records, the exact
reply bytes and the identified device out). Decoders are pure: no I/O, no
clock; the gateway passes `received_s` and sends `reply` only after the
records are durably stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from ronda.errors import InvalidFrame
from ronda.tracking.records import Record

KNOTS_TO_MPS = 0.514444
"""One international knot in metres per second."""

KMH_TO_MPS = 1.0 / 3.6

HDOP_TO_M = 5.0
"""Accuracy estimate in metres per unit of HDOP (a typical consumer GNSS UERE
of about 5 m). Used only when a device reports HDOP and no accuracy."""


@dataclass(slots=True)
class Decoded:
    """What one frame yields: records, the reply the protocol expects, the device."""

    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    device: str | None = None


class Splitter(Protocol):
    def __call__(self, buffer: bytes) -> tuple[list[bytes], bytes]: ...


class Session(Protocol):
    """Per-connection decoder state (login, IMEI, time zone)."""

    device: str | None

    def decode(self, frame: bytes, received_s: float) -> Decoded: ...


def utc_epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
    """Epoch seconds of a UTC calendar instant; InvalidFrame if it does not exist."""
    try:
        value = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as exc:
        raise InvalidFrame(f"invalid date/time: {exc}", reason="bad_time") from exc
    return value.timestamp()


def utc_fields(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def battery_pct(value: float) -> float | None:
    """A battery percentage if it is one (0..100), else None."""
    return float(value) if 0 <= value <= 100 else None
