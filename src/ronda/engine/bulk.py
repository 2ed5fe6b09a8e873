"""The array path of the engine: ordinary fixes settled in bulk.

Released fixes are sorted by device and event time and processed in rounds,
the k-th fix of every device in round k, so that a round is one array step per
device with each device's order kept. Fixes that may change an episode are
handed, in the same order, to the per-record path (`Engine._position`); the
others only update the per-device columns. Both paths give identical alerts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from ronda.engine.compiled import CompiledCaseload, DeviceInfo, Tables
from ronda.engine.episodes import Effect
from ronda.engine.params import EngineParams
from ronda.engine.state import NAN, Columns, DeviceColumns, DeviceState, PersonColumns, RuleState
from ronda.tracking.records import Position
from ronda.types import DeviceId, RuleId

DEFAULT_ACCURACY_M = 50.0  # a fix that states no accuracy is taken as a poor one


class BulkPath:
    """Mixed into Engine: what the array path reads of it, and the per-record
    path it hands careful fixes to."""

    c: CompiledCaseload
    p: EngineParams
    tables: Tables
    vectorised: bool
    columns: DeviceColumns
    people: PersonColumns
    devices: dict[DeviceId, DeviceState]
    rules: dict[RuleId, RuleState]
    rule_busy: np.ndarray
    rule_steady: np.ndarray
    counters: Counter[str]
    _sched_active: np.ndarray
    _sched_from: np.ndarray
    _sched_until: np.ndarray

    # the per-record path (Engine._position) that careful fixes are handed to
    _position: Callable[
        [DeviceId, DeviceInfo, DeviceState, Position, float, float, list[float] | None, list[Effect]], None
    ]

    def _process_columns(self, cols: Columns, effects: list[Effect]) -> None:
        """Released positions: sorted by device and event time, projected and
        measured all at once, then processed in rounds (the k-th position of
        every device in round k) so that each round is one array step per
        device. Ordinary fixes are settled by array operations; the few that
        may change an episode take the per-record path (`_position`)."""
        cols = cols.take(np.lexsort((cols.time_s, cols.dev)))
        n = len(cols)
        first = np.ones(n, bool)
        first[1:] = cols.dev[1:] != cols.dev[:-1]
        starts = np.flatnonzero(first)
        rank = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
        valid = cols.valid & ~np.isnan(cols.lat) & ~np.isnan(cols.lon)
        x = np.full(n, NAN)
        y = np.full(n, NAN)
        if valid.any():
            x[valid], y[valid] = self.c.projection.to_xy(cols.lon[valid], cols.lat[valid])
        acc = np.where(np.isnan(cols.accuracy_m), DEFAULT_ACCURACY_M, cols.accuracy_m)
        acc = np.maximum(acc, self.p.min_accuracy_m)
        speed = np.nan_to_num(cols.speed_mps, nan=0.0)
        if rank.max() == 0:
            rounds = [np.arange(n)]
        else:
            by_rank = np.argsort(rank, kind="stable")
            rounds = np.split(by_rank, np.cumsum(np.bincount(rank))[:-1])
        for rows in rounds:
            self._round(cols, rows, valid, x, y, acc, speed, effects)

    def _round(
        self,
        cols: Columns,
        rows: np.ndarray,
        valid_all: np.ndarray,
        x_all: np.ndarray,
        y_all: np.ndarray,
        acc_all: np.ndarray,
        speed_all: np.ndarray,
        effects: list[Effect],
    ) -> None:
        """At most one position per device. `careful` marks those for the
        per-record path; the rest change only last-fix bookkeeping."""
        tb, dc, pc, p = self.tables, self.columns, self.people, self.p
        policy = self.c.caseload.policy
        d = cols.dev[rows]
        t = cols.time_s[rows]
        v = valid_all[rows]
        x, y, acc, speed = x_all[rows], y_all[rows], acc_all[rows], speed_all[rows]
        careful = ~(t > dc.last_time[d]) | dc.busy[d]  # stale, duplicate, or open health state
        if not self.vectorised:
            careful[:] = True
        health = tb.dev_health[d]
        with np.errstate(invalid="ignore"):
            careful |= health & (cols.battery_pct[rows] <= policy.low_battery_pct)
            # the no-fix clock on reports without a fix
            lv = dc.last_valid[d]
            ns = dc.nofix_since[d]
            timeout = policy.no_fix_timeout_s
            nofix_clock = ~v & health & tb.dev_gps[d] & ~np.isnan(lv)
            ns_new = np.where(np.isnan(ns), np.where(t - lv > timeout / 3, t, lv), ns)
            careful |= nofix_clock & (t - ns_new > timeout)
            # plausibility against the last accepted fix
            ft = dc.fix_t[d]
            has_prev = v & ~np.isnan(ft)
            dt = np.abs(t - ft)
            jump = np.hypot(x - dc.fix_x[d], y - dc.fix_y[d]) - 2.0 * (dc.fix_acc[d] + acc)
            still = (dc.fix_speed[d] <= p.still_speed_mps) & (speed <= p.still_speed_mps)
            unreachable = (jump > 0) & (
                (jump > p.max_speed_mps * dt) | (still & (jump > p.still_jump_m + p.still_speed_mps * dt))
            )
        careful |= has_prev & unreachable
        # evidence for the wearer's rules
        person = tb.dev_person[d]
        locates = v & tb.dev_locates[d] & (person >= 0)
        li = np.flatnonzero(locates)
        if len(li):
            lp = person[li]
            per_person = np.bincount(lp, minlength=len(tb.person_ids))
            if len(lp) > np.count_nonzero(per_person):  # two devices of one person: keep their order
                careful[li[per_person[lp] > 1]] = True
            cnt = tb.pair_count[lp]
            total = int(cnt.sum())
            if total:
                pr = np.repeat(li, cnt)
                base = np.repeat(tb.pair_start[lp] - (np.cumsum(cnt) - cnt), cnt)
                off = base + np.arange(total)
                rule = tb.pair_rule[off]
                limit = p.accuracy_k * acc[pr] + p.zone_margin_m
                violating = self.c.index.beyond(tb.pair_shape[off], x[pr], y[pr], tb.pair_sign[off], limit)
                active, unsure = self._schedules_at(rule, t[pr])
                hot = self._hot(rule, active & violating) | unsure
                careful[pr[hot]] = True
            lcnt = tb.link_count[lp]
            ltotal = int(lcnt.sum())
            if ltotal:
                lr = np.repeat(li, lcnt)
                loff = np.repeat(tb.link_start[lp] - (np.cumsum(lcnt) - lcnt), lcnt) + np.arange(ltotal)
                other = tb.link_other[loff]
                lrule = tb.link_rule[loff]
                lt, lx, ly, lacc = t[lr], x[lr], y[lr], acc[lr]
                ring = pc.row[other]  # the other side's fix history (both sides of a pair keep one)
                with np.errstate(invalid="ignore"):
                    gaps = np.abs(pc.t[ring] - lt[:, None])
                gaps = np.where(np.isnan(gaps), np.inf, gaps)
                j = np.argmin(gaps, axis=1)
                hot = self._near(
                    tb.link_dist[loff],
                    lt,
                    lx,
                    ly,
                    lacc,
                    pc.t[ring, j],
                    pc.x[ring, j],
                    pc.y[ring, j],
                    pc.acc[ring, j],
                    pc.speed[ring, j],
                )
                # The other side reporting in this same round: in order, one of
                # the two would be paired with the other's new fix. Weigh that too.
                row_of = np.full(len(tb.person_ids), -1, np.int64)
                row_of[lp] = li
                both = row_of[other] >= 0
                if both.any():
                    o = row_of[other[both]]
                    hot[both] |= careful[o] | self._near(
                        tb.link_dist[loff][both],
                        lt[both],
                        lx[both],
                        ly[both],
                        lacc[both],
                        t[o],
                        x[o],
                        y[o],
                        acc[o],
                        speed[o],
                    )
                active, unsure = self._schedules_at(lrule, lt)
                hot = self._hot(lrule, active & hot) | unsure
                careful[lr[hot]] = True
                # both sides of a pairing the per-record path must see in order
                partner = row_of[other]
                careful[partner[hot & (partner >= 0)]] = True
        # ordinary positions: bookkeeping only
        ok = ~careful
        if ok.any():
            od, ot = d[ok], t[ok]
            dc.last_time[od] = ot
            slot = dc.recent_pos[od]
            dc.recent[od, slot] = ot
            dc.recent_pos[od] = (slot + 1) % dc.recent.shape[1]
            self.counters["positions"] += int(ok.sum())
            nf = ok & nofix_clock
            dc.nofix_since[d[nf]] = ns_new[nf]
            ov = ok & v
            vd = d[ov]
            dc.last_valid[vd] = t[ov]
            dc.nofix_since[vd] = NAN
            dc.fix_t[vd], dc.fix_x[vd], dc.fix_y[vd] = t[ov], x[ov], y[ov]
            dc.fix_acc[vd], dc.fix_speed[vd] = acc[ov], speed[ov]
            ol = ok & locates
            ol[ol] = pc.row[person[ol]] >= 0  # only persons of a proximity pair keep a history
            if ol.any():
                pp = pc.row[person[ol]]
                slot = pc.pos[pp]
                pc.t[pp, slot], pc.x[pp, slot], pc.y[pp, slot] = t[ol], x[ol], y[ol]
                pc.acc[pp, slot], pc.speed[pp, slot] = acc[ol], speed[ol]
                pc.pos[pp] = (slot + 1) % pc.t.shape[1]
        # the rest, one by one, their depths measured together
        slow = np.flatnonzero(careful)
        depth_of = self._depths_of(slow[v[slow]], person, x, y)
        for row in slow.tolist():
            i = int(rows[row])
            dev = tb.dev_ids[int(d[row])]
            rec = cols.position(i, dev)
            depths = depth_of.get(row, []) if v[row] else None
            self._position(
                dev,
                self.c.devices[dev],
                self.devices[dev],
                rec,
                float(x[row]),
                float(y[row]),
                depths,
                effects,
            )

    def _near(
        self,
        limit_m: np.ndarray,
        t: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        acc: np.ndarray,
        ot: np.ndarray,
        ox: np.ndarray,
        oy: np.ndarray,
        oacc: np.ndarray,
        ospeed: np.ndarray,
    ) -> np.ndarray:
        """Would pairing these fixes be evidence of a proximity violation?
        (The test of `_position`, over arrays; a missing other fix is not.)"""
        p = self.p
        with np.errstate(invalid="ignore"):
            gap = np.abs(ot - t)
            dist = np.hypot(ox - x, oy - y)
            drift = np.maximum(ospeed, p.pair_speed_mps) * gap
            unc = p.accuracy_k * np.hypot(acc, oacc) + p.margin_m + drift
            return np.asarray((gap <= p.pair_max_age_s) & (limit_m - dist > unc))

    def _schedules_at(self, rule: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each rule is active at each time, from a per-rule cache of the
        current schedule stretch; `unsure` where a time falls outside it."""
        outside = (t < self._sched_from[rule]) | (t >= self._sched_until[rule])
        if outside.any():
            t0 = float(t[outside].min())
            for r in np.unique(rule[outside]).tolist():
                sched = self.c.schedules[self.tables.rule_ids[r]]
                if sched is None:
                    self._sched_active[r], self._sched_from[r], self._sched_until[r] = True, -np.inf, np.inf
                else:
                    on, until = sched.state_at(t0)
                    self._sched_active[r], self._sched_from[r], self._sched_until[r] = on, t0, until
            outside = (t < self._sched_from[rule]) | (t >= self._sched_until[rule])
        return self._sched_active[rule], outside

    def _depths_of(
        self, rows: np.ndarray, person: np.ndarray, x: np.ndarray, y: np.ndarray
    ) -> dict[int, list[float]]:
        """Signed depths of each row's fix in each of its wearer's zones, in
        one vectorised call: row -> depths in the order of its zone rules."""
        tb = self.tables
        rows = rows[person[rows] >= 0]
        if not len(rows):
            return {}
        cnt = tb.pair_count[person[rows]]
        total = int(cnt.sum())
        if not total:
            return {}
        rep = np.repeat(rows, cnt)
        off = np.repeat(tb.pair_start[person[rows]] - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
        depth = self.c.index.depth_m(tb.pair_shape[off], x[rep], y[rep]).tolist()
        out: dict[int, list[float]] = {}
        k = 0
        for row, n in zip(rows.tolist(), cnt.tolist(), strict=True):
            out[row] = depth[k : k + n]
            k += n
        return out

    def _hot(self, rule: np.ndarray, violating: np.ndarray) -> np.ndarray:
        """Which pieces of evidence may change their rule: violating evidence
        for a rule at rest or in a compliant run, any other evidence for a rule
        under way; not violating evidence for a rule steadily in an episode."""
        busy = self.rule_busy[rule]
        return np.asarray((violating & ~self.rule_steady[rule]) | (busy & ~violating))
