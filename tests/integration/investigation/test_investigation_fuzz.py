"""Fuzzing the investigation routes from their OpenAPI schema (schemathesis):
whatever a client sends, the answer is never a 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from ronda.api.app import create_app
from ronda.exchange.scenario import load_history
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage.db import connect, migrate

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"
TOKEN = "fuzz-token"


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    db = connect(f"sqlite:///{tmp_path / 'ronda.db'}")
    migrate(db)
    load_history(db, SAMPLE)  # trails, episodes and alerts to find
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    app = create_app(svc, TOKEN)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield schema.include(path_regex="investigations|compliance")
    db.dispose()


def test_no_input_gives_a_server_error(api_schema: Any) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}", "X-Ronda-Purpose": "fuzz"})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )

        check()
    assert operations == 9
    assert failures == []
    assert statuses[200] + statuses[201] > 10, statuses
