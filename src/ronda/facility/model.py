"""A facility: buildings, floors and zones in the facility's own metric
coordinates, readers mapped to zones, wristbands on inmates, badges on staff,
regimes, keep-separate groups.

Coordinates are metres on a floor plan (x east, y north, origin where the
plan says); a zone and a reader belong to one building and one floor, and
distances are only measured on the same floor of the same building.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ronda.facility.regime import Period, Regime
from ronda.types import DeviceId, PersonId, ZoneId


class ZoneKind(StrEnum):
    CELL = "cell"
    WING = "wing"  # a wing's landing or day room
    CORRIDOR = "corridor"
    YARD = "yard"
    WORKSHOP = "workshop"
    MEDICAL = "medical"
    VISITS = "visits"
    DINING = "dining"
    EDUCATION = "education"
    OFFICE = "office"  # staff only
    GATE = "gate"
    OTHER = "other"


TRANSIT_KINDS = frozenset({ZoneKind.CORRIDOR})
"""Zones where an inmate found by a headcount is "in transit"."""


class ReaderKind(StrEnum):
    AREA = "area"  # hears bands around it (BLE / active RFID)
    DOOR = "door"  # at a door: reports crossings with a direction


@dataclass(frozen=True, slots=True)
class Floor:
    building: str
    level: int
    name: str = ""
    plan_image: str | None = None  # a floor-plan image the UI places under the zones
    plan_width_m: float | None = None
    plan_height_m: float | None = None


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    name: str
    floors: tuple[Floor, ...] = ()


@dataclass(frozen=True, slots=True)
class Zone:
    id: ZoneId
    name: str
    kind: ZoneKind
    building: str
    level: int
    polygon_m: tuple[tuple[float, float], ...]  # outline, metres on the floor plan
    wing: str | None = None  # the wing a cell or landing belongs to
    capacity: int | None = None

    @property
    def centroid_m(self) -> tuple[float, float]:
        return polygon_centroid(self.polygon_m)


@dataclass(frozen=True, slots=True)
class Reader:
    id: str
    zone: ZoneId  # the zone it hears (for a door: the side it is mounted on)
    x_m: float
    y_m: float
    kind: ReaderKind = ReaderKind.AREA
    door_from: ZoneId | None = None  # a door reader: "in" crossing goes door_from -> door_to
    door_to: ZoneId | None = None
    range_m: float = 3.0


@dataclass(frozen=True, slots=True)
class Inmate:
    id: PersonId
    name: str
    wing: str
    cell: ZoneId
    band: DeviceId | None = None
    regime: str | None = None  # None: the wing's regime
    extra_periods: tuple[str, ...] = ()  # ids of personal periods (work party, visit appointment)
    on_roll: bool = True  # False: released or transferred (no longer counted)


@dataclass(frozen=True, slots=True)
class Staff:
    id: PersonId
    name: str
    badge: DeviceId | None = None


class SeparationMode(StrEnum):
    SAME_ZONE = "same_zone"
    DISTANCE = "distance"  # same zone, or within distance_m on the same floor (not across a cell wall)


@dataclass(frozen=True, slots=True)
class Separation:
    """Inmates who must never meet: a pair or a group (every pair in it)."""

    id: str
    members: tuple[PersonId, ...]
    mode: SeparationMode = SeparationMode.SAME_ZONE
    distance_m: float = 10.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FacilityParams:
    """Thresholds of the presence model and rules (per facility)."""

    window_s: float = 6.0  # sightings older than this (per band) no longer weigh
    rssi_floor_dbm: float = -95.0  # a sighting this weak weighs (almost) nothing
    rssi_ref_dbm: float = -55.0  # and this strong weighs fully
    switch_ratio: float = 1.5  # a challenger zone must weigh this many times the current one
    min_move_score: float = 0.55  # a zone must be heard this clearly to move a band into it
    confirm_hits: int = 2  # sightings by the challenger zone's readers before a move ...
    confirm_s: float = 1.5  # ... spanning at least this long
    stale_s: float = 30.0  # a band not seen for this long is "not seen recently"
    no_sighting_s: float = 120.0  # possible escape or fault
    reader_silent_s: float = 15.0  # a reader that said nothing (not even a heartbeat) for this long is down
    reader_offline_s: float = 300.0  # and after this long down, a technical alert
    feed_loss_fraction: float = 0.5  # this share of readers down at once: one facility alert instead
    separation_close_s: float = 30.0  # apart this long before a keep-separate episode ends
    oob_close_s: float = 10.0  # back in bounds this long before an out-of-bounds episode ends
    movement_grace_s: float = 600.0  # after a regime change: the old places and corridors still allowed
    movement_lead_s: float = 300.0  # before one: the new places and corridors already allowed
    count_fresh_s: float = 30.0  # a headcount counts bands seen within this long


@dataclass(slots=True)
class Facility:
    id: str
    name: str
    timezone: str
    buildings: tuple[Building, ...] = ()
    zones: dict[ZoneId, Zone] = field(default_factory=dict)
    readers: dict[str, Reader] = field(default_factory=dict)
    inmates: dict[PersonId, Inmate] = field(default_factory=dict)
    staff: dict[PersonId, Staff] = field(default_factory=dict)
    regimes: dict[str, Regime] = field(default_factory=dict)
    wing_regimes: dict[str, str] = field(default_factory=dict)  # wing -> regime id
    periods: dict[str, Period] = field(default_factory=dict)  # personal periods, by id
    separations: tuple[Separation, ...] = ()
    count_times: tuple[str, ...] = ()  # local "HH:MM" of scheduled headcounts
    params: FacilityParams = field(default_factory=FacilityParams)

    def band_owner(self) -> dict[DeviceId, PersonId]:
        return {i.band: i.id for i in self.inmates.values() if i.band is not None}

    def badge_owner(self) -> dict[DeviceId, PersonId]:
        return {s.badge: s.id for s in self.staff.values() if s.badge is not None}

    def readers_of_zone(self) -> dict[ZoneId, list[str]]:
        out: dict[ZoneId, list[str]] = {z: [] for z in self.zones}
        for r in self.readers.values():
            out.setdefault(r.zone, []).append(r.id)
        return out

    def regime_of(self, inmate: Inmate) -> Regime | None:
        rid = inmate.regime or self.wing_regimes.get(inmate.wing)
        return self.regimes.get(rid) if rid else None

    def periods_of(self, inmate: Inmate) -> tuple[Period, ...]:
        """The wing's (or his own) regime's periods, then his personal ones."""
        regime = self.regime_of(inmate)
        own = tuple(self.periods[p] for p in inmate.extra_periods if p in self.periods)
        return (regime.periods if regime else ()) + own

    def zones_of_kind(self, kinds: Iterable[str]) -> frozenset[ZoneId]:
        wanted = set(kinds)
        return frozenset(z.id for z in self.zones.values() if z.kind.value in wanted)


def polygon_centroid(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Area centroid of a simple polygon (the vertex mean if degenerate)."""
    n = len(points)
    if n == 0:
        return (0.0, 0.0)
    a2 = cx = cy = 0.0
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        cross = x0 * y1 - x1 * y0
        a2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a2) < 1e-12:
        return (sum(p[0] for p in points) / n, sum(p[1] for p in points) / n)
    return (cx / (3 * a2), cy / (3 * a2))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])
