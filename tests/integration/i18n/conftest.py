"""One API with users of every language setting, for the i18n API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import create_app
from ronda.api.auth import hash_password
from ronda.config import SecuritySettings
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import security as repo
from ronda.storage.db import connect, migrate
from ronda.storage.models import DEFAULT_AGENCY

PASSWORD = "correct horse battery"
USERS = (
    # (username, role, language)
    ("sofia", "operator", "es"),
    ("joao", "operator", "pt-PT"),
    ("ana", "operator", "auto"),
    ("marta", "operator", "es"),
    ("lucia", "admin", "es"),
    ("rui", "admin", "auto"),
    ("boss", "admin", "en"),
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = connect(f"sqlite:///{tmp_path / 'ronda.db'}")
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    fast = hash_password(PASSWORD)
    with svc.sessions.begin() as s:
        for username, role, language in USERS:
            repo.create_user(s, f"u-{username}", username, role, DEFAULT_AGENCY, fast, language=language)
    app = create_app(svc, "service-token-for-tests", security=SecuritySettings(login_per_min=10_000))
    with TestClient(app) as c:
        yield c
    db.dispose()


def signed_in(client: TestClient, username: str, **headers: str) -> dict[str, str]:
    """Headers of `username`'s session (plus any given)."""
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", **headers}
