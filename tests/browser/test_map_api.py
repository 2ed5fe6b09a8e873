"""The read endpoints the web UI is built on (no browser needed): each
person's latest fix and state, and a person's device events."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import create_app
from ronda.engine.episodes import Episode
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import alerts, cases, records
from ronda.storage.db import connect, migrate
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId, PersonId, RuleId

TOKEN = "map-test-token"


@pytest.fixture
def svc(tmp_path) -> Iterator[LiveService]:  # type: ignore[no-untyped-def]
    db = connect(f"sqlite:///{tmp_path / 'map.db'}")
    migrate(db)
    yield LiveService(db, config=ServiceConfig(tick_s=0.2))
    db.dispose()


@pytest.fixture
def client(svc: LiveService) -> Iterator[TestClient]:
    with TestClient(create_app(svc, TOKEN)) as c:
        c.headers.update({"Authorization": f"Bearer {TOKEN}"})
        yield c


def test_each_person_has_their_latest_fix_and_the_worst_state(client: TestClient, svc: LiveService) -> None:
    now = time.time()
    with svc.sessions.begin() as s:
        for p in ("p-ok", "p-bad", "p-tamper", "p-quiet", "p-none"):
            cases.create_person(s, p, "monitored", p.upper())
            cases.create_device(s, f"tag-{p}", "gps_tag", comms_timeout_s=600)
            cases.assign_device(s, f"tag-{p}", p, "test")
        # p-ok: two fixes, the later one (by device time) counts, even if it arrived first
        fixes = [
            Position(
                DeviceId("tag-p-ok"), now - 60, now - 5, lat=40.41, lon=-3.70, accuracy_m=9.0, battery_pct=71
            ),
            Position(DeviceId("tag-p-ok"), now - 120, now - 4, lat=40.40, lon=-3.71, accuracy_m=30.0),
            Position(DeviceId("tag-p-bad"), now - 30, now - 29, lat=40.42, lon=-3.69, accuracy_m=8.0),
            Position(DeviceId("tag-p-tamper"), now - 30, now - 29, lat=40.43, lon=-3.68, accuracy_m=8.0),
            # heard last an hour ago, beyond its 10-minute comms timeout
            Position(DeviceId("tag-p-quiet"), now - 3600, now - 3600, lat=40.44, lon=-3.67, accuracy_m=8.0),
        ]
        records.insert_records(s.connection(), fixes)
        # an event after the tag was put on (a person's events are those of their assignments)
        worn = time.time()
        records.insert_records(
            s.connection(), [DeviceEvent(DeviceId("tag-p-tamper"), worn, worn + 1, EventKind.STRAP_TAMPER)]
        )
        bad = alerts.store_episode(
            s, Episode("exclusion", PersonId("p-bad"), now - 25, now - 24, rule=RuleId("r1"))
        )
        alerts.store_episode(
            s, Episode("tamper", PersonId("p-tamper"), now - 20, now - 19, device=DeviceId("tag-p-tamper"))
        )
        # a closed violation no longer makes its person "in violation"
        alerts.store_episode(
            s,
            Episode("exclusion", PersonId("p-ok"), now - 900, now - 899, rule=RuleId("r2"), end_s=now - 800),
        )

    got = {p["person"]: p for p in client.get("/api/map/persons").json()}
    assert {k: v["state"] for k, v in got.items()} == {
        "p-ok": "compliant",
        "p-bad": "violation",
        "p-tamper": "device_problem",
        "p-quiet": "no_data",
        "p-none": "no_data",
    }
    ok = got["p-ok"]
    assert (ok["lat"], ok["lon"], ok["accuracy_m"], ok["device"]) == (40.41, -3.70, 9.0, "tag-p-ok")
    assert ok["devices"][0]["battery_pct"] == 71 and ok["name"] == "P-OK"
    assert got["p-bad"]["open_alerts"] == [bad.alert.id]
    assert got["p-none"]["lat"] is None and got["p-none"]["devices"][0]["last_contact"] is None

    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60))
    events = client.get("/api/persons/p-tamper/events", params={"start": start, "end": end}).json()
    assert [(e["device"], e["kind"]) for e in events] == [("tag-p-tamper", "strap_tamper")]
    assert client.get("/api/persons/p-ok/events", params={"start": start, "end": end}).json() == []
    assert client.get("/api/persons/p-x/events", params={"start": start, "end": end}).status_code == 404
    refused = client.get("/api/persons/p-ok/events", params={"start": end, "end": start})
    assert refused.status_code == 422 and refused.json()["field"] == "query.end"


def test_the_base_map_is_a_setting(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def config_after_restart() -> dict[str, str]:
        client.app.state.settings = None  # type: ignore[attr-defined]  # settings are read at start
        body: dict[str, str] = client.get("/api/map/config").json()
        return body

    osm = config_after_restart()
    assert (
        osm["tile_url"].startswith("https://tile.openstreetmap.org/")
        and "OpenStreetMap" in osm["attribution"]
    )
    monkeypatch.setenv("RONDA_MAP_TILES", "")
    assert config_after_restart() == {"tile_url": "", "attribution": ""}
    monkeypatch.setenv("RONDA_MAP_TILES", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert config_after_restart()["attribution"] == ""
    monkeypatch.setenv("RONDA_MAP_ATTRIBUTION", "© Example")
    assert config_after_restart()["attribution"] == "© Example"


def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script type="module" src="/static/js/main.js">' in page.text
    assert "ApiError" in client.get("/static/js/api.js").text
