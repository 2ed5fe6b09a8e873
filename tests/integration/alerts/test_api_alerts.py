"""The alert record over the API: protocol steps ticked off with outcomes,
notifications with their delivery outcome, response target and escalation,
contacts and consent, the outbox; refused moves answer 409 with what is
allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine as DbEngine

from ronda.alerts.policy import AlertPolicy
from ronda.api.app import create_app
from ronda.engine.episodes import Episode
from ronda.notify.effects import AlertsListener
from ronda.pipeline.service import LiveService, ServiceConfig, effect_event
from ronda.storage import alerts
from ronda.storage.db import sessions
from ronda.types import PersonId, RuleId

from .conftest import build_world

TOKEN = "s3cret"


@pytest.fixture
def client(db: DbEngine) -> Iterator[TestClient]:
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    with TestClient(create_app(svc, TOKEN)) as c:
        c.headers.update({"Authorization": f"Bearer {TOKEN}"})
        yield c


def proximity_alert(db: DbEngine) -> int:
    ep = Episode("proximity", PersonId("w1"), 1000.0, 1010.0, rule=RuleId("r-ana"))
    with sessions(db).begin() as s:
        stored = alerts.store_episode(s, ep)
    AlertsListener(db, AlertPolicy()).on_effects([effect_event(stored, closed=False)])
    return stored.alert.id


def test_the_alert_record_protocol_and_escalation(client: TestClient, db: DbEngine) -> None:
    build_world(db, "url:json://127.0.0.1:9/police")
    alert_id = proximity_alert(db)

    rec = client.get(f"/api/alerts/{alert_id}/record").json()
    assert rec["status"] == "new" and "escalate" in rec["allowed_actions"]
    assert [(p["step"], p["outcome"]) for p in rec["protocol"]] == [
        ("call_victim", None),
        ("dispatch_police", None),
        ("call_wearer", None),
        ("notify_officer", None),
    ]
    kinds = {(n["kind"], n["language"], n["status"]) for n in rec["notifications"]}
    assert kinds == {("victim_proximity", "es", "pending"), ("police_proximity", "pt", "pending")}
    esc = rec["escalation"]
    assert (esc["severity"], esc["target_s"], esc["level"], esc["link"]) == ("critical", 120.0, 0, "operator")
    assert esc["chain"] == ["operator", "supervisor", "on-call"] and esc["due"] is not None

    # the operator works the checklist; a second try of a step is kept too
    r = client.post(f"/api/alerts/{alert_id}/steps", json={"step": "call_victim", "outcome": "no_answer"})
    assert r.status_code == 200
    r = client.post(
        f"/api/alerts/{alert_id}/steps",
        json={"step": "call_victim", "outcome": "done", "note": "she is safe"},
    )
    step = r.json()["protocol"][0]
    assert (step["outcome"], step["note"], len(step["history"])) == ("done", "she is safe", 2)
    assert r.json()["status"] == "new"  # steps never move the status
    bad = client.post(f"/api/alerts/{alert_id}/steps", json={"step": "bake_cake", "outcome": "done"})
    assert bad.status_code == 422 and "not a step of the proximity protocol" in bad.json()["error"]
    bad = client.post(f"/api/alerts/{alert_id}/steps", json={"step": "call_wearer", "outcome": "maybe"})
    assert bad.status_code == 422

    # handed up by hand, then acknowledged: escalation stops, response time recorded
    r = client.post(f"/api/alerts/{alert_id}/escalate", json={"text": "needs a supervisor"})
    assert r.status_code == 200 and r.json()["status"] == "escalated"
    assert (r.json()["escalation"]["level"], r.json()["escalation"]["link"]) == (1, "supervisor")
    assert (
        client.post(f"/api/alerts/{alert_id}/acknowledge", json={"by": "ana"}).json()["status"]
        == "acknowledged"
    )
    rec = client.get(f"/api/alerts/{alert_id}/record").json()
    assert rec["escalation"]["due"] is None and rec["escalation"]["acknowledged_after_s"] is not None
    trail = [(a["action"], a["to_status"]) for a in rec["actions"]]
    assert trail == [
        ("step", "new"),
        ("step", "new"),
        ("escalate", "escalated"),
        ("acknowledge", "acknowledged"),
    ]
    assert rec["actions"][2]["text"] == "needs a supervisor" and all(a["by"] for a in rec["actions"])

    refused = client.post(f"/api/alerts/{alert_id}/reopen", json={"by": "ana"})
    assert refused.status_code == 409
    assert "cannot reopen an alert that is acknowledged (allowed: " in refused.json()["error"]

    pending = client.get("/api/notifications", params={"status": "pending"}).json()
    assert {n["kind"] for n in pending} >= {"victim_proximity", "police_proximity"}
    again = client.post(f"/api/notifications/{pending[0]['id']}/retry")
    assert again.status_code == 422 and "only failed ones are retried" in again.json()["error"]


def test_contacts_and_consent(client: TestClient, db: DbEngine) -> None:
    build_world(db, "url:json://127.0.0.1:9/police")
    r = client.post(
        "/api/persons/v1/contacts",
        json={"name": "Ana (work)", "addresses": ["sms:+34600000002"], "language": "pt-BR"},
    )
    assert r.status_code == 201
    contact = r.json()
    assert (contact["consent"], contact["template_language"]) == (False, "pt")  # nothing sent without consent
    r = client.post(f"/api/contacts/{contact['id']}/consent", json={"granted": True, "method": "phone"})
    assert r.status_code == 201 and r.json()["consent"] is True
    client.post(f"/api/contacts/{contact['id']}/consent", json={"granted": False, "method": "in_person"})
    history = client.get(f"/api/contacts/{contact['id']}/consents").json()
    assert [(h["granted"], h["method"]) for h in history] == [(True, "phone"), (False, "in_person")]
    assert all(h["by"] for h in history)
    assert {c["name"] for c in client.get("/api/persons/v1/contacts").json()} == {"Ana", "Ana (work)"}

    bad = client.post("/api/persons/v1/contacts", json={"name": "x", "addresses": ["fax:123"]})
    assert bad.status_code == 422
    assert (
        client.post("/api/persons/nobody/contacts", json={"name": "x", "addresses": ["sms:1"]}).status_code
        == 404
    )
    # a person's own contact cannot be the case's police contact
    r = client.put("/api/persons/w1/case-contacts", json={"police_contact": contact["id"]})
    assert r.status_code == 422 and "person's own" in r.json()["error"]
    police = client.post(
        "/api/contacts",
        json={"name": "Guardia Civil", "addresses": ["email:gc@example.org"], "language": "es"},
    ).json()
    r = client.put("/api/persons/w1/case-contacts", json={"police_contact": police["id"], "agency": "north"})
    assert r.status_code == 200 and (r.json()["police_contact"], r.json()["agency"]) == (
        police["id"],
        "north",
    )
    assert police["id"] in {c["id"] for c in client.get("/api/contacts", params={"kind": "police"}).json()}

    pol = client.get("/api/alert-policy").json()
    assert pol["severities"]["proximity"] == "critical" and pol["targets_s"]["high"] == 240.0
    assert pol["languages"] == ["en", "es", "pt"]
