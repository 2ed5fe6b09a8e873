"""The scorer, on hand-made truths and alerts (FORMAT.md's definitions)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ronda.scenarios.scoring import format_table, score, score_alerts

SCENARIO = {
    "end": "2026-06-02T00:00:00Z",
    "devices": [
        {"id": "tag-1", "kind": "gps_tag", "person": "p1"},
        {"id": "phone-1", "kind": "phone", "person": "v1"},
    ],
}


def _ep(rule: str, start: str, end: str, cls: str = "clear", avail: str | None = None) -> dict[str, Any]:
    e = {"person": "p1", "rule": rule, "type": "exclusion", "start": start, "end": end, "class": cls}
    if cls == "clear":
        e["available"] = avail or start
    return e


def _al(rule: str, start: str, raised: str, end: str | None, typ: str = "exclusion") -> dict[str, Any]:
    return {"type": typ, "person": "p1", "rule": rule, "start": start, "raised": raised, "end": end}


T = "2026-06-01T"


def test_detection_latency_and_fragmentation() -> None:
    truth = {
        "person_days": 2,
        "episodes": [
            _ep("r1", T + "10:00:00Z", T + "11:00:00Z", avail=T + "10:01:00Z"),
            _ep("r2", T + "12:00:00Z", T + "12:30:00Z"),
            _ep("r2", T + "15:00:00Z", T + "15:01:00Z", "marginal"),
        ],
    }
    alerts = [
        _al("r1", T + "10:02:00Z", T + "10:03:00Z", T + "10:20:00Z"),
        _al("r1", T + "10:25:00Z", T + "10:26:00Z", T + "11:04:00Z"),
        _al("r2", T + "15:00:30Z", T + "15:01:00Z", T + "15:02:00Z"),  # on a marginal one: fine
    ]
    rep = score_alerts(SCENARIO, truth, alerts)
    s = rep.per_type["exclusion"]
    assert (s.clear, s.detected, s.false_alarms, s.matched_alerts) == (2, 1, 0, 2)
    assert s.recall == 0.5 and s.fragmentation == 2.0
    assert s.latencies_s == [120.0]
    assert [m["rule"] for m in rep.missed] == ["r2"]


def test_false_alarms_no_episode_stale_and_slack() -> None:
    truth = {"person_days": 4, "episodes": [_ep("r1", T + "10:00:00Z", T + "11:00:00Z")]}
    alerts = [
        _al("r1", T + "11:04:00Z", T + "11:05:00Z", T + "11:10:00Z"),  # within 300 s slack
        _al("r1", T + "11:06:00Z", T + "11:07:00Z", T + "11:10:00Z"),  # just beyond it
        _al("r1", T + "10:30:00Z", T + "10:31:00Z", T + "11:29:00Z"),  # 14 min beyond end+900
        _al("r1", T + "10:30:00Z", T + "10:31:00Z", T + "11:31:00Z"),  # 16 min beyond: stale
        _al("r1", T + "10:50:00Z", T + "10:51:00Z", None),  # open to the end: stale
    ]
    rep = score_alerts(SCENARIO, truth, alerts)
    s = rep.per_type["exclusion"]
    assert s.false_alarms == 3
    assert math.isclose(rep.fa_per_100pd(s), 75.0)
    assert [a["start"][11:16] for a in rep.false_alarms] == ["11:06", "10:30", "10:50"]


def test_stale_uses_the_union_of_episodes() -> None:
    truth = {
        "person_days": 1,
        "episodes": [
            _ep("r1", T + "10:00:00Z", T + "10:05:00Z"),
            _ep("r1", T + "10:05:00Z", T + "10:06:00Z", "marginal"),
        ],
    }
    alerts = [_al("r1", T + "10:00:00Z", T + "10:01:00Z", T + "10:38:00Z")]
    assert score_alerts(SCENARIO, truth, alerts).per_type["exclusion"].false_alarms == 1


def test_device_alerts_keyed_by_device_and_phones_ignored() -> None:
    truth = {
        "person_days": 1,
        "episodes": [
            {
                "person": "p1",
                "device": "tag-1",
                "type": "tamper",
                "start": T + "09:00:00Z",
                "end": T + "09:30:00Z",
                "class": "clear",
                "available": T + "09:00:02Z",
            },
        ],
    }
    tamper = {
        "type": "tamper",
        "person": "p1",
        "device": "tag-1",
        "start": T + "09:00:00Z",
        "raised": T + "09:00:03Z",
        "end": T + "09:30:00Z",
    }
    phone = dict(tamper, device="phone-1", type="low_battery")
    other = dict(tamper, type="no_fix")
    rep = score_alerts(SCENARIO, truth, [tamper, phone, other])
    assert rep.per_type["tamper"].detected == 1 and rep.per_type["tamper"].latencies_s == [1.0]
    assert rep.per_type["low_battery"].alerts == 0
    assert rep.per_type["no_fix"].false_alarms == 1
    assert "tamper" in format_table(rep) and "ALL" in format_table(rep)


SHARED = Path(__file__).parents[3].parent / "shared"


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "tools" / "score.py").exists(), reason="no ../shared")
def test_agrees_with_the_shared_scorer_on_naive_alerts() -> None:
    spec = importlib.util.spec_from_file_location("shared_score", SHARED / "tools" / "score.py")
    assert spec is not None and spec.loader is not None
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    d = SHARED / "scenarios" / "dev-small"
    sc = json.loads((d / "scenario.json").read_text())
    tr = json.loads((d / "truth.json").read_text())
    phones = {dv["id"] for dv in sc["devices"] if dv["kind"] == "phone"}
    alerts = shared.naive(d, sc)
    theirs = shared.score(tr, alerts, shared.ts(sc["end"]), phones)
    mine = score(d, alerts)
    for typ, p in theirs.items():
        s = mine.per_type[typ]
        assert (s.clear, s.detected, s.false_alarms, s.matched_alerts) == (
            p["clear"],
            p["detected"],
            p["false"],
            p["matched_alerts"],
        ), typ
        assert sorted(s.latencies_s) == pytest.approx(sorted(p["lat"]))
