"""Vectorised membership: many fixes against each fix's own zones in one call.

Each fix brings a list of (rule, zone) pairs, those of its wearer's order.
Pairs are laid out in flat arrays, and circles and polygons are each tested
in one array operation (shapely 2's ufuncs over prepared geometries), so
the cost per fix is a few array elements, not a Python loop over zones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely

from ronda.geo.projection import FloatArray
from ronda.zones.geometry import ZoneShape

IntArray = npt.NDArray[np.int64]


class ZoneIndex:
    def __init__(self, shapes: Sequence[ZoneShape]) -> None:
        self.shapes = list(shapes)
        n = len(self.shapes)
        self.is_circle = np.array([s.centre_xy is not None for s in self.shapes], bool)
        self.cx = np.array([s.centre_xy[0] if s.centre_xy else 0.0 for s in self.shapes], float)
        self.cy = np.array([s.centre_xy[1] if s.centre_xy else 0.0 for s in self.shapes], float)
        self.radius = np.array([s.radius_m for s in self.shapes], float)
        empty = shapely.Point(0, 0)
        self.polygons = np.array([s.polygon if s.polygon is not None else empty for s in self.shapes])
        self.boundaries = np.array([s.boundary if s.boundary is not None else empty for s in self.shapes])
        if n == 0:
            self.polygons = np.empty(0, object)
            self.boundaries = np.empty(0, object)

    def depth_m(self, shape_idx: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
        """Signed depth (metres inside, negative outside) of point i in shape shape_idx[i]."""
        out = np.empty(len(shape_idx), float)
        if len(shape_idx) == 0:
            return out
        circ = self.is_circle[shape_idx]
        if circ.any():
            s = shape_idx[circ]
            out[circ] = self.radius[s] - np.hypot(x[circ] - self.cx[s], y[circ] - self.cy[s])
        poly = ~circ
        if poly.any():
            s = shape_idx[poly]
            px, py = x[poly], y[poly]
            dist = shapely.distance(self.boundaries[s], shapely.points(px, py))
            inside = shapely.contains_xy(self.polygons[s], px, py)
            out[poly] = np.where(inside, dist, -dist)
        return out

    def beyond(
        self, shape_idx: IntArray, x: FloatArray, y: FloatArray, sign: FloatArray, limit_m: FloatArray
    ) -> npt.NDArray[np.bool_]:
        """Whether sign * depth > limit_m (limit_m >= 0) for each point: the
        question "is this fix evidence of a violation?", answered without
        measuring distances where the side of the boundary already says no.
        sign +1 asks for points deep inside, -1 for points far outside."""
        out = np.zeros(len(shape_idx), bool)
        if len(shape_idx) == 0:
            return out
        circ = self.is_circle[shape_idx]
        if circ.any():
            s = shape_idx[circ]
            depth = self.radius[s] - np.hypot(x[circ] - self.cx[s], y[circ] - self.cy[s])
            out[circ] = sign[circ] * depth > limit_m[circ]
        poly = np.flatnonzero(~circ)
        if len(poly):
            s = shape_idx[poly]
            inside = shapely.contains_xy(self.polygons[s], x[poly], y[poly])
            # only points on the side the question is about need a distance
            ask = poly[np.where(sign[poly] > 0, inside, ~inside)]
            if len(ask):
                dist = shapely.distance(self.boundaries[shape_idx[ask]], shapely.points(x[ask], y[ask]))
                out[ask] = dist > limit_m[ask]
        return out
