"""Named identifiers and units shared by every domain.

Inside the engine, instants are float seconds since the Unix epoch (UTC):
the hot path handles millions of them and a float compares and subtracts
without allocation. Names carry the unit (`time_s`, `accuracy_m`). Aware
datetimes appear at the edges (files, API, UI) through `to_datetime` and
`from_iso`.
"""

from __future__ import annotations

import datetime as dt
from typing import NewType

DeviceId = NewType("DeviceId", str)
PersonId = NewType("PersonId", str)
ZoneId = NewType("ZoneId", str)
RuleId = NewType("RuleId", str)
OrderId = NewType("OrderId", str)

EpochS = float
"""Seconds since 1970-01-01T00:00:00Z."""


def from_iso(text: str) -> EpochS:
    """Parse an ISO 8601 instant ('Z' or an offset is required) to epoch seconds."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"instant without a time zone: {text!r}")
    return value.timestamp()


def to_datetime(epoch_s: EpochS) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def to_iso(epoch_s: EpochS) -> str:
    """Format epoch seconds as ISO 8601 UTC with a 'Z', to the second when whole."""
    value = to_datetime(epoch_s)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")
