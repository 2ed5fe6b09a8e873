"""Weekly local-time schedules with absolute exceptions.

A window such as 22:00-06:00 is resolved on its own dates in the order's time
zone: the start on the evening it begins, the end on the next morning, each
with the UTC offset in force then. So a curfew ends at 06:00 local time even
on the night the clocks change. A wall-clock time that does not exist (the
hour skipped in spring) resolves with the offset before the change, i.e. the
same instant as one hour later; an ambiguous one (autumn) to its first
occurrence.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ronda.types import EpochS

DAY_NAMES: tuple[str, ...] = ("mo", "tu", "we", "th", "fr", "sa", "su")
_CHUNK_DAYS = 7
_SHARED: dict[tuple[object, ...], tuple[list[float], list[bool]]] = {}


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    start: dt.time
    end: dt.time  # at or before start: ends on the next day

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class Interval:
    start_s: EpochS
    end_s: EpochS


@dataclass(slots=True)
class Schedule:
    """When a rule is active. No weekly windows means always (except exceptions)."""

    timezone: ZoneInfo
    weekly: tuple[WeeklyWindow, ...] | None = None
    exceptions: tuple[Interval, ...] = ()
    _chunks: dict[int, tuple[list[float], list[bool]]] = field(default_factory=dict, repr=False)

    def active_at(self, time_s: EpochS) -> bool:
        return self.state_at(time_s)[0]

    def state_at(self, time_s: EpochS) -> tuple[bool, EpochS]:
        """Whether active at `time_s`, and the instant at which that next changes
        (at most a few days ahead; callers re-ask then)."""
        starts, states = self._chunk(time_s)
        i = bisect.bisect_right(starts, time_s) - 1
        until = starts[i + 1] if i + 1 < len(starts) else float("inf")
        return states[i], until

    def _chunk(self, time_s: EpochS) -> tuple[list[float], list[bool]]:
        key = int(time_s // (_CHUNK_DAYS * 86400))
        cached = self._chunks.get(key)
        if cached is None:
            if len(self._chunks) > 64:
                self._chunks.clear()
            # Many orders share a schedule (the same curfew hours): build each once.
            shared_key = (self.timezone.key, self.weekly, self.exceptions, key)
            cached = _SHARED.get(shared_key)
            if cached is None:
                cached = self._build(key * _CHUNK_DAYS * 86400.0, (key + 1) * _CHUNK_DAYS * 86400.0)
                if len(_SHARED) > 10_000:
                    _SHARED.clear()
                _SHARED[shared_key] = cached
            self._chunks[key] = cached
        return cached

    def _build(self, lo_s: float, hi_s: float) -> tuple[list[float], list[bool]]:
        """Breakpoints covering [lo_s, hi_s): starts[i] begins a stretch of states[i]."""
        active = self._weekly_intervals(lo_s, hi_s)
        cuts = {lo_s}
        for iv in (*active, *self.exceptions):
            for edge in (iv.start_s, iv.end_s):
                if lo_s < edge < hi_s:
                    cuts.add(edge)
        starts: list[float] = []
        states: list[bool] = []
        for a in sorted(cuts):
            on = any(iv.start_s <= a < iv.end_s for iv in active) and not any(
                ex.start_s <= a < ex.end_s for ex in self.exceptions
            )
            if not states or on != states[-1]:  # merge equal neighbours
                starts.append(a)
                states.append(on)
        # The chunk's end is a re-ask point, so `until` never looks past it.
        starts.append(hi_s)
        states.append(states[-1])
        return starts, states

    def _weekly_intervals(self, lo_s: float, hi_s: float) -> list[Interval]:
        if self.weekly is None:
            return [Interval(float("-inf"), float("inf"))]
        tz = self.timezone
        first = dt.datetime.fromtimestamp(lo_s, tz).date() - dt.timedelta(days=2)
        last = dt.datetime.fromtimestamp(hi_s, tz).date() + dt.timedelta(days=1)
        out: list[Interval] = []
        day = first
        while day <= last:
            for w in self.weekly:
                if day.weekday() not in w.days:
                    continue
                end_day = day + dt.timedelta(days=1) if w.overnight else day
                a = dt.datetime.combine(day, w.start, tz).timestamp()
                b = dt.datetime.combine(end_day, w.end, tz).timestamp()
                if b > lo_s and a < hi_s:
                    out.append(Interval(a, b))
            day += dt.timedelta(days=1)
        return out


def parse_clock(text: str) -> dt.time:
    """'HH:MM' (24 h) to a time; raises ValueError on anything else."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"expected HH:MM, got {text!r}")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return dt.time(0, 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"no such time of day: {text!r}")
    return dt.time(h, m)


def parse_days(names: list[str]) -> frozenset[int]:
    days = set()
    for name in names:
        key = name.strip().lower()[:2]
        if key not in DAY_NAMES:
            raise ValueError(f"unknown day {name!r} (use mo, tu, we, th, fr, sa, su)")
        days.add(DAY_NAMES.index(key))
    return frozenset(days)
