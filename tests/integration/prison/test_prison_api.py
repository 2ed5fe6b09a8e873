"""The prison API as a facility uses it, on SQLite and PostgreSQL: a facility
document, readers posting sightings, alerts through the shared workflow,
occupancy, headcounts and their reconciliation, movement history."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.unit.facility.builders import document, local

from ronda.api.app import create_app
from ronda.pipeline.prison import PrisonService, PrisonSettings
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.simulator.prison import PrisonConfig, simulate_day
from ronda.storage.db import connect, migrate
from ronda.types import to_iso

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "/api/prison/facilities/test"


@pytest.fixture
def svc(db_url: str) -> Iterator[LiveService]:
    db = connect(db_url)
    migrate(db)
    yield LiveService(db, config=ServiceConfig(tick_s=0.2))
    db.dispose()


@pytest.fixture
def client(svc: LiveService) -> Iterator[TestClient]:
    app = create_app(svc, TOKEN)
    # the facility's clock is its readers' (these are simulated days in 2026)
    app.state.prison = PrisonService(
        svc.sessions, bus=svc.bus, settings=PrisonSettings(wall_clock=False, max_future_s=1e10)
    )
    with TestClient(app) as c:
        c.headers.update(AUTH)
        yield c


def beat(t: float, places: dict[str, str]) -> list[dict[str, Any]]:
    """Every band heard by its reader, and every reader's heartbeat, at t."""
    readers = ["R-A-01", "R-A-02", "R-land", "R-corr", "R-yard-1", "R-yard-2", "R-shop", "D-gate"]
    out: list[dict[str, Any]] = [{"type": "heartbeat", "reader": r, "time": to_iso(t)} for r in readers]
    out += [{"type": "sighting", "band": b, "reader": r, "time": t, "rssi": -55} for b, r in places.items()]
    return out


def post_minutes(
    client: TestClient, start: float, minutes: float, places: dict[str, str]
) -> list[dict[str, Any]]:
    answers = []
    t = start
    while t < start + minutes * 60:
        batch = list(itertools.chain.from_iterable(beat(t + k * 2, places) for k in range(15)))
        r = client.post(f"{BASE}/sightings", json=batch)
        assert r.status_code == 200, r.text
        answers.append(r.json())
        t += 30
    return answers


CELLS = {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}


def test_facility_document_zones_readers_and_roll(client: TestClient) -> None:
    r = client.put(BASE, json=document())
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["inmates"] == 3
    assert [f["id"] for f in client.get("/api/prison/facilities").json()] == ["test"]
    zones = {z["id"]: z for z in client.get(f"{BASE}/zones").json()}
    assert zones["yard"]["readers"] == ["R-yard-1", "R-yard-2"] and zones["A-01"]["kind"] == "cell"
    r = client.put(f"{BASE}/readers/R-yard-3", json={"zone": "yard", "x": 25, "y": 28})
    assert r.json()["version"] == 2 and r.json()["readers"] == 9
    r = client.put(f"{BASE}/inmates/P4", json={"cell": "A-01", "band": "W4", "name": "New arrival"})
    assert r.json()["inmates"] == 4
    bad = client.put(f"{BASE}/inmates/P5", json={"cell": "A-01", "band": "W4"})
    assert bad.status_code == 422 and "already worn" in bad.json()["error"]
    bad = client.put(f"{BASE}/zones/Z9", json={"kind": "dungeon", "polygon": [[0, 0], [1, 0], [1, 1]]})
    assert bad.status_code == 422 and bad.json()["field"] == "body.zones[6].kind"
    assert client.get("/api/prison/facilities/nowhere").status_code == 404
    doc = client.get(BASE).json()
    assert doc["version"] == 3 and any(r["id"] == "R-yard-3" for r in doc["document"]["readers"])


def test_sightings_raise_alerts_through_the_shared_workflow(client: TestClient) -> None:
    client.put(BASE, json=document())
    post_minutes(client, local(8), 2, CELLS)
    answers = post_minutes(client, local(8, 2), 3, {**CELLS, "W3": "R-shop"})  # workshop during lock-up
    assert sum(a["alerts"] for a in answers) == 1
    again = client.post(f"{BASE}/sightings", json=beat(local(8, 2), {**CELLS, "W3": "R-shop"}))
    assert again.json() == {"stored": 0, "duplicates": 11, "alerts": 0}, "a resent batch is a duplicate"
    eps = client.get(f"{BASE}/episodes").json()
    assert [(e["type"], e["person"], e["zone"], e["severity"]) for e in eps] == [
        ("out_of_bounds", "P3", "workshop", "high")
    ]
    alerts = client.get("/api/alerts").json()
    assert any(a["type"] == "out_of_bounds" and a["person"] == "P3" for a in alerts)
    occ = {z["zone"]: z for z in client.get(f"{BASE}/occupancy").json()["zones"]}
    assert occ["workshop"]["inmates"] == ["P3"] and occ["A-02"]["inmates"] == ["P2"]
    moves = client.get(f"{BASE}/inmates/P3/movements").json()
    assert [(m["from"], m["to"]) for m in moves["movements"]] == [(None, "A-02"), ("A-02", "workshop")]
    assert moves["now"]["zone"] == "workshop" and moves["now"]["last_reader"] == "R-shop"


