"""What an investigator asks (incidents, parameters) and what the method answers.

An incident is an area (a point with a radius, or a polygon with an optional
margin) and a time window. The answer lists the monitored persons whose trail
came within the distance ("near"), and those who could not be placed because
their tag was silent at a time when the scene was within reach ("gap").
Everyone else considered was placed elsewhere for the whole window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ronda.errors import InvalidInput
from ronda.types import to_iso

ALGORITHM_VERSION = "ronda-correlation/1"
"""Changes whenever the method could give another answer for the same data."""

MAX_WINDOW_S = 31 * 86400.0  # a longer window is a trawl, not an incident
MAX_DISTANCE_M = 50_000.0


class Method(StrEnum):
    FIX = "fix"  # a reported position was within the distance
    INTERPOLATED = "interpolated"  # only the straight line between two fixes came within it


class Confidence(StrEnum):
    HIGH = "high"  # a fix itself (its reported point) was within the distance
    MEDIUM = "medium"  # needs the fix's accuracy, or a short, well-supported interpolation
    LOW = "low"  # only the straight-line guess over a longer interval comes within it


@dataclass(frozen=True)
class Incident:
    """`area` is in longitude/latitude (a shapely Point, Polygon or MultiPolygon);
    `distance_m` is how far from it counts as near (the radius for a point)."""

    id: str
    start_s: float
    end_s: float
    area: BaseGeometry
    distance_m: float
    label: str = ""

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InvalidInput("an incident needs an id of 1 to 64 characters", field="id")
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise InvalidInput("the time window needs a start and an end", field="start")
        if self.end_s < self.start_s:
            raise InvalidInput("the window ends before it starts", field="end")
        if self.end_s - self.start_s > MAX_WINDOW_S:
            raise InvalidInput("the window is longer than 31 days", field="end")
        if not (math.isfinite(self.distance_m) and 0 <= self.distance_m <= MAX_DISTANCE_M):
            raise InvalidInput(
                "distance must be between 0 and {max} m", field="radius_m", max=f"{MAX_DISTANCE_M:.0f}"
            )
        if self.area.is_empty or not self.area.is_valid:
            raise InvalidInput("the area is empty or not a valid shape", field="area")
        if self.area.geom_type not in ("Point", "Polygon", "MultiPolygon"):
            raise InvalidInput("the area must be a point or a polygon", field="area")
        if isinstance(self.area, Point) and self.distance_m <= 0:
            raise InvalidInput("a point needs a radius above 0 m", field="radius_m")
        minx, miny, maxx, maxy = self.area.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InvalidInput("coordinates outside longitude -180..180 / latitude -90..90", field="area")

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "from": to_iso(self.start_s),
            "to": to_iso(self.end_s),
            "area": self.area.__geo_interface__,
            "distance_m": self.distance_m,
        }


@dataclass(frozen=True)
class Params:
    """The method's knobs, recorded with every run. The index is built with
    them (gaps and usable fixes are decided at build time)."""

    # Fixes further apart than this are not joined by a straight line: the
    # time between them is a gap. 900 s is the engine's comms timeout for tags.
    max_gap_s: float = 900.0
    # A fix without a stated accuracy is taken to be this good.
    default_accuracy_m: float = 30.0
    # A "fix" worse than this (cell-tower guesses) places nobody; it counts as no fix.
    max_accuracy_m: float = 300.0
    # Accuracy (a radius, usually 68 %) times this is added to the distance.
    accuracy_factor: float = 1.0
    # The fastest a person is assumed to move (30 m/s = 108 km/h), to decide
    # whether the scene was within reach during a gap.
    max_speed_mps: float = 30.0
    # For ranking only: how far a person may stray from the straight line per
    # second to the nearest fix (a detour at walking pace).
    interpolation_slack_mps: float = 0.5
    # An interpolation over no more than this is as good as a fix's accuracy.
    short_interpolation_s: float = 120.0
    max_supporting_fixes: int = 20

    def __post_init__(self) -> None:
        checks: list[tuple[str, float, float, float]] = [
            ("max_gap_s", self.max_gap_s, 1.0, 86400.0),
            ("default_accuracy_m", self.default_accuracy_m, 0.0, 10_000.0),
            ("max_accuracy_m", self.max_accuracy_m, 1.0, 100_000.0),
            ("accuracy_factor", self.accuracy_factor, 0.0, 10.0),
            ("max_speed_mps", self.max_speed_mps, 0.1, 1000.0),
            ("interpolation_slack_mps", self.interpolation_slack_mps, 0.0, 100.0),
            ("short_interpolation_s", self.short_interpolation_s, 0.0, 86400.0),
            ("max_supporting_fixes", float(self.max_supporting_fixes), 1.0, 10_000.0),
        ]
        for name, value, lo, hi in checks:
            if not (math.isfinite(value) and lo <= value <= hi):
                raise InvalidInput(
                    "must be between {low} and {high}", field=name, low=f"{lo:g}", high=f"{hi:g}"
                )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SupportingFix:
    device: str
    time_s: float
    lat: float
    lon: float
    accuracy_m: float
    distance_m: float  # from the area's edge (0 inside)

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "time": to_iso(self.time_s),
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "accuracy_m": round(self.accuracy_m, 1),
            "distance_m": round(self.distance_m, 1),
        }


@dataclass(frozen=True)
class Near:
    """A person whose trail came within the distance (plus accuracy)."""

    person: str
    min_distance_m: float  # the closest any near fix or segment came to the area (0 inside)
    # The most certain approach (smallest distance + uncertainty), the one ranked:
    distance_m: float
    at_s: float  # when
    lat: float
    lon: float
    method: Method
    uncertainty_m: float  # accuracy, plus the slack of an interpolation
    allowance_m: float  # distance + accuracy allowed at that approach
    confidence: Confidence
    near_fixes: int  # fixes in the window within the allowance
    gaps: int  # silent intervals in the window besides
    supporting: tuple[SupportingFix, ...] = field(default=())

    @property
    def worst_case_m(self) -> float:
        """The ranking key: at most this far at the most certain approach."""
        return self.distance_m + self.uncertainty_m

    def as_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "status": "near",
            "min_distance_m": round(self.min_distance_m, 1),
            "worst_case_m": round(self.worst_case_m, 1),
            "distance_m": round(self.distance_m, 1),
            "at": to_iso(self.at_s),
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "method": self.method.value,
            "uncertainty_m": round(self.uncertainty_m, 1),
            "allowance_m": round(self.allowance_m, 1),
            "confidence": self.confidence.value,
            "near_fixes": self.near_fixes,
            "gaps": self.gaps,
            "supporting_fixes": [f.as_json() for f in self.supporting],
        }


@dataclass(frozen=True)
class Silence:
    """One interval without a usable fix that could contain the incident."""

    from_s: float  # the last fix before (or the start of what was looked at)
    to_s: float  # the next fix after (or the end of what was looked at)
    before: SupportingFix | None  # None: no fix before within what was looked at
    after: SupportingFix | None
    reachable_from_s: float  # the part of the window in which the scene was within reach
    reachable_to_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "from": to_iso(self.from_s),
            "to": to_iso(self.to_s),
            "silent_s": round(self.to_s - self.from_s, 1),
            "last_fix_before": None if self.before is None else self.before.as_json(),
            "first_fix_after": None if self.after is None else self.after.as_json(),
            "reachable_from": to_iso(self.reachable_from_s),
            "reachable_to": to_iso(self.reachable_to_s),
        }


@dataclass(frozen=True)
class Unplaced:
    """A person who could not be placed: reported, never dropped as absent."""

    person: str
    nearest_known_m: float | None  # the closest of the fixes bounding the silences
    silences: tuple[Silence, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "status": "gap",
            "nearest_known_m": None if self.nearest_known_m is None else round(self.nearest_known_m, 1),
            "silences": [s.as_json() for s in self.silences],
        }


@dataclass(frozen=True)
class Result:
    incident: Incident
    params: Params
    near: tuple[Near, ...]  # ranked: most surely close first
    unplaced: tuple[Unplaced, ...]
    persons_considered: int  # monitored at some time in the window
    algorithm: str = ALGORITHM_VERSION

    @property
    def persons_elsewhere(self) -> int:
        return self.persons_considered - len(self.near) - len(self.unplaced)

    def as_json(self) -> dict[str, Any]:
        return {
            "incident": self.incident.describe(),
            "algorithm": self.algorithm,
            "persons_considered": self.persons_considered,
            "persons_near": len(self.near),
            "persons_unplaced": len(self.unplaced),
            "persons_elsewhere": self.persons_elsewhere,
            "near": [{"rank": i + 1, **m.as_json()} for i, m in enumerate(self.near)],
            "could_not_be_placed": [u.as_json() for u in self.unplaced],
        }
