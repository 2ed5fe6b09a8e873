"""Signing in: the login contract, lockout, idle and absolute expiry, logout,
tokens that are forged, unsigned or of another algorithm, TOTP, rate limits."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ronda.api.app import create_app
from ronda.config import SecuritySettings
from ronda.storage.models_security import AuditRow, UserRow

from .conftest import PASSWORD, World


def me(w: World, token: str) -> int:
    return int(w.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code)


def test_login_answers_the_contract_and_the_token_works(world: World) -> None:
    r = world.login("off1")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "expires_s", "user"} and body["expires_s"] == 1800
    assert body["user"] == {
        "id": "u-off1",
        "username": "off1",
        "display_name": "off1",
        "role": "officer",
        "agency_id": "main",
        "language": "auto",  # until the user picks one: the agency's default, then the browser's
    }
    who = world.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert who.json() == body["user"]
    assert "argon2id" in _hash(world, "off1")


def _hash(w: World, username: str) -> str:
    with w.svc.sessions() as s:
        return s.execute(select(UserRow.password_hash).where(UserRow.username == username)).scalar_one()


def test_wrong_password_and_unknown_user_answer_alike(world: World) -> None:
    a = world.login("off1", "wrong password")
    b = world.login("nobody", "wrong password")
    assert a.status_code == b.status_code == 401 and a.json()["error"] == b.json()["error"]


def test_five_failures_lock_the_account_for_ten_minutes(world: World) -> None:
    for _ in range(4):
        assert world.login("off2", "guess").status_code == 401
    locked = world.login("off2", "guess")
    assert locked.status_code == 423 and "locked" in locked.json()["error"]
    assert world.login("off2").status_code == 423  # even the right password, while locked
    world.clock.t += 9 * 60
    assert world.login("off2").status_code == 423
    world.clock.t += 61
    assert world.login("off2").status_code == 200
    assert world.login("off1").status_code == 200  # other accounts never were affected
    with world.svc.sessions() as s:
        outcomes = list(
            s.execute(
                select(AuditRow.outcome).where(AuditRow.action == "login", AuditRow.actor == "u-off2")
            ).scalars()
        )
    assert outcomes == ["failed"] * 4 + ["locked", "locked", "locked", "ok"]


def test_a_success_resets_the_failure_count(world: World) -> None:
    for _ in range(4):
        world.login("off2", "guess")
    assert world.login("off2").status_code == 200
    for _ in range(4):
        assert world.login("off2", "guess").status_code == 401


def test_idle_sessions_expire_after_thirty_minutes(world: World) -> None:
    token = world.login("off1").json()["token"]
    world.clock.t += 29 * 60
    assert me(world, token) == 200  # use keeps it alive
    world.clock.t += 29 * 60
    assert me(world, token) == 200
    world.clock.t += 30 * 60 + 1
    r = world.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    world.clock.t -= 60 * 60  # once ended, it stays ended
    assert me(world, token) == 401


def test_sessions_end_twelve_hours_after_sign_in_even_in_use(world: World) -> None:
    token = world.login("off1").json()["token"]
    for _ in range(25):
        world.clock.t += 29 * 60
        if me(world, token) != 200:
            break
    assert me(world, token) == 401
    assert world.clock.t - time.time() < 12.5 * 3600


def test_logout_ends_the_session_at_once(world: World) -> None:
    token = world.login("off1").json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    assert world.client.post("/api/auth/logout", headers=h).status_code == 204
    assert me(world, token) == 401


def test_disabling_a_user_ends_their_sessions(world: World) -> None:
    token = world.login("off1").json()["token"]
    r = world.client.patch("/api/users/u-off1", json={"disabled": True}, headers=world.as_("admin_a"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert me(world, token) == 401
    assert world.login("off1").status_code == 401


def _b64(d: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def test_forged_unsigned_and_other_algorithm_tokens_are_refused(world: World) -> None:
    good = world.login("off1").json()["token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    key = world.auth.key()
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    hs512 = jwt.encode(claims, key, algorithm="HS512")
    other_key = jwt.encode(claims, b"another key of thirty-two bytes!", algorithm="HS256")
    header, _payload, sig = good.split(".")
    tampered = f"{header}.{_b64({**claims, 'sub': 'u-admin_a'})}.{sig}"
    expired = jwt.encode({**claims, "exp": int(world.clock.t) - 1}, key, algorithm="HS256")
    no_session = jwt.encode({**claims, "sid": "made-up"}, key, algorithm="HS256")
    wrong_user = jwt.encode({**claims, "sub": "u-admin_a"}, key, algorithm="HS256")  # someone else's session
    for bad in (unsigned, hs512, other_key, tampered, expired, no_session, wrong_user, "garbage", good[:-3]):
        assert me(world, bad) == 401, bad
    assert world.client.get("/api/auth/me").status_code == 401
    assert me(world, good) == 200


def test_the_service_token_is_a_machine_client(world: World) -> None:
    r = world.client.get("/api/auth/me", headers={"Authorization": "Bearer service-token-for-tests"})
    assert r.json()["id"] == "service" and r.json()["role"] == "admin" and r.json()["agency_id"] is None
    assert me(world, "service-token-for-tests!") == 401


def test_totp_second_factor(world: World) -> None:
    secret = pyotp.random_base32()
    with world.svc.sessions.begin() as s:
        s.execute(select(UserRow).where(UserRow.username == "off1")).scalar_one().totp_secret = secret
    first = world.login("off1")
    assert first.status_code == 401 and first.json()["totp_required"] is True
    assert world.login("off1", totp="000000").status_code == 401
    code = pyotp.TOTP(secret).at(world.clock.t)
    assert world.login("off1", totp=code).status_code == 200
    assert world.login("off1", password="wrong", totp=code).status_code == 401  # the code is not enough


def test_sign_ins_are_rate_limited_per_address(world: World) -> None:
    app = create_app(world.svc, None, security=SecuritySettings(login_per_min=3), manage_service=False)
    with TestClient(app) as c:
        codes = [
            c.post("/api/auth/login", json={"username": "x", "password": "y"}).status_code for _ in range(5)
        ]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


@pytest.mark.parametrize("path", ["/api/persons", "/", "/health"])
def test_answers_carry_secure_headers(world: World, path: str) -> None:
    r = world.client.get(path, headers=world.as_("supervisor_a"))
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    if path.startswith("/api/"):
        assert r.headers["cache-control"] == "no-store"


def test_passwords_are_never_stored_or_returned(world: World) -> None:
    users = world.client.get("/api/users", headers=world.as_("admin_a")).json()
    assert users and all("password" not in json.dumps(u) for u in users)
    assert PASSWORD not in _hash(world, "off1")
