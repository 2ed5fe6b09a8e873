"""The engine on simulated cities: several seeds and cities, northern and
southern, across daylight-saving changes, scored against the simulator's truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ronda.scenarios.loader import load_scenario
from ronda.scenarios.replay import replay
from ronda.scenarios.scoring import ScoreReport, TypeScore, format_table, score
from ronda.simulator import CITIES, SimulationConfig, local_midnight, simulate

# (city, seed, first local date or None, persons, days)
CASES = [
    ("oslo", 11, "2026-03-28", 12, 2),  # 59.9 N, spring forward on 29 March
    ("auckland", 12, "2026-04-04", 12, 2),  # southern, clocks back on 5 April
    ("santiago", 13, "2026-04-03", 12, 3),  # southern, clocks back at midnight 4/5 April
    ("lisbon", 14, None, 12, 2),
    ("chicago", 15, "2026-10-31", 12, 2),  # clocks back on 1 November
]


def _run(tmp: Path, city: str, seed: int, start: str | None, persons: int, days: int) -> ScoreReport:
    tz = CITIES[city].timezone
    config = SimulationConfig.for_city(
        city,
        seed=seed,
        persons=persons,
        days=days,
        start=local_midnight(dt.date.fromisoformat(start), tz) if start else None,
    )
    out = simulate(tmp / f"{city}-{seed}", config)
    result = replay(load_scenario(out))
    assert not result.unknown_devices and not result.arrivals.skipped
    return score(out, [e.to_alert() for e in result.episodes])


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[ScoreReport]:
    tmp = tmp_path_factory.mktemp("engine-sim")
    return [_run(tmp, *case) for case in CASES]


def _details(reports: list[ScoreReport]) -> str:
    parts = []
    for r in reports:
        parts.append(format_table(r))
        parts += [f"  missed: {m}" for m in r.missed]
        parts += [f"  false:  {f}" for f in r.false_alarms]
    return "\n".join(parts)


@pytest.mark.slow
def test_engine_quality_on_simulated_cities(reports: list[ScoreReport]) -> None:
    total = TypeScore()
    person_days = 0.0
    for r in reports:
        total.add(r.total)
        person_days += r.person_days
    fa = 100.0 * total.false_alarms / person_days
    details = _details(reports)
    assert total.clear >= 100, details
    assert total.recall >= 0.95, details
    assert fa <= 3.0, details
    assert total.fragmentation <= 1.1, details


@pytest.mark.slow
def test_every_kind_of_episode_was_exercised(reports: list[ScoreReport]) -> None:
    seen = {t for r in reports for t, s in r.per_type.items() if s.clear}
    assert seen == {
        "exclusion",
        "inclusion",
        "proximity",
        "tamper",
        "low_battery",
        "comms_loss",
        "no_fix",
    }
