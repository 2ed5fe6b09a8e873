"""Run a simulated prison day through the facility monitor, taking headcounts
at chosen instants; what the tests check against the day's truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ronda.engine.episodes import EpisodeOpened
from ronda.facility.episodes import FacilityEpisode, HeadcountDue
from ronda.facility.headcount import Headcount, take_headcount
from ronda.facility.monitor import FacilityMonitor
from ronda.simulator.prison import PrisonConfig, PrisonDay, simulate_day

CLEAR_S = 30.0  # a meeting or out-of-bounds stay at least this long must be alerted


@dataclass
class DayRun:
    day: PrisonDay
    monitor: FacilityMonitor
    episodes: list[FacilityEpisode] = field(default_factory=list)
    counts: dict[float, Headcount] = field(default_factory=dict)  # asked for
    scheduled: dict[float, Headcount] = field(default_factory=dict)  # fallen due

    def of_type(self, kind: str) -> list[FacilityEpisode]:
        return [e for e in self.episodes if e.type == kind]


def local(day: PrisonDay, hh: int, mm: int, ss: int = 0) -> float:
    tz = ZoneInfo(day.config.timezone)
    return dt.datetime.combine(day.config.date, dt.time(hh, mm, ss), tz).timestamp()


def movement_instant(day: PrisonDay, hh: int, mm: int) -> float:
    """An instant in the few minutes after a regime change at hh:mm local when
    some inmates are in the corridor and nobody changes zone within 8 s (so the
    truth at that instant is not a matter of which side of a tick it fell)."""
    t0 = local(day, hh, mm)
    for offset in range(60, 480, 3):
        t = t0 + offset
        in_corridor = [p for p in day.facility.inmates if day.zone_at(p, t) == "corridor"]
        if in_corridor and not day.transition_near(t, 8.0):
            return t
    raise AssertionError("no quiet instant with inmates in the corridor")


def run_day(cfg: PrisonConfig, count_at: list[float] | None = None, day: PrisonDay | None = None) -> DayRun:
    day = day or simulate_day(cfg)
    m = FacilityMonitor(day.facility)
    run = DayRun(day, m)
    pending = sorted(count_at or [])

    def effects(effs: list[object]) -> None:
        for e in effs:
            if isinstance(e, EpisodeOpened):
                assert isinstance(e.episode, FacilityEpisode)
                run.episodes.append(e.episode)
            elif isinstance(e, HeadcountDue):
                run.scheduled[e.at_s] = take_headcount(m, e.at_s)

    for rec in day.records():
        while pending and pending[0] < rec.time_s:
            t = pending.pop(0)
            effects(list(m.advance(t)))
            run.counts[t] = take_headcount(m, t)
        effects(list(m.advance(rec.time_s)))
        effects(list(m.feed(rec)))
    effects(list(m.advance(day.end_s)))
    return run
