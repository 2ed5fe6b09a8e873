"""Device ingest over HTTP: the native batch endpoint and OsmAnd, answered
only after the commit; resends store nothing twice; unknown devices refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import PortRouter, create_app
from ronda.api.ingest import create_ingest_app
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import cases, records
from ronda.storage.db import connect, migrate


@pytest.fixture
def svc(db_url: str) -> Iterator[LiveService]:
    db = connect(db_url)
    migrate(db)
    s = LiveService(db, config=ServiceConfig(tick_s=0.2))
    with s.sessions.begin() as tx:
        cases.create_person(tx, "p1", "monitored")
        cases.create_device(tx, "tag-1", "gps_tag")
        cases.create_device(tx, "tag-2", "gps_tag")
        cases.assign_device(tx, "tag-1", "p1", "test")
        cases.issue_token(tx, "tag-1", "tok-1")
    yield s
    db.dispose()


@pytest.fixture
def ingest(svc: LiveService) -> Iterator[TestClient]:
    app = PortRouter(create_app(svc, None), create_ingest_app(svc), ingest_port=5055)
    with TestClient(app, base_url="http://testserver:5055") as c:
        yield c


BATCH = [
    {"time": "2026-06-01T10:00:00Z", "lat": 40.4, "lon": -3.7, "accuracy": 8, "speed": 1.2, "battery": 90},
    {"time": "2026-06-01T10:01:00Z", "valid": False, "battery": 90},
    {"time": "2026-06-01T10:01:30Z", "event": "strap_tamper"},
]


def stored(svc: LiveService) -> list[tuple[str, str]]:
    with svc.sessions() as s:
        return [(r.device, type(r).__name__) for _, r in records.records_after(s, 0)]


def test_native_batch_is_stored_once_and_stamped_by_the_server(ingest: TestClient, svc: LiveService) -> None:
    auth = {"Authorization": "Bearer tok-1"}
    r = ingest.post("/api/v1/records", json=BATCH, headers=auth)
    assert r.status_code == 200 and r.json() == {"stored": 3, "duplicates": 0}
    again = ingest.post("/api/v1/records", json={"records": BATCH}, headers=auth)
    assert again.json() == {"stored": 0, "duplicates": 3}
    assert stored(svc) == [("tag-1", "Position"), ("tag-1", "Position"), ("tag-1", "DeviceEvent")]
    with svc.sessions() as s:
        (_, first), *_ = records.records_after(s, 0)
    assert first.received_s > first.time_s  # stamped on arrival, now


def test_native_refuses_bad_tokens_other_devices_and_bad_fields(ingest: TestClient) -> None:
    assert ingest.post("/api/v1/records", json=BATCH).status_code == 401
    assert (
        ingest.post("/api/v1/records", json=BATCH, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    auth = {"Authorization": "Bearer tok-1"}
    r = ingest.post("/api/v1/records", json=[{**BATCH[0], "device": "tag-2"}], headers=auth)
    assert r.status_code == 403 and r.json()["field"] == "records[0].device"
    r = ingest.post("/api/v1/records", json=[BATCH[0], {**BATCH[0], "lat": 91}], headers=auth)
    assert r.status_code == 400 and r.json()["field"] == "records[1].lat"
    assert ingest.post("/api/v1/records", content=b"{oops", headers=auth).status_code == 400


def test_osmand_query_form_and_json_bodies(ingest: TestClient, svc: LiveService) -> None:
    q = {"id": "tag-1", "lat": "40.41", "lon": "-3.70", "timestamp": "1780308000", "accuracy": "7"}
    assert ingest.get("/", params=q).status_code == 200
    assert ingest.post("/", params=q).status_code == 200  # a resend: stored once
    form = "id=tag-1&lat=40.42&lon=-3.70&timestamp=1780308060"
    r = ingest.post("/", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    body = {
        "device_id": "tag-1",
        "location": {"timestamp": "2026-06-01T10:02:00Z", "coords": {"latitude": 40.43, "longitude": -3.7}},
    }
    assert ingest.post("/", json=body).status_code == 200
    assert len(stored(svc)) == 3
    assert ingest.get("/", params={**q, "id": "stranger"}).status_code == 404
    assert ingest.get("/", params={"lat": "1"}).status_code == 400
    assert svc.sink.stats.unknown_devices["stranger"] == 1