def test_headcount_on_demand_and_its_reconciliation(client: TestClient) -> None:
    client.put(BASE, json=document())
    post_minutes(client, local(8), 3, {"W1": "R-A-01", "W2": "R-A-02"})  # W3 never heard
    r = client.post(f"{BASE}/headcounts", json={})
    assert r.status_code == 200, r.text
    count = r.json()
    assert count["status"] == "open" and count["summary"]["counted"] == 2 and count["summary"]["missing"] == 1
    assert [d["inmate"] for d in count["discrepancies"]] == ["P3"]
    zones = {z["zone"]: z for z in count["zones"]}
    assert zones["A-02"] == {
        "zone": "A-02",
        "expected": 2,
        "observed": 1,
        "missing": ["P3"],
        "unexpected": [],
    }
    url = f"{BASE}/headcounts/{count['id']}/reconcile"
    bad = client.post(url, json={"inmate": "P1", "resolution": "found"})
    assert bad.status_code == 422 and bad.json()["field"] == "body.inmate"
    bad = client.post(url, json={"inmate": "P3", "resolution": "vanished"})
    assert bad.status_code == 422 and bad.json()["field"] == "body.resolution"
    done = client.post(url, json={"inmate": "P3", "resolution": "in_medical", "note": "seen by the nurse"})
    assert done.json()["status"] == "reconciled"
    assert done.json()["reconciliations"][0]["resolution"] == "in_medical"
    listed = client.get(f"{BASE}/headcounts").json()
    assert [(c["id"], c["status"]) for c in listed] == [(count["id"], "reconciled")]


def test_bad_input_gets_a_clear_error(client: TestClient) -> None:
    client.put(BASE, json=document())
    cases = [
        ({"type": "sighting", "reader": "R-A-01", "time": "2026-03-10T08:00:00Z"}, "body.[0].band"),
        ({"type": "sighting", "band": "W1", "reader": "R-A-01", "time": "yesterday"}, "body.[0].time"),
        ({"type": "sighting", "band": "W1", "reader": "R-A-01", "time": 1.7e9, "rssi": 99}, "body.[0].rssi"),
        (
            {"type": "door", "band": "W1", "reader": "D-gate", "time": 1.7e9, "direction": "up"},
            "body.[0].direction",
        ),
        ({"type": "teleport", "band": "W1", "time": 1.7e9}, "body.[0].type"),
    ]
    for item, field in cases:
        r = client.post(f"{BASE}/sightings", json=[item])
        assert r.status_code == 422 and r.json()["field"] == field, (item, r.json())
    assert client.post(f"{BASE}/sightings", json={"not": "a list"}).status_code == 422
    assert client.post("/api/prison/facilities/nowhere/sightings", json=[]).status_code == 404
    assert client.get("/api/status").status_code == 200, "the server still answers"


def test_the_api_needs_a_sign_in_and_the_page_does_not(svc: LiveService) -> None:
    with TestClient(create_app(svc, TOKEN)) as c:
        assert c.get("/api/prison/facilities").status_code == 401
        assert c.post(f"{BASE}/sightings", json=[]).status_code == 401
        page = c.get("/prison")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert c.get("/prison/prison.js").status_code == 200


def test_a_simulated_morning_through_the_api_gets_its_scheduled_count(client: TestClient) -> None:
    day = simulate_day(
        PrisonConfig(
            seed=4,
            start_h=6.4,
            end_h=6.6,
            meetings=0,
            out_of_bounds=0,
            missing=0,
            dropouts=0,
            double_seen=0,
            tamper=False,
            duress=False,
        )
    )
    doc = {**day.document, "id": "test"}
    assert client.put(BASE, json=doc).status_code == 200
    batch: list[dict[str, Any]] = []
    for rec in day.records():
        item: dict[str, Any] = {"time": rec.time_s}
        if hasattr(rec, "rssi_dbm"):
            item.update(type="sighting", band=rec.device, reader=rec.reader, rssi=rec.rssi_dbm)  # type: ignore[union-attr]
        else:
            item.update(type="heartbeat", reader=rec.reader)  # type: ignore[union-attr]
        batch.append(item)
        if len(batch) >= 5000:
            assert client.post(f"{BASE}/sightings", json=batch).status_code == 200
            batch = []
    client.post(f"{BASE}/sightings", json=batch)
    counts = client.get(f"{BASE}/headcounts").json()
    assert [c["kind"] for c in counts] == ["scheduled"]
    assert counts[0]["status"] == "exact" and counts[0]["summary"]["counted"] == len(day.facility.inmates)
    assert client.get(f"{BASE}/episodes").json() == []
