"""Everything the engine must know about who is monitored and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ronda.cases.models import Device, Person
from ronda.rules.models import HealthPolicy, Order
from ronda.types import DeviceId, PersonId, ZoneId
from ronda.zones.models import Zone


@dataclass(frozen=True)
class Caseload:
    timezone: ZoneInfo
    zones: dict[ZoneId, Zone]
    persons: dict[PersonId, Person]
    devices: dict[DeviceId, Device]
    orders: tuple[Order, ...]
    policy: HealthPolicy = field(default_factory=HealthPolicy)
    name: str = ""
