"""Who is monitored, under which orders, and how each of them spends the days.

Most persons keep to their orders. On some days one breaks one on purpose:
a visit to a restricted area, coming home late or going out at night during
curfew, a trip out of the city, approaching the protected person or their
home. Some lawful days come close (a place just outside a restricted area, a
night out covered by an approved absence).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ronda.simulator.city import CityMap, Place, ZoneSpec
from ronda.simulator.movement import Path, PathBuilder, jitter, offset
from ronda.simulator.schedules import ScheduleSpec, Window

ALL_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
WEEKDAYS = ("mo", "tu", "we", "th", "fr")


class Mischief(StrEnum):
    EXCLUSION = "exclusion"
    CURFEW_LATE = "curfew_late"
    PROXIMITY = "proximity"
    REGION = "region"
    NIGHT_OUT = "night_out"
    VICTIM_HOME = "victim_home"
    APPROVED_NIGHT = "approved_night"  # lawful: out during an exception


@dataclass
class RuleSpec:
    id: str
    type: str
    zone: ZoneSpec | None = None
    person: str | None = None
    distance_m: float | None = None
    schedule: ScheduleSpec | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.zone is not None:
            out["zone"] = self.zone.id
        if self.person is not None:
            out["person"] = self.person
            out["distance_m"] = self.distance_m
        if self.schedule is not None:
            sch: dict[str, Any] = {}
            if self.schedule.weekly is not None:
                sch["weekly"] = [w.to_json() for w in self.schedule.weekly]
            if self.schedule.exceptions:
                from ronda.types import to_iso

                sch["exceptions"] = [
                    {"start": to_iso(a), "end": to_iso(b)} for a, b in self.schedule.exceptions
                ]
            out["schedule"] = sch
        return out


@dataclass
class Victim:
    id: str
    home: Place
    work: Place
    radius_m: float
    home_zone: ZoneSpec | None = None
    path: Path | None = None


@dataclass
class Monitored:
    index: int
    id: str
    home: Place
    home_zone: ZoneSpec
    work: Place | None
    others: list[Place]
    curfew: list[Window]
    rules: list[RuleSpec] = field(default_factory=list)
    victim: Victim | None = None
    has_unit: bool = False
    mischief: dict[int, Mischief] = field(default_factory=dict)
    path: Path | None = None

    @property
    def number(self) -> int:
        return self.index + 1

    def rule(self, kind: str) -> RuleSpec | None:
        return next((r for r in self.rules if r.id.endswith(kind)), None)


FORCED = [
    Mischief.EXCLUSION,
    Mischief.CURFEW_LATE,
    Mischief.PROXIMITY,
    Mischief.REGION,
    Mischief.NIGHT_OUT,
    Mischief.VICTIM_HOME,
]


def _hours(h: float) -> dt.time:
    m = round(h * 60)
    return dt.time((m // 60) % 24, m % 60)


class Town:
    """Builds the population and their paths for one simulation."""

    def __init__(
        self,
        rng: np.random.Generator,
        city: CityMap,
        tz: ZoneInfo,
        start_s: float,
        days: int,
        next_zone: int,
    ) -> None:
        self.rng = rng
        self.city = city
        self.tz = tz
        self.start_s = start_s
        self.end_s = start_s + days * 86400.0
        self.days = days
        self.first_date = dt.datetime.fromtimestamp(start_s, tz).date()
        self._zone_n = next_zone
        self.zones: list[ZoneSpec] = []
        self.pool: list[Place] = []

    def local(self, day: int, hours: float) -> float:
        date = self.first_date + dt.timedelta(days=day + int(hours // 24))
        return dt.datetime.combine(date, _hours(hours % 24), self.tz).timestamp()

    def weekday(self, day: int) -> int:
        return (self.first_date + dt.timedelta(days=day)).weekday()

    def _zone(self, name: str, place: Place, radius_m: float) -> ZoneSpec:
        self._zone_n += 1
        z = ZoneSpec(f"z{self._zone_n}", name, centre=place.xy, radius_m=radius_m)
        self.zones.append(z)
        return z

    # ------------------------------------------------------------ population

    def populate(
        self, n: int, violation_rate: float, ensure_variety: bool
    ) -> tuple[list[Monitored], list[Victim]]:
        rng, city = self.rng, self.city
        wants_victim = [(ensure_variety and i % 6 in (2, 5)) or rng.uniform() < 0.3 for i in range(n)]
        victims: dict[int, Victim] = {}
        for i in range(n):
            if not wants_victim[i]:
                continue
            home = city.random_place(rng, "home", 300.0)
            city.avoid(_disc(home.xy, 1000.0))
            work = city.random_place(rng, "work", 300.0)
            city.avoid(_disc(work.xy, 700.0))
            radius = 300.0 if rng.uniform() < 0.5 else 500.0
            victims[i] = Victim(f"v{i + 1}", home, work, radius)
        self.pool = [city.random_place(rng, "other") for _ in range(max(6, 2 * n))]
        persons: list[Monitored] = []
        for i in range(n):
            persons.append(self._person(i, victims.get(i), violation_rate, ensure_variety))
        return persons, list(victims.values())

    def _person(
        self, i: int, victim: Victim | None, violation_rate: float, ensure_variety: bool
    ) -> Monitored:
        rng, city = self.rng, self.city
        home = city.random_place(rng, "home")
        home = Place(jitter(rng, home.xy, 0.0), True, "home")
        home_zone = self._zone(f"home of p{i + 1}", home, 100.0)
        work = city.random_place(rng, "work") if rng.uniform() < 0.7 else None
        others = [self.pool[int(k)] for k in rng.choice(len(self.pool), 3, replace=False)]
        if rng.uniform() < 0.4 and city.restricted:
            near = city.restricted[int(rng.integers(len(city.restricted)))]
            others.append(city.near_miss_place(rng, near))
        start_h = float(rng.choice([21.0, 22.0, 23.0]))
        end_h = float(rng.choice([6.0, 7.0]))
        curfew = [Window(ALL_DAYS, _clock(start_h), _clock(end_h))]
        if rng.uniform() < 0.3:
            curfew = [
                Window(("mo", "tu", "we", "th", "su"), _clock(start_h), _clock(end_h)),
                Window(("fr", "sa"), _clock(min(start_h + 1.0, 23.5)), _clock(end_h)),
            ]
        p = Monitored(i, f"p{i + 1}", home, home_zone, work, others, curfew, victim=victim)
        p.has_unit = (ensure_variety and i % 4 == 1) or rng.uniform() < 0.4
        n = p.number
        p.rules.append(RuleSpec(f"r-p{n}-curfew", "inclusion", home_zone, schedule=ScheduleSpec(curfew)))
        for z in rng.choice(len(city.restricted), min(2, len(city.restricted)), replace=False):
            zone = city.restricted[int(z)]
            sch = ScheduleSpec([Window(WEEKDAYS, "07:00", "19:00")]) if rng.uniform() < 0.5 else None
            p.rules.append(RuleSpec(f"r-p{n}-{zone.id}", "exclusion", zone, schedule=sch))
        if (ensure_variety and i % 6 == 3) or rng.uniform() < 0.5:
            p.rules.append(RuleSpec(f"r-p{n}-region", "inclusion", city.limits))
        if victim is not None:
            victim.home_zone = self._zone(f"home of {victim.id}", victim.home, victim.radius_m)
            p.rules.append(RuleSpec(f"r-p{n}-victim-home", "exclusion", victim.home_zone))
            p.rules.append(RuleSpec(f"r-p{n}-proximity", "proximity", person=victim.id, distance_m=500.0))
        for d in range(self.days):
            kinds = self._eligible(p)
            if ensure_variety and d == 0 and FORCED[i % len(FORCED)] in kinds:
                p.mischief[d] = FORCED[i % len(FORCED)]
            elif rng.uniform() < violation_rate:
                p.mischief[d] = kinds[int(rng.integers(len(kinds)))]
            elif rng.uniform() < 0.1:
                p.mischief[d] = Mischief.APPROVED_NIGHT
        return p

    def _eligible(self, p: Monitored) -> list[Mischief]:
        kinds = [Mischief.CURFEW_LATE, Mischief.NIGHT_OUT]
        if any(r.type == "exclusion" and r.zone in self.city.restricted for r in p.rules):
            kinds.append(Mischief.EXCLUSION)
        if p.rule("region"):
            kinds.append(Mischief.REGION)
        if p.victim is not None:
            kinds += [Mischief.PROXIMITY, Mischief.VICTIM_HOME]
        return kinds

    # ------------------------------------------------------------ movements

    def victim_path(self, v: Victim) -> Path:
        rng = self.rng
        b = PathBuilder(rng, self.start_s, jitter(rng, v.home.xy, 10.0), True)
        home = b.anchor
        for d in range(self.days):
            if self.weekday(d) < 5:
                b.wait_until(self.local(d, rng.uniform(7.5, 9.0)))
                b.go(jitter(rng, v.work.xy, 10.0), True)
                b.wait_until(self.local(d, rng.uniform(16.5, 18.5)))
            else:
                b.wait_until(self.local(d, rng.uniform(10.5, 12.5)))
                b.visit(self.pool[int(rng.integers(len(self.pool)))].xy, False, 5400)
            b.go(home, True)
        return b.finish(self.end_s)

    def monitored_path(self, p: Monitored) -> Path:
        rng = self.rng
        b = PathBuilder(rng, self.start_s, jitter(rng, p.home.xy, 12.0), True)
        home = b.anchor
        curfew = p.rule("curfew")
        assert curfew is not None and curfew.schedule is not None
        for d in range(self.days):
            kind = p.mischief.get(d)
            wd = self.weekday(d)
            cs = _window_for(p.curfew, wd, start=True)
            ce = _window_for(p.curfew, (wd - 1) % 7, start=False)
            if kind == Mischief.NIGHT_OUT:
                b.wait_until(self.local(d, rng.uniform(0.5, 2.0)))
                b.visit(self._far_other(home).xy, bool(rng.uniform() < 0.5), rng.uniform(1800, 4800))
                b.go(home, True)
            b.wait_until(self.local(d, max(ce, 6.0) + rng.uniform(0.4, 2.0)))
            mid_t = self.local(d, rng.uniform(10.5, 13.0))
            if p.work is not None and wd < 5:
                b.go(jitter(rng, p.work.xy, 10.0), True)
                work = b.anchor
                b.wait_until(mid_t)
                if self._midday(b, p, kind, d):
                    b.go(work, True)
                b.wait_until(self.local(d, rng.uniform(16.0, 18.0)))
            else:
                b.wait_until(mid_t - 3600 * rng.uniform(0.5, 1.5))
                place = p.others[int(rng.integers(len(p.others)))]
                b.visit(place.xy, place.indoor, rng.uniform(1800, 7200))
                self._midday(b, p, kind, d)
            if rng.uniform() < 0.5 and b.t < self.local(d, cs - 3.0):
                place = p.others[int(rng.integers(len(p.others)))]
                b.visit(place.xy, place.indoor, rng.uniform(1800, 5400))
            if kind == Mischief.VICTIM_HOME and p.victim is not None:
                b.wait_until(self.local(d, rng.uniform(18.0, 19.0)))
                target = offset(rng, p.victim.home.xy, 40.0, 120.0)
                b.visit(target, False, rng.uniform(600, 1800))
            if kind == Mischief.CURFEW_LATE:
                arrive = self.local(d, cs) + rng.uniform(1500, 6000)
            else:
                arrive = self.local(d, cs) - rng.uniform(1200, 5400)
            b.wait_until(arrive - b.travel_s(home))
            b.go(home, True)
            if kind == Mischief.APPROVED_NIGHT:
                out_t = max(self.local(d, cs) + rng.uniform(600, 1800), b.t + 600)
                b.wait_until(out_t)
                b.visit(self._far_other(home).xy, True, rng.uniform(2400, 4000))
                b.go(home, True)
                curfew.schedule.exceptions.append((out_t - 1800, b.t + 1200))
        return b.finish(self.end_s)

    def _midday(self, b: PathBuilder, p: Monitored, kind: Mischief | None, d: int) -> bool:
        rng = self.rng
        if kind == Mischief.EXCLUSION:
            rules = [r for r in p.rules if r.type == "exclusion" and r.zone in self.city.restricted]
            rule = rules[int(rng.integers(len(rules)))]
            assert rule.zone is not None
            target = self.city.inside_point(rng, rule.zone, 120.0)
            b.visit(target, bool(rng.uniform() < 0.4), rng.uniform(900, 3600))
            return True
        if kind == Mischief.REGION:
            b.visit(self.city.outside_point(rng, b.anchor), False, rng.uniform(1800, 5400))
            return True
        if kind == Mischief.PROXIMITY and p.victim is not None and p.victim.path is not None:
            eta = b.t + b.travel_s(p.victim.work.xy)
            vx, vy = p.victim.path.at(np.array([eta]))
            b.visit(offset(rng, (float(vx[0]), float(vy[0])), 60.0, 200.0), False, rng.uniform(900, 2400))
            return True
        return False

    def _far_other(self, home: tuple[float, float]) -> Place:
        far = [q for q in self.pool if np.hypot(q.xy[0] - home[0], q.xy[1] - home[1]) > 800]
        pool = far or self.pool
        return pool[int(self.rng.integers(len(pool)))]


def _disc(xy: tuple[float, float], r: float) -> Any:
    from shapely.geometry import Point

    return Point(xy).buffer(r, 16)


def _clock(h: float) -> str:
    t = _hours(h)
    return f"{t.hour:02d}:{t.minute:02d}"


def _window_for(windows: list[Window], weekday: int, *, start: bool) -> float:
    """Local hour at which the curfew starting on `weekday` starts (or ends)."""
    for w in windows:
        if ALL_DAYS[weekday] in w.days:
            hh, mm = (w.start if start else w.end).split(":")
            return int(hh) + int(mm) / 60.0
    return 22.0 if start else 7.0
