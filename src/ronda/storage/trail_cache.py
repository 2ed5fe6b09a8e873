"""A warm copy of recent GPS fixes in the API process, so that crime-scene
correlation does not read each incident's window from the database.

What it holds: every valid position fix (device, time, latitude, longitude,
accuracy) with a time at or after its *floor*, the start of the warm window
(`RONDA_CORRELATION_WARM_DAYS`, 30 days by default). 32 bytes a fix: time,
latitude and longitude as float64 (exactly what the database returns, so a
window read from here is the same as one read from there), accuracy float32
(the index keeps it as float32 anyway), a device code int32.

How it stays right:

- Built on first use, in a background thread: until it is ready, queries
  read the database as before. Then, before every query, it reads the
  records stored since (`seq` above the highest it has seen, whoever stored
  them: this process, a worker, an import). On PostgreSQL, sequence numbers
  are handed out before commit, so a record can appear below the highest
  seen one: the last `LAG_S` seconds' worth of sequence numbers are read
  again and the ones already held skipped.
- Records are only ever appended, except by the retention purge, which
  deletes records before a cutoff (not those under a legal hold) and then
  writes a `purge` entry to the audit trail. Before every query the cache
  reads the audit entries written since it last looked; a purge raises the
  floor to its cutoff and drops the older fixes. Queries reaching before
  the floor read the database, which still has the held records.
- Who wore which device is not cached: every query reads the assignments,
  and fixes are split at handovers exactly as on the database path.
- Memory is bounded: besides the warm window, at most
  `RONDA_CORRELATION_WARM_MAX_FIXES` fixes (100 million, 3 GiB, by default:
  10,000 persons reporting every 5 minutes for 30 days is 86 million); past
  that the floor moves up until a tenth is free. As time passes the floor
  follows the window (trimmed once a day's worth is stale).

Fixes are kept in a few segments each sorted by time (small ones merged
into bigger ones, as a log-structured store does), so a window is a binary
search per segment, and an append never re-sorts the whole history.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from ronda.config import WarmSettings
from ronda.storage.investigation import POSITION, Fixes
from ronda.storage.models import RecordRow
from ronda.storage.models_security import AuditRow

log = logging.getLogger(__name__)

DAY_S = 86400.0
BYTES_PER_FIX = 32
READ_CHUNK = 200_000  # records per read while building or catching up
MIN_SEGMENT = 50_000  # a smaller newest segment is merged into the one before
LAG_S = 30.0  # PostgreSQL: sequence numbers of the last this-many seconds are read again
RECENT_SPAN = 100_000  # PostgreSQL: after a build, the last this-many sequence numbers are read again


@dataclass
class _Segment:
    """Fixes sorted by time."""

    t: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    acc: npt.NDArray[np.float32]
    dev: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def sorted_from(cls, parts: Sequence[_Segment]) -> _Segment:
        cat = cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("t", "lat", "lon", "acc", "dev"))
        )
        if len(cat) > 1 and not bool(np.all(cat.t[1:] >= cat.t[:-1])):
            order = np.argsort(cat.t, kind="stable")
            cat = cls(cat.t[order], cat.lat[order], cat.lon[order], cat.acc[order], cat.dev[order])
        return cat

    def since(self, floor_s: float) -> _Segment:
        i = int(np.searchsorted(self.t, floor_s, side="left"))
        if i == 0:
            return self
        return _Segment(*(getattr(self, f)[i:].copy() for f in ("t", "lat", "lon", "acc", "dev")))


@dataclass
class _State:
    floor_s: float
    seq: int  # highest record sequence number read
    audit_seq: int  # highest audit entry looked at
    segments: list[_Segment] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    recent: dict[int, None] = field(default_factory=dict)  # PostgreSQL: seqs above recent_from read
    recent_from: int = 0
    marks: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic s, seq) for the lag

    @property
    def fixes(self) -> int:
        return sum(len(g) for g in self.segments)


class TrailCache:
    """See the module's text. Thread-safe: one lock around catching up and
    reading a window (both are short once warm)."""

    def __init__(self, settings: WarmSettings | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or WarmSettings()
        self.clock = clock
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._thread: threading.Thread | None = None
        self.build_s: float | None = None
        self.failed: str | None = None

    # -- life -------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._state is not None

    def start(self, engine: Engine) -> None:
        """Build in the background (once); queries read the database meanwhile."""
        if not self.settings.enabled or self._state is not None or self.failed is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._build_logged, args=(engine,), daemon=True,
                                            name="ronda-trail-cache")  # fmt: skip
            self._thread.start()

    def _build_logged(self, engine: Engine) -> None:
        try:
            self.build(engine)
        except Exception as exc:  # a cache that cannot build leaves the database path working
            self.failed = repr(exc)
            log.exception("warm trail cache: build failed; correlation reads the database")

    def build(self, engine: Engine) -> None:
        """Read every fix of the warm window (synchronously)."""
        started = time.perf_counter()
        floor = self.clock() - self.settings.days * DAY_S
        with engine.connect() as conn:
            audit_seq = int(conn.execute(select(func.max(AuditRow.seq))).scalar() or 0)
            st = _State(floor_s=floor, seq=0, audit_seq=audit_seq)
            if conn.dialect.name == "postgresql":
                # remember the newest sequence numbers read, and read them again
                # at the first catch-up (a record may commit below them)
                top = int(conn.execute(select(func.max(RecordRow.seq))).scalar() or 0)
                st.recent_from = max(0, top - RECENT_SPAN)
                st.marks.append((time.monotonic() - LAG_S - 1.0, st.recent_from))
            self._catch_up(conn, st)
        with self._lock:
            # records stored while building are read by the next query's catch-up
            self._state = st
        self.build_s = time.perf_counter() - started
        log.info("warm trail cache: %d fixes since %s in %.1f s", st.fixes, time.ctime(floor), self.build_s)

    def invalidate(self) -> None:
        """Forget everything; the next `start` builds again."""
        with self._lock:
            self._state = None
            self._thread = None

    # -- asking -----------------------------------------------------------

    def fixes(self, conn: Connection, devices: Sequence[str], lo_s: float, hi_s: float) -> Fixes | None:
        """The devices' fixes in [lo_s, hi_s], as `investigation.read_fixes`
        returns them from the database; None when the cache is not ready or
        the window reaches before its floor (then read the database)."""
        if self._state is None:
            return None
        with self._lock:
            st = self._state
            if st is None:
                return None
            try:
                self._catch_up(conn, st)
            except Exception:
                # half caught up is wrong: forget it all, build again later
                self._state, self._thread = None, None
                raise
            self._trim(st)
            if lo_s < st.floor_s:
                return None
            return self._select(st, devices, lo_s, hi_s)

    def stats(self) -> dict[str, float | int | bool | None]:
        st = self._state
        n = 0 if st is None else st.fixes
        return {
            "ready": st is not None,
            "fixes": n,
            "bytes": n * BYTES_PER_FIX,
            "floor_s": None if st is None else st.floor_s,
            "segments": 0 if st is None else len(st.segments),
            "build_s": self.build_s,
        }

    # -- inside -----------------------------------------------------------

    def _catch_up(self, conn: Connection, st: _State) -> None:
        self._purges(conn, st)
        lag = conn.dialect.name == "postgresql"
        after = st.seq
        if lag and st.marks:
            # read again from where we stood LAG_S ago: a record committed late
            # carries a sequence number below the highest seen
            now_m = time.monotonic()
            while len(st.marks) > 1 and st.marks[1][0] <= now_m - LAG_S:
                st.marks.popleft()
            after = min(after, st.marks[0][1])
        new: list[_Segment] = []
        while True:
            rows = conn.execute(
                select(
                    RecordRow.seq, RecordRow.device_id, RecordRow.time_s, RecordRow.lat, RecordRow.lon,
                    RecordRow.accuracy_m,
                )
                .where(
                    RecordRow.seq > after,
                    RecordRow.kind == POSITION,
                    RecordRow.valid.is_(True),
                    RecordRow.lat.is_not(None),
                    RecordRow.lon.is_not(None),
                )
                .order_by(RecordRow.seq)
                .limit(READ_CHUNK)
            ).all()  # fmt: skip
            if not rows:
                break
            full = len(rows) == READ_CHUNK
            after = int(rows[-1][0])
            if lag:
                rows = [r for r in rows if not (r[0] <= st.seq and r[0] in st.recent)]
                for r in rows:
                    if r[0] > st.recent_from:
                        st.recent[int(r[0])] = None
            st.seq = max(st.seq, after)
            seg = self._segment(st, rows)
            if len(seg):
                new.append(seg)
            if not full:
                break
        if lag:
            st.marks.append((time.monotonic(), st.seq))
            keep_from = st.marks[0][1]
            if keep_from > st.recent_from:
                st.recent_from = keep_from
                st.recent = {q: None for q in st.recent if q > keep_from}
        if new:
            st.segments.append(_Segment.sorted_from(new))
            self._compact(st)
            if st.fixes > self.settings.max_fixes:
                self._shrink(st)

    def _segment(self, st: _State, rows: Sequence[tuple[object, ...]]) -> _Segment:
        if not rows:
            return _Segment(
                np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.int32)
            )
        _, dev_ids, ts, lats, lons, accs = zip(*rows, strict=True)
        t = np.asarray(ts, float)
        keep = t >= st.floor_s  # late records of a time before the floor are the database's
        codes = st.codes
        dev = np.fromiter((codes.get(d, -1) for d in dev_ids), np.int32, len(dev_ids))
        for i in np.flatnonzero(dev < 0).tolist():
            d = str(dev_ids[i])
            if d not in codes:
                codes[d] = len(st.names)
                st.names.append(d)
            dev[i] = codes[d]
        acc = np.array([math.nan if a is None else a for a in accs], np.float32)
        return _Segment(
            t[keep], np.asarray(lats, float)[keep], np.asarray(lons, float)[keep], acc[keep], dev[keep]
        )

    @staticmethod
    def _compact(st: _State) -> None:
        """Merge the newest segment into the one before while it is not at
        least half its size (so there are O(log n) segments)."""
        segs = st.segments
        while len(segs) > 1 and (len(segs[-1]) < MIN_SEGMENT or 2 * len(segs[-1]) >= len(segs[-2])):
            last = segs.pop()
            segs[-1] = _Segment.sorted_from([segs[-1], last])

    def _purges(self, conn: Connection, st: _State) -> None:
        """Purges recorded in the audit trail since we last looked (a range of
        its primary key: cheap however long the trail)."""
        top = int(conn.execute(select(func.max(AuditRow.seq))).scalar() or 0)
        if top <= st.audit_seq:
            return
        rows = conn.execute(
            select(AuditRow.detail)
            .where(AuditRow.seq > st.audit_seq, AuditRow.seq <= top, AuditRow.action == "purge")
            .order_by(AuditRow.seq)
        ).scalars()
        st.audit_seq = top
        for detail in rows:
            try:
                cutoff = float(json.loads(detail)["cutoff_s"])
            except (ValueError, KeyError, TypeError):
                cutoff = self.clock()  # a purge we cannot read: trust nothing before now
            if cutoff > st.floor_s:
                log.info("warm trail cache: a purge up to %s raises the floor", time.ctime(cutoff))
                self._raise_floor(st, cutoff)

    def _trim(self, st: _State) -> None:
        floor = self.clock() - self.settings.days * DAY_S
        if floor - st.floor_s >= DAY_S:
            self._raise_floor(st, floor)

    def _shrink(self, st: _State) -> None:
        """Raise the floor until at most 90 % of the allowed fixes remain."""
        target = int(0.9 * self.settings.max_fixes)
        lo = st.floor_s
        hi = max((float(g.t[-1]) for g in st.segments if len(g)), default=lo) + 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            left = sum(len(g) - int(np.searchsorted(g.t, mid, side="left")) for g in st.segments)
            if left > target:
                lo = mid
            else:
                hi = mid
        log.warning("warm trail cache: over %d fixes; older fixes are read from the database", target)
        self._raise_floor(st, hi)

    @staticmethod
    def _raise_floor(st: _State, floor_s: float) -> None:
        st.floor_s = max(st.floor_s, floor_s)
        st.segments = [g for g in (g.since(st.floor_s) for g in st.segments) if len(g)]

    @staticmethod
    def _select(st: _State, devices: Sequence[str], lo_s: float, hi_s: float) -> Fixes:
        lookup = np.full(len(st.names) + 1, -1, np.int64)
        for i, d in enumerate(devices):
            c = st.codes.get(d)
            if c is not None:
                lookup[c] = i
        parts: list[tuple[npt.NDArray[np.int64], _Segment, slice]] = []
        for g in st.segments:
            i0 = int(np.searchsorted(g.t, lo_s, side="left"))
            i1 = int(np.searchsorted(g.t, hi_s, side="right"))
            if i1 > i0:
                parts.append((lookup[g.dev[i0:i1]], g, slice(i0, i1)))
        dev = [m[m >= 0] for m, _, _ in parts]
        pick = [(g, np.flatnonzero(m >= 0) + sl.start) for m, g, sl in parts]

        def cat(name: str, dtype: type) -> npt.NDArray[np.float64]:
            if not pick:
                return np.zeros(0, dtype)
            return np.concatenate([getattr(g, name)[k] for g, k in pick]).astype(dtype, copy=False)

        return Fixes(
            devices=list(devices),
            dev=np.concatenate(dev).astype(np.int64) if dev else np.zeros(0, np.int64),
            t=cat("t", np.float64),
            lat=cat("lat", np.float64),
            lon=cat("lon", np.float64),
            acc=cat("acc", np.float64),
        )
