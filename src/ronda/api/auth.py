"""Who is calling, and what they may see.

- **Sign-in** (`Authenticator.login`): argon2id password hashes, optional
  TOTP, 5 failures lock the account for 10 minutes, sign-ins rate-limited per
  address.
- **Tokens**: an HS256 JWT (PyJWT, the algorithm pinned: unsigned and
  other-algorithm tokens are refused) carrying a random session id; the
  server keeps the session (hashed id, last use, end), so logout, disabling a
  user and the 30-minute idle expiry take effect at once on every server.
  The signature lets forged tokens be refused without touching the database.
- **Machine clients**: `RONDA_API_TOKEN`, when set, is a service credential
  (actor `service`, role admin of every agency) for scripts and integrations;
  every request it makes is audited like a person's. Devices have their own
  ingest tokens (api/ingest.py), apart from people.
- **Visibility** (`may_see`): the one answer to "may this caller see this
  person (or this object of a person)", by role scope; `protected_windows`
  answers "may this caller see protected person X's positions, and when".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import HTTPException, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ronda.audit.chain import AuditEntry
from ronda.config import SecuritySettings
from ronda.errors import InvalidInput, fill
from ronda.i18n.catalog import N_, lookup
from ronda.storage import security as repo
from ronda.storage.cases import get_setting, put_setting
from ronda.storage.models import AlertRow, DeviceRow, EpisodeRow, PersonRow, RuleRow
from ronda.storage.models_security import SessionRow, UserRow

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "ronda"
PURPOSE_HEADER = "X-Ronda-Purpose"
SIGNING_KEY_SETTING = "security.signing_key"
CLOSED_ALERT_STATUSES = frozenset({"resolved", "closed", "dismissed"})
PROTECTED_ROLES = frozenset({"protected"})
"""Person roles whose positions are protected (shown only around a proximity episode)."""

hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB, t=3, p=4)
_DUMMY_HASH = hasher.hash("not a password: equalises the time of unknown usernames")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    OFFICER = "officer"
    AUDITOR = "auditor"


class Scope(StrEnum):
    """How much of an agency's data a role reaches through a route."""

    AGENCY = "agency"
    """Everything of the caller's agency (every agency: an admin of the whole install)."""
    CASELOAD = "caseload"
    """Persons whose officer is the caller, their devices, orders, alerts, positions
    (and the agency's objects that belong to no person: stock devices, unused zones)."""
    ALERT_OR_PURPOSE = "alert_or_purpose"
    """Persons with an open alert, or any person of the agency when the request
    states a purpose (`X-Ronda-Purpose`), which is audited."""
    SELF = "self"
    """The caller's own account only."""
    AUDIT = "audit"
    """The audit trail (of the caller's agency; every agency for install-wide auditors)."""
    PUBLIC = "public"
    """No sign-in (health, sign-in itself)."""


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str
    display_name: str
    role: Role
    agency_id: str | None
    language: str = "en"
    session: str | None = None  # hash of the session id; None for the service token
    source: str = ""
    purpose: str | None = None

    @property
    def every_agency(self) -> bool:
        return self.agency_id is None

    def in_agency(self, agency_id: str | None) -> bool:
        return self.agency_id is None or agency_id == self.agency_id

    def public(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "role": str(self.role),
            "agency_id": self.agency_id,
            "language": self.language,
        }

    def entry(
        self,
        action: str,
        target: str,
        *,
        person: str | None = None,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
        at_s: float | None = None,
    ) -> AuditEntry:
        """An audit entry of something this caller did."""
        return AuditEntry(
            at_s=time.time() if at_s is None else at_s,
            actor=self.user_id,
            role=str(self.role),
            agency=self.agency_id,
            action=action,
            target=target,
            person=person,
            purpose=self.purpose,
            source=self.source or None,
            outcome=outcome,
            detail=detail or {},
        )


ANONYMOUS = Caller("anonymous", "anonymous", "", Role.AUDITOR, "", language="auto", session=None)
"""Stands for nobody on public routes (it can see nothing: agency '' holds nothing);
its language is the client's (`Accept-Language`)."""


