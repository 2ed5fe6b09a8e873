"""A spatio-temporal index of trails: which fixes and segments could matter
for an area and a time window, found without looking at the rest.

Every fix of every person sits in one set of arrays sorted by person and time
(struct of arrays: time float64, metres and accuracy float32). A fix is
*linked* to the next one of the same person when they are at most the gap
limit apart: the straight segment between them is the interpolated trail.
Longer silences are kept apart as *gaps*.

The index proper is one bounding box per person and time bucket (30 minutes
by default) that covers the bucket's fixes, the segments that start in it and
their accuracy. Boxes are sorted by bucket, so a window selects a contiguous
run of them; one vectorised comparison against the area's bounding box
leaves the few persons whose fixes are worth an exact distance. This is the
leaf level of a trajectory R-tree, flat because buckets already cut time
into pieces small enough to scan. Gaps are few and are scanned whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ronda.correlation.models import Params
from ronda.errors import InvalidInput
from ronda.geo.projection import FloatArray, LocalProjection

IntArray = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_BUCKET_S = 1800.0


@dataclass(frozen=True)
class Trail:
    """One person's fixes (any order; several devices allowed), and the period
    the person was monitored (`covered_*`: silence inside it is a gap, time
    outside it is not looked at). Accuracy NaN means not stated."""

    person: str
    time_s: Sequence[float] | FloatArray
    lat: Sequence[float] | FloatArray
    lon: Sequence[float] | FloatArray
    accuracy_m: Sequence[float] | FloatArray
    device: Sequence[str]
    covered_from_s: float
    covered_to_s: float
    max_gap_s: float | None = None  # the device's own comms timeout, when it has one


@dataclass
class Gaps:
    person: npt.NDArray[np.int32]
    t0: FloatArray
    t1: FloatArray
    k0: IntArray  # the fix before, or -1 (the gap starts where monitoring does)
    k1: IntArray  # the fix after, or -1


@dataclass
class TrailIndex:
    projection: LocalProjection
    params: Params
    persons: list[str]
    devices: list[str]
    offsets: IntArray  # fixes of person p: offsets[p]:offsets[p+1]
    covered_from_s: FloatArray
    covered_to_s: FloatArray
    t: FloatArray
    x: F32
    y: F32
    acc: F32  # accuracy in metres (stated or default), already validated
    dev: npt.NDArray[np.int32]
    linked: BoolArray  # fix k is joined to fix k+1
    gaps: Gaps
    bucket_s: float
    origin_s: float
    bucket_offsets: IntArray  # boxes of bucket b: bucket_offsets[b]:bucket_offsets[b+1]
    box_start: IntArray  # first fix of the box
    box_end: IntArray  # one past its last fix
    box: F32  # (n, 4): xmin ymin xmax ymax, accuracy included
    build_s: float = field(default=0.0)

    # -- building ------------------------------------------------------

    @classmethod
    def build(
        cls,
        trails: Sequence[Trail],
        params: Params,
        projection: LocalProjection | None = None,
        bucket_s: float = DEFAULT_BUCKET_S,
    ) -> TrailIndex:
        """From trails in longitude/latitude (projected around their middle
        unless a projection is given)."""
        persons = [tr.person for tr in trails]
        if len(set(persons)) != len(persons):
            raise InvalidInput("one trail per person")
        sizes = np.array([len(tr.time_s) for tr in trails], np.int64)
        for tr in trails:
            n = len(tr.time_s)
            if not (len(tr.lat) == len(tr.lon) == len(tr.accuracy_m) == len(tr.device) == n):
                raise InvalidInput("trail of {person}: arrays of different lengths", person=tr.person)
        t = np.concatenate([np.asarray(tr.time_s, float) for tr in trails]) if trails else np.zeros(0)
        lat = np.concatenate([np.asarray(tr.lat, float) for tr in trails]) if trails else np.zeros(0)
        lon = np.concatenate([np.asarray(tr.lon, float) for tr in trails]) if trails else np.zeros(0)
        acc = np.concatenate([np.asarray(tr.accuracy_m, float) for tr in trails]) if trails else np.zeros(0)
        names = [d for tr in trails for d in tr.device]
        devices = sorted(set(names))
        code = {d: i for i, d in enumerate(devices)}
        dev = np.fromiter((code[d] for d in names), np.int32, len(names))
        if projection is None:
            ok = np.isfinite(lat) & np.isfinite(lon)
            if ok.any():
                projection = LocalProjection.around(
                    [float(lon[ok].min()), float(lon[ok].max())], [float(lat[ok].min()), float(lat[ok].max())]
                )
            else:
                projection = LocalProjection(0.0, 0.0)
        x, y = projection.to_xy(lon, lat)
        gap = np.array([params.max_gap_s if tr.max_gap_s is None else tr.max_gap_s for tr in trails], float)
        return cls.from_xy(
            persons,
            np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            t,
            x,
            y,
            acc,
            dev,
            devices,
            np.array([tr.covered_from_s for tr in trails], float),
            np.array([tr.covered_to_s for tr in trails], float),
            projection,
            params,
            max_gap_s=gap,
            bucket_s=bucket_s,
        )

    @classmethod
    def from_xy(
        cls,
        persons: list[str],
        offsets: IntArray,
        t: FloatArray,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        acc: npt.ArrayLike,
        dev: npt.NDArray[np.int32],
        devices: list[str],
        covered_from_s: FloatArray,
        covered_to_s: FloatArray,
        projection: LocalProjection,
        params: Params,
        *,
        max_gap_s: FloatArray | None = None,
        bucket_s: float = DEFAULT_BUCKET_S,
    ) -> TrailIndex:
        """From fixes already in metres, concatenated person by person."""
        if not (math.isfinite(bucket_s) and bucket_s >= 60):
            raise InvalidInput("bucket_s must be at least 60 s", field="bucket_s")
        n_persons = len(persons)
        # Written for a month of a large caseload (~10^8 fixes): float32 and
        # bool temporaries, freed as soon as they are used.
        person = np.repeat(np.arange(n_persons, dtype=np.int32), np.diff(offsets))
        t = np.asarray(t, np.float64)
        xf, yf = np.asarray(x, np.float32), np.asarray(y, np.float32)
        accf = np.array(acc, np.float32)
        accf[~(np.isfinite(accf) & (accf >= 0))] = np.float32(params.default_accuracy_m)
        # A fix too poor to place anyone, or without coordinates, is no fix.
        keep = (accf <= params.max_accuracy_m) & np.isfinite(xf) & np.isfinite(yf) & np.isfinite(t)
        if not keep.all():
            person, t, dev = person[keep], t[keep], dev[keep]
            xf, yf, accf = xf[keep], yf[keep], accf[keep]
        del keep
        # Person by person, in time order (a no-op for sorted input, checked cheaply).
        same = person[1:] == person[:-1]
        dt = np.diff(t)
        if len(t) > 1 and not (np.all(person[1:] >= person[:-1]) and np.all(dt[same] >= 0)):
            order = np.lexsort((t, person))
            person, t, dev = person[order], t[order], dev[order]
            xf, yf, accf = xf[order], yf[order], accf[order]
            del order
            same = person[1:] == person[:-1]
            dt = np.diff(t)
        offsets = np.searchsorted(person, np.arange(n_persons + 1)).astype(np.int64)
        gap_p = np.full(n_persons, params.max_gap_s) if max_gap_s is None else np.asarray(max_gap_s, float)
        # a device's own limit may be shorter, never longer: lookups reach back one max_gap_s
        gap_p = np.minimum(gap_p, params.max_gap_s)
        linked = np.zeros(len(t), bool)
        if len(t) > 1:
            uniform = bool(np.all(gap_p == gap_p[0])) if n_persons else True
            limit = gap_p[0] if uniform else gap_p[person[:-1]]
            linked[:-1] = same & (dt <= limit)
        del dt
        gaps = _gaps(person, t, same, linked, offsets, covered_from_s, covered_to_s, gap_p)

        # Boxes per (person, bucket): cover each fix, the segment leaving it, and accuracy.
        origin = float(min(t.min() if len(t) else 0.0, covered_from_s.min() if n_persons else 0.0))
        origin = math.floor(origin / bucket_s) * bucket_s if math.isfinite(origin) else 0.0
        bucket = ((t - origin) // bucket_s).astype(np.int32)
        new_box = np.ones(len(t), bool)
        new_box[1:] = ~same | (bucket[1:] != bucket[:-1])
        del same
        starts = np.flatnonzero(new_box).astype(np.int64)
        del new_box
        ends = np.append(starts[1:], len(t)).astype(np.int64)
        box = np.zeros((len(starts), 4), np.float32)
        if len(t):
            lk = linked[:-1]
            a = accf.copy()
            np.maximum(a[:-1], np.where(lk, accf[1:], accf[:-1]), out=a[:-1])
            for col, (coord, reduce, sign) in enumerate(
                [(xf, np.minimum, -1), (yf, np.minimum, -1), (xf, np.maximum, 1), (yf, np.maximum, 1)]
            ):
                end = coord.copy()
                end[:-1] = np.where(lk, coord[1:], coord[:-1])  # where the segment leaving the fix ends
                reduce(coord, end, out=end)
                end += sign * a
                box[:, col] = reduce.reduceat(end, starts)
                del end
            del a
        box_bucket = bucket[starts]
        del bucket
        order = np.argsort(box_bucket, kind="stable")
        box_bucket = box_bucket[order]
        n_buckets = int(box_bucket[-1]) + 1 if len(box_bucket) else 0
        bucket_offsets = np.searchsorted(box_bucket, np.arange(n_buckets + 1)).astype(np.int64)
        return cls(
            projection=projection,
            params=params,
            persons=list(persons),
            devices=list(devices),
            offsets=offsets,
            covered_from_s=np.asarray(covered_from_s, float),
            covered_to_s=np.asarray(covered_to_s, float),
            t=t,
            x=xf,
            y=yf,
            acc=accf,
            dev=np.asarray(dev, np.int32),
            linked=linked,
            gaps=gaps,
            bucket_s=bucket_s,
            origin_s=origin,
            bucket_offsets=bucket_offsets,
            box_start=starts[order].astype(np.int64),
            box_end=ends[order],
            box=box[order],
        )

    # -- asking -----------------------------------------------------------

    def person_of(self, k: IntArray) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.offsets, k, side="right").astype(np.int64) - 1

    def candidate_fixes(
        self, start_s: float, end_s: float, bbox: tuple[float, float, float, float]
    ) -> IntArray:
        """Fixes (sorted indices) whose box meets `bbox` (metres) in buckets
        that may hold a fix or a segment of [start_s, end_s]. A superset:
        the caller measures exactly."""
        if len(self.bucket_offsets) < 2:
            return np.zeros(0, np.int64)
        n_buckets = len(self.bucket_offsets) - 1
        # a segment that reaches into the window starts at most one gap earlier
        b0 = int((start_s - self.params.max_gap_s - self.origin_s) // self.bucket_s)
        b1 = int((end_s - self.origin_s) // self.bucket_s)
        b0, b1 = max(b0, 0), min(b1, n_buckets - 1)
        if b1 < b0:
            return np.zeros(0, np.int64)
        lo, hi = int(self.bucket_offsets[b0]), int(self.bucket_offsets[b1 + 1])
        box = self.box[lo:hi]
        minx, miny, maxx, maxy = bbox
        hit = (box[:, 0] <= maxx) & (box[:, 2] >= minx) & (box[:, 1] <= maxy) & (box[:, 3] >= miny)
        s = self.box_start[lo:hi][hit]
        e = self.box_end[lo:hi][hit]
        if len(s) == 0:
            return np.zeros(0, np.int64)
        lengths = e - s
        # concatenated ranges s[i]:e[i], without a Python loop
        shift = s - np.concatenate([[0], np.cumsum(lengths)[:-1]])
        idx = np.repeat(shift, lengths) + np.arange(lengths.sum())
        return np.sort(idx.astype(np.int64))

    def gaps_overlapping(self, start_s: float, end_s: float) -> IntArray:
        g = self.gaps
        return np.flatnonzero((g.t0 < end_s) & (g.t1 > start_s)).astype(np.int64)

    def persons_covering(self, start_s: float, end_s: float) -> int:
        return int(np.count_nonzero((self.covered_from_s <= end_s) & (self.covered_to_s >= start_s)))

    def nbytes(self) -> int:
        arrays: list[npt.NDArray[Any]] = [
            self.offsets, self.covered_from_s, self.covered_to_s, self.t, self.x, self.y, self.acc,
            self.dev, self.linked, self.bucket_offsets, self.box_start, self.box_end, self.box,
            self.gaps.person, self.gaps.t0, self.gaps.t1, self.gaps.k0, self.gaps.k1,
        ]  # fmt: skip
        return int(sum(a.nbytes for a in arrays))

    def index_nbytes(self) -> int:
        """The index proper (boxes and their offsets), without the fixes."""
        return int(self.bucket_offsets.nbytes + self.box_start.nbytes + self.box_end.nbytes + self.box.nbytes)


def _gaps(
    person: npt.NDArray[np.int32],
    t: FloatArray,
    same: BoolArray,
    linked: BoolArray,
    offsets: IntArray,
    covered_from_s: FloatArray,
    covered_to_s: FloatArray,
    gap_p: FloatArray,
) -> Gaps:
    """Silences longer than the gap limit: between two fixes, before the first
    fix of a monitored period, after its last, or a period with no fix at all."""
    inner = np.flatnonzero(same & ~linked[:-1]) if len(t) > 1 else np.zeros(0, np.int64)
    n_persons = len(offsets) - 1
    first, last = offsets[:-1], offsets[1:] - 1
    has = offsets[1:] > offsets[:-1]
    p_all = np.arange(n_persons, dtype=np.int32)
    t_first = np.where(has, t[np.minimum(first, max(len(t) - 1, 0))] if len(t) else 0.0, np.inf)
    t_last = np.where(has, t[np.maximum(last, 0)] if len(t) else 0.0, -np.inf)
    lead = has & (t_first - covered_from_s > gap_p)
    tail = has & (covered_to_s - t_last > gap_p)
    empty = ~has & (covered_to_s > covered_from_s)
    none_e = np.full(int(empty.sum()), -1)
    parts = [
        (person[inner], t[inner], t[inner + 1], inner, inner + 1),
        (p_all[lead], covered_from_s[lead], t_first[lead], np.full(int(lead.sum()), -1), first[lead]),
        (p_all[tail], t_last[tail], covered_to_s[tail], last[tail], np.full(int(tail.sum()), -1)),
        (p_all[empty], covered_from_s[empty], covered_to_s[empty], none_e, none_e),
    ]
    gp = np.concatenate([p[0] for p in parts]).astype(np.int32)
    t0 = np.concatenate([p[1] for p in parts]).astype(float)
    order = np.argsort(t0, kind="stable")
    return Gaps(
        person=gp[order],
        t0=t0[order],
        t1=np.concatenate([p[2] for p in parts]).astype(float)[order],
        k0=np.concatenate([p[3] for p in parts]).astype(np.int64)[order],
        k1=np.concatenate([p[4] for p in parts]).astype(np.int64)[order],
    )
