"""The REST API as a client uses it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import create_app
from ronda.engine.episodes import Episode
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import alerts, records
from ronda.storage.db import connect, migrate
from ronda.storage.importer import import_scenario
from ronda.tracking.records import Position
from ronda.types import DeviceId, PersonId, RuleId

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"
TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


@pytest.fixture
def svc(db_url: str) -> Iterator[LiveService]:
    db = connect(db_url)
    migrate(db)
    yield LiveService(db, config=ServiceConfig(tick_s=0.2))
    db.dispose()


@pytest.fixture
def client(svc: LiveService) -> Iterator[TestClient]:
    with TestClient(create_app(svc, TOKEN)) as c:
        c.headers.update(AUTH)
        yield c


def test_without_the_token_the_api_answers_401(svc: LiveService) -> None:
    with TestClient(create_app(svc, TOKEN)) as c:
        r = c.get("/api/persons")
        assert r.status_code == 401 and "token" in r.json()["detail"]
        assert c.get("/api/persons", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/health").status_code == 200
        assert c.get("/openapi.json").status_code == 200


def test_persons_devices_and_assignment_history(client: TestClient) -> None:
    assert (
        client.post("/api/persons", json={"id": "p1", "role": "monitored", "name": "Ana"}).status_code == 201
    )
    assert client.post("/api/persons", json={"id": "p1", "role": "monitored"}).status_code == 409
    r = client.post(
        "/api/devices", json={"id": "tag-1", "kind": "gps_tag", "serial": "SN-1", "comms_timeout_s": 900}
    )
    assert r.status_code == 201 and r.json()["status"] == "in_stock"
    r = client.post("/api/devices/tag-1/assign", json={"person": "p1", "by": "officer"})
    assert r.json()["person"] == "p1" and r.json()["status"] == "active"
    client.post("/api/devices/tag-1/assign", json={"person": None, "by": "officer"})
    hist = client.get("/api/devices/tag-1/assignments").json()
    assert [(h["person"], h["assigned_by"], h["ended_by"]) for h in hist] == [("p1", "officer", "officer")]
    assert client.patch("/api/persons/p1", json={"name": "Ana B."}).json()["name"] == "Ana B."
    assert client.get("/api/persons/nobody").status_code == 404


def test_validation_errors_name_the_field(client: TestClient) -> None:
    r = client.post("/api/persons", json={"role": "judge"})
    assert r.status_code == 422 and r.json()["field"] == "body.role"
    bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    r = client.post("/api/zones", json={"type": "Feature", "geometry": bow, "properties": {"name": "x"}})
    assert (
        r.status_code == 422
        and r.json()["field"] == "body.geometry"
        and "Self-intersection" in r.json()["error"]
    )
    r = client.post("/api/zones", json={"geometry": {"type": "Point", "coordinates": [1, 2]}})
    assert r.status_code == 422 and r.json()["field"] == "body.properties.radius_m"
    client.post("/api/persons", json={"id": "p1", "role": "monitored"})
    r = client.post(
        "/api/orders",
        json={"id": "o1", "person": "p1", "rules": [{"id": "r1", "type": "exclusion", "zone": "zz"}]},
    )
    assert r.status_code == 422 and r.json()["field"] == "body.rules[0].zone"
    r = client.get(
        "/api/devices/x/positions", params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    )
    assert r.status_code in (404, 422)


def test_zones_are_geojson_in_and_out_and_orders_keep_versions(client: TestClient) -> None:
    feature = {"type": "Feature", "id": "z1", "geometry": SQUARE, "properties": {"name": "park"}}
    assert client.post("/api/zones", json=feature).json() == {**feature, "properties": {"name": "park"}}
    client.post(
        "/api/zones",
        json={
            "id": "home",
            "geometry": {"type": "Point", "coordinates": [0.02, 0.02]},
            "properties": {"name": "home", "radius_m": 100},
        },
    )
    assert {f["id"] for f in client.get("/api/zones").json()["features"]} == {"z1", "home"}
    client.post("/api/persons", json={"id": "p1", "role": "monitored"})
    r = client.post(
        "/api/orders",
        json={
            "id": "o1",
            "person": "p1",
            "timezone": "Europe/Madrid",
            "rules": [{"id": "r1", "type": "exclusion", "zone": "z1"}],
        },
    )
    assert r.status_code == 201 and r.json()["version"] == 1
    curfew = {
        "id": "r2",
        "type": "inclusion",
        "zone": "home",
        "schedule": {"weekly": [{"days": ["mo", "tu"], "start": "22:00", "end": "06:00"}]},
    }
    r = client.post("/api/orders/o1/rules", json=curfew)
    assert r.json()["version"] == 2 and [x["id"] for x in r.json()["rules"]] == ["r1", "r2"]
    versions = client.get("/api/orders/o1/versions").json()
    assert [(v["version"], len(v["rules"])) for v in versions] == [(1, 1), (2, 2)]
    assert client.get("/api/orders/o1", params={"version": 1}).json()["rules"] == [
        {"id": "r1", "type": "exclusion", "zone": "z1"}
    ]
    assert client.delete("/api/zones/z1").status_code == 409  # used by a rule
    assert {r["id"] for r in client.get("/api/rules").json()} == {"r1", "r2"}


def test_positions_as_geojson_and_csv_for_device_and_person(client: TestClient, svc: LiveService) -> None:
    with svc.sessions.begin() as s:
        import_scenario(s, SAMPLE)
    with svc.sessions.begin() as s:
        records.insert_records(
            s.connection(),
            [
                Position(
                    DeviceId("tag-0001"),
                    1780300000.0 + 60 * i,
                    1780300005.0 + 60 * i,
                    lat=40.4 + i / 1000,
                    lon=-3.7,
                    accuracy_m=8.0,
                )
                for i in range(5)
            ],
        )
    period = {"start": "2026-06-01T07:00:00Z", "end": "2026-06-01T09:00:00Z"}
    gj = client.get("/api/devices/tag-0001/positions", params=period).json()
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 5
    assert gj["features"][0]["geometry"]["coordinates"] == [-3.7, 40.4]
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(
                    "/api/persons/p1/positions",
                    params={**period, "format": "csv"},
                    headers={"X-Ronda-Purpose": "test: CSV export"},  # an export states its purpose
                ).text)
        )
    )
    assert [r["device"] for r in rows] == ["tag-0001"] * 5 and rows[0]["time"] == "2026-06-01T07:46:40Z"


def test_alert_actions_and_filters(client: TestClient, svc: LiveService) -> None:
    with svc.sessions.begin() as s:
        a1 = alerts.store_episode(
            s, Episode("exclusion", PersonId("p1"), 100.0, 110.0, rule=RuleId("r1"))
        ).alert.id
        alerts.store_episode(s, Episode("low_battery", PersonId("p2"), 200.0, 210.0, device=DeviceId("d2")))
    assert [a["type"] for a in client.get("/api/alerts", params={"severity": "high"}).json()] == ["exclusion"]
    assert [a["person"] for a in client.get("/api/episodes", params={"person": "p2"}).json()] == ["p2"]
    assert client.post(f"/api/alerts/{a1}/acknowledge", json={"by": "ana"}).json()["status"] == "acknowledged"
    assert client.post(f"/api/alerts/{a1}/assign", json={"owner": "bo", "by": "ana"}).json()["owner"] == "bo"
    client.post(f"/api/alerts/{a1}/notes", json={"text": "wearer called back", "by": "bo"})
    r = client.post(f"/api/alerts/{a1}/resolve", json={"outcome": "false_alarm", "by": "bo"}).json()
    assert (r["status"], r["outcome"]) == ("resolved", "false_alarm")
    assert [x["action"] for x in r["actions"]] == ["acknowledge", "assign", "note", "resolve"]
    again = client.post(f"/api/alerts/{a1}/acknowledge", json={})
    assert again.status_code == 409 and "resolved" in again.json()["error"]
    assert (
        client.post(f"/api/alerts/{a1}/resolve", json={"outcome": "maybe"}).json()["field"] == "body.outcome"
    )
    assert [a["status"] for a in client.get("/api/alerts", params={"status": "new"}).json()] == ["new"]
