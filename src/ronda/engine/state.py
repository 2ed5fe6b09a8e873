"""The engine's state: small, per device and per rule, and serialisable.

The fields every fix reads and writes (last times, last fix, recent fix
history) live in column arrays indexed by device or person, so that a batch
of ordinary fixes updates them in a few array operations. `DeviceState` is the
per-device view the rest of the engine works with: the rare fields as plain
attributes, the hot ones as properties over the arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ronda.engine.episodes import Episode
from ronda.tracking.records import Position
from ronda.types import DeviceId

NEG_INF = float("-inf")
NAN = float("nan")
RECENT_TIMES = 16  # processed event times kept per device, to tell duplicates from stale records
# Recent fixes kept per person of a proximity pair, to pair the two sides.
# It must reach back as far as one side's data may arrive late (a victim's
# phone that uploads in batches): 128 fixes is an hour at one fix every 30 s.
HISTORY = 128

F64 = npt.NDArray[np.float64]


@dataclass(slots=True)
class Fix:
    """An accepted fix in metric coordinates."""

    time_s: float
    x: float
    y: float
    accuracy_m: float
    speed_mps: float


def _floats(n: int, value: float) -> F64:
    return np.full(n, value, dtype=np.float64)


class DeviceColumns:
    """Hot per-device fields, one array each, indexed by device number."""

    def __init__(self, n: int) -> None:
        self.last_received = _floats(n, NEG_INF)
        self.last_arrival = _floats(n, NEG_INF)  # processing clock at the last upload (reordering)
        self.pending_since = _floats(n, NAN)  # processing clock when the buffered upload began
        self.last_time = _floats(n, NEG_INF)
        self.last_valid = _floats(n, NAN)
        self.nofix_since = _floats(n, NAN)
        self.fix_t = _floats(n, NAN)
        self.fix_x = _floats(n, NAN)
        self.fix_y = _floats(n, NAN)
        self.fix_acc = _floats(n, NAN)
        self.fix_speed = _floats(n, NAN)
        self.recent = np.full((n, RECENT_TIMES), NAN)
        self.recent_pos = np.zeros(n, np.int64)
        # True while the device holds state only the per-record path handles
        # (open health episodes, pending rejected fixes)
        self.busy = np.zeros(n, bool)


class PersonColumns:
    """The last `HISTORY` accepted fixes of each person of a proximity pair, as a
    ring per person (other persons keep none: nothing pairs with their fixes)."""

    def __init__(self, n: int, tracked: Iterable[int] = ()) -> None:
        self.row = np.full(n, -1, np.int64)
        rows = sorted(set(tracked))
        self.row[rows] = np.arange(len(rows))
        m = len(rows)
        self.t = np.full((m, HISTORY), NAN)
        self.x = np.full((m, HISTORY), NAN)
        self.y = np.full((m, HISTORY), NAN)
        self.acc = np.full((m, HISTORY), NAN)
        self.speed = np.full((m, HISTORY), NAN)
        self.pos = np.zeros(m, np.int64)

    def append(self, p: int, fix: Fix) -> None:
        r = int(self.row[p])
        if r < 0:
            return
        k = int(self.pos[r])
        self.t[r, k], self.x[r, k], self.y[r, k] = fix.time_s, fix.x, fix.y
        self.acc[r, k], self.speed[r, k] = fix.accuracy_m, fix.speed_mps
        self.pos[r] = (k + 1) % HISTORY

    def _fix(self, r: int, j: int) -> Fix:
        return Fix(
            float(self.t[r, j]),
            float(self.x[r, j]),
            float(self.y[r, j]),
            float(self.acc[r, j]),
            float(self.speed[r, j]),
        )

    def fixes(self, p: int) -> list[Fix]:
        """Oldest first."""
        r = int(self.row[p])
        if r < 0:
            return []
        k = int(self.pos[r])
        return [self._fix(r, j) for j in [*range(k, HISTORY), *range(k)] if not math.isnan(self.t[r, j])]

    def nearest(self, p: int, t: float) -> Fix | None:
        """The kept fix nearest in time to `t` (before or after it)."""
        r = int(self.row[p])
        if r < 0:
            return None
        gaps = np.abs(self.t[r] - t)
        if np.isnan(gaps).all():
            return None
        return self._fix(r, int(np.nanargmin(gaps)))


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else v


class DeviceState:
    """One device's state: rare fields here, hot fields in `DeviceColumns`."""

    __slots__ = (
        "_c",
        "_i",
        "health",
        "pending",
        "present",
        "present_before",
        "present_since_s",
        "rejected",
        "tamper_event_s",
    )

    def __init__(self, columns: DeviceColumns, index: int) -> None:
        self._c = columns
        self._i = index
        self.pending: list[Position] = []
        self.rejected: list[Fix] = []  # consecutive implausible fixes
        # home unit: presence of the tag as last reported, and before that report
        self.present: bool | None = None
        self.present_since_s: float = NEG_INF
        self.present_before: bool | None = None
        self.tamper_event_s: float = NEG_INF
        self.health: dict[str, Episode] = {}  # open health episodes by type

    @property
    def index(self) -> int:
        return self._i

    def refresh_busy(self) -> None:
        self._c.busy[self._i] = bool(self.health) or bool(self.rejected)

    @property
    def last_arrival_s(self) -> float:
        return float(self._c.last_arrival[self._i])

    @last_arrival_s.setter
    def last_arrival_s(self, v: float) -> None:
        self._c.last_arrival[self._i] = v

    @property
    def last_received_s(self) -> float:
        return float(self._c.last_received[self._i])

    @last_received_s.setter
    def last_received_s(self, v: float) -> None:
        self._c.last_received[self._i] = v

    @property
    def last_time_s(self) -> float:
        return float(self._c.last_time[self._i])

    @last_time_s.setter
    def last_time_s(self, v: float) -> None:
        c, i = self._c, self._i
        c.last_time[i] = v
        k = int(c.recent_pos[i])
        c.recent[i, k] = v
        c.recent_pos[i] = (k + 1) % RECENT_TIMES

    def seen_time(self, t: float) -> bool:
        return bool((self._c.recent[self._i] == t).any())

    @property
    def last_valid_s(self) -> float | None:
        return _opt(float(self._c.last_valid[self._i]))

    @last_valid_s.setter
    def last_valid_s(self, v: float | None) -> None:
        self._c.last_valid[self._i] = NAN if v is None else v

    @property
    def nofix_since_s(self) -> float | None:
        """Since when the no-fix clock runs."""
        return _opt(float(self._c.nofix_since[self._i]))

    @nofix_since_s.setter
    def nofix_since_s(self, v: float | None) -> None:
        self._c.nofix_since[self._i] = NAN if v is None else v

    @property
    def last_fix(self) -> Fix | None:
        c, i = self._c, self._i
        t = float(c.fix_t[i])
        if math.isnan(t):
            return None
        return Fix(t, float(c.fix_x[i]), float(c.fix_y[i]), float(c.fix_acc[i]), float(c.fix_speed[i]))

    @last_fix.setter
    def last_fix(self, f: Fix | None) -> None:
        c, i = self._c, self._i
        if f is None:
            c.fix_t[i] = c.fix_x[i] = c.fix_y[i] = c.fix_acc[i] = c.fix_speed[i] = NAN
        else:
            c.fix_t[i], c.fix_x[i], c.fix_y[i] = f.time_s, f.x, f.y
            c.fix_acc[i], c.fix_speed[i] = f.accuracy_m, f.speed_mps

    def presence_at(self, time_s: float) -> bool | None:
        return self.present if time_s >= self.present_since_s else self.present_before


