"""An operator's protocol checklist in their language: the alert record's
steps (and the alert policy's protocols) carry labels in the caller's
language, the step ids staying the same for every language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import create_app
from ronda.api.auth import hash_password
from ronda.config import SecuritySettings
from ronda.engine.episodes import Episode
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import alerts, cases, orders
from ronda.storage import security as repo
from ronda.storage.db import connect, migrate
from ronda.storage.models import DEFAULT_AGENCY
from ronda.types import DeviceId, PersonId, RuleId

PASSWORD = "correct horse battery"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, int]]:
    db = connect(f"sqlite:///{tmp_path / 'ronda.db'}")
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    fast = hash_password(PASSWORD)
    with svc.sessions.begin() as s:
        for name, lang in (("sofia", "es"), ("joao", "pt"), ("olivia", "en")):
            repo.create_user(s, f"u-{name}", name, "operator", DEFAULT_AGENCY, fast, language=lang)
        cases.create_person(s, "p1", "monitored", "Person One")
        cases.put_zone(s, "z1", "zone one", SQUARE, None, create=True)
        cases.create_device(s, "d1", "gps_tag")
        cases.assign_device(s, "d1", "p1", "test", at_s=1_000.0)
        orders.create_order(s, "o1", "p1", "UTC", [{"id": "r1", "type": "exclusion", "zone": "z1"}], "test")
        stored = alerts.store_episode(
            s,
            Episode("exclusion", PersonId("p1"), 5_000.0, 5_010.0, rule=RuleId("r1"), device=DeviceId("d1")),
        )
        alert_id = stored.alert.id
    app = create_app(svc, "service-token-for-tests", security=SecuritySettings(login_per_min=10_000))
    with TestClient(app) as c:
        yield c, alert_id
    db.dispose()


def _as(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize(
    ("user", "call", "police"),
    [
        ("sofia", "Llamar a la persona monitoreada", "Enviar a la policía"),
        ("joao", "Telefonar à pessoa vigiada", "Enviar a polícia"),
        ("olivia", "Call the wearer", "Dispatch the police"),
    ],
)
def test_protocol_steps_in_the_operators_language(
    world: tuple[TestClient, int], user: str, call: str, police: str
) -> None:
    client, alert_id = world
    headers = _as(client, user)
    r = client.get(f"/api/alerts/{alert_id}/record", headers=headers)
    assert r.status_code == 200, r.text
    steps = {st["step"]: st["label"] for st in r.json()["protocol"]}
    assert steps["call_wearer"] == call
    assert steps["dispatch_police"] == police
    pol = client.get("/api/alert-policy", headers=headers).json()
    assert {st["step"]: st["label"] for st in pol["protocols"]["exclusion"]}["call_wearer"] == call