def service_caller(source: str, purpose: str | None) -> Caller:
    return Caller(
        "service",
        "service",
        "Service token",
        Role.ADMIN,
        None,
        language="auto",
        source=source,
        purpose=purpose,
    )


def caller_of(user: UserRow, session: str | None, source: str, purpose: str | None) -> Caller:
    return Caller(
        user.id,
        user.username,
        user.display_name,
        Role(user.role),
        user.agency_id,
        user.language,
        session,
        source,
        purpose,
    )


# ------------------------------------------------------------- visibility


@dataclass(frozen=True)
class Owner:
    """Whose an object is: its agency and, when it belongs to a person, that
    person's officer, whether they are protected and whether they are in alert."""

    agency_id: str
    person_id: str | None = None
    officer_id: str | None = None
    protected: bool = False
    in_alert: bool = False


def may_see(caller: Caller, scope: Scope, owner: Owner) -> bool:
    """May `caller`, through a route of `scope`, see an object owned thus?
    Agencies never see each other's data; within the agency, the scope decides."""
    if scope is Scope.PUBLIC:
        return True
    if not caller.in_agency(owner.agency_id):
        return False
    if scope is Scope.AGENCY:
        return True
    if scope is Scope.CASELOAD:
        return owner.person_id is None or owner.officer_id == caller.user_id
    if scope is Scope.ALERT_OR_PURPOSE:
        return owner.person_id is None or owner.in_alert or bool(caller.purpose)
    return False  # SELF and AUDIT scopes see no one's cases


def open_alert_persons(s: Session, persons: Iterable[str] | None = None) -> set[str]:
    stmt = (
        select(EpisodeRow.person_id)
        .join(AlertRow, AlertRow.episode_id == EpisodeRow.id)
        .where(AlertRow.status.not_in(CLOSED_ALERT_STATUSES), EpisodeRow.person_id.is_not(None))
        .distinct()
    )
    if persons is not None:
        stmt = stmt.where(EpisodeRow.person_id.in_(list(persons)))
    return {p for p in s.execute(stmt).scalars() if p is not None}


def person_owner(s: Session, person_id: str) -> Owner | None:
    p = s.get(PersonRow, person_id)
    if p is None:
        return None
    return Owner(
        p.agency_id, p.id, p.officer_id, p.role in PROTECTED_ROLES, bool(open_alert_persons(s, [p.id]))
    )


def visible_persons(s: Session, caller: Caller, scope: Scope) -> set[str]:
    """Ids of the persons `caller` may see through a route of `scope` (list filters)."""
    if scope in (Scope.SELF, Scope.AUDIT, Scope.PUBLIC):
        return set()
    stmt = select(PersonRow.id, PersonRow.officer_id)
    if caller.agency_id is not None:
        stmt = stmt.where(PersonRow.agency_id == caller.agency_id)
    rows = s.execute(stmt).all()
    if scope is Scope.AGENCY:
        return {r[0] for r in rows}
    if scope is Scope.CASELOAD:
        return {r[0] for r in rows if r[1] == caller.user_id}
    ids = {r[0] for r in rows}
    return ids if caller.purpose else open_alert_persons(s) & ids


def visible_devices(s: Session, caller: Caller, scope: Scope) -> set[str]:
    """Devices of visible persons, and the agency's devices worn by no one."""
    persons = visible_persons(s, caller, scope)
    stmt = select(DeviceRow.id, DeviceRow.person_id)
    if caller.agency_id is not None:
        stmt = stmt.where(DeviceRow.agency_id == caller.agency_id)
    return {d for d, p in s.execute(stmt).all() if p is None or p in persons}


def protected_windows(s: Session, person_id: str, margin_s: float, now_s: float) -> list[tuple[float, float]]:
    """Periods in which a protected person's positions may be shown: each
    proximity episode about them (open ones up to now), widened by `margin_s`."""
    rules = set(
        s.execute(select(RuleRow.id).where(RuleRow.protected_person_id == person_id).distinct()).scalars()
    )
    if not rules:
        return []
    eps = s.execute(
        select(EpisodeRow.start_s, EpisodeRow.end_s).where(
            EpisodeRow.type == "proximity", EpisodeRow.rule_id.in_(rules)
        )
    ).all()
    return sorted((a - margin_s, (b if b is not None else now_s) + margin_s) for a, b in eps)


