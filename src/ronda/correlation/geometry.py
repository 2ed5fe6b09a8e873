"""Distances in metres from points and straight segments to an incident's area,
for many at once (numpy for a point area, shapely's array functions otherwise)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ronda.geo.projection import FloatArray, LocalProjection


def area_xy(area_lonlat: BaseGeometry, projection: LocalProjection) -> BaseGeometry:
    """The area in the projection's metres."""

    def forward(coords: FloatArray) -> FloatArray:
        x, y = projection.to_xy(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(area_lonlat, forward)


def point_distance(area: BaseGeometry, x: FloatArray, y: FloatArray) -> FloatArray:
    """Distance of each point to the area (0 inside a polygon)."""
    if len(x) == 0:
        return np.zeros(0)
    if isinstance(area, Point):
        return np.asarray(np.hypot(x - area.x, y - area.y), float)
    return np.asarray(shapely.distance(shapely.points(x, y), area), float)


def segment_distance(
    area: BaseGeometry, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Distance of each segment to the area, and where along the segment
    (0 at its start, 1 at its end) the closest point lies."""
    if len(x0) == 0:
        return np.zeros(0), np.zeros(0)
    dx, dy = x1 - x0, y1 - y0
    if isinstance(area, Point):
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = ((area.x - x0) * dx + (area.y - y0) * dy) / len2
        frac = np.clip(np.nan_to_num(frac, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
        d = np.hypot(x0 + frac * dx - area.x, y0 + frac * dy - area.y)
        return np.asarray(d, float), np.asarray(frac, float)
    coords = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    lines = shapely.linestrings(coords)
    d = np.asarray(shapely.distance(lines, area), float)
    nearest = shapely.get_point(shapely.shortest_line(lines, area), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.asarray(shapely.line_locate_point(lines, nearest, normalized=True), float)
    frac = np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0)
    return d, frac
