"""The engine's state: small, per device and per rule, and serialisable."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ronda.engine.episodes import Episode
from ronda.tracking.records import Position

NEG_INF = float("-inf")
RECENT_TIMES = 64


@dataclass(slots=True)
class Fix:
    """An accepted fix in metric coordinates."""

    time_s: float
    x: float
    y: float
    accuracy_m: float
    speed_mps: float


@dataclass(slots=True)
class DeviceState:
    last_received_s: float = NEG_INF
    last_arrival_s: float = NEG_INF  # processing clock at the last upload (reordering)
    last_time_s: float = NEG_INF  # event time of the last processed position
    # event times of the last few processed positions, to tell a retransmission
    # (a duplicate) from a record that merely arrived too late (stale)
    recent_times: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_TIMES))
    pending: list[Position] = field(default_factory=list)
    last_fix: Fix | None = None
    rejected: list[Fix] = field(default_factory=list)  # consecutive implausible fixes
    last_valid_s: float | None = None
    nofix_since_s: float | None = None  # since when the no-fix clock runs
    # home unit: presence of the tag as last reported, and before that report
    present: bool | None = None
    present_since_s: float = NEG_INF
    present_before: bool | None = None
    tamper_event_s: float = NEG_INF
    health: dict[str, Episode] = field(default_factory=dict)  # open health episodes by type

    def presence_at(self, time_s: float) -> bool | None:
        return self.present if time_s >= self.present_since_s else self.present_before


@dataclass(slots=True)
class RuleState:
    """Hysteresis of one rule: runs of violating and compliant evidence."""

    viol_run: int = 0
    viol_first_s: float = 0.0
    strong_run: int = 0  # violating fixes of the run that lie well beyond their uncertainty
    comp_run: int = 0
    comp_first_s: float = 0.0
    floor_s: float = NEG_INF  # evidence older than this is history already decided
    active_until_s: float = NEG_INF  # the schedule is known active until then
    episode: Episode | None = None
