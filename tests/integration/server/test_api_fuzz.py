"""Property-based fuzzing of the whole API from its OpenAPI schema
(schemathesis): whatever a client sends, the answer is never a 5xx."""

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
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage.db import connect, migrate
from ronda.storage.importer import import_scenario

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"
TOKEN = "fuzz-token"


@pytest.fixture
def api_schema(db_url: str) -> Iterator[Any]:
    db = connect(db_url)
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    with svc.sessions.begin() as s:
        import_scenario(s, SAMPLE)  # real ids to find: p1, tag-0001, z1 ...
    app = create_app(svc, TOKEN)
    with TestClient(app):  # runs the lifespan: the live service is up
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # the live stream never ends: it has its own test
        yield schema.exclude(path="/api/stream")
    db.dispose()


def test_no_input_gives_a_server_error(api_schema: Any) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                )

        check()
    assert failures == []
    assert sum(statuses.values()) > 300 and statuses[200] + statuses[201] > 20, statuses
