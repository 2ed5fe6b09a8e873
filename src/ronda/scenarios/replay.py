"""Replaying a scenario through the engine: arrival order, clock on `received`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Episode, EpisodeClosed, EpisodeOpened
from ronda.engine.params import EngineParams
from ronda.scenarios.loader import ArrivalStats, Scenario, read_arrivals
from ronda.tracking.records import Record


@dataclass
class ReplayResult:
    episodes: list[Episode]
    engine: Engine
    arrivals: ArrivalStats
    unknown_devices: dict[str, int] = field(default_factory=dict)


def replay(
    scenario: Scenario,
    params: EngineParams | None = None,
    records: Iterable[Record] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    engine = Engine(compile_caseload(scenario.caseload), params)
    stats = ArrivalStats()
    source = (
        records
        if records is not None
        else read_arrivals(scenario.arrivals_path(), stats, known_devices=scenario.caseload.devices)
    )
    closed: list[Episode] = []
    unknown: dict[str, int] = {}
    for n, rec in enumerate(source, start=1):
        if rec.device not in engine.c.devices:
            unknown[rec.device] = unknown.get(rec.device, 0) + 1
        for eff in engine.advance(rec.received_s):
            if isinstance(eff, EpisodeClosed):
                closed.append(eff.episode)
        for eff in engine.feed(rec):
            if isinstance(eff, EpisodeClosed):
                closed.append(eff.episode)
        if progress is not None and n % 5000 == 0:
            progress(n)
    for eff in [*engine.flush(), *engine.advance(scenario.end_s)]:
        if isinstance(eff, EpisodeClosed):
            closed.append(eff.episode)
        elif isinstance(eff, EpisodeOpened):
            pass
    episodes = sorted([*closed, *engine.open_episodes()], key=lambda e: (e.raised_s, e.key))
    return ReplayResult(episodes, engine, stats, unknown)
