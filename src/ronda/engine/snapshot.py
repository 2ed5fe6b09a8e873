"""The engine's state as plain JSON-ready data, and back.

A snapshot holds per-device and per-rule state only (no caseload, no
thresholds): it can be checkpointed, and the devices can be split across
workers by partitioning `devices`. Infinities are written as "inf"/"-inf".
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import Counter, deque
from typing import Any

from ronda.engine.engine import _HISTORY, Engine
from ronda.engine.episodes import Episode
from ronda.engine.state import NEG_INF, RECENT_TIMES, DeviceState, Fix, RuleState
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
    for dev, st in engine.devices.items():
        devices[dev] = {
            "last_received_s": _num(st.last_received_s),
            "last_arrival_s": _num(st.last_arrival_s),
            "last_time_s": _num(st.last_time_s),
            "recent_times": list(st.recent_times),
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
    rules: dict[str, Any] = {}
    for rule_id, rs in engine.rules.items():
        if rs == RuleState():
            continue  # untouched rules need no record
        rules[rule_id] = {
            "viol_run": rs.viol_run,
            "viol_first_s": rs.viol_first_s,
            "strong_run": rs.strong_run,
            "comp_run": rs.comp_run,
            "comp_first_s": rs.comp_first_s,
            "floor_s": _num(rs.floor_s),
            "active_until_s": _num(rs.active_until_s),
            "episode": _episode(rs.episode),
        }
    return {
        "format": FORMAT,
        "now_s": _num(engine.now_s),
        "devices": devices,
        "rules": rules,
        "history": {p: [_fix(f) for f in h] for p, h in engine.history.items()},
        "counters": dict(engine.counters),
    }


def restore(engine: Engine, data: dict[str, Any]) -> Engine:
    """Load a snapshot into a fresh engine built on the same caseload."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not an engine state of format {FORMAT}")
    engine.now_s = _unnum(data["now_s"])
    for dev, d in data["devices"].items():
        st = DeviceState(
            last_received_s=_unnum(d["last_received_s"]),
            last_arrival_s=_unnum(d["last_arrival_s"]),
            last_time_s=_unnum(d["last_time_s"]),
            recent_times=deque(d.get("recent_times", []), maxlen=RECENT_TIMES),
            pending=[Position(**p) for p in d["pending"]],
            last_fix=_unfix(d["last_fix"]),
            rejected=[f for f in (_unfix(x) for x in d["rejected"]) if f is not None],
            last_valid_s=d["last_valid_s"],
            nofix_since_s=d["nofix_since_s"],
            present=d["present"],
            present_since_s=_unnum(d["present_since_s"]),
            present_before=d["present_before"],
            tamper_event_s=_unnum(d["tamper_event_s"]),
            health={k: ep for k, v in d["health"].items() if (ep := _unepisode(v)) is not None},
        )
        engine.devices[DeviceId(dev)] = st
        info = engine.c.devices.get(DeviceId(dev))
        if info is not None and info.comms_timeout_s is not None and st.last_received_s > NEG_INF:
            heapq.heappush(engine._comms, (st.last_received_s + info.comms_timeout_s, DeviceId(dev)))
        if st.pending:
            engine._release.append((st.last_arrival_s + engine.p.reorder_hold_s, DeviceId(dev)))
    for rule_id, r in data["rules"].items():
        rs = RuleState(
            viol_run=r["viol_run"],
            viol_first_s=r["viol_first_s"],
            strong_run=r["strong_run"],
            comp_run=r["comp_run"],
            comp_first_s=r["comp_first_s"],
            floor_s=_unnum(r["floor_s"]),
            active_until_s=_unnum(r["active_until_s"]),
            episode=_unepisode(r["episode"]),
        )
        engine.rules[RuleId(rule_id)] = rs
        if rs.episode is not None and math.isfinite(rs.active_until_s):
            heapq.heappush(engine._bounds, (rs.active_until_s, RuleId(rule_id)))
    for person, fixes in data["history"].items():
        engine.history[PersonId(person)] = deque(
            (f for f in (_unfix(x) for x in fixes) if f is not None), maxlen=_HISTORY
        )
    engine.counters = Counter(data.get("counters", {}))
    return engine
