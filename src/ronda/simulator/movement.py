"""True (noise-free) movements: stays at places joined by walks and drives.

A path is a piecewise-linear track of keypoints (time, x, y) in metres, plus
the stays (intervals spent at a place, indoors or not). Everything else
(fixes, home-unit events, truth) samples it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ronda.simulator.city import XY

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

WALK_MAX_M = 1200.0  # longer trips are driven or ridden


@dataclass
class Path:
    t: FloatArray
    x: FloatArray
    y: FloatArray
    stay_t0: FloatArray
    stay_t1: FloatArray
    stay_indoor: BoolArray

    def at(self, times: FloatArray) -> tuple[FloatArray, FloatArray]:
        return np.interp(times, self.t, self.x), np.interp(times, self.t, self.y)

    def speed_at(self, times: FloatArray) -> FloatArray:
        dt = np.diff(self.t)
        seg = np.hypot(np.diff(self.x), np.diff(self.y)) / np.where(dt > 0, dt, 1.0)
        i = np.clip(np.searchsorted(self.t, times, side="right") - 1, 0, len(seg) - 1)
        return np.asarray(seg[i], float)

    def indoor_at(self, times: FloatArray) -> BoolArray:
        i = np.searchsorted(self.stay_t0, times, side="right") - 1
        ok = i >= 0
        j = np.clip(i, 0, len(self.stay_t0) - 1)
        return np.asarray(ok & (times < self.stay_t1[j]) & self.stay_indoor[j], bool)


@dataclass
class PathBuilder:
    """Builds a path forward in time: wait here until t, then go there."""

    rng: np.random.Generator
    t: float
    anchor: XY
    indoor: bool
    kt: list[float] = field(default_factory=list)
    kx: list[float] = field(default_factory=list)
    ky: list[float] = field(default_factory=list)
    stays: list[tuple[float, float, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stay_start = self.t
        self._point(self.t, self.anchor)

    def _point(self, t: float, xy: XY) -> None:
        if self.kt and t <= self.kt[-1]:
            t = self.kt[-1] + 1.0
        self.kt.append(t)
        self.kx.append(xy[0])
        self.ky.append(xy[1])

    def wait_until(self, t: float) -> None:
        """Stay at the current place (moving a few metres now and then) until t."""
        if t <= self.t:
            return
        step = float(self.rng.uniform(600, 1800))
        k = self.t + step
        while k < t - 60:
            dx, dy = np.clip(self.rng.normal(0, 5, 2), -10, 10)
            self._point(k, (self.anchor[0] + dx, self.anchor[1] + dy))
            self._point(k + 30, self.anchor)
            k += float(self.rng.uniform(600, 1800))
        self._point(t, self.anchor)
        self.t = t

    def travel_s(self, to: XY) -> float:
        d = abs(to[0] - self.anchor[0]) + abs(to[1] - self.anchor[1])
        return d / (1.2 if d < WALK_MAX_M else 6.0) + 60.0

    def go(self, to: XY, indoor: bool) -> None:
        """Leave now for `to` (via one corner, as streets go)."""
        self.stays.append((self._stay_start, self.t, self.indoor))
        a = self.anchor
        d = abs(to[0] - a[0]) + abs(to[1] - a[1])
        speed = float(self.rng.uniform(1.2, 1.6)) if d < WALK_MAX_M else float(self.rng.uniform(6.0, 12.0))
        corner = (to[0], a[1]) if self.rng.uniform() < 0.5 else (a[0], to[1])
        d1 = math.hypot(corner[0] - a[0], corner[1] - a[1])
        d2 = math.hypot(to[0] - corner[0], to[1] - corner[1])
        t = self.t + 30.0  # getting out of the door
        self._point(t, a)
        if d1 > 1:
            t += d1 / speed
            self._point(t, corner)
        t += max(d2, 1.0) / speed
        self._point(t, to)
        self.t = t
        self.anchor = to
        self.indoor = indoor
        self._stay_start = t

    def visit(self, to: XY, indoor: bool, dwell_s: float) -> None:
        self.go(to, indoor)
        self.wait_until(self.t + dwell_s)

    def finish(self, end_s: float) -> Path:
        self.wait_until(max(end_s, self.t + 1))
        self.stays.append((self._stay_start, self.t, self.indoor))
        st = np.array(self.stays, dtype=float).reshape(-1, 3)
        return Path(
            np.array(self.kt),
            np.array(self.kx),
            np.array(self.ky),
            st[:, 0].copy(),
            st[:, 1].copy(),
            st[:, 2].astype(bool),
        )


def jitter(rng: np.random.Generator, xy: XY, radius_m: float) -> XY:
    a = rng.uniform(0, 2 * math.pi)
    r = radius_m * math.sqrt(rng.uniform(0, 1))
    return (xy[0] + r * math.cos(a), xy[1] + r * math.sin(a))


def offset(rng: np.random.Generator, xy: XY, lo_m: float, hi_m: float) -> XY:
    a = rng.uniform(0, 2 * math.pi)
    r = rng.uniform(lo_m, hi_m)
    return (xy[0] + r * math.cos(a), xy[1] + r * math.sin(a))
