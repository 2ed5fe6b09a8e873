"""The engine's array path decides exactly as its per-record path.

Ordinary fixes are settled by array operations; the rest take the per-record
path. Both must give the same alerts, whether records come one by one
(`feed`) or as columns (`feed_columns`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine, run
from ronda.engine.episodes import Effect
from ronda.engine.state import Columns
from ronda.scenarios.loader import Scenario, load_scenario, read_arrivals
from ronda.simulator import CITIES, SimulationConfig, local_midnight, simulate
from ronda.tracking.records import Position, Record

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tz = CITIES["santiago"].timezone
    config = SimulationConfig.for_city(
        "santiago", seed=21, persons=14, days=2, start=local_midnight(dt.date(2026, 4, 4), tz)
    )
    return load_scenario(simulate(tmp_path_factory.mktemp("paths") / "santiago", config))


def alerts(effects: list[Effect]) -> list[str]:
    episodes = {id(e.episode): e.episode for e in effects}.values()
    return sorted(json.dumps(e.to_alert(), sort_keys=True) for e in episodes)


def records(sc: Scenario) -> list[Record]:
    return list(read_arrivals(sc.arrivals_path(), known_devices=sc.caseload.devices))


def test_array_path_equals_per_record_path(scenario: Scenario) -> None:
    recs = records(scenario)
    fast = run(Engine(compile_caseload(scenario.caseload)), recs)
    reference = run(Engine(compile_caseload(scenario.caseload), vectorised=False), recs)
    assert alerts(fast) == alerts(reference)
    assert len(alerts(fast)) > 10  # the scenario does break orders


def chunks(recs: list[Record], width_s: float) -> Iterator[tuple[float, list[Record]]]:
    end = recs[0].received_s + width_s
    batch: list[Record] = []
    for r in recs:
        while r.received_s >= end:
            yield end, batch
            batch, end = [], end + width_s
        batch.append(r)
    yield end, batch


def test_columns_in_equal_records_in(scenario: Scenario) -> None:
    recs = records(scenario)
    one_by_one = Engine(compile_caseload(scenario.caseload))
    columns = Engine(compile_caseload(scenario.caseload))
    a: list[Effect] = []
    b: list[Effect] = []
    for end, batch in chunks(recs, 60.0):
        for r in batch:
            a += one_by_one.feed(r)
        a += one_by_one.advance(end)
        positions = [r for r in batch if isinstance(r, Position)]
        for r in batch:
            if not isinstance(r, Position):
                b += columns.feed(r)
        if positions:
            b += columns.feed_columns(Columns.from_positions(positions, columns.tables.dev_index))
        b += columns.advance(end)
    a += one_by_one.flush()
    b += columns.flush()
    assert alerts(a) == alerts(b)
    assert one_by_one.counters["positions"] == columns.counters["positions"]
    assert np.array_equal(one_by_one.columns.last_time, columns.columns.last_time)


@pytest.mark.shared
@pytest.mark.parametrize("name", ["dev-small", "dev-lisbon"])
def test_paths_agree_on_shared_scenarios(name: str) -> None:
    if not (SHARED / name / "scenario.json").exists():
        pytest.skip(f"../shared/scenarios/{name} not present (not part of a user's clone)")
    sc = load_scenario(SHARED / name)
    recs = records(sc)
    fast = run(Engine(compile_caseload(sc.caseload)), recs)
    reference = run(Engine(compile_caseload(sc.caseload), vectorised=False), recs)
    assert alerts(fast) == alerts(reference)
