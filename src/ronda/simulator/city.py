"""The map of a simulated city: limits, restricted areas and places, in metres.

Everything is built in a local metric projection centred on the city and
turned into GeoJSON (longitude, latitude) only when written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from ronda.geo.projection import LocalProjection

XY = tuple[float, float]


@dataclass
class ZoneSpec:
    """A zone in metric coordinates: a polygon/multipolygon or a circle."""

    id: str
    name: str
    shape: BaseGeometry | None = None  # Polygon or MultiPolygon (metres)
    centre: XY | None = None  # circle centre (metres)
    radius_m: float = 0.0

    def geometry(self) -> BaseGeometry:
        if self.shape is not None:
            return self.shape
        assert self.centre is not None
        return Point(self.centre).buffer(self.radius_m, 64)

    def depth_m(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Signed metres inside (positive) or outside (negative)."""
        if self.centre is not None:
            return self.radius_m - np.hypot(x - self.centre[0], y - self.centre[1])
        assert self.shape is not None
        out = np.empty(len(x))
        inside = shapely.contains_xy(self.shape, x, y)
        pts = shapely.points(x, y)
        dist = shapely.distance(self.shape.boundary, pts)
        out[:] = np.where(inside, dist, -dist)
        return out

    def to_json(self, proj: LocalProjection) -> dict[str, Any]:
        if self.centre is not None:
            lon, lat = proj.to_lonlat([self.centre[0]], [self.centre[1]])
            return {
                "id": self.id,
                "name": self.name,
                "geometry": {"type": "Point", "coordinates": [_r(lon[0]), _r(lat[0])]},
                "radius_m": round(self.radius_m, 1),
            }
        assert self.shape is not None
        polys = list(self.shape.geoms) if isinstance(self.shape, MultiPolygon) else [self.shape]
        coords = [[_ring(p.exterior.coords, proj)] for p in polys]
        if isinstance(self.shape, MultiPolygon):
            geometry: dict[str, Any] = {"type": "MultiPolygon", "coordinates": coords}
        else:
            geometry = {"type": "Polygon", "coordinates": coords[0]}
        return {"id": self.id, "name": self.name, "geometry": geometry}


def _r(v: float) -> float:
    return round(float(v), 7)


def _ring(coords: Any, proj: LocalProjection) -> list[list[float]]:
    arr = np.asarray(coords, float)
    lon, lat = proj.to_lonlat(arr[:, 0], arr[:, 1])
    ring = [[_r(a), _r(b)] for a, b in zip(lon, lat, strict=True)]
    ring[-1] = ring[0]
    return ring


@dataclass(frozen=True, slots=True)
class Place:
    xy: XY
    indoor: bool
    kind: str  # home, work, other


