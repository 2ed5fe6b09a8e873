"""The monitoring engine: records in, episodes out.

Pure and deterministic: `feed(record)` and `advance(now_s)` return effects;
time, the caseload and the thresholds are passed in. The clock is only ever
the `now_s` given to `advance` (in replay: the `received` time of the next
record; live: the wall clock of the caller).

The flow for one device:
  upload -> reorder buffer (until the device has been quiet `reorder_hold_s`)
         -> event-time order; duplicates and stale records dropped
         -> health (battery, no fix) -> plausibility (spikes) -> evidence per rule
         -> hysteresis per rule -> episode opened / closed.
Geometry for every fix released together is computed in one vectorised call.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from ronda.cases.models import DeviceKind
from ronda.engine.bulk import DEFAULT_ACCURACY_M, BulkPath
from ronda.engine.compiled import CompiledCaseload, DeviceInfo
from ronda.engine.episodes import Effect, Episode, EpisodeClosed, EpisodeOpened
from ronda.engine.params import EngineParams
from ronda.engine.state import (
    NAN,
    NEG_INF,
    Columns,
    DeviceColumns,
    DeviceState,
    Fix,
    PersonColumns,
    RuleState,
)
from ronda.rules.models import HealthType, RuleType
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, EpochS, PersonId, RuleId

HOME_UNIT_RANGE_M = 40.0  # an RF home unit hears the tag within about this distance


class Engine(BulkPath):
    def __init__(
        self, compiled: CompiledCaseload, params: EngineParams | None = None, *, vectorised: bool = True
    ) -> None:
        self.c = compiled
        self.p = params or EngineParams()
        assert compiled.tables is not None
        self.tables = compiled.tables
        self.vectorised = vectorised  # False: every fix takes the per-record path (a reference)
        self.now_s: EpochS = NEG_INF
        self.columns = DeviceColumns(len(self.tables.dev_ids))
        paired = {q for p, links in compiled.proximity.items() for q in (p, *(link.other for link in links))}
        self.people = PersonColumns(
            len(self.tables.person_ids), (self.tables.person_index[q] for q in paired)
        )
        self.devices: dict[DeviceId, DeviceState] = {
            d: DeviceState(self.columns, i) for i, d in enumerate(self.tables.dev_ids)
        }
        self.rules: dict[RuleId, RuleState] = {r: RuleState() for r in compiled.rules}
        self._proximity_rules = frozenset(
            link.rule for links in compiled.proximity.values() for link in links
        )
        self.rule_busy = np.zeros(len(self.tables.rule_ids), bool)  # rules not idle
        # rules in an episode that more violating evidence leaves as they are
        # (no compliant run under way, no home unit that might vouch)
        self.rule_steady = np.zeros(len(self.tables.rule_ids), bool)
        self._unit_rules = np.array([r in compiled.home_unit_of_rule for r in self.tables.rule_ids], bool)
        n_rules = len(self.tables.rule_ids)
        self._sched_active = np.zeros(n_rules, bool)  # schedule cache of the fast path
        self._sched_from = np.full(n_rules, np.inf)
        self._sched_until = np.full(n_rules, -np.inf)
        self.counters: Counter[str] = Counter()
        self._release: deque[tuple[float, DeviceId]] = deque()
        self._pending_columns: list[Columns] = []
        # comms-loss timers: each device's deadline is last receipt + timeout;
        # the deadlines are scanned in bulk once the earliest one has passed
        self._timeout = np.array(
            [
                np.nan if (t := compiled.devices[d].comms_timeout_s) is None else t
                for d in self.tables.dev_ids
            ],
            np.float64,
        )
        self._comms_open = np.zeros(len(self.tables.dev_ids), bool)
        self._next_comms_check = np.inf
        self._bounds: list[tuple[float, RuleId]] = []

    def device_number(self, device: DeviceId) -> int | None:
        """The number `feed_columns` takes for a device (None if unknown)."""
        return self.tables.dev_index.get(device)

    # ------------------------------------------------------------------ input

    def feed(self, record: Record) -> list[Effect]:
        """Take one record as it arrives. Positions wait in the device's reorder
        buffer (released by `advance`); events act at once."""
        info = self.c.devices.get(record.device)
        if info is None:
            self.counters["unknown_device"] += 1
            return []
        self.counters["records"] += 1
        effects: list[Effect] = []
        st = self.devices[record.device]
        self._contact(record.device, info, st, record.received_s, effects)
        if isinstance(record, Position):
            now = self._now_or(record.received_s)
            if not st.pending:
                self._release.append((now + self.p.reorder_hold_s, record.device))
                if math.isnan(self.columns.pending_since[st.index]):
                    self.columns.pending_since[st.index] = now
            st.pending.append(record)
            st.last_arrival_s = now
        elif isinstance(record, DeviceEvent):
            self._event(record, info, st, effects)
        elif isinstance(record, Sighting):
            self.counters["sightings_unhandled"] += 1
        return effects

    def _now_or(self, received_s: float) -> float:
        return self.now_s if self.now_s > NEG_INF else received_s

    def feed_columns(self, cols: Columns) -> list[Effect]:
        """Take many positions at once, as columns (device numbers from
        `device_number`): the same as feeding each, in a few array operations."""
        effects: list[Effect] = []
        if len(cols) == 0:
            return effects
        self.counters["records"] += len(cols)
        c = self.columns
        # the latest receipt of each device: the last of its group by (device, receipt)
        order = np.argsort(cols.dev, kind="stable")
        devs = cols.dev[order]
        first = np.ones(len(devs), bool)
        first[1:] = devs[1:] != devs[:-1]
        starts = np.flatnonzero(first)
        touched = devs[starts]
        latest = np.maximum.reduceat(cols.received_s[order], starts)
        c.last_received[touched] = np.maximum(c.last_received[touched], latest)
        for i in touched[c.busy[touched]].tolist():  # open comms loss closes on contact
            st = self.devices[self.tables.dev_ids[i]]
            if HealthType.COMMS_LOSS in st.health:
                resumed_s = float(cols.received_s[cols.dev == i].min())
                self._close_health(st, HealthType.COMMS_LOSS, resumed_s, effects)
        self._next_comms_check = min(
            self._next_comms_check,
            float(np.nanmin(c.last_received[touched] + self._timeout[touched], initial=np.inf)),
        )
        now = self._now_or(float(cols.received_s.max()))
        c.last_arrival[touched] = now
        c.pending_since[touched] = np.fmin(c.pending_since[touched], now)  # NaN: none pending
        self._pending_columns.append(cols)
        return effects

    def advance(self, now_s: EpochS) -> list[Effect]:
        """Move the clock: release quiet reorder buffers, fire due timers."""
        if now_s < self.now_s:
            return []
        self.now_s = now_s
        effects: list[Effect] = []
        due: list[DeviceId] = []
        while self._release and self._release[0][0] <= now_s:
            _, dev = self._release.popleft()
            st = self.devices[dev]
            if not st.pending:
                continue
            ready_at = self._ready_at(st.index)
            if ready_at > now_s:
                self._release.append((ready_at, dev))  # more arrived meanwhile
            else:
                due.append(dev)
                self.columns.pending_since[st.index] = NAN
        released = self._released_columns(now_s)
        if due or released is not None:
            self._process_positions(due, released, effects)
        self._fire_comms(now_s, effects)
        self._fire_schedule_bounds(now_s, effects)
        return effects

    def _ready_at(self, dev: Any) -> Any:
        """When a device's buffered upload is released: once it has been quiet
        `reorder_hold_s`, and at the latest `reorder_max_hold_s` after its
        first record arrived (a device reporting every second is never quiet)."""
        c, p = self.columns, self.p
        quiet = c.last_arrival[dev] + p.reorder_hold_s
        return np.fmin(quiet, c.pending_since[dev] + p.reorder_max_hold_s)

    def _released_columns(self, now_s: float) -> Columns | None:
        if not self._pending_columns:
            return None
        cols = Columns.concat(self._pending_columns)
        ready = self._ready_at(cols.dev) <= now_s
        self.columns.pending_since[cols.dev[ready]] = NAN
        if ready.all():
            self._pending_columns = []
            return cols
        self._pending_columns = [cols.take(np.flatnonzero(~ready))] if (~ready).any() else []
        return cols.take(np.flatnonzero(ready)) if ready.any() else None

    def flush(self) -> list[Effect]:
        """Process everything still buffered (end of a replay)."""
        effects: list[Effect] = []
        due = [d for d, st in self.devices.items() if st.pending]
        self._release.clear()
        self.columns.pending_since[:] = NAN
        released = Columns.concat(self._pending_columns) if self._pending_columns else None
        self._pending_columns = []
        if due or released is not None:
            self._process_positions(due, released, effects)
        return effects

    def open_episodes(self) -> list[Episode]:
        out = [rs.episode for rs in self.rules.values() if rs.episode is not None]
        for st in self.devices.values():
            out.extend(st.health.values())
        return out

    # ------------------------------------------------------------- contact

    def _contact(
        self,
        dev: DeviceId,
        info: DeviceInfo,
        st: DeviceState,
        received_s: float,
        effects: list[Effect],
    ) -> None:
        if received_s > st.last_received_s:
            st.last_received_s = received_s
        ep = st.health.get(HealthType.COMMS_LOSS)
        if ep is not None:
            self._close_health(st, HealthType.COMMS_LOSS, received_s, effects)
        if info.comms_timeout_s is not None:
            due_s = st.last_received_s + info.comms_timeout_s
            if due_s < self._next_comms_check:
                self._next_comms_check = due_s

    def _fire_comms(self, now_s: float, effects: list[Effect]) -> None:
        """Open comms loss for every device silent for more than its timeout.
        Scans all deadlines at once, and only when the earliest has passed."""
        if now_s <= self._next_comms_check:
            return
        due = self.columns.last_received + self._timeout  # NaN: no timeout; -inf: never heard
        with np.errstate(invalid="ignore"):
            waiting = (due > -np.inf) & ~self._comms_open  # NaN compares False
            fired = waiting & (due < now_s)
        for i in np.flatnonzero(fired).tolist():
            dev = self.tables.dev_ids[i]
            self._open_health(
                self.devices[dev],
                dev,
                self.c.devices[dev],
                HealthType.COMMS_LOSS,
                float(due[i]),
                now_s,
                effects,
            )
        rest = due[waiting & ~fired]
        self._next_comms_check = float(rest.min()) if len(rest) else np.inf

    # --------------------------------------------------------------- events

    def _event(self, ev: DeviceEvent, info: DeviceInfo, st: DeviceState, effects: list[Effect]) -> None:
        self.counters["events"] += 1
        kind = ev.kind
        if kind in (EventKind.TAG_PRESENT, EventKind.TAG_ABSENT):
            if ev.time_s >= st.present_since_s:
                st.present_before = st.present
                st.present = kind == EventKind.TAG_PRESENT
                st.present_since_s = ev.time_s
                if st.present and info.person is not None:
                    self._at_home(ev.device, info.person, ev.time_s, effects)
        elif kind in (EventKind.STRAP_TAMPER, EventKind.STRAP_RESTORED) and info.health:
            if ev.time_s < st.tamper_event_s:
                self.counters["stale_event"] += 1
                return
            st.tamper_event_s = ev.time_s
            is_open = HealthType.TAMPER in st.health
            if kind == EventKind.STRAP_TAMPER and not is_open:
                self._open_health(
                    st,
                    ev.device,
                    info,
                    HealthType.TAMPER,
                    ev.time_s,
                    self._now_or(ev.received_s),
                    effects,
                )
            elif kind == EventKind.STRAP_RESTORED and is_open:
                self._close_health(st, HealthType.TAMPER, ev.time_s, effects)
        if ev.battery_pct is not None and info.health:
            self._battery(st, ev.device, info, ev.time_s, ev.battery_pct, effects)

    # ------------------------------------------------------------ positions

    def _process_positions(
        self, devices: list[DeviceId], released: Columns | None, effects: list[Effect]
    ) -> None:
        parts = [released] if released is not None else []
        if devices:
            recs = [r for dev in devices for r in self.devices[dev].pending]
            for dev in devices:
                self.devices[dev].pending = []
            if not parts and len(recs) < _SMALL_BATCH:
                # a few records: array set-up would cost more than it saves
                self._process_records(recs, effects)
                return
            parts.append(Columns.from_positions(recs, self.tables.dev_index))
        cols = Columns.concat(parts) if len(parts) > 1 else parts[0]
        if len(cols):
            self._process_columns(cols, effects)

    def _process_records(self, recs: list[Position], effects: list[Effect]) -> None:
        """The per-record path for a small release: event-time order per
        device, geometry for all its fixes in one call."""
        # the order of the array path: the k-th record of every device in round k
        recs.sort(key=lambda r: (r.device, r.time_s))
        rank: dict[int, int] = {}
        seen: dict[str, int] = {}
        for r in recs:
            rank[id(r)] = seen[r.device] = seen.get(r.device, -1) + 1
        index = self.tables.dev_index
        recs.sort(key=lambda r: (rank[id(r)], index[r.device]))
        fixes = [r for r in recs if r.valid and r.lat is not None and r.lon is not None]
        xy: dict[int, tuple[float, float, list[float]]] = {}
        if fixes:
            xs, ys = self.c.projection.to_xy([r.lon or 0.0 for r in fixes], [r.lat or 0.0 for r in fixes])
            shapes = [self._shapes_of(r.device) for r in fixes]
            counts = np.array([len(s) for s in shapes], np.int64)
            depth = self.c.index.depth_m(np.concatenate(shapes), np.repeat(xs, counts), np.repeat(ys, counts))
            ends = np.cumsum(counts).tolist()
            depth_l, xs_l, ys_l = depth.tolist(), xs.tolist(), ys.tolist()
            for k, r in enumerate(fixes):
                xy[id(r)] = (xs_l[k], ys_l[k], depth_l[ends[k] - int(counts[k]) : ends[k]])
        for r in recs:
            info = self.c.devices[r.device]
            got = xy.get(id(r))
            if got is None:
                self._position(r.device, info, self.devices[r.device], r, 0.0, 0.0, None, effects)
            else:
                self._position(r.device, info, self.devices[r.device], r, got[0], got[1], got[2], effects)

    def _shapes_of(self, dev: DeviceId) -> np.ndarray:
        person = self.c.devices[dev].person
        shapes = self.c.zone_shapes.get(person) if person is not None else None
        return shapes if shapes is not None else _NO_SHAPES

    def _position(
        self,
        dev: DeviceId,
        info: DeviceInfo,
        st: DeviceState,
        r: Position,
        x: float,
        y: float,
        depths: list[float] | None,
        effects: list[Effect],
    ) -> None:
        t = r.time_s
        if t <= st.last_time_s:
            self.counters["duplicate" if st.seen_time(t) else "stale"] += 1
            return
        st.last_time_s = t
        self.counters["positions"] += 1
        if info.health and r.battery_pct is not None:
            self._battery(st, dev, info, t, r.battery_pct, effects)
        if depths is None:  # no fix
            if info.health and info.kind == DeviceKind.GPS_TAG:
                self._no_fix(st, dev, info, t, effects)
            return
        if HealthType.NO_FIX in st.health:
            self._close_health(st, HealthType.NO_FIX, t, effects)
        st.last_valid_s = t
        st.nofix_since_s = None
        acc = max(r.accuracy_m if r.accuracy_m is not None else DEFAULT_ACCURACY_M, self.p.min_accuracy_m)
        fix = Fix(t, x, y, acc, r.speed_mps or 0.0)
        previous = st.last_fix
        if not self._plausible(st, fix):
            return
        # A fix whose displacement agrees with its own Doppler speed is a
        # movement, not multipath (which shifts positions, not speeds).
        moving = previous is not None and self._moving_consistently(previous, fix)
        person = info.person
        if person is None or not info.locates:
            return
        self.people.append(self.tables.person_index[person], fix)
        p = self.p
        rules = self.c.zone_rules.get(person, ())
        if rules:
            signs = self.c.zone_sign[person]
            floor = p.accuracy_k * acc + p.zone_margin_m
            for i, rule_id in enumerate(rules):
                viol = signs[i] * depths[i]
                if viol <= floor and not self.rule_busy[self.tables.rule_index[rule_id]]:
                    continue  # no evidence of violation for a rule at rest: nothing to do
                unit = self.c.home_unit_of_rule.get(rule_id)
                if unit is not None and self._home_vouches(unit, t):
                    viol = -math.inf
                self._evidence(rule_id, t, t, viol, acc, 0.0, effects, corroborated=moving)
        for link in self.c.proximity.get(person, ()):
            other = self._nearest_fix(link.other, t)
            if other is None:
                continue
            gap = abs(other.time_s - t)
            if gap > p.pair_max_age_s:
                continue
            dist = math.hypot(other.x - x, other.y - y)
            sigma = math.hypot(acc, other.accuracy_m)
            first, last = min(t, other.time_s), max(t, other.time_s)
            drift = max(other.speed_mps, p.pair_speed_mps) * gap  # how far the other may have moved since
            self._evidence(
                link.rule,
                first,
                last,
                link.distance_m - dist,
                sigma,
                drift,
                effects,
                corroborated=moving,
            )

    def _at_home(self, unit: DeviceId, person: PersonId, t: float, effects: list[Effect]) -> None:
        """The home unit sees the tag: the wearer is at home, whatever GPS says
        (and even when the tag itself cannot report). Conclusive for every zone
        rule of the wearer."""
        home = self.c.home_points.get(unit)
        rules = self.c.zone_rules.get(person, ())
        if home is None or not rules:
            return
        x, y = home
        shapes = self.c.zone_shapes[person]
        depths = self.c.index.depth_m(shapes, np.full(len(shapes), x), np.full(len(shapes), y)).tolist()
        signs = self.c.zone_sign[person]
        for i, rule_id in enumerate(rules):
            self._evidence(
                rule_id,
                t,
                t,
                signs[i] * depths[i],
                HOME_UNIT_RANGE_M,
                0.0,
                effects,
                conclusive=True,
            )

    def _nearest_fix(self, person: PersonId, t: float) -> Fix | None:
        return self.people.nearest(self.tables.person_index[person], t)

    def _home_vouches(self, unit: DeviceId, t: float) -> bool:
        st = self.devices.get(unit)
        if st is None or HealthType.COMMS_LOSS in st.health:
            return False
        return st.presence_at(t) is True

    def _plausible(self, st: DeviceState, fix: Fix) -> bool:
        """Reject multipath spikes: jumps no wearer could make. Several rejected
        fixes that agree with each other mean the wearer did move (or the last
        accepted fix was the bad one): then believe them."""
        ok = self._accept(st, fix)
        st.refresh_busy()
        return ok

    def _accept(self, st: DeviceState, fix: Fix) -> bool:
        p = self.p
        last = st.last_fix
        if last is None or self._reachable(last, fix):
            st.last_fix = fix
            if st.rejected:
                st.rejected.clear()
            return True
        self.counters["spike"] += 1
        if st.rejected and not self._reachable(st.rejected[-1], fix):
            st.rejected.clear()
        st.rejected.append(fix)
        if len(st.rejected) >= p.spike_confirm_fixes:
            st.last_fix = fix
            st.rejected.clear()
            return True
        return False

    def _moving_consistently(self, a: Fix, b: Fix) -> bool:
        p = self.p
        dt = b.time_s - a.time_s
        if b.speed_mps <= p.still_speed_mps or not 0 < dt <= p.corroborate_max_gap_s:
            return False
        implied = math.hypot(b.x - a.x, b.y - a.y) / dt
        tolerance = 0.5 * b.speed_mps + (a.accuracy_m + b.accuracy_m) / dt
        return abs(implied - b.speed_mps) <= tolerance

    def _reachable(self, a: Fix, b: Fix) -> bool:
        p = self.p
        dt = abs(b.time_s - a.time_s)
        jump = math.hypot(b.x - a.x, b.y - a.y) - 2.0 * (a.accuracy_m + b.accuracy_m)
        if jump <= 0:
            return True
        if jump > p.max_speed_mps * dt:
            return False
        still = a.speed_mps <= p.still_speed_mps and b.speed_mps <= p.still_speed_mps
        return not (still and jump > p.still_jump_m + p.still_speed_mps * dt)

    # ----------------------------------------------------------- hysteresis

    def _mark(self, rule_id: RuleId) -> None:
        i = self.tables.rule_index[rule_id]
        rs = self.rules[rule_id]
        self.rule_busy[i] = not rs.idle
        self.rule_steady[i] = rs.episode is not None and rs.comp_run == 0 and not self._unit_rules[i]

    def _evidence(
        self,
        rule_id: RuleId,
        first_s: float,
        t: float,
        viol_m: float,
        sigma_m: float,
        slack_m: float,
        effects: list[Effect],
        *,
        conclusive: bool = False,
        corroborated: bool = False,
    ) -> None:
        """One fix's word on a rule: metres on the violating side (`viol_m`),
        weighed against the fix's accuracy (`sigma_m`) plus any slack (the
        distance the other side of a proximity pair may have moved).
        `conclusive` compliant evidence (the home unit's) closes at once;
        a `corroborated` fix (moving as its speed says) deep enough opens at once."""
        rs = self.rules[rule_id]
        if t < rs.floor_s:
            return
        if t >= rs.active_until_s:
            sched = self.c.schedules[rule_id]
            if sched is None:
                rs.active_until_s = math.inf
            else:
                active, until = sched.state_at(t)
                if not active:
                    if rs.episode is not None:
                        self._close_rule(rule_id, rs, max(rs.active_until_s, rs.episode.start_s), effects)
                    rs.viol_run = rs.comp_run = 0
                    rs.active_until_s = NEG_INF
                    self._mark(rule_id)
                    return
                rs.active_until_s = until
        p = self.p
        margin = p.margin_m if rule_id in self._proximity_rules else p.zone_margin_m
        unc_m = p.accuracy_k * sigma_m + margin + slack_m
        if viol_m > unc_m:
            if rs.comp_run and t < rs.comp_last_s:
                # Older than the compliant evidence already in hand (a batch sent
                # out of order, a retransmission): it tells of the time before,
                # and does not undo what newer fixes say.
                return
            rs.comp_run = 0
            if rs.viol_run == 0:
                rs.viol_first_s = first_s
                rs.viol_last_s = t
                rs.strong_run = 0
            else:
                rs.viol_first_s = min(rs.viol_first_s, first_s)
                rs.viol_last_s = max(rs.viol_last_s, t)
            rs.viol_run += 1
            if viol_m > p.strong_k * sigma_m + margin + slack_m:
                rs.strong_run += 1
            if rs.episode is None:
                beyond = viol_m - p.decisive_k * sigma_m - slack_m
                # Uncorroborated, even a deep fix may be a spike: wait for a second.
                decisive = (corroborated and beyond > margin) or (rs.viol_run >= 2 and beyond > p.decisive_m)
                enough = rs.viol_run >= p.open_fixes and t - rs.viol_first_s >= p.open_min_span_s
                if decisive or enough or rs.strong_run >= p.open_strong_fixes:
                    self._open_rule(rule_id, rs, rs.viol_first_s, effects)
        elif viol_m < -p.compliant_margin_m:
            if rs.viol_run and t < rs.viol_last_s:
                return  # older than the violating evidence in hand: likewise
            rs.viol_run = 0
            if rs.episode is not None:
                if rs.comp_run == 0:
                    rs.comp_first_s = rs.comp_last_s = t
                rs.comp_last_s = max(rs.comp_last_s, t)
                rs.comp_run += 1
                settled = rs.comp_run >= p.close_fixes and t - rs.comp_first_s >= p.close_min_span_s
                clear_exit = corroborated and -viol_m > p.decisive_k * sigma_m + margin + slack_m
                if settled or clear_exit or (conclusive and viol_m < -unc_m):
                    self._close_rule(rule_id, rs, rs.comp_first_s, effects)
        self._mark(rule_id)  # the array path skips rules at rest

    def _open_rule(self, rule_id: RuleId, rs: RuleState, start_s: float, effects: list[Effect]) -> None:
        rule = self.c.rules[rule_id]
        ep = Episode(
            type=rule.type.value,
            person=self.c.rule_person[rule_id],
            start_s=start_s,
            raised_s=self.now_s,
            rule=rule_id,
        )
        rs.episode = ep
        rs.comp_run = 0
        if rs.active_until_s < math.inf:
            heapq.heappush(self._bounds, (rs.active_until_s, rule_id))
        effects.append(EpisodeOpened(ep))

    def _close_rule(self, rule_id: RuleId, rs: RuleState, end_s: float, effects: list[Effect]) -> None:
        ep = rs.episode
        assert ep is not None
        ep.end_s = max(end_s, ep.start_s)
        rs.episode = None
        rs.viol_run = rs.comp_run = 0
        rs.floor_s = ep.end_s
        self._mark(rule_id)
        effects.append(EpisodeClosed(ep))

    def _fire_schedule_bounds(self, now_s: float, effects: list[Effect]) -> None:
        """Close episodes of rules whose schedule has ended, even with no fix."""
        heap = self._bounds
        while heap and heap[0][0] <= now_s:
            bound_s, rule_id = heapq.heappop(heap)
            rs = self.rules[rule_id]
            if rs.episode is None:
                continue
            sched = self.c.schedules[rule_id]
            assert sched is not None
            active, until = sched.state_at(bound_s)
            if active:
                rs.active_until_s = until
                heapq.heappush(heap, (until, rule_id))
            else:
                self._close_rule(rule_id, rs, bound_s, effects)
                rs.active_until_s = NEG_INF

    # --------------------------------------------------------------- health

    def _battery(
        self,
        st: DeviceState,
        dev: DeviceId,
        info: DeviceInfo,
        t: float,
        level: float,
        effects: list[Effect],
    ) -> None:
        limit = self.c.caseload.policy.low_battery_pct
        is_open = HealthType.LOW_BATTERY in st.health
        if level <= limit and not is_open:
            self._open_health(st, dev, info, HealthType.LOW_BATTERY, t, self.now_s, effects)
        elif is_open and level > limit + self.p.battery_hysteresis_pct:
            self._close_health(st, HealthType.LOW_BATTERY, t, effects)

    def _no_fix(
        self, st: DeviceState, dev: DeviceId, info: DeviceInfo, t: float, effects: list[Effect]
    ) -> None:
        """No fix for longer than the policy allows while the device keeps
        reporting. Counted from the last valid fix; but when the device was
        silent before this report (a coverage gap whose buffered fixes may still
        be on their way), counted from the first report without a fix."""
        if st.last_valid_s is None:
            return  # never had a fix since we listen: it may have had one just before
        timeout = self.c.caseload.policy.no_fix_timeout_s
        if st.nofix_since_s is None:
            silent = t - st.last_valid_s > timeout / 3
            st.nofix_since_s = t if silent else st.last_valid_s
        if t - st.nofix_since_s > timeout and HealthType.NO_FIX not in st.health:
            self._open_health(
                st, dev, info, HealthType.NO_FIX, st.nofix_since_s + timeout, self.now_s, effects
            )

    def _open_health(
        self,
        st: DeviceState,
        dev: DeviceId,
        info: DeviceInfo,
        kind: HealthType,
        start_s: float,
        raised_s: float,
        effects: list[Effect],
    ) -> None:
        ep = Episode(type=kind.value, person=info.person, start_s=start_s, raised_s=raised_s, device=dev)
        st.health[kind] = ep
        if kind == HealthType.COMMS_LOSS:
            self._comms_open[st.index] = True
        st.refresh_busy()
        effects.append(EpisodeOpened(ep))

    def _close_health(self, st: DeviceState, kind: HealthType, end_s: float, effects: list[Effect]) -> None:
        ep = st.health.pop(kind)
        ep.end_s = max(end_s, ep.start_s)
        if kind == HealthType.COMMS_LOSS:
            self._comms_open[st.index] = False
        st.refresh_busy()
        effects.append(EpisodeClosed(ep))


_NO_SHAPES = np.zeros(0, np.int64)
_SMALL_BATCH = 64  # releases smaller than this take the per-record path


def run(engine: Engine, records: Iterable[Record]) -> list[Effect]:
    """Feed records in arrival order with the clock following `received`."""
    effects: list[Effect] = []
    for rec in records:
        effects += engine.advance(rec.received_s)
        effects += engine.feed(rec)
    effects += engine.flush()
    return effects


__all__ = ["Engine", "RuleType", "run"]