@dataclass(slots=True)
class RuleState:
    """Hysteresis of one rule: runs of violating and compliant evidence."""

    viol_run: int = 0
    viol_first_s: float = 0.0
    viol_last_s: float = 0.0  # the newest event time of the violating run
    strong_run: int = 0  # violating fixes of the run that lie well beyond their uncertainty
    comp_run: int = 0
    comp_first_s: float = 0.0
    comp_last_s: float = 0.0
    floor_s: float = NEG_INF  # evidence older than this is history already decided
    active_until_s: float = NEG_INF  # the schedule is known active until then
    episode: Episode | None = None

    @property
    def idle(self) -> bool:
        """Nothing under way: a fix that is not evidence of violation changes nothing."""
        return self.episode is None and self.viol_run == 0


@dataclass
class Columns:
    """Positions as columns, as the fast path takes them (dev = device number)."""

    dev: npt.NDArray[np.int64]
    time_s: F64
    received_s: F64
    lat: F64  # NaN when no fix
    lon: F64
    accuracy_m: F64  # NaN when not stated
    speed_mps: F64  # NaN when not stated
    battery_pct: F64  # NaN when not stated
    valid: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.dev)

    @staticmethod
    def from_positions(recs: list[Position], index: dict[DeviceId, int]) -> Columns:
        """Positions as columns; `index` numbers the devices (Engine.device_number)."""

        def col(values: list[float | None]) -> F64:
            return np.array([NAN if v is None else v for v in values], np.float64)

        return Columns(
            dev=np.array([index[r.device] for r in recs], np.int64),
            time_s=np.array([r.time_s for r in recs], np.float64),
            received_s=np.array([r.received_s for r in recs], np.float64),
            lat=col([r.lat if r.valid else None for r in recs]),
            lon=col([r.lon if r.valid else None for r in recs]),
            accuracy_m=col([r.accuracy_m for r in recs]),
            speed_mps=col([r.speed_mps for r in recs]),
            battery_pct=col([r.battery_pct for r in recs]),
            valid=np.array([r.valid for r in recs], bool),
        )

    def position(self, i: int, device: DeviceId) -> Position:
        """Row i back as a Position."""
        valid = bool(self.valid[i])
        return Position(
            device,
            float(self.time_s[i]),
            float(self.received_s[i]),
            lat=_opt(float(self.lat[i])) if valid else None,
            lon=_opt(float(self.lon[i])) if valid else None,
            accuracy_m=_opt(float(self.accuracy_m[i])),
            speed_mps=_opt(float(self.speed_mps[i])),
            battery_pct=_opt(float(self.battery_pct[i])),
            valid=valid,
        )

    def take(self, idx: npt.NDArray[np.int64]) -> Columns:
        return Columns(
            self.dev[idx],
            self.time_s[idx],
            self.received_s[idx],
            self.lat[idx],
            self.lon[idx],
            self.accuracy_m[idx],
            self.speed_mps[idx],
            self.battery_pct[idx],
            self.valid[idx],
        )

    @staticmethod
    def concat(parts: list[Columns]) -> Columns:
        return Columns(
            np.concatenate([p.dev for p in parts]),
            np.concatenate([p.time_s for p in parts]),
            np.concatenate([p.received_s for p in parts]),
            np.concatenate([p.lat for p in parts]),
            np.concatenate([p.lon for p in parts]),
            np.concatenate([p.accuracy_m for p in parts]),
            np.concatenate([p.speed_mps for p in parts]),
            np.concatenate([p.battery_pct for p in parts]),
            np.concatenate([p.valid for p in parts]),
        )
