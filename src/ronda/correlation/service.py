"""Correlate an incident with the trails in an index.

1. Near: every fix in the window, and every straight segment between two
   linked fixes clipped to the window, is measured against the area. It is
   near when its distance is within the incident's distance plus the fix's
   accuracy (for a segment, the worse of its two fixes).
2. Each person's most certain approach is the near fix or interpolated
   point with the smallest worst case: distance plus uncertainty (accuracy,
   and for an interpolated point a slack growing with the time to the
   nearest fix), so a fix beats a guess between fixes. Persons are ranked by
   it; the closest distance of all is reported beside it.
3. Could not be placed: a person not near, with a silence overlapping the
   window during which the scene was within reach of the fixes around it at
   the assumed top speed (a space-time prism), is listed as a gap, never
   dropped as absent.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from shapely.geometry.base import BaseGeometry

from ronda.correlation.geometry import area_xy, point_distance, segment_distance
from ronda.correlation.index import IntArray, TrailIndex
from ronda.correlation.models import (
    Confidence,
    Incident,
    Method,
    Near,
    Result,
    Silence,
    SupportingFix,
    Unplaced,
)
from ronda.errors import InvalidInput
from ronda.geo.projection import FloatArray

_EDGE = 1e-9  # a closest point this close to a segment's end is that end's fix


def correlate(index: TrailIndex, incident: Incident) -> Result:
    p = index.params
    area = area_xy(incident.area, index.projection)
    big = incident.distance_m
    ws, we = incident.start_s, incident.end_s
    f = p.accuracy_factor
    minx, miny, maxx, maxy = area.bounds
    reach = big + p.max_accuracy_m * f  # the box test must not lose a fix its accuracy makes near
    k = index.candidate_fixes(ws, we, (minx - reach, miny - reach, maxx + reach, maxy + reach))
    t, x, y, acc = index.t, index.x, index.y, index.acc

    # fixes in the window
    pts = k[(t[k] >= ws) & (t[k] <= we)]
    dp = point_distance(area, x[pts].astype(float), y[pts].astype(float))
    ap = acc[pts].astype(float) * f
    near_p = dp <= big + ap

    # segments between linked fixes, clipped to the window
    seg = k[index.linked[k]]
    seg = seg[(t[seg] <= we) & (t[np.minimum(seg + 1, len(t) - 1)] >= ws)]
    t0, t1 = t[seg], t[seg + 1]
    x0, y0 = x[seg].astype(float), y[seg].astype(float)
    x1, y1 = x[seg + 1].astype(float), y[seg + 1].astype(float)
    dur = t1 - t0
    safe = np.where(dur > 0, dur, 1.0)
    fa = np.where(dur > 0, (np.maximum(t0, ws) - t0) / safe, 0.0)
    fb = np.where(dur > 0, (np.minimum(t1, we) - t0) / safe, 1.0)
    ds, frac = segment_distance(
        area, x0 + fa * (x1 - x0), y0 + fa * (y1 - y0), x0 + fb * (x1 - x0), y0 + fb * (y1 - y0)
    )
    fs = fa + frac * (fb - fa)
    ts = t0 + fs * dur
    xs, ys = x0 + fs * (x1 - x0), y0 + fs * (y1 - y0)
    as_ = np.maximum(acc[seg], acc[seg + 1]).astype(float) * f
    at_fix = ((fs <= _EDGE) & (t0 >= ws)) | ((fs >= 1 - _EDGE) & (t1 <= we))  # measured as a fix already
    near_s = (ds <= big + as_) & ~at_fix
    slack = p.interpolation_slack_mps * np.minimum(ts - t0, t1 - ts)

    # near candidates: person, distance, uncertainty, interpolated?, time, x, y, allowance, fix, duration
    cp = np.concatenate([index.person_of(pts[near_p]), index.person_of(seg[near_s])])
    cd = np.concatenate([dp[near_p], ds[near_s]])
    cu = np.concatenate([ap[near_p], as_[near_s] + slack[near_s]])
    ci = np.concatenate([np.zeros(int(near_p.sum()), bool), np.ones(int(near_s.sum()), bool)])
    ct = np.concatenate([t[pts[near_p]], ts[near_s]])
    cx = np.concatenate([x[pts[near_p]].astype(float), xs[near_s]])
    cy = np.concatenate([y[pts[near_p]].astype(float), ys[near_s]])
    ca = np.concatenate([big + ap[near_p], big + as_[near_s]])
    cka = np.concatenate([pts[near_p], seg[near_s]])
    cdur = np.concatenate([np.zeros(int(near_p.sum())), dur[near_s]])

    # per person, the candidate with the smallest worst case (ties: nearer, then a fix)
    order = np.lexsort((ci, cd, cd + cu, cp))
    firsts = order[np.concatenate([[True], cp[order][1:] != cp[order][:-1]])] if len(order) else order
    closest: dict[int, float] = {}
    for person_i, d in zip(cp.tolist(), cd.tolist(), strict=True):
        closest[person_i] = min(d, closest.get(person_i, d))
    near_persons = set(cp.tolist())
    pts_person = index.person_of(pts)
    gaps_all = _silences(index, incident, area)
    near: list[Near] = []
    for i in firsts.tolist():
        person = int(cp[i])
        interp = bool(ci[i])
        if not interp:
            conf = Confidence.HIGH if cd[i] <= big else Confidence.MEDIUM
        elif cdur[i] <= p.short_interpolation_s or cd[i] + cu[i] <= ca[i]:
            conf = Confidence.MEDIUM
        else:
            conf = Confidence.LOW
        mine = (pts_person == person) & near_p
        near_idx = pts[mine][np.argsort(dp[mine], kind="stable")][: p.max_supporting_fixes]
        support = list(near_idx.tolist())
        if interp:
            support = [int(cka[i]), int(cka[i]) + 1, *support]
        lon, lat = index.projection.to_lonlat([cx[i]], [cy[i]])
        near.append(
            Near(
                person=index.persons[person],
                min_distance_m=closest[person],
                distance_m=float(cd[i]),
                at_s=float(ct[i]),
                lat=float(lat[0]),
                lon=float(lon[0]),
                method=Method.INTERPOLATED if interp else Method.FIX,
                uncertainty_m=float(cu[i]),
                allowance_m=float(ca[i]),
                confidence=conf,
                near_fixes=int(mine.sum()),
                gaps=len(gaps_all.get(person, ())),
                supporting=tuple(_fixes(index, area, dict.fromkeys(support))),
            )
        )
    near.sort(key=lambda m: (m.worst_case_m, m.distance_m, m.method != Method.FIX, m.person))

    unplaced = [
        Unplaced(
            person=index.persons[person],
            nearest_known_m=min(
                (fx.distance_m for s in silences for fx in (s.before, s.after) if fx is not None),
                default=None,
            ),
            silences=tuple(silences),
        )
        for person, silences in gaps_all.items()
        if person not in near_persons
    ]
    unplaced.sort(key=lambda u: (u.nearest_known_m is None, u.nearest_known_m or 0.0, u.person))
    return Result(
        incident=incident,
        params=p,
        near=tuple(near),
        unplaced=tuple(unplaced),
        persons_considered=index.persons_covering(ws, we),
    )


def correlate_all(index: TrailIndex, incidents: Iterable[Incident]) -> list[Result]:
    incidents = list(incidents)
    ids = [i.id for i in incidents]
    if len(set(ids)) != len(ids):
        raise InvalidInput("incident ids must be unique in a batch", field="id")
    return [correlate(index, i) for i in incidents]


def _silences(index: TrailIndex, incident: Incident, area: BaseGeometry) -> dict[int, list[Silence]]:
    """Gaps overlapping the window during which the area was within reach."""
    p = index.params
    big, ws, we = incident.distance_m, incident.start_s, incident.end_s
    g = index.gaps
    gi = index.gaps_overlapping(ws, we)
    if len(gi) == 0:
        return {}
    k0, k1 = g.k0[gi], g.k1[gi]
    has0, has1 = k0 >= 0, k1 >= 0
    # how far outside the allowance each bounding fix was (0: it was near, or there is none)
    out0, out1 = np.zeros(len(gi)), np.zeros(len(gi))
    for beyond, has, k in ((out0, has0, k0), (out1, has1, k1)):
        kk = k[has]
        d = point_distance(area, index.x[kk].astype(float), index.y[kk].astype(float))
        beyond[has] = np.maximum(d - big - index.acc[kk] * p.accuracy_factor, 0.0)
    lo = np.maximum(ws, np.where(has0, g.t0[gi] + out0 / p.max_speed_mps, g.t0[gi]))
    hi = np.minimum(we, np.where(has1, g.t1[gi] - out1 / p.max_speed_mps, g.t1[gi]))
    ok = lo <= hi
    out: dict[int, list[Silence]] = {}
    for j in np.flatnonzero(ok).tolist():
        before = _fixes(index, area, [int(k0[j])])[0] if has0[j] else None
        after = _fixes(index, area, [int(k1[j])])[0] if has1[j] else None
        out.setdefault(int(g.person[gi[j]]), []).append(
            Silence(
                from_s=float(g.t0[gi[j]]),
                to_s=float(g.t1[gi[j]]),
                before=before,
                after=after,
                reachable_from_s=float(lo[j]),
                reachable_to_s=float(hi[j]),
            )
        )
    return out


def _fixes(index: TrailIndex, area: BaseGeometry, ks: Iterable[int]) -> list[SupportingFix]:
    arr: IntArray = np.array(sorted(set(ks), key=lambda k: (index.t[k], k)), np.int64)
    if len(arr) == 0:
        return []
    xs: FloatArray = index.x[arr].astype(float)
    ys: FloatArray = index.y[arr].astype(float)
    d = point_distance(area, xs, ys)
    lon, lat = index.projection.to_lonlat(xs, ys)
    return [
        SupportingFix(
            device=index.devices[int(index.dev[k])] if index.devices else "",
            time_s=float(index.t[k]),
            lat=float(lat[i]),
            lon=float(lon[i]),
            accuracy_m=float(index.acc[k]),
            distance_m=float(d[i]),
        )
        for i, k in enumerate(arr.tolist())
    ]
