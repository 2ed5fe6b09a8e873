"""What decided an episode, and what the engine could not see.

The engine keeps no list of the fixes behind each decision, so the report
measures them again, the way the engine weighs them (engine/params.py): a
fix is *violating* when it lies beyond the boundary by more than
`accuracy_k × accuracy + margin`, *compliant* when on the right side, and
*within uncertainty* otherwise. These are facts about stored fixes, checked
with the same geometry (`ronda.zones.geometry`) in the same metric
projection, so anyone can redo them from the attached data.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from ronda.engine.params import EngineParams
from ronda.evidence.model import Event, Fix, WornDevice
from ronda.geo.projection import LocalProjection
from ronda.rules.schedule import Schedule
from ronda.zones.geometry import project_zone
from ronda.zones.models import Zone

DEFAULT_ACCURACY_M = 50.0  # a fix without a stated accuracy is weighed as a poor one
EVIDENCE_BEFORE_S = 300.0  # fixes shown before an episode starts: how it began
EVIDENCE_AFTER_S = 300.0  # ... and after it ends: how it ended
MIN_GAP_S = 300.0  # silences shorter than this are not worth a court's time
MIN_NOFIX_S = 300.0


class Verdict(StrEnum):
    VIOLATING = "violating"
    COMPLIANT = "compliant"
    UNCERTAIN = "uncertain"
    INACTIVE = "inactive"  # the rule's schedule was not in force at the fix's time


@dataclass(frozen=True, slots=True)
class WeighedFix:
    fix: Fix
    beyond_m: float  # metres on the violating side of the boundary (negative: the right side)
    uncertainty_m: float
    verdict: Verdict
    other: Fix | None = None  # proximity: the protected person's fix it was paired with
    distance_m: float | None = None  # proximity: distance between the two


@dataclass(frozen=True, slots=True)
class Period:
    device: str
    start_s: float
    end_s: float
    reports: int = 0  # reports without a fix in a no-fix period

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def projection_for(fixes: Sequence[Fix], zones: Sequence[Zone]) -> LocalProjection:
    lons = [f.lon for f in fixes if f.lon is not None]
    lats = [f.lat for f in fixes if f.lat is not None]
    for z in zones:
        if z.geometry.get("type") == "Point":
            lons.append(z.geometry["coordinates"][0])
            lats.append(z.geometry["coordinates"][1])
    return LocalProjection.around(lons, lats)


def _verdict(beyond_m: float, unc_m: float, p: EngineParams) -> Verdict:
    if beyond_m > unc_m:
        return Verdict.VIOLATING
    if beyond_m < -p.compliant_margin_m:
        return Verdict.COMPLIANT
    return Verdict.UNCERTAIN


def _accuracy(fix: Fix, p: EngineParams) -> float:
    acc = (
        fix.accuracy_m if fix.accuracy_m is not None and math.isfinite(fix.accuracy_m) else DEFAULT_ACCURACY_M
    )
    return max(acc, p.min_accuracy_m)


def _in_force(schedule: Schedule | None, t: float) -> bool:
    return schedule is None or schedule.active_at(t)


def weigh_zone_fixes(
    fixes: Sequence[Fix],
    rule: dict[str, Any],
    zone: Zone,
    p: EngineParams | None = None,
    schedule: Schedule | None = None,
) -> list[WeighedFix]:
    """Each located fix against an exclusion or inclusion rule's zone (a fix
    outside the rule's schedule is `INACTIVE`, whatever its position)."""
    p = p or EngineParams()
    located = [f for f in fixes if f.located]
    if not located:
        return []
    proj = projection_for(located, [zone])
    shape = project_zone(zone, proj)
    xs, ys = proj.to_xy([f.lon or 0.0 for f in located], [f.lat or 0.0 for f in located])
    depth = shape.depth_m(xs, ys)  # positive inside
    sign = 1.0 if rule.get("type") == "exclusion" else -1.0
    out = []
    for f, d in zip(located, depth.tolist(), strict=True):
        unc = p.accuracy_k * _accuracy(f, p) + p.margin_m
        beyond = sign * d
        verdict = _verdict(beyond, unc, p) if _in_force(schedule, f.time_s) else Verdict.INACTIVE
        out.append(WeighedFix(f, beyond, unc, verdict))
    return out


