"""People under an order, protected persons, and the devices they carry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ronda.types import DeviceId, PersonId, ZoneId


class PersonRole(StrEnum):
    MONITORED = "monitored"
    PROTECTED = "protected"


class DeviceKind(StrEnum):
    GPS_TAG = "gps_tag"
    HOME_UNIT = "home_unit"
    PHONE = "phone"
    WRISTBAND = "wristband"


@dataclass(frozen=True, slots=True)
class Person:
    id: PersonId
    role: PersonRole
    name: str = ""


@dataclass(frozen=True, slots=True)
class Device:
    id: DeviceId
    kind: DeviceKind
    person: PersonId | None
    report_interval_s: float | None = None
    comms_timeout_s: float | None = None
    home_zone: ZoneId | None = None  # a home unit's zone: where its "tag present" places the wearer
