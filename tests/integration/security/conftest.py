"""A small world of two agencies for the security tests.

Agency `main` (A): officers `off1` (caseload: monitored person pA1, and the
victim vA1 that pA1's order protects) and `off2` (caseload: pA2); agency
`north` (B): officer `offb` (caseload: pB1). Each monitored person has a tag,
a zone, an order and an open alert; A and B each have one user of every
role. A fake clock drives session expiry and lockout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ronda.api.app import create_app
from ronda.api.auth import Authenticator, hash_password
from ronda.api.policy import Decision
from ronda.config import SecuritySettings
from ronda.engine.episodes import Episode
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import alerts, cases, orders
from ronda.storage import security as repo
from ronda.storage.db import connect, migrate
from ronda.storage.models import DeviceRow, PersonRow, ZoneRow
from ronda.types import DeviceId, PersonId, RuleId

PASSWORD = "correct horse battery"
ROLES = ("admin", "supervisor", "operator", "officer", "auditor")
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@dataclass
class World:
    svc: LiveService
    client: TestClient
    clock: Clock
    decisions: list[Decision] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)
    holds: dict[str, int] = field(default_factory=dict)

    @property
    def auth(self) -> Authenticator:
        a: Authenticator = self.client.app.state.auth  # type: ignore[attr-defined]
        return a

    def login(self, username: str, password: str = PASSWORD, totp: str | None = None) -> Any:
        return self.client.post(
            "/api/auth/login", json={"username": username, "password": password, "totp": totp}
        )

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.login(username)
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["token"]
        return self.tokens[username]

    def as_(self, username: str, purpose: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(username)}"}
        if purpose:
            h["X-Ronda-Purpose"] = purpose
        return h

    def get(self, username: str, url: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.get(url, headers=self.as_(username, purpose), **kw)


def users_of(agency: str, suffix: str) -> list[tuple[str, str, str]]:
    """(username, role, agency): one of each role, two officers in A."""
    out = [(f"{r}{suffix}", r, agency) for r in ROLES if r != "officer"]
    if suffix == "_a":
        out += [("off1", "officer", agency), ("off2", "officer", agency)]
    else:
        out += [("offb", "officer", agency)]
    return out


def build_world(svc: LiveService) -> dict[str, Any]:
    ids: dict[str, Any] = {"alerts": {}, "episodes": {}, "holds": {}}
    fast = hash_password(PASSWORD)
    with svc.sessions.begin() as s:
        repo.create_agency(s, "north", "North agency")
        for username, role, agency in users_of("main", "_a") + users_of("north", "_b"):
            repo.create_user(s, f"u-{username}", username, role, agency, fast)
        cases_ = [("A1", "main", "u-off1"), ("A2", "main", "u-off2"), ("B1", "north", "u-offb")]
        for key, agency, officer in cases_:
            p = cases.create_person(s, f"p{key}", "monitored", f"Person {key}")
            p.agency_id, p.officer_id = agency, officer
            z = cases.put_zone(s, f"z{key}", f"zone {key}", SQUARE, None, create=True)
            z.agency_id = agency
            d = cases.create_device(s, f"d{key}", "gps_tag")
            d.agency_id = agency
            cases.assign_device(s, f"d{key}", f"p{key}", "test", at_s=1_000.0)
            rules: list[dict[str, Any]] = [{"id": f"r{key}", "type": "exclusion", "zone": f"z{key}"}]
            if key == "A1":
                v = cases.create_person(s, "vA1", "protected", "Victim A1")
                v.agency_id, v.officer_id = "main", "u-off1"
                phone = cases.create_device(s, "dV1", "phone")
                phone.agency_id = "main"
                cases.assign_device(s, "dV1", "vA1", "test", at_s=1_000.0)
                rules.append({"id": "rpA1", "type": "proximity", "person": "vA1", "distance_m": 500})
            orders.create_order(s, f"o{key}", f"p{key}", "UTC", rules, "test")
            stored = alerts.store_episode(
                s,
                Episode(
                    "exclusion",
                    PersonId(f"p{key}"),
                    5_000.0,
                    5_010.0,
                    rule=RuleId(f"r{key}"),
                    device=DeviceId(f"d{key}"),
                ),
            )
            ids["alerts"][key], ids["episodes"][key] = stored.alert.id, stored.episode.id
            hold = repo.add_hold(s, f"p{key}", 0.0, 10_000.0, "case file", "test")
            ids["holds"][key] = hold.id
        assert s.get(PersonRow, "pB1").agency_id == "north"
        assert s.get(DeviceRow, "dB1").agency_id == "north" and s.get(ZoneRow, "zB1").agency_id == "north"
    return ids


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = connect(f"sqlite:///{tmp_path / 'ronda.db'}")
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    ids = build_world(svc)
    clock = Clock()
    app = create_app(svc, "service-token-for-tests", security=SecuritySettings(login_per_min=10_000))
    app.state.auth.clock = clock
    w = World(svc, TestClient(app), clock)
    w.alerts, w.episodes, w.holds = ids["alerts"], ids["episodes"], ids["holds"]
    app.state.on_decision = w.decisions.append
    with w.client:
        yield w
    db.dispose()