def weigh_proximity_fixes(
    fixes: Sequence[Fix],
    distance_m: float,
    other: Sequence[Fix],
    p: EngineParams | None = None,
    schedule: Schedule | None = None,
) -> list[WeighedFix]:
    """Each located fix against the protected person's nearest fix in time
    (within `pair_max_age_s`), the uncertainty widened by how far they may
    have moved meanwhile (as the engine does)."""
    p = p or EngineParams()
    mine = [f for f in fixes if f.located]
    theirs = sorted((f for f in other if f.located), key=lambda f: f.time_s)
    if not mine or not theirs:
        return []
    proj = projection_for([*mine, *theirs], [])
    tx, ty = proj.to_xy([f.lon or 0.0 for f in theirs], [f.lat or 0.0 for f in theirs])
    mx, my = proj.to_xy([f.lon or 0.0 for f in mine], [f.lat or 0.0 for f in mine])
    times = [f.time_s for f in theirs]
    out = []
    for i, f in enumerate(mine):
        k = bisect.bisect_left(times, f.time_s)
        best = min((j for j in (k - 1, k) if 0 <= j < len(theirs)), key=lambda j: abs(times[j] - f.time_s))
        gap = abs(times[best] - f.time_s)
        if gap > p.pair_max_age_s:
            continue
        o = theirs[best]
        dist = float(np.hypot(mx[i] - tx[best], my[i] - ty[best]))
        sigma = math.hypot(_accuracy(f, p), _accuracy(o, p))
        drift = max(o.speed_mps or 0.0, p.pair_speed_mps) * gap
        unc = p.accuracy_k * sigma + p.margin_m + drift
        beyond = distance_m - dist
        verdict = _verdict(beyond, unc, p) if _in_force(schedule, f.time_s) else Verdict.INACTIVE
        out.append(WeighedFix(f, beyond, unc, verdict, other=o, distance_m=dist))
    return out


def episode_window(start_s: float, end_s: float | None, period_end_s: float) -> tuple[float, float]:
    """The stretch of fixes that shows how an episode began and ended."""
    end = end_s if end_s is not None else period_end_s
    return start_s - EVIDENCE_BEFORE_S, end + EVIDENCE_AFTER_S


def deciding(
    weighed: Sequence[WeighedFix], start_s: float, raised_s: float, end_s: float | None
) -> list[WeighedFix]:
    """The fixes that decided an episode: those from a little before its start
    until it was raised (the opening run), and those around its end (the
    closing run). Sorted by time, no repeats."""
    opening = [w for w in weighed if start_s - EVIDENCE_BEFORE_S <= w.fix.time_s <= max(raised_s, start_s)]
    closing: list[WeighedFix] = []
    if end_s is not None:
        closing = [w for w in weighed if end_s - EVIDENCE_AFTER_S <= w.fix.time_s <= end_s + EVIDENCE_AFTER_S]
    seen: set[tuple[str, float]] = set()
    out = []
    for w in sorted([*opening, *closing], key=lambda w: w.fix.time_s):
        key = (w.fix.device, w.fix.time_s)
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out


def gap_threshold_s(device: WornDevice) -> float:
    """How long a device may be silent before the silence is worth reporting:
    five expected reports, or its communication timeout, never under 5 min."""
    if device.report_interval_s:
        return max(5 * device.report_interval_s, MIN_GAP_S)
    if device.comms_timeout_s:
        return max(device.comms_timeout_s, MIN_GAP_S)
    return 1800.0


def data_gaps(device: WornDevice, times_s: Sequence[float], start_s: float, end_s: float) -> list[Period]:
    """Stretches of [start_s, end_s) (clipped to when the device was worn) with
    no record at all from the device, longer than `gap_threshold_s`."""
    lo = max(start_s, device.start_s)
    hi = min(end_s, device.end_s if device.end_s is not None else end_s)
    if hi <= lo:
        return []
    limit = gap_threshold_s(device)
    marks = [lo, *sorted(t for t in times_s if lo <= t < hi), hi]
    return [Period(device.id, a, b) for a, b in itertools.pairwise(marks) if b - a > limit]


def no_fix_periods(fixes: Sequence[Fix], min_s: float = MIN_NOFIX_S) -> list[Period]:
    """Runs of reports without a fix, per device: from the first such report to
    the next located fix (or the last such report), at least `min_s` long."""
    out: list[Period] = []
    by_device: dict[str, list[Fix]] = {}
    for f in fixes:
        by_device.setdefault(f.device, []).append(f)
    for dev, items in sorted(by_device.items()):
        items.sort(key=lambda f: f.time_s)
        run: list[Fix] = []
        for g in [*items, None]:
            if g is not None and not g.located:
                run.append(g)
                continue
            if run:
                end = g.time_s if g is not None else run[-1].time_s
                if end - run[0].time_s >= min_s:
                    out.append(Period(dev, run[0].time_s, end, len(run)))
                run = []
    return sorted(out, key=lambda p: (p.start_s, p.device))


HOME_EVENTS = ("tag_present", "tag_absent")


def home_view(
    events: Sequence[Event], home_units: set[str], start_s: float, end_s: float
) -> tuple[Event | None, list[Event]]:
    """The home units' presence reports: the last one before `start_s` (what the
    unit believed when the episode began) and those in [start_s, end_s]."""
    mine = sorted(
        (e for e in events if e.device in home_units and e.kind in HOME_EVENTS), key=lambda e: e.time_s
    )
    before = [e for e in mine if e.time_s < start_s]
    within = [e for e in mine if start_s <= e.time_s <= end_s]
    return (before[-1] if before else None), within
