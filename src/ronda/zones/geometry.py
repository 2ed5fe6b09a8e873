"""Checking zone geometry and turning it into metric shapes for fast tests.

Membership is asked as a signed depth: metres inside the zone (positive) or
outside it (negative), so that callers can weigh it against a fix's accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ronda.errors import InvalidInput
from ronda.geo.projection import FloatArray, LocalProjection
from ronda.zones.models import GeoJSON, Zone

MAX_RADIUS_M = 100_000.0


def _check_position(pos: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(pos, list | tuple)
        or len(pos) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
    ):
        raise InvalidInput("expected [longitude, latitude], got {value}", field=where, value=repr(pos))
    lon, lat = float(pos[0]), float(pos[1])
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput("longitude {lon} is outside -180..180", field=where, lon=lon)
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput("latitude {lat} is outside -90..90", field=where, lat=lat)
    return lon, lat


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise InvalidInput("a linear ring needs at least 4 positions", field=where)
    points = [_check_position(p, f"{where}[{i}]") for i, p in enumerate(ring)]
    if points[0] != points[-1]:
        raise InvalidInput("a linear ring must end where it starts", field=where)


def validate_zone_geometry(geometry: Any, radius_m: Any = None, field: str = "geometry") -> None:
    """Raise InvalidInput naming the field for anything that is not a usable zone."""
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise InvalidInput("expected a GeoJSON geometry object", field=field)
    kind = geometry["type"]
    coords = geometry.get("coordinates")
    if kind == "Point":
        _check_position(coords, f"{field}.coordinates")
        if (
            not isinstance(radius_m, int | float)
            or isinstance(radius_m, bool)
            or not 0 < radius_m <= MAX_RADIUS_M
        ):
            raise InvalidInput(
                "a circle needs radius_m between 0 and {limit}", field="radius_m", limit=f"{MAX_RADIUS_M:.0f}"
            )
        return
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidInput("a MultiPolygon needs at least one polygon", field=f"{field}.coordinates")
        polygons = coords
    else:
        raise InvalidInput(
            "unsupported geometry type {kind} (Polygon, MultiPolygon or Point with radius_m)",
            field=f"{field}.type",
            kind=repr(kind),
        )
    for i, poly in enumerate(polygons):
        where = f"{field}.coordinates" + (f"[{i}]" if kind == "MultiPolygon" else "")
        if not isinstance(poly, list) or not poly:
            raise InvalidInput("a polygon needs an outer ring", field=where)
        for j, ring in enumerate(poly):
            _check_ring(ring, f"{where}[{j}]")
    shape = shapely.geometry.shape(geometry)
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        raise InvalidInput("invalid {kind}: {reason}", field=field, kind=kind, reason=reason)
    if shape.is_empty or shape.area == 0:
        raise InvalidInput("empty {kind}", field=field, kind=kind)


@dataclass(frozen=True)
class ZoneShape:
    """A zone in metric coordinates: a circle, or a prepared polygon with its boundary."""

    zone: Zone
    centre_xy: tuple[float, float] | None
    radius_m: float
    polygon: BaseGeometry | None
    boundary: BaseGeometry | None

    def depth_m(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Signed metres inside (positive) or outside (negative) for each point."""
        if self.centre_xy is not None:
            cx, cy = self.centre_xy
            return self.radius_m - np.hypot(x - cx, y - cy)
        assert self.polygon is not None and self.boundary is not None
        dist = shapely.distance(self.boundary, shapely.points(x, y))
        inside = shapely.contains_xy(self.polygon, x, y)
        return np.asarray(np.where(inside, dist, -dist), dtype=float)


def project_zone(zone: Zone, projection: LocalProjection) -> ZoneShape:
    g = zone.geometry
    if g["type"] == "Point":
        lon, lat = g["coordinates"][:2]
        return ZoneShape(zone, projection.point_xy(lon, lat), float(zone.radius_m or 0), None, None)
    shape = shapely.geometry.shape(g)

    def forward(coords: FloatArray) -> FloatArray:
        x, y = projection.to_xy(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    polygon = shapely.transform(shape, forward)
    boundary = polygon.boundary
    shapely.prepare(polygon)
    shapely.prepare(boundary)
    return ZoneShape(zone, None, 0.0, polygon, boundary)


def zone_lonlats(zone: Zone) -> list[tuple[float, float]]:
    """Some coordinates of the zone, enough to centre a projection on a region."""
    g: GeoJSON = zone.geometry
    if g["type"] == "Point":
        return [(g["coordinates"][0], g["coordinates"][1])]
    polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return [(p[0], p[1]) for poly in polys for p in poly[0]]
