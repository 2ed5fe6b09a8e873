"""Alert quality on the shared scenarios, scored by the shared scorer.

These read ../shared (beside the checkout); a user's clone has none, so they
skip there, and the engine is still judged on the project's own simulated
scenarios (tests/integration/test_engine_on_simulated.py).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ronda.scenarios.loader import load_scenario
from ronda.scenarios.replay import replay

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SCORER = SHARED / "tools" / "score.py"

RULE_TYPES = ("exclusion", "inclusion", "proximity")


def score(scenario: Path, alerts: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCORER), str(scenario), str(alerts), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])["engine"]


@pytest.mark.shared
@pytest.mark.parametrize("name", ["dev-small", "dev-santiago", "dev-lisbon"])
def test_alert_quality(name: str, tmp_path: Path) -> None:
    scenario = SHARED / "scenarios" / name
    if not (scenario / "scenario.json").exists() or not SCORER.exists():
        pytest.skip(
            f"../shared/scenarios/{name} or ../shared/tools/score.py not present (not part of a user's clone)"
        )
    result = replay(load_scenario(scenario))
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("".join(json.dumps(e.to_alert()) + "\n" for e in result.episodes))
    s = score(scenario, alerts)
    overall = s["ALL"]
    assert overall["recall"] >= 0.99, s
    assert overall["fa_per_100pd"] <= 3.0, s
    assert overall["fragmentation"] <= 1.1, s
    for typ, row in s.items():
        if typ == "ALL" or not row["clear"]:
            continue
        assert row["recall"] >= 0.95, (typ, row)
        if typ in RULE_TYPES:
            assert row["lat_p95"] <= 240, (typ, row)
        if typ == "tamper":
            assert row["lat_p95"] <= 10, (typ, row)
    assert not math.isnan(overall["recall"])
