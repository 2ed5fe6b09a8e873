"""Stores holding a scenario's whole history (setup, records, replayed
alerts): the bundled sample city always, dev-small when ../shared is there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ronda.exchange.scenario import load_history
from ronda.scenarios.loader import load_scenario
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import EpisodeRow

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "src" / "ronda" / "samples" / "sample-city"
DEV_SMALL = ROOT.parent / "shared" / "scenarios" / "dev-small"
ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Loaded:
    name: str
    db: Engine
    url: str
    start_s: float
    end_s: float

    def violators(self) -> list[tuple[str, int]]:
        """Persons with rule violations, most first."""
        with sessions(self.db)() as s:
            rows = s.execute(select(EpisodeRow.person_id).where(EpisodeRow.rule_id.is_not(None))).scalars()
            counts: dict[str, int] = {}
            for p in rows:
                counts[p] = counts.get(p, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _load(directory: Path, folder: Path) -> Loaded:
    url = f"sqlite:///{folder / 'ronda.db'}"
    db = connect(url)
    migrate(db)
    load_history(db, directory)
    sc = load_scenario(directory)
    return Loaded(directory.name, db, url, sc.start_s, sc.end_s)


SCENARIOS = [
    pytest.param(SAMPLE, id="sample-city"),
    pytest.param(
        DEV_SMALL,
        id="dev-small",
        marks=[
            pytest.mark.shared,
            pytest.mark.skipif(not DEV_SMALL.exists(), reason="../shared/scenarios/dev-small is absent"),
        ],
    ),
]


@pytest.fixture(scope="module", params=SCENARIOS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    directory: Path = request.param
    got = _load(directory, tmp_path_factory.mktemp(directory.name))
    yield got
    got.db.dispose()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    got = _load(SAMPLE, tmp_path_factory.mktemp("sample"))
    yield got
    got.db.dispose()
