"""The simulator: deterministic, readable by the loader, truth that makes sense."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from ronda.scenarios.loader import ArrivalStats, load_scenario, read_arrivals
from ronda.simulator import SimulationConfig, simulate
from ronda.simulator.__main__ import main as cli_main
from ronda.types import from_iso

FILES = ("scenario.json", "arrivals.jsonl.gz", "truth.json")
SAMPLE = Path(__file__).parents[3] / "src" / "ronda" / "samples" / "sample-city"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "small"
    return simulate(out, SimulationConfig.for_city("oslo", seed=7, persons=8, days=2))


def test_same_seed_same_bytes(tmp_path: Path, small: Path) -> None:
    again = simulate(tmp_path / "again", SimulationConfig.for_city("oslo", seed=7, persons=8, days=2))
    for name in FILES:
        assert (again / name).read_bytes() == (small / name).read_bytes(), name


def test_other_seed_other_scenario(tmp_path: Path, small: Path) -> None:
    other = simulate(tmp_path / "o", SimulationConfig.for_city("oslo", seed=8, persons=8, days=2))
    assert (other / "arrivals.jsonl.gz").read_bytes() != (small / "arrivals.jsonl.gz").read_bytes()


def test_loader_reads_everything(small: Path) -> None:
    scenario = load_scenario(small)
    stats = ArrivalStats()
    records = list(read_arrivals(scenario.arrivals_path(), stats))
    assert stats.skipped == Counter()
    assert stats.read == len(records) > 1000
    devices = set(scenario.caseload.devices)
    assert {r.device for r in records} <= devices
    kinds = {z.geometry["type"] for z in scenario.caseload.zones.values()}
    assert kinds == {"Polygon", "MultiPolygon", "Point"}


def test_arrivals_in_order_within_the_scenario(small: Path) -> None:
    raw = json.loads((small / "scenario.json").read_text())
    start, end = from_iso(raw["start"]), from_iso(raw["end"])
    with gzip.open(small / "arrivals.jsonl.gz", "rt") as fh:
        lines = [json.loads(line) for line in fh]
    received = [from_iso(a["received"]) for a in lines]
    assert received == sorted(received)
    assert start <= received[0] and received[-1] <= end
    assert all(from_iso(a["time"]) <= from_iso(a["received"]) for a in lines)
    assert any(a.get("valid") is False for a in lines)
    events = Counter(a.get("event") for a in lines)
    assert events["heartbeat"] > 0 and events["tag_present"] > 0
    keys = Counter((a["device"], a["time"], a.get("event")) for a in lines)
    assert max(keys.values()) >= 2  # retransmitted duplicates


def test_orders_cover_every_rule_kind(small: Path) -> None:
    raw = json.loads((small / "scenario.json").read_text())
    rules = [r for o in raw["orders"] for r in o["rules"]]
    assert {r["type"] for r in rules} == {"exclusion", "inclusion", "proximity"}
    curfews = [r for r in rules if r["id"].endswith("-curfew")]
    assert len(curfews) == 8
    for r in curfews:
        for w in r["schedule"]["weekly"]:
            assert w["end"] <= w["start"]  # overnight windows
    kinds = Counter(d["kind"] for d in raw["devices"])
    assert kinds["gps_tag"] == 8 and kinds["home_unit"] >= 1 and kinds["phone"] >= 1


def test_truth_is_sane(small: Path) -> None:
    raw = json.loads((small / "scenario.json").read_text())
    truth = json.loads((small / "truth.json").read_text())
    start, end = from_iso(raw["start"]), from_iso(raw["end"])
    assert truth["person_days"] == 16
    rules = {r["id"]: o["person"] for o in raw["orders"] for r in o["rules"]}
    devices = {d["id"]: d for d in raw["devices"]}
    for e in truth["episodes"]:
        a, b = from_iso(e["start"]), from_iso(e["end"])
        assert start <= a < b <= end, e
        assert e["class"] in ("clear", "marginal")
        if e["type"] in ("exclusion", "inclusion", "proximity"):
            assert rules[e["rule"]] == e["person"]
        else:
            assert devices[e["device"]]["kind"] in ("gps_tag", "home_unit")
        if e["class"] == "clear":
            assert a <= from_iso(e["available"]) <= end
            if e["type"] in ("exclusion", "inclusion", "proximity"):
                assert b - a >= 180
    clear = {e["type"] for e in truth["episodes"] if e["class"] == "clear"}
    assert {"exclusion", "inclusion", "proximity", "tamper", "comms_loss"} <= clear


def test_comms_loss_truth_matches_the_gaps(small: Path) -> None:
    raw = json.loads((small / "scenario.json").read_text())
    truth = json.loads((small / "truth.json").read_text())
    timeout = {d["id"]: d["comms_timeout_s"] for d in raw["devices"]}
    with gzip.open(small / "arrivals.jsonl.gz", "rt") as fh:
        received: dict[str, list[float]] = {}
        for line in fh:
            a = json.loads(line)
            received.setdefault(a["device"], []).append(from_iso(a["received"]))
    for e in truth["episodes"]:
        if e["type"] != "comms_loss":
            continue
        rs = received[e["device"]]
        before = max(r for r in rs if r <= from_iso(e["start"]))
        assert from_iso(e["start"]) == before + timeout[e["device"]]
        assert not any(before < r < from_iso(e["end"]) for r in rs)


def test_cli(tmp_path: Path) -> None:
    out = cli_main(
        [str(tmp_path / "c"), "--seed", "3", "--persons", "3", "--days", "1", "--city", "auckland"]
    )
    raw = json.loads((out / "scenario.json").read_text())
    assert raw["timezone"] == "Pacific/Auckland" and raw["name"] == "auckland-3"


def test_shipped_sample_is_small_and_complete() -> None:
    assert sum((SAMPLE / n).stat().st_size for n in FILES) < 300_000
    load_scenario(SAMPLE)
    truth = json.loads((SAMPLE / "truth.json").read_text())
    clear = {e["type"] for e in truth["episodes"] if e["class"] == "clear"}
    assert {"exclusion", "inclusion", "proximity", "tamper", "comms_loss"} <= clear
    assert clear & {"low_battery", "no_fix"}
