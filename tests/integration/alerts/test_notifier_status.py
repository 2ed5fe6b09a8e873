"""`GET /api/status` tells the monitoring centre how its notifications are
doing: who sends them, messages by status, how long the most overdue one has
waited (a stopped sender shows here first) and when the last one went out."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine as DbEngine

from ronda.api.app import create_app
from ronda.notify.config import NotifyConfig
from ronda.notify.runtime import AlertsRuntime
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.storage.models_notify import OutboxRow

TOKEN = "service-token-for-tests"


def _message(key: str) -> store.NewMessage:
    return store.NewMessage(key, "victim_proximity", "email:ana@example.org", "es", "Ronda", "cuerpo")


def test_the_status_page_shows_an_overdue_message_and_the_last_delivery(db: DbEngine) -> None:
    now = time.time()
    with sessions(db).begin() as s:
        for key in ("waiting", "sent", "failed", "later"):
            store.enqueue(s, _message(key), now_s=now - 300)
        rows = {r.key: r for r in s.query(OutboxRow)}
        rows["sent"].status, rows["sent"].sent_s = store.Status.SENT, now - 30
        rows["failed"].status = store.Status.FAILED
        rows["later"].next_attempt_s = now + 600  # backing off: not due yet
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    AlertsRuntime(db, svc, NotifyConfig(enabled=False))  # sending left to `ronda notify run`
    with TestClient(create_app(svc, TOKEN)) as client:
        r = client.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    notify = r.json()["notify"]
    assert notify["sender"] == "ronda notify run"
    assert notify["outbox"]["messages"] == {"pending": 2, "sending": 0, "sent": 1, "failed": 1}
    assert 300 <= notify["outbox"]["overdue_s"] < 400  # "waiting" has been due for five minutes
    assert notify["outbox"]["last_sent_s"] == now - 30


def test_nothing_due_nothing_overdue(db: DbEngine) -> None:
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    with TestClient(create_app(svc, TOKEN)) as client:
        notify = client.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()["notify"]
    assert notify["sender"] is None  # no alerts runtime beside this API (a bare app)
    assert notify["outbox"] == {
        "messages": {"pending": 0, "sending": 0, "sent": 0, "failed": 0},
        "overdue_s": 0.0,
        "last_sent_s": None,
    }