@dataclass
class CityMap:
    projection: LocalProjection
    limits: ZoneSpec
    restricted: list[ZoneSpec]
    inner_radius_m: float
    _avoid: list[BaseGeometry] = field(default_factory=list)

    def avoid(self, geometry: BaseGeometry) -> None:
        self._avoid.append(geometry)

    def clearance_m(self, xy: XY) -> float:
        """Distance from the nearest restricted area or reserved place."""
        p = Point(xy)
        return min((g.distance(p) for g in self._avoid), default=math.inf)

    def random_place(self, rng: np.random.Generator, kind: str, min_clear_m: float = 250.0) -> Place:
        for _ in range(500):
            r = self.inner_radius_m * math.sqrt(rng.uniform(0.0, 1.0))
            a = rng.uniform(0, 2 * math.pi)
            xy = (r * math.cos(a), r * math.sin(a))
            if self.clearance_m(xy) >= min_clear_m:
                return Place(xy, indoor=kind != "other" or rng.uniform() < 0.5, kind=kind)
        raise RuntimeError("no room left in the city for another place")

    def near_miss_place(self, rng: np.random.Generator, zone: ZoneSpec) -> Place:
        """A place 90-160 m outside a restricted area (lawful, but close)."""
        shape = zone.geometry()
        for _ in range(200):
            c = shape.centroid
            a = rng.uniform(0, 2 * math.pi)
            far = (c.x + 5000 * math.cos(a), c.y + 5000 * math.sin(a))
            ray = shapely.LineString([(c.x, c.y), far])
            hit = ray.intersection(shape.boundary)
            if hit.is_empty:
                continue
            pts = list(getattr(hit, "geoms", [hit]))
            edge = max(pts, key=lambda p: p.distance(Point(c.x, c.y)))
            d = rng.uniform(90.0, 160.0)
            xy = (edge.x + d * math.cos(a), edge.y + d * math.sin(a))
            if (
                shape.distance(Point(xy)) >= 85.0
                and self.limits.depth_m(np.array([xy[0]]), np.array([xy[1]]))[0] > 300
            ):
                return Place(xy, indoor=False, kind="other")
        return self.random_place(rng, "other")

    def inside_point(self, rng: np.random.Generator, zone: ZoneSpec, depth_m: float) -> XY:
        """A point at least `depth_m` inside a zone."""
        shape = zone.geometry()
        inner = shape.buffer(-depth_m)
        target = inner if not inner.is_empty else shape.buffer(-depth_m / 2)
        if target.is_empty:
            c = shape.representative_point()
            return (c.x, c.y)
        minx, miny, maxx, maxy = target.bounds
        for _ in range(500):
            xy = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if target.contains(Point(xy)):
                return xy
        c = target.representative_point()
        return (c.x, c.y)

    def outside_point(self, rng: np.random.Generator, origin: XY) -> XY:
        """A point 1.5-4 km outside the city limits, beyond `origin`."""
        a = math.atan2(origin[1], origin[0]) + rng.uniform(-0.4, 0.4)
        far = (40000 * math.cos(a), 40000 * math.sin(a))
        ray = shapely.LineString([(0.0, 0.0), far])
        hit = ray.intersection(self.limits.geometry().boundary)
        pts = list(getattr(hit, "geoms", [hit]))
        edge = max(pts, key=lambda p: p.distance(Point(0.0, 0.0)))
        d = rng.uniform(1500.0, 4000.0)
        return (edge.x + d * math.cos(a), edge.y + d * math.sin(a))


def _star(rng: np.random.Generator, centre: XY, radius_m: float, n: int, wobble: float) -> Polygon:
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = radius_m * (1.0 + wobble * rng.uniform(-1.0, 1.0, n))
    pts = [
        (centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    poly = Polygon(pts)
    if not poly.is_valid or poly.area < 1000:
        poly = Point(centre).buffer(radius_m, 4)
    return poly


def build_city(
    rng: np.random.Generator, lat: float, lon: float, radius_m: float, n_restricted: int
) -> CityMap:
    proj = LocalProjection(lat, lon)
    limits = ZoneSpec("z1", "city limits", shape=_star(rng, (0.0, 0.0), radius_m, 40, 0.12))
    city = CityMap(proj, limits, [], inner_radius_m=radius_m * 0.7)
    placed: list[BaseGeometry] = []
    for i in range(n_restricted):
        for _ in range(300):
            r = city.inner_radius_m * math.sqrt(rng.uniform(0.02, 1.0))
            a = rng.uniform(0, 2 * math.pi)
            c = (r * math.cos(a), r * math.sin(a))
            if i % 3 == 2:
                parts: list[Polygon] = []
                for _k in range(int(rng.integers(2, 4))):
                    off = (c[0] + rng.uniform(-900, 900), c[1] + rng.uniform(-900, 900))
                    part = _star(rng, off, rng.uniform(220, 380), 7, 0.2)
                    if all(part.distance(p) > 150 for p in parts):
                        parts.append(part)
                shape: BaseGeometry = MultiPolygon(parts) if len(parts) > 1 else parts[0]
            else:
                shape = _star(rng, c, rng.uniform(280, 620), int(rng.integers(6, 11)), 0.25)
            if shape.is_valid and all(shape.distance(g) > 600 for g in placed):
                break
        placed.append(shape)
        zone = ZoneSpec(f"z{i + 2}", f"restricted area {i + 1}", shape=shape)
        city.restricted.append(zone)
        city.avoid(shape)
    return city
