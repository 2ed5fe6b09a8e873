"""A recorded scenario's whole history into the store: its setup (`ronda
import`), every record it holds, and the episodes and alerts the engine
decides when it replays them (`ronda replay`). How a test, a demo or a
training centre gets a realistic history to report on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine as DbEngine

from ronda.engine.params import EngineParams
from ronda.scenarios.loader import load_scenario, read_arrivals
from ronda.scenarios.replay import replay
from ronda.storage import alerts
from ronda.storage.db import sessions
from ronda.storage.importer import import_scenario
from ronda.storage.records import insert_records
from ronda.tracking.records import Record

BATCH = 5000


@dataclass(frozen=True)
class Loaded:
    records: int
    episodes: int


def load_history(db: DbEngine, directory: Path, params: EngineParams | None = None) -> Loaded:
    scenario = load_scenario(directory)
    make = sessions(db)
    with make.begin() as s:
        import_scenario(s, directory)
    recs: list[Record] = list(
        read_arrivals(scenario.arrivals_path(), known_devices=scenario.caseload.devices)
    )
    stored = 0
    with make.begin() as s:
        conn = s.connection()
        for i in range(0, len(recs), BATCH):
            stored += len(insert_records(conn, recs[i : i + BATCH]))
    result = replay(scenario, params, records=recs)
    with make.begin() as s:
        for ep in result.episodes:
            alerts.store_episode(s, ep)
    return Loaded(stored, len(result.episodes))
