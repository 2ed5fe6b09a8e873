"""A small caseload laid out in metres around a city centre, and record makers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ronda.cases.caseload import Caseload
from ronda.cases.models import Device, DeviceKind, Person, PersonRole
from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Effect, Episode, EpisodeClosed, EpisodeOpened
from ronda.engine.params import EngineParams
from ronda.geo.projection import LocalProjection
from ronda.rules.models import HealthPolicy, Order, Rule, RuleType
from ronda.rules.schedule import Schedule, WeeklyWindow
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId, OrderId, PersonId, RuleId, ZoneId, from_iso
from ronda.zones.models import Zone

TZ = ZoneInfo("Europe/Madrid")
CENTRE = LocalProjection(40.4168, -3.7038)
T0 = from_iso("2026-06-01T10:00:00Z")  # Monday, noon in Madrid


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = CENTRE.to_lonlat([x], [y])
    return float(lon[0]), float(lat[0])


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, object]:
    pts = [lonlat(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
    return {"type": "Polygon", "coordinates": [[list(p) for p in pts]]}


def circle(x: float, y: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": list(lonlat(x, y))}


def curfew() -> Schedule:
    return Schedule(TZ, (WeeklyWindow(frozenset(range(7)), dt.time(22), dt.time(6)),))


def caseload(with_home_unit: bool = True) -> Caseload:
    """p1 lives at (0, 0) under a 22:00-06:00 curfew, must keep out of a
    400 m square at x 1000..1400 and stay in the city (±5 km), and 500 m
    away from v1, who carries a phone."""
    zones = {
        ZoneId("home"): Zone(ZoneId("home"), "home of p1", circle(0, 0), 100.0),
        ZoneId("park"): Zone(ZoneId("park"), "park", rect(1000, 0, 1400, 400)),
        ZoneId("city"): Zone(ZoneId("city"), "city", rect(-5000, -5000, 5000, 5000)),
    }
    devices = {
        DeviceId("t1"): Device(DeviceId("t1"), DeviceKind.GPS_TAG, PersonId("p1"), 60, 900),
        DeviceId("ph1"): Device(DeviceId("ph1"), DeviceKind.PHONE, PersonId("v1"), 120, None),
    }
    if with_home_unit:
        devices[DeviceId("u1")] = Device(
            DeviceId("u1"), DeviceKind.HOME_UNIT, PersonId("p1"), None, 2700, ZoneId("home")
        )
    rules = (
        Rule(RuleId("curfew"), RuleType.INCLUSION, curfew(), zone=ZoneId("home")),
        Rule(RuleId("park"), RuleType.EXCLUSION, zone=ZoneId("park")),
        Rule(RuleId("city"), RuleType.INCLUSION, zone=ZoneId("city")),
        Rule(RuleId("prox"), RuleType.PROXIMITY, protected_person=PersonId("v1"), distance_m=500.0),
    )
    return Caseload(
        timezone=TZ,
        zones=zones,
        persons={
            PersonId("p1"): Person(PersonId("p1"), PersonRole.MONITORED),
            PersonId("v1"): Person(PersonId("v1"), PersonRole.PROTECTED),
        },
        devices=devices,
        orders=(Order(OrderId("o1"), PersonId("p1"), rules),),
        policy=HealthPolicy(low_battery_pct=15, no_fix_timeout_s=900),
    )


def fix(
    t: float,
    x: float,
    y: float,
    *,
    dev: str = "t1",
    acc: float = 8.0,
    speed: float = 0.0,
    received: float | None = None,
    battery: float | None = 90.0,
) -> Position:
    lon, lat = lonlat(x, y)
    return Position(
        DeviceId(dev), t, received if received is not None else t + 2, lat, lon, acc, speed, battery, True
    )


def nofix(
    t: float, *, dev: str = "t1", received: float | None = None, battery: float | None = 90.0
) -> Position:
    return Position(
        DeviceId(dev), t, received if received is not None else t + 2, battery_pct=battery, valid=False
    )


def event(t: float, kind: EventKind, *, dev: str = "t1", received: float | None = None) -> DeviceEvent:
    return DeviceEvent(DeviceId(dev), t, received if received is not None else t + 1, kind)


@dataclass
class Run:
    """Drives an engine as replay does (clock on `received`) and keeps the episodes."""

    engine: Engine
    opened: list[Episode] = field(default_factory=list)
    closed: list[Episode] = field(default_factory=list)

    @classmethod
    def new(cls, params: EngineParams | None = None, with_home_unit: bool = True) -> Run:
        return cls(Engine(compile_caseload(caseload(with_home_unit), CENTRE), params))

    def _take(self, effects: list[Effect]) -> None:
        for e in effects:
            (self.opened if isinstance(e, EpisodeOpened) else self.closed).append(e.episode)
            assert isinstance(e, EpisodeOpened | EpisodeClosed)

    def send(self, *records: Position | DeviceEvent) -> Run:
        for r in sorted(records, key=lambda r: r.received_s):
            self._take(self.engine.advance(r.received_s))
            self._take(self.engine.feed(r))
        return self

    def tick(self, now: float) -> Run:
        self._take(self.engine.advance(now))
        return self

    def of(self, type_: str) -> list[Episode]:
        seen = {id(e): e for e in [*self.opened, *self.closed] if e.type == type_}
        return list(seen.values())
