"""Weekly local-time windows resolved to absolute intervals (the simulator's
own reading of FORMAT.md, independent of the engine's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")


@dataclass(frozen=True, slots=True)
class Window:
    days: tuple[str, ...]
    start: str  # HH:MM local
    end: str  # at or before start: the next day

    def to_json(self) -> dict[str, Any]:
        return {"days": list(self.days), "start": self.start, "end": self.end}


@dataclass
class ScheduleSpec:
    weekly: list[Window] | None = None
    exceptions: list[tuple[float, float]] = field(default_factory=list)

    def intervals(self, tz: ZoneInfo, lo_s: float, hi_s: float) -> list[tuple[float, float]]:
        """Active intervals clipped to [lo_s, hi_s), exceptions removed."""
        if self.weekly is None:
            base = [(lo_s, hi_s)]
        else:
            base = []
            day = dt.datetime.fromtimestamp(lo_s, tz).date() - dt.timedelta(days=1)
            last = dt.datetime.fromtimestamp(hi_s, tz).date()
            while day <= last:
                for w in self.weekly:
                    if DAYS[day.weekday()] not in w.days:
                        continue
                    t0, t1 = clock(w.start), clock(w.end)
                    end_day = day + dt.timedelta(days=1) if t1 <= t0 else day
                    a = dt.datetime.combine(day, t0, tz).timestamp()
                    b = dt.datetime.combine(end_day, t1, tz).timestamp()
                    if b > lo_s and a < hi_s:
                        base.append((max(a, lo_s), min(b, hi_s)))
                day += dt.timedelta(days=1)
        out: list[tuple[float, float]] = []
        for a, b in sorted(base):
            pieces = [(a, b)]
            for ea, eb in self.exceptions:
                nxt = []
                for pa, pb in pieces:
                    if eb <= pa or ea >= pb:
                        nxt.append((pa, pb))
                        continue
                    if pa < ea:
                        nxt.append((pa, ea))
                    if eb < pb:
                        nxt.append((eb, pb))
                pieces = nxt
            out.extend(pieces)
        return out

    def active(
        self, times: npt.NDArray[np.float64], tz: ZoneInfo, lo_s: float, hi_s: float
    ) -> npt.NDArray[np.bool_]:
        mask = np.zeros(len(times), bool)
        for a, b in self.intervals(tz, lo_s, hi_s):
            mask |= (times >= a) & (times < b)
        return mask


def clock(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h) % 24, int(m))