PROTECTED_VIEWERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.OFFICER})
"""Roles that act on proximity alerts; no other role sees a protected person's positions."""


def may_see_protected_now(caller: Caller, windows: list[tuple[float, float]], now_s: float) -> bool:
    return caller.role in PROTECTED_VIEWERS and any(a <= now_s <= b for a, b in windows)


# ------------------------------------------------------------ rate limits


class RateLimiter:
    """Token buckets per key (an address, a device): `rate_per_s` sustained,
    `burst` at once. In memory, per process: each API server limits its share."""

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate_per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without end
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True


# ---------------------------------------------------------- authentication


class LoginRefused(Exception):
    """A refused sign-in: `template` is the English message with `{name}`
    placeholders filled from `values` (an extraction keyword: a literal);
    `extra` goes into the answer as it is (`{"totp_required": true}`)."""

    def __init__(
        self, status: int, template: str, *, extra: dict[str, Any] | None = None, **values: object
    ) -> None:
        self.status, self.template, self.values = status, template, values
        self.extra = dict(extra or {})
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The English text."""
        return fill(self.template, self.values)

    def text(self, language: str | None) -> str:
        """The message in `language` (English when the translation is broken)."""
        try:
            return fill(lookup(language, self.template), self.values)
        except (KeyError, IndexError, ValueError):
            return self.message


def unauthorized(message: str) -> HTTPException:
    # `unauthorized` is an extraction keyword: its callers pass the literal
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def hash_session(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def source_of(request: Request) -> str:
    return request.client.host if request.client else ""


@dataclass
class Authenticator:
    sessions: sessionmaker[Session]
    settings: SecuritySettings = field(default_factory=SecuritySettings)
    service_token: str | None = None
    clock: Callable[[], float] = time.time
    _key: bytes | None = None

    def __post_init__(self) -> None:
        self.login_limiter = RateLimiter(self.settings.login_per_min / 60.0, self.settings.login_per_min)

    # --- the signing key: the setting, else one kept in the database so
    # every API server of an install shares it
    def key(self) -> bytes:
        if self._key is None:
            if self.settings.secret_key:
                self._key = self.settings.secret_key.encode()
            else:
                with self.sessions.begin() as s:
                    stored = get_setting(s, SIGNING_KEY_SETTING, {})
                    if not stored.get("key"):
                        stored = {"key": secrets.token_hex(32)}
                        put_setting(s, SIGNING_KEY_SETTING, stored)
                self._key = bytes.fromhex(str(stored["key"]))
        return self._key

    def audit(self, e: AuditEntry) -> None:
        repo.audit(self.sessions, e)

    # ----------------------------------------------------------- sign-in
    def login(self, username: str, password: str, totp: str | None, source: str) -> tuple[str, float, Caller]:
        now = self.clock()

        def refuse(
            status: int,
            message: str,
            outcome: str,
            user: UserRow | None,
            extra: dict[str, Any] | None = None,
            **values: object,
        ) -> LoginRefused:
            self.audit(
                AuditEntry(
                    at_s=now,
                    actor=user.id if user else "anonymous",
                    role=user.role if user else "none",
                    agency=user.agency_id if user else None,
                    action="login",
                    target=f"user {username[:64]}",
                    source=source or None,
                    outcome=outcome,
                )
            )
            # `refuse` is an extraction keyword: its callers pass the literal
            return LoginRefused(status, template=message, extra=extra, **values)

        if not self.login_limiter.allow(f"login:{source}"):
            raise LoginRefused(429, "too many sign-in attempts from this address; wait a minute")
        with self.sessions() as s:
            user = repo.user_by_name(s, username)
        if user is None:
            _verify(_DUMMY_HASH, password)  # as slow as a real check: no username probing by timing
            raise refuse(401, "wrong username or password", "failed", None)
        if user.locked_until_s is not None and user.locked_until_s > now:
            minutes = max(1, round((user.locked_until_s - now) / 60))
            raise refuse(
                423,
                "account locked after repeated failures; try again in {minutes} min",
                "locked",
                user,
                minutes=minutes,
            )
        good = _verify(user.password_hash, password)
        if good and user.totp_secret:
            if not totp:
                raise refuse(
                    401, "a one-time code is required", "totp_missing", user, extra={"totp_required": True}
                )
            good = pyotp.TOTP(user.totp_secret).verify(totp.strip(), for_time=now, valid_window=1)
        if not good:
            locked = self._failed(user.id, now)
            if locked:
                raise refuse(
                    423,
                    "account locked after repeated failures; try again in {minutes} min",
                    "locked",
                    user,
                    minutes=round(self.settings.lockout_s / 60),
                )
            raise refuse(401, "wrong username or password", "failed", user)
        if user.disabled:
            raise refuse(401, "wrong username or password", "disabled", user)
        sid = secrets.token_urlsafe(32)
        expires = now + self.settings.session_max_s
        with self.sessions.begin() as s:
            row = repo.get_user(s, user.id)
            row.failed_logins, row.locked_until_s, row.last_login_s = 0, None, now
            if hasher.check_needs_rehash(row.password_hash):
                row.password_hash = hasher.hash(password)
            repo.add_session(s, hash_session(sid), user.id, now, expires, source)
        token = jwt.encode(
            {"iss": ISSUER, "sub": user.id, "sid": sid, "iat": int(now), "exp": int(expires)},
            self.key(),
            algorithm=ALGORITHM,
        )
        caller = caller_of(user, hash_session(sid), source, None)
        self.audit(caller.entry("login", f"user {user.username}", at_s=now))
        return token, self.settings.session_idle_s, caller

    def _failed(self, user_id: str, now: float) -> bool:
        with self.sessions.begin() as s:
            row = repo.get_user(s, user_id)
            row.failed_logins += 1
            if row.failed_logins >= self.settings.lockout_failures:
                row.failed_logins, row.locked_until_s = 0, now + self.settings.lockout_s
                return True
            return False

    # ---------------------------------------------------------- requests
    def authenticate(self, token: str, source: str, purpose: str | None) -> Caller:
        if not token:
            raise unauthorized("sign in first: missing bearer token")
        if self.service_token and hmac.compare_digest(token.encode(), self.service_token.encode()):
            return service_caller(source, purpose)
        try:
            claims = jwt.decode(
                token,
                self.key(),
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # times are checked below on the server's clock (sessions, tests)
                options={
                    "require": ["exp", "iat", "sub", "sid", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise unauthorized("bad token") from exc
        now = self.clock()
        if not isinstance(claims.get("sid"), str) or float(claims["exp"]) <= now:
            raise unauthorized("session expired: sign in again")
        sid_hash = hash_session(claims["sid"])
        with self.sessions() as s:
            found = repo.session_and_user(s, sid_hash)
        if found is None:
            raise unauthorized("bad token")
        sess, user = found
        if sess.user_id != claims["sub"] or sess.ended_s is not None:
            raise unauthorized("session ended: sign in again")
        if now - sess.last_seen_s > self.settings.session_idle_s or now >= sess.expires_s:
            self._end(sid_hash, now)
            raise unauthorized("session expired: sign in again")
        if user.disabled:
            raise unauthorized("account disabled")
        if now - sess.last_seen_s > 10:  # keep the idle clock without a write per request
            with self.sessions.begin() as s:
                s.execute(update(SessionRow).where(SessionRow.id_hash == sid_hash).values(last_seen_s=now))
        return caller_of(user, sid_hash, source, purpose)

    def _end(self, sid_hash: str, now: float) -> None:
        with self.sessions.begin() as s:
            row = s.get(SessionRow, sid_hash)
            if row is not None and row.ended_s is None:
                row.ended_s = now

    def logout(self, caller: Caller) -> None:
        if caller.session is not None:
            self._end(caller.session, self.clock())
        self.audit(caller.entry("logout", f"user {caller.username}", at_s=self.clock()))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class WeakPassword(InvalidInput, ValueError):
    """A password too short to keep (a ValueError too, as callers expect)."""


MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        # translated where it is shown (ronda.i18n.errors); str() is the English text
        raise WeakPassword(N_("a password needs at least {n} characters"), n=MIN_PASSWORD)
    return hasher.hash(password)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Ronda")


def bearer_token(request: Request, *, query: bool = False) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token", "") if query else ""


def purpose_of(request: Request) -> str | None:
    text = request.headers.get(PURPOSE_HEADER, "").strip()
    return text[:500] or None


def visible_zones(s: Session, caller: Caller, scope: Scope) -> set[str]:
    """Zones of the agency used by no order, and those in orders of visible persons."""
    from ronda.storage.models import OrderRow, ZoneRow

    persons = visible_persons(s, caller, scope)
    stmt = select(ZoneRow.id)
    if caller.agency_id is not None:
        stmt = stmt.where(ZoneRow.agency_id == caller.agency_id)
    zones = set(s.execute(stmt).scalars())
    used: dict[str, set[str]] = {}
    for z, p in s.execute(
        select(RuleRow.zone_id, OrderRow.person_id)
        .join(OrderRow, OrderRow.id == RuleRow.order_id)
        .where(RuleRow.zone_id.is_not(None))
    ).all():
        if z is not None:
            used.setdefault(z, set()).add(p)
    return {z for z in zones if z not in used or used[z] & persons}


@dataclass
class LiveView:
    """What one caller's live stream may carry, refreshed every few seconds:
    devices whose positions they may see (a protected person's only during a
    proximity episode) and persons whose alerts they may see."""

    devices: set[str] = field(default_factory=set)
    alert_persons: set[str] = field(default_factory=set)
    agency_devices: set[str] = field(default_factory=set)
    loaded_s: float = float("-inf")

    def position(self, msg: dict[str, Any]) -> bool:
        return msg.get("device") in self.devices

    def alert(self, msg: dict[str, Any]) -> bool:
        person = msg.get("person")
        if person is None:
            return msg.get("device") in self.agency_devices
        return person in self.alert_persons


def live_view(
    s: Session,
    caller: Caller,
    position_scope: Scope | None,
    alert_scope: Scope | None,
    margin_s: float,
    now_s: float,
) -> LiveView:
    view = LiveView(loaded_s=now_s)
    if position_scope is not None:
        persons = visible_persons(s, caller, position_scope)
        protected = {
            p
            for p, r in s.execute(select(PersonRow.id, PersonRow.role).where(PersonRow.id.in_(persons))).all()
            if r in PROTECTED_ROLES
        }
        shown = {
            p
            for p in protected
            if may_see_protected_now(caller, protected_windows(s, p, margin_s, now_s), now_s)
        }
        allowed = (persons - protected) | shown
        stmt = select(DeviceRow.id, DeviceRow.person_id)
        if caller.agency_id is not None:
            stmt = stmt.where(DeviceRow.agency_id == caller.agency_id)
        rows = s.execute(stmt).all()
        view.devices = {d for d, p in rows if p is not None and p in allowed}
        view.agency_devices = {d for d, _ in rows}
    if alert_scope is not None:
        view.alert_persons = visible_persons(s, caller, alert_scope)
    return view


async def retention_loop(auth: Authenticator) -> None:
    """Purge positions and device events past retention (except legal holds)
    every `retention_every_s`, the first time a minute after start. A failed
    purge is logged and tried again at the next turn."""
    import asyncio

    delay_s = 60.0
    while True:
        await asyncio.sleep(delay_s)
        delay_s = auth.settings.retention_every_s
        cutoff = auth.clock() - auth.settings.retention_days * 86400.0
        try:
            r = await asyncio.to_thread(repo.purge, auth.sessions, cutoff)
        except Exception:  # keep serving; the next turn tries again
            log.exception("retention purge failed")
            continue
        if r.deleted:
            log.info("retention: purged %d records (%d kept under legal holds)", r.deleted, r.kept_held)
