"""The regime: when inmates may be where, in the facility's local time.

A regime is a list of periods (lock-up, meals, yard, work, visits ...), each a
weekly local-time window (`ronda.rules.schedule.Schedule`, so a period ends
at its wall-clock time even on the night the clocks change) or a one-off
interval (a visit appointment, a court production). Each period names the
places allowed during it as tokens (`ronda.facility.places`); outside every
period an inmate belongs in his cell.

Movement between periods takes time: for `movement_grace_s` after a change the
old places stay allowed, for `movement_lead_s` before it the new ones are
already allowed, and while either applies corridors are allowed too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ronda.rules.schedule import Interval, Schedule
from ronda.types import EpochS

INF = float("inf")
CORRIDOR_TOKEN = "corridor"
DEFAULT_PLACES: tuple[str, ...] = ("own_cell",)


@dataclass(frozen=True, slots=True)
class Period:
    id: str
    activity: str  # lockup, meal, yard, work, visits, association, education ...
    allowed: tuple[str, ...]  # place tokens
    schedule: Schedule | None = None  # weekly local windows
    interval: Interval | None = None  # or a one-off appointment (absolute instants)
    count_at: tuple[str, ...] = ()  # where a headcount expects the inmate (default: `allowed`)
    name: str = ""

    def active_at(self, t_s: EpochS) -> bool:
        if self.interval is not None:
            return self.interval.start_s <= t_s < self.interval.end_s
        if self.schedule is not None:
            return self.schedule.active_at(t_s)
        return True

    def next_change(self, t_s: EpochS) -> EpochS:
        """The next instant after `t_s` at which `active_at` may change."""
        if self.interval is not None:
            edges = [e for e in (self.interval.start_s, self.interval.end_s) if e > t_s]
            return min(edges, default=INF)
        if self.schedule is not None:
            return self.schedule.state_at(t_s)[1]
        return INF


@dataclass(frozen=True, slots=True)
class Regime:
    id: str
    name: str
    periods: tuple[Period, ...] = ()


@dataclass(frozen=True, slots=True)
class Situation:
    """What the regime says of one inmate at one instant."""

    activity: str  # the activity in force ("lockup" when no period is)
    allowed: frozenset[str]  # place tokens, movement allowance included
    count_at: frozenset[str]  # where a headcount expects him (no movement allowance)
    moving: bool  # inside a movement allowance


def _at(periods: tuple[Period, ...], t_s: EpochS) -> tuple[str, frozenset[str], frozenset[str]]:
    active = [p for p in periods if p.active_at(t_s)]
    if not active:
        return "lockup", frozenset(DEFAULT_PLACES), frozenset(DEFAULT_PLACES)
    allowed = frozenset(tok for p in active for tok in p.allowed)
    # a personal period (listed last) says where he is expected, over the wing's
    last = active[-1]
    count = frozenset(last.count_at or last.allowed)
    return last.activity, allowed, count


def situation(periods: tuple[Period, ...], t_s: EpochS, grace_s: float, lead_s: float) -> Situation:
    activity, now, count = _at(periods, t_s)
    _, before, _ = _at(periods, t_s - grace_s)
    _, after, _ = _at(periods, t_s + lead_s)
    moving = before != now or after != now
    allowed = now | before | after
    if moving:
        allowed = allowed | {CORRIDOR_TOKEN}
    return Situation(activity, allowed, count, moving)


def next_change(periods: tuple[Period, ...], t_s: EpochS, grace_s: float, lead_s: float) -> EpochS:
    """The next instant after `t_s` at which `situation` may change."""
    out = INF
    for p in periods:
        out = min(
            out,
            p.next_change(t_s),
            p.next_change(t_s - grace_s) + grace_s,
            p.next_change(t_s + lead_s) - lead_s,
        )
    return out
