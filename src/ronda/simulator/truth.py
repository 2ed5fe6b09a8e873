"""The truth: every episode in which an order was really broken, from the
true (noise-free) paths sampled every 10 s, and every device-health episode
from what the server really received (FORMAT.md).

A rule episode is `clear` when it lasts 3 minutes or more at least 50 m past
the zone's boundary (100 m inside a proximity distance) and at least three
good fixes were delivered from that deep part; otherwise `marginal`. Its
`available` is the arrival of the first of those good fixes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely

from ronda.simulator.devices import Arrival, Delivered
from ronda.simulator.movement import Path
from ronda.simulator.population import Monitored, RuleSpec, Victim
from ronda.types import to_iso

STEP_S = 10.0
MIN_CLEAR_S = 180.0
ZONE_DEPTH_M = 50.0
PROXIMITY_DEPTH_M = 100.0
MIN_GOOD_FIXES = 3
MIN_EXCESS_S = 60.0  # comms loss: gap beyond the timeout for a clear episode


@dataclass(frozen=True, slots=True)
class Episode:
    person: str
    type: str
    start_s: float
    end_s: float
    clear: bool
    available_s: float | None = None
    rule: str | None = None
    device: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"person": self.person}
        if self.rule is not None:
            out["rule"] = self.rule
        if self.device is not None:
            out["device"] = self.device
        out["type"] = self.type
        out["start"] = to_iso(round(self.start_s))
        out["end"] = to_iso(round(self.end_s))
        out["class"] = "clear" if self.clear else "marginal"
        if self.clear and self.available_s is not None:
            out["available"] = to_iso(round(self.available_s))
        return out


def _depth(
    rule: RuleSpec,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    other: Path | None,
    t: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Metres past the rule's limit (positive = violating)."""
    if rule.type == "proximity":
        assert other is not None and rule.distance_m is not None
        ox, oy = other.at(t)
        return rule.distance_m - np.hypot(x - ox, y - oy)
    zone = rule.zone
    assert zone is not None
    if zone.centre is not None:
        inside_m = zone.radius_m - np.hypot(x - zone.centre[0], y - zone.centre[1])
        return inside_m if rule.type == "exclusion" else -inside_m
    assert zone.shape is not None
    inside = shapely.contains_xy(zone.shape, x, y)
    bad = inside if rule.type == "exclusion" else ~inside
    out = np.full(len(x), -1.0)
    if bad.any():
        out[bad] = shapely.distance(zone.shape.boundary, shapely.points(x[bad], y[bad]))
    return out


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def rule_episodes(
    person: Monitored,
    victims: dict[str, Victim],
    tz: ZoneInfo,
    start_s: float,
    end_s: float,
    tag: Delivered,
    phones: dict[str, Delivered],
) -> list[Episode]:
    assert person.path is not None
    grid = np.arange(start_s, end_s, STEP_S)
    x, y = person.path.at(grid)
    good_t = tag.time_s[tag.good]
    good_r = tag.received_s[tag.good]
    gx, gy = person.path.at(good_t)
    out: list[Episode] = []
    for rule in person.rules:
        other = victims[rule.person].path if rule.person else None
        active = rule.schedule.active(grid, tz, start_s, end_s) if rule.schedule else np.ones(len(grid), bool)
        depth = _depth(rule, x, y, other, grid)
        need = PROXIMITY_DEPTH_M if rule.type == "proximity" else ZONE_DEPTH_M
        g_active = (
            rule.schedule.active(good_t, tz, start_s, end_s) if rule.schedule else np.ones(len(good_t), bool)
        )
        g_deep = g_active & (_depth(rule, gx, gy, other, good_t) >= need)
        for i0, i1 in _runs(active & (depth > 0)):
            a = float(grid[i0])
            b = float(grid[i1]) if i1 < len(grid) else end_s
            deep_s = float(np.count_nonzero(depth[i0:i1] >= need)) * STEP_S
            seen = g_deep & (good_t >= a) & (good_t < b)
            clear = deep_s >= MIN_CLEAR_S and int(seen.sum()) >= MIN_GOOD_FIXES
            if clear and rule.type == "proximity" and rule.person is not None:
                ph = phones.get(rule.person)
                pt = ph.time_s[ph.good] if ph is not None else np.array([])
                deep_t = grid[i0:i1][depth[i0:i1] >= need]
                near = (pt >= deep_t[0] - 120) & (pt <= deep_t[-1] + 120)
                clear = int(near.sum()) >= 2
            avail = float(good_r[seen].min()) if clear else None
            out.append(Episode(person.id, rule.type, a, b, clear, avail, rule=rule.id))
    return out


