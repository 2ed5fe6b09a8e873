"""What the devices send and when the server receives it.

Tags report every minute (a fix or no fix, with the battery level), upload at
once or in batches of 60 or 300 s, keep records through a loss of coverage
and send them in one burst, sometimes send a batch twice, can be switched
off, run flat, lose their fix in a basement, and report strap tampering.
Home units report the tag present or absent (within about 40 m, with the odd
RF dropout) and a heartbeat every 15 minutes. Protected persons' phones
report every two minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from ronda.geo.projection import LocalProjection
from ronda.simulator.movement import BoolArray, FloatArray, Path
from ronda.simulator.noise import Fixes, observe

HOME_UNIT_RANGE_M = 40.0
HEARTBEAT_S = 900.0


class Issue(StrEnum):
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    SWITCHED_OFF = "switched_off"
    BASEMENT = "basement"
    COVERAGE_LOSS = "coverage_loss"
    FLAT_BATTERY = "flat_battery"
    UNIT_POWER_CUT = "unit_power_cut"


@dataclass(order=True)
class Arrival:
    received_s: float
    device: str
    time_s: float
    seq: int
    payload: dict[str, Any] = field(compare=False)


@dataclass
class Delivered:
    """Fixes of one device as delivered (first copies), for the truth."""

    time_s: FloatArray
    received_s: FloatArray
    good: BoolArray


class Uplink:
    """When the records of one device reach the server."""

    def __init__(
        self,
        rng: np.random.Generator,
        mode: str,
        blackouts: list[tuple[float, float]],
    ) -> None:
        self.rng = rng
        self.mode = mode
        self.phase = float(rng.uniform(0, 300))
        self.blackouts = blackouts

    def received(self, t: FloatArray, urgent: bool = False) -> FloatArray:
        n = len(t)
        if urgent or self.mode == "immediate":
            lat = self.rng.uniform(1.0, 6.0, n)
            slow = self.rng.uniform(0, 1, n) < 0.02
            lat[slow] = self.rng.uniform(20.0, 90.0, int(slow.sum()))
            r = t + lat
        else:
            every = 60.0 if self.mode == "batch60" else 300.0
            ticks = self.phase + every * np.ceil((t - self.phase) / every)
            r = ticks + self.rng.uniform(1.0, 5.0, n)
        for a, b in self.blackouts:
            held = (r >= a) & (r < b)
            r[held] = b + self.rng.uniform(2.0, 8.0)  # one burst when coverage returns
        return np.floor(r)


def _times(rng: np.random.Generator, start_s: float, end_s: float, every_s: float) -> FloatArray:
    t = start_s + float(rng.integers(0, int(every_s))) + np.arange(0.0, end_s - start_s, every_s)
    t = t + rng.integers(-1, 2, len(t))
    return np.floor(t[(t >= start_s) & (t < end_s)])


def _battery(
    rng: np.random.Generator,
    start_s: float,
    end_s: float,
    charge_starts: list[float],
    issues: list[tuple[Issue, float]],
) -> tuple[FloatArray, FloatArray]:
    """Battery level per minute (percent; 0 = flat, device off)."""
    mt = np.arange(start_s, end_s + 60.0, 60.0)
    level = float(rng.uniform(60.0, 100.0))
    base = float(rng.uniform(0.4, 0.8))
    heavy = sorted((t, kind) for kind, t in issues if kind in (Issue.LOW_BATTERY, Issue.FLAT_BATTERY))
    skip = [t for t, _ in heavy]
    starts = sorted(c for c in charge_starts if not any(s - 3600 < c < s + 86400 * 0.6 for s in skip))
    out = np.empty(len(mt))
    charge_until = -math.inf
    plug_at: float | None = None
    drain: tuple[float, Issue] | None = None
    hi = 0
    ci = 0
    for j, t in enumerate(mt):
        while ci < len(starts) and starts[ci] <= t:
            charge_until = starts[ci] + 5400.0
            ci += 1
        while hi < len(heavy) and heavy[hi][0] <= t:
            drain = heavy[hi]
            level = max(level, 60.0)
            hi += 1
        if plug_at is not None and t >= plug_at:
            charge_until, plug_at, drain = t + 5400.0, None, None
        if t < charge_until:
            level = min(100.0, level + 1.0)
        else:
            rate = base if drain is None else (9.0 if drain[1] == Issue.LOW_BATTERY else 14.0)
            level = max(0.0, level - rate / 60.0)
        if drain is not None and plug_at is None:
            if drain[1] == Issue.LOW_BATTERY and level <= 13.0:
                plug_at = t + float(rng.uniform(1200, 3600))
            elif drain[1] == Issue.FLAT_BATTERY and level <= 0.0:
                plug_at = t + float(rng.uniform(1800, 5400))
        out[j] = level
    return mt, out


def tag_records(
    rng: np.random.Generator,
    proj: LocalProjection,
    device: str,
    path: Path,
    start_s: float,
    end_s: float,
    noise_level: float,
    issues: list[tuple[Issue, float]],
    charge_starts: list[float],
) -> tuple[list[Arrival], Delivered]:
    times = _times(rng, start_s, end_s, 60.0)
    mt, level = _battery(rng, start_s, end_s, charge_starts, issues)
    lvl = np.interp(times, mt, level)
    on = lvl > 0.0
    no_fix: list[tuple[float, float]] = []
    blackouts: list[tuple[float, float]] = []
    events: list[tuple[float, str]] = []
    for kind, t in issues:
        if kind == Issue.SWITCHED_OFF:
            on &= ~((times >= t) & (times < t + rng.uniform(1800, 5400)))
        elif kind == Issue.BASEMENT:
            no_fix.append((t, t + float(rng.uniform(1500, 3000))))
        elif kind == Issue.COVERAGE_LOSS:
            blackouts.append((t, t + float(rng.uniform(600, 2700))))
        elif kind == Issue.TAMPER:
            events += [
                (math.floor(t), "strap_tamper"),
                (math.floor(t + rng.uniform(480, 2700)), "strap_restored"),
            ]
    times, lvl = times[on], lvl[on]
    fixes = observe(rng, path, times, noise_level, no_fix)
    mode = str(rng.choice(["immediate", "batch60", "batch300"], p=[0.3, 0.5, 0.2]))
    up = Uplink(rng, mode, blackouts)
    received = up.received(times)
    battery = np.ceil(lvl).astype(np.int64)
    out = _positions(proj, device, fixes, received, battery)
    ev_t = np.array([t for t, _ in events], float)
    ev_r = up.received(ev_t, urgent=True) if len(ev_t) else ev_t
    for (t, name), r in zip(events, ev_r, strict=True):
        out.append(Arrival(float(r), device, t, 0, {"event": name}))
    out = _duplicates(rng, out)
    keep = received <= end_s
    delivered = Delivered(times[keep], received[keep], fixes.good[keep])
    return [a for a in out if a.received_s <= end_s], delivered


def _positions(
    proj: LocalProjection,
    device: str,
    fixes: Fixes,
    received: FloatArray,
    battery: npt.NDArray[np.int64],
) -> list[Arrival]:
    lon, lat = proj.to_lonlat(fixes.x, fixes.y)
    out = []
    for i in range(len(fixes.time_s)):
        if fixes.valid[i]:
            payload: dict[str, Any] = {
                "lat": round(float(lat[i]), 7),
                "lon": round(float(lon[i]), 7),
                "accuracy": round(float(fixes.accuracy_m[i]), 1),
                "speed": round(float(fixes.speed_mps[i]), 1),
                "battery": int(battery[i]),
            }
        else:
            payload = {"valid": False, "battery": int(battery[i])}
        out.append(Arrival(float(received[i]), device, float(fixes.time_s[i]), 1, payload))
    return out


def _duplicates(rng: np.random.Generator, arrivals: list[Arrival]) -> list[Arrival]:
    """Some uploads are retransmitted minutes later."""
    extra = []
    for a in arrivals:
        if "event" not in a.payload and rng.uniform() < 0.004:
            extra.append(
                Arrival(a.received_s + math.floor(rng.uniform(60, 600)), a.device, a.time_s, 2, a.payload)
            )
    return arrivals + extra


def unit_records(
    rng: np.random.Generator,
    device: str,
    wearer: Path,
    home_xy: tuple[float, float],
    start_s: float,
    end_s: float,
    power_cuts: list[tuple[float, float]],
) -> list[Arrival]:
    grid = np.arange(start_s, end_s, 10.0)
    x, y = wearer.at(grid)
    near = np.hypot(x - home_xy[0], y - home_xy[1]) <= HOME_UNIT_RANGE_M
    events: list[tuple[float, str]] = []
    state = bool(near[0])
    events.append((start_s, "tag_present" if state else "tag_absent"))
    run = 0
    for i in range(1, len(grid)):
        if bool(near[i]) != state:
            run += 1
            if run >= 3:  # debounce: 30 s in the new state
                state = not state
                events.append((float(grid[i - 2]), "tag_present" if state else "tag_absent"))
                run = 0
        else:
            run = 0
    days = (end_s - start_s) / 86400.0
    for _ in range(int(rng.poisson(0.6 * days))):  # RF dropouts while at home
        t = float(rng.uniform(start_s, end_s - 600))
        i = int((t - start_s) // 10)
        if near[i : i + 30].all():
            events.append((math.floor(t), "tag_absent"))
            events.append((math.floor(t + rng.uniform(60, 240)), "tag_present"))
    beats = np.arange(start_s + float(rng.integers(0, 900)), end_s, HEARTBEAT_S)
    out: list[Arrival] = []
    items = [(t, e) for t, e in events] + [(float(t), "heartbeat") for t in beats]
    for t, kind in items:
        t = math.floor(t)
        r = t + math.floor(rng.uniform(1.0, 4.0))
        cut = next(((a, b) for a, b in power_cuts if a <= t < b), None)
        if cut is not None:
            if kind == "heartbeat":
                continue
            r = math.floor(cut[1] + rng.uniform(2.0, 6.0))
        if r <= end_s:
            out.append(Arrival(float(r), device, float(t), 0, {"event": kind}))
    return out


def phone_records(
    rng: np.random.Generator,
    proj: LocalProjection,
    device: str,
    path: Path,
    start_s: float,
    end_s: float,
    noise_level: float,
) -> tuple[list[Arrival], Delivered]:
    times = _times(rng, start_s, end_s, 120.0)
    fixes = observe(rng, path, times, noise_level, [])
    up = Uplink(rng, "immediate", [])
    received = up.received(times)
    battery = np.full(len(times), int(rng.integers(40, 100)), dtype=np.int64)
    out = _positions(proj, device, fixes, received, battery)
    keep = received <= end_s
    return [a for a in out if a.received_s <= end_s], Delivered(times[keep], received[keep], fixes.good[keep])
