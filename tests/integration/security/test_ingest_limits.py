"""Rate limits on device ingest: per device, and per address for bad tokens."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from ronda.api.app import PortRouter, create_app
from ronda.api.ingest import create_ingest_app
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import cases
from ronda.storage.db import connect, migrate

BATCH = [{"time": "2026-06-01T10:00:00Z", "lat": 40.4, "lon": -3.7, "accuracy": 8}]


def test_a_device_beyond_its_rate_gets_429_and_others_are_unaffected(tmp_path: Path) -> None:
    db = connect(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    with svc.sessions.begin() as s:
        for d in ("tag-1", "tag-2"):
            cases.create_device(s, d, "gps_tag")
            cases.issue_token(s, d, f"tok-{d}")
    ingest = create_ingest_app(svc, rate_per_s=0.5)  # a burst of 5, then one every 2 s
    app = PortRouter(create_app(svc, None), ingest, ingest_port=5055)  # the API's lifespan runs the service
    with TestClient(app, base_url="http://testserver:5055") as c:

        def post(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return c.post("/api/v1/records", json=BATCH, headers=headers).status_code

        first = [post("tok-tag-1") for _ in range(7)]
        assert first[:5] == [200] * 5 and first[5:] == [429, 429]
        assert post("tok-tag-2") == 200
        osmand = [c.get("/", params={"id": "tag-2", "lat": 40.4, "lon": -3.7}).status_code for _ in range(6)]
        assert 429 in osmand
        bad = [post(f"guess-{i}") for i in range(25)]
        assert bad[:20] == [401] * 20 and 429 in bad[20:]
        assert c.get("/health").json()["rate_limited"] >= 3
    db.dispose()