def _by_device(arrivals: Iterable[Arrival]) -> dict[str, list[Arrival]]:
    per: dict[str, list[Arrival]] = defaultdict(list)
    for a in arrivals:
        per[a.device].append(a)
    return per


def health_episodes(
    arrivals: list[Arrival],
    owners: dict[str, str],
    timeouts: dict[str, float | None],
    tags: set[str],
    end_s: float,
    low_battery_pct: float,
    no_fix_timeout_s: float,
) -> list[Episode]:
    out: list[Episode] = []
    for dev, recs in sorted(_by_device(arrivals).items()):
        if dev not in owners:
            continue
        person = owners[dev]
        timeout = timeouts.get(dev)
        if timeout:
            rec_t = sorted(a.received_s for a in recs)
            for r0, r1 in zip(rec_t, [*rec_t[1:], end_s], strict=True):
                if r1 - r0 > timeout:
                    s = r0 + timeout
                    out.append(Episode(person, "comms_loss", s, r1, r1 - s >= MIN_EXCESS_S, s, device=dev))
        if dev not in tags:
            continue
        seen: dict[float, Arrival] = {}
        for a in sorted(recs, key=lambda a: a.received_s):
            seen.setdefault(a.time_s * 2 + ("event" in a.payload), a)
        ordered = sorted(seen.values(), key=lambda a: a.time_s)
        out += _tamper(person, dev, ordered, end_s)
        positions = [a for a in ordered if "event" not in a.payload]
        out += _no_fix(person, dev, positions, end_s, no_fix_timeout_s)
        out += _low_battery(person, dev, positions, end_s, low_battery_pct)
    return out


def _tamper(person: str, dev: str, recs: list[Arrival], end_s: float) -> list[Episode]:
    out = []
    opened: Arrival | None = None
    for a in recs:
        ev = a.payload.get("event")
        if ev == "strap_tamper" and opened is None:
            opened = a
        elif ev == "strap_restored" and opened is not None:
            out.append(
                Episode(person, "tamper", opened.time_s, a.time_s, True, opened.received_s, device=dev)
            )
            opened = None
    if opened is not None:
        out.append(Episode(person, "tamper", opened.time_s, end_s, True, opened.received_s, device=dev))
    return out


def _no_fix(person: str, dev: str, recs: list[Arrival], end_s: float, timeout_s: float) -> list[Episode]:
    out = []
    last_valid: float | None = None
    lost: list[Arrival] = []
    for a in [*recs, None]:
        valid = a is None or a.payload.get("valid", True)
        if a is not None and not valid:
            lost.append(a)
            continue
        if last_valid is not None:
            s = last_valid + timeout_s
            after = [r for r in lost if r.time_s > s]
            if after:
                e = a.time_s if a is not None else end_s
                clear = e - s >= MIN_CLEAR_S and len(after) >= MIN_GOOD_FIXES
                avail = min(r.received_s for r in after)
                out.append(Episode(person, "no_fix", s, e, clear, avail, device=dev))
        if a is not None:
            last_valid = a.time_s
        lost = []
    return out


def _low_battery(person: str, dev: str, recs: list[Arrival], end_s: float, threshold: float) -> list[Episode]:
    out = []
    low: list[Arrival] = []
    for a in [*recs, None]:
        level = a.payload.get("battery") if a is not None else None
        if a is not None and level is not None and level <= threshold:
            low.append(a)
            continue
        if low and (a is None or level is not None):
            e = a.time_s if a is not None else end_s
            s = low[0].time_s
            clear = e - s >= 300.0 and len(low) >= MIN_GOOD_FIXES
            out.append(
                Episode(person, "low_battery", s, e, clear, min(r.received_s for r in low), device=dev)
            )
            low = []
    return out
