"""The engine's state as plain JSON-ready data, and back.

A snapshot holds per-device and per-rule state only (no caseload, no
thresholds): it can be checkpointed, and the devices can be split across
workers by partitioning `devices`. Infinities are written as "inf"/"-inf".
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import Counter
from typing import Any

from ronda.engine.engine import Engine
from ronda.engine.episodes import Episode
from ronda.engine.state import NEG_INF, RECENT_TIMES, Fix, RuleState
from ronda.rules.models import HealthType
from ronda.tracking.records import Position
from ronda.types import DeviceId, PersonId, RuleId

FORMAT = "ronda-engine-state/1"


def _num(v: float) -> float | str:
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else v


def _unnum(v: float | str) -> float:
    return float(v)


def _episode(ep: Episode | None) -> dict[str, Any] | None:
    return None if ep is None else dataclasses.asdict(ep)


def _unepisode(d: dict[str, Any] | None) -> Episode | None:
    return None if d is None else Episode(**d)


def _fix(f: Fix | None) -> dict[str, float] | None:
    return None if f is None else dataclasses.asdict(f)


def _unfix(d: dict[str, float] | None) -> Fix | None:
    return None if d is None else Fix(**d)


def snapshot(engine: Engine) -> dict[str, Any]:
    devices: dict[str, Any] = {}
    dc = engine.columns
    for dev, st in engine.devices.items():
        if st.last_received_s == NEG_INF and not st.pending:
            continue  # never heard from: nothing to keep
        i = st.index
        devices[dev] = {
            "last_received_s": _num(st.last_received_s),
            "last_arrival_s": _num(st.last_arrival_s),
            "last_time_s": _num(st.last_time_s),
            "recent_times": [t for t in dc.recent[i].tolist() if not math.isnan(t)],
            "pending": [dataclasses.asdict(p) for p in st.pending],
            "last_fix": _fix(st.last_fix),
            "rejected": [_fix(f) for f in st.rejected],
            "last_valid_s": st.last_valid_s,
            "nofix_since_s": st.nofix_since_s,
            "present": st.present,
            "present_since_s": _num(st.present_since_s),
            "present_before": st.present_before,
            "tamper_event_s": _num(st.tamper_event_s),
            "health": {k: _episode(v) for k, v in st.health.items()},
        }
    if engine._pending_columns:  # columnar uploads not yet released: keep them as records
        for dev_id, recs in _pending_column_records(engine).items():
            devices.setdefault(dev_id, {}).setdefault("pending", []).extend(
                dataclasses.asdict(r) for r in recs
            )
    rules: dict[str, Any] = {}
    for rule_id, rs in engine.rules.items():
        if rs == RuleState():
            continue  # untouched rules need no record
        rules[rule_id] = {
            "viol_run": rs.viol_run,
            "viol_first_s": rs.viol_first_s,
            "viol_last_s": rs.viol_last_s,
            "strong_run": rs.strong_run,
            "comp_run": rs.comp_run,
            "comp_first_s": rs.comp_first_s,
            "comp_last_s": rs.comp_last_s,
            "floor_s": _num(rs.floor_s),
            "active_until_s": _num(rs.active_until_s),
            "episode": _episode(rs.episode),
        }
    people = engine.people
    history = {}
    for p, person in enumerate(engine.tables.person_ids):
        fixes = people.fixes(p)
        if fixes:
            history[person] = [_fix(f) for f in fixes]
    return {
        "format": FORMAT,
        "now_s": _num(engine.now_s),
        "devices": devices,
        "rules": rules,
        "history": history,
        "counters": dict(engine.counters),
    }


def _pending_column_records(engine: Engine) -> dict[str, list[Position]]:
    from ronda.engine.state import Columns

    cols = Columns.concat(engine._pending_columns)
    out: dict[str, list[Position]] = {}
    for i in range(len(cols)):
        dev = engine.tables.dev_ids[int(cols.dev[i])]
        out.setdefault(dev, []).append(cols.position(i, dev))
    return out


def restore(engine: Engine, data: dict[str, Any]) -> Engine:
    """Load a snapshot into a fresh engine built on the same caseload."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not an engine state of format {FORMAT}")
    engine.now_s = _unnum(data["now_s"])
    dc = engine.columns
    for dev, d in data["devices"].items():
        st = engine.devices.get(DeviceId(dev))
        if st is None:
            continue  # a device no longer in the caseload
        i = st.index
        st.last_received_s = _unnum(d.get("last_received_s", "-inf"))
        st.last_arrival_s = _unnum(d.get("last_arrival_s", "-inf"))
        dc.last_time[i] = _unnum(d.get("last_time_s", "-inf"))
        recent = d.get("recent_times", [])[-RECENT_TIMES:]
        dc.recent[i, : len(recent)] = recent
        dc.recent_pos[i] = len(recent) % RECENT_TIMES
        st.pending = [Position(**p) for p in d.get("pending", [])]
        st.last_fix = _unfix(d.get("last_fix"))
        st.rejected = [f for f in (_unfix(x) for x in d.get("rejected", [])) if f is not None]
        st.last_valid_s = d.get("last_valid_s")
        st.nofix_since_s = d.get("nofix_since_s")
        st.present = d.get("present")
        st.present_since_s = _unnum(d.get("present_since_s", "-inf"))
        st.present_before = d.get("present_before")
        st.tamper_event_s = _unnum(d.get("tamper_event_s", "-inf"))
        st.health = {k: ep for k, v in d.get("health", {}).items() if (ep := _unepisode(v)) is not None}
        st.refresh_busy()
        engine._comms_open[i] = HealthType.COMMS_LOSS in st.health
        if st.pending:
            dc.pending_since[i] = st.last_arrival_s
            engine._release.append((st.last_arrival_s + engine.p.reorder_hold_s, DeviceId(dev)))
    for rule_id, r in data["rules"].items():
        if RuleId(rule_id) not in engine.rules:
            continue
        rs = RuleState(
            viol_run=r["viol_run"],
            viol_first_s=r["viol_first_s"],
            # snapshots written before these were kept: the run's first time is the safe bound
            viol_last_s=r.get("viol_last_s", r["viol_first_s"]),
            strong_run=r["strong_run"],
            comp_run=r["comp_run"],
            comp_first_s=r["comp_first_s"],
            comp_last_s=r.get("comp_last_s", r["comp_first_s"]),
            floor_s=_unnum(r["floor_s"]),
            active_until_s=_unnum(r["active_until_s"]),
            episode=_unepisode(r["episode"]),
        )
        engine.rules[RuleId(rule_id)] = rs
        engine._mark(RuleId(rule_id))
        if rs.episode is not None and math.isfinite(rs.active_until_s):
            heapq.heappush(engine._bounds, (rs.active_until_s, RuleId(rule_id)))
    for person, fixes in data["history"].items():
        p = engine.tables.person_index.get(PersonId(person))
        if p is None:
            continue
        for f in fixes:
            fix = _unfix(f)
            if fix is not None:
                engine.people.append(p, fix)
    engine.counters = Counter(data.get("counters", {}))
    engine._next_comms_check = -math.inf  # scan every deadline at the next advance
    return engine
