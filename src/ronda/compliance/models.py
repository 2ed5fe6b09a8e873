"""Compliance and reintegration: what counts as a violation, the step-down
policy (a clean record that earns lighter supervision), officers' decisions,
and the facts behind programme figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ronda.errors import InvalidInput
from ronda.types import to_iso

CONFIRMED = "violation_confirmed"
DAY_S = 86400.0


class Standing(StrEnum):
    CONFIRMED = "confirmed"  # resolved as a violation: it counts
    PENDING = "pending"  # not resolved yet: it may count, so it blocks a step-down
    DISMISSED = "dismissed"  # resolved as something else (false alarm, technical, authorised)


class Trend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"
    NOT_ENOUGH_HISTORY = "not_enough_history"


class DecisionKind(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ViolationRecord:
    """One order-violation episode of the person (exclusion, inclusion,
    proximity, tamper) and what its alert was resolved as."""

    type: str
    start_s: float
    end_s: float | None
    outcome: str | None
    status: str = "resolved"

    @property
    def standing(self) -> Standing:
        if self.outcome == CONFIRMED:
            return Standing.CONFIRMED
        if self.status != "resolved" or self.outcome is None:
            return Standing.PENDING
        return Standing.DISMISSED


@dataclass(frozen=True)
class Step:
    """A step-down: after `clean_days` without a confirmed violation (and
    with none pending), suggest `suggestion`. `after`: a step that must have
    been accepted first; the record for this one counts from that acceptance."""

    id: str
    clean_days: int
    suggestion: str
    after: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "clean_days": self.clean_days,
            "suggestion": self.suggestion,
            "after": self.after,
        }


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    trend_window_days: int = 30

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise InvalidInput("step ids must be unique", field="steps")
        for i, s in enumerate(self.steps):
            if not s.id or len(s.id) > 64:
                raise InvalidInput("a step needs an id of 1 to 64 characters", field=f"steps[{i}].id")
            if not 1 <= s.clean_days <= 3650:
                raise InvalidInput("clean_days must be between 1 and 3650", field=f"steps[{i}].clean_days")
            if not s.suggestion.strip() or len(s.suggestion) > 500:
                raise InvalidInput("a suggestion needs 1 to 500 characters", field=f"steps[{i}].suggestion")
            if s.after is not None and s.after not in ids[:i]:
                raise InvalidInput("`after` must name an earlier step", field=f"steps[{i}].after")
        if not 7 <= self.trend_window_days <= 365:
            raise InvalidInput("must be between 7 and 365", field="trend_window_days")

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise InvalidInput("no step-down {step} in the policy", field="step", step=repr(step_id))

    @classmethod
    def default(cls) -> Policy:
        return cls(
            (
                Step(
                    "shorter-curfew",
                    90,
                    "Shorten the curfew (for example 22:00-06:00 instead of 20:00-07:00)",
                ),
                Step(
                    "end-gps",
                    180,
                    "End GPS tracking; keep the home unit for the curfew",
                    after="shorter-curfew",
                ),
            )
        )

    def as_json(self) -> dict[str, Any]:
        return {"steps": [s.as_json() for s in self.steps], "trend_window_days": self.trend_window_days}

    @classmethod
    def from_json(cls, raw: Any) -> Policy:
        if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
            raise InvalidInput(
                "expected {expected}", field="steps", expected="{steps: [...], trend_window_days}"
            )
        steps = []
        for i, s in enumerate(raw["steps"]):
            if not isinstance(s, dict):
                raise InvalidInput("a step is an object", field=f"steps[{i}]")
            try:
                days = s["clean_days"]
                if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days):
                    raise InvalidInput("clean_days must be a whole number", field=f"steps[{i}].clean_days")
                after = s.get("after")
                steps.append(
                    Step(
                        str(s["id"]),
                        int(days),
                        str(s["suggestion"]),
                        None if after in (None, "") else str(after),
                    )
                )
            except KeyError as exc:
                raise InvalidInput("missing", field=f"steps[{i}].{exc.args[0]}") from exc
        window = raw.get("trend_window_days", 30)
        if isinstance(window, bool) or not isinstance(window, int):
            raise InvalidInput("must be a whole number of days", field="trend_window_days")
        return cls(tuple(steps), window)


@dataclass(frozen=True)
class Decision:
    step_id: str
    kind: DecisionKind
    officer: str
    reason: str
    at_s: float
    id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step": self.step_id,
            "decision": self.kind.value,
            "officer": self.officer,
            "reason": self.reason,
            "at": to_iso(self.at_s),
        }


@dataclass(frozen=True)
class Finding:
    """Where a person stands on one step-down."""

    step: Step
    status: str  # accepted / due / counting / blocked_pending / waiting_for_previous
    record_from_s: float | None  # the clean record counts from here
    days_counted: int
    pending: int  # unresolved violations since record_from_s
    decided: Decision | None = None  # the acceptance, once accepted

    @property
    def due(self) -> bool:
        return self.status == "due"

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step.as_json(),
            "status": self.status,
            "record_from": None if self.record_from_s is None else to_iso(self.record_from_s),
            "days_counted": self.days_counted,
            "days_needed": self.step.clean_days,
            "pending_violations": self.pending,
            "decision": None if self.decided is None else self.decided.as_json(),
        }


@dataclass(frozen=True)
class History:
    person: str
    as_of_s: float
    monitored_since_s: float | None
    days_monitored: int
    days_clean: int  # since the last confirmed violation ended (or since monitoring began)
    clean_since_s: float | None
    longest_clean_days: int
    confirmed_by_type: dict[str, int]
    pending_by_type: dict[str, int]
    dismissed: int
    recent: int  # confirmed in the last trend window
    previous: int  # confirmed in the window before it
    trend: Trend
    weekly: tuple[tuple[float, int], ...]  # (week start, confirmed violations), oldest first
    findings: tuple[Finding, ...]
    decisions: tuple[Decision, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "as_of": to_iso(self.as_of_s),
            "monitored_since": None if self.monitored_since_s is None else to_iso(self.monitored_since_s),
            "days_monitored": self.days_monitored,
            "days_clean": self.days_clean,
            "clean_since": None if self.clean_since_s is None else to_iso(self.clean_since_s),
            "longest_clean_days": self.longest_clean_days,
            "violations": {
                "confirmed": sum(self.confirmed_by_type.values()),
                "confirmed_by_type": self.confirmed_by_type,
                "pending_by_type": self.pending_by_type,
                "dismissed": self.dismissed,
            },
            "trend": {"direction": self.trend.value, "recent": self.recent, "previous": self.previous},
            "weekly": [{"week": to_iso(w), "violations": n} for w, n in self.weekly],
            "step_down": [f.as_json() for f in self.findings],
            "decisions": [d.as_json() for d in self.decisions],
        }


@dataclass(frozen=True)
class Handled:
    """One alert as the programme figures see it."""

    alert_id: int
    cause: str  # the episode type
    severity: str
    status: str
    outcome: str | None
    created_s: float
    acknowledged_s: float | None
    resolved_s: float | None


@dataclass(frozen=True)
class DeviceUse:
    device: str
    kind: str
    days_worn: float
    episodes: dict[str, int]  # device-health episodes by type
