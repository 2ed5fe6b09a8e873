"""Orders and their rules, and the device-health policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ronda.rules.schedule import Schedule
from ronda.types import OrderId, PersonId, RuleId, ZoneId


class RuleType(StrEnum):
    EXCLUSION = "exclusion"
    INCLUSION = "inclusion"
    PROXIMITY = "proximity"


class HealthType(StrEnum):
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    COMMS_LOSS = "comms_loss"
    NO_FIX = "no_fix"


@dataclass(frozen=True, slots=True)
class Rule:
    id: RuleId
    type: RuleType
    schedule: Schedule | None = None  # None: always active
    zone: ZoneId | None = None  # exclusion, inclusion
    protected_person: PersonId | None = None  # proximity
    distance_m: float | None = None  # proximity


@dataclass(frozen=True, slots=True)
class Order:
    id: OrderId
    person: PersonId
    rules: tuple[Rule, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    low_battery_pct: float = 15.0
    no_fix_timeout_s: float = 900.0
    tamper: bool = True
