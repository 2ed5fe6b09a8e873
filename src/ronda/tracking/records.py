"""Record: one canonical thing a device said.

Every protocol decodes into these; nothing downstream knows which protocol a
record came from. A GPS fix, a device event (strap tamper, home unit's
tag present/absent, SOS) and a prison reader's sighting ("wristband W seen by
reader R in zone Z") sit side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ronda.types import DeviceId, EpochS, ZoneId


class EventKind(StrEnum):
    STRAP_TAMPER = "strap_tamper"
    STRAP_RESTORED = "strap_restored"
    TAG_PRESENT = "tag_present"
    TAG_ABSENT = "tag_absent"
    HEARTBEAT = "heartbeat"
    SOS = "sos"
    LOW_BATTERY = "low_battery"
    POWER_CUT = "power_cut"
    POWER_RESTORED = "power_restored"
    DURESS = "duress"


@dataclass(frozen=True, slots=True)
class Position:
    """A position report. `valid` False means the device reported without a fix
    (then lat/lon/accuracy are None but battery may still be known)."""

    device: DeviceId
    time_s: EpochS
    received_s: EpochS
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    battery_pct: float | None = None
    valid: bool = True
    course_deg: float | None = None
    altitude_m: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    device: DeviceId
    time_s: EpochS
    received_s: EpochS
    kind: EventKind
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    """A reader saw a wristband or badge (prison): `device` is the band."""

    device: DeviceId
    time_s: EpochS
    received_s: EpochS
    reader: str
    zone: ZoneId | None = None
    rssi_dbm: float | None = None


Record = Position | DeviceEvent | Sighting
