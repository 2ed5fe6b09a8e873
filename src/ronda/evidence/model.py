"""What a court report is drawn from: a case file for one person and period,
gathered by an adapter from the store. Plain values, no database rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ronda.rules.schedule import Schedule
from ronda.types import EpochS
from ronda.zones.models import Zone


@dataclass(frozen=True, slots=True)
class Fix:
    """A stored position report (`valid` False: reported without a fix)."""

    device: str
    time_s: EpochS
    received_s: EpochS
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    speed_mps: float | None = None
    battery_pct: float | None = None
    valid: bool = True

    @property
    def located(self) -> bool:
        return self.valid and self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Event:
    device: str
    time_s: EpochS
    received_s: EpochS
    kind: str
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Action:
    alert_id: int
    action: str
    actor: str
    from_status: str
    to_status: str
    text: str
    at_s: EpochS


@dataclass(frozen=True, slots=True)
class EpisodeFact:
    """An episode with its alert (the monitoring centre's handling of it)."""

    id: int
    type: str
    person: str | None
    rule: str | None
    device: str | None
    start_s: EpochS
    raised_s: EpochS
    end_s: EpochS | None
    alert_id: int
    status: str
    severity: str
    owner: str | None
    outcome: str | None
    actions: tuple[Action, ...] = ()

    @property
    def is_violation(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True, slots=True)
class WornDevice:
    id: str
    kind: str
    serial: str
    start_s: EpochS
    end_s: EpochS | None
    report_interval_s: float | None = None
    comms_timeout_s: float | None = None
    home_zone: str | None = None


@dataclass(frozen=True, slots=True)
class OrderFact:
    id: str
    version: int
    versions: int
    timezone: str
    rules: tuple[dict[str, Any], ...]  # the rule JSON of the scenario format / API
    recorded_s: EpochS
    recorded_by: str


@dataclass
class CaseFile:
    """Everything about one person over [start_s, end_s) that a report shows."""

    person_id: str
    person_name: str
    start_s: EpochS
    end_s: EpochS
    timezone: ZoneInfo
    order: OrderFact | None
    zones: dict[str, Zone]
    devices: list[WornDevice]
    fixes: list[Fix]  # the person's own devices, by time
    events: list[Event]
    episodes: list[EpisodeFact]
    protected_fixes: dict[str, list[Fix]] = field(default_factory=dict)  # protected person -> fixes
    person_names: dict[str, str] = field(default_factory=dict)  # other persons named by rules
    no_fix_timeout_s: float = 900.0
    schedules: dict[str, Schedule] = field(default_factory=dict)  # rule id -> schedule (absent: always)

    def rule(self, rule_id: str | None) -> dict[str, Any] | None:
        if self.order is None or rule_id is None:
            return None
        return next((r for r in self.order.rules if r.get("id") == rule_id), None)
