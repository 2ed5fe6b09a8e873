"""Tables: agencies, users, sessions, the audit chain, legal holds (issue 6)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ronda.storage.models import BIGID, DEFAULT_AGENCY, ID, Base

__all__ = ["DEFAULT_AGENCY", "AgencyRow", "AuditHeadRow", "AuditRow", "LegalHoldRow", "SessionRow", "UserRow"]


class AgencyRow(Base):
    """A tenant: a probation service, a court district, a prison. Agencies never
    see each other's persons, devices, zones, orders, positions or alerts."""

    __tablename__ = "agencies"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_s: Mapped[float]


class UserRow(Base):
    """A person who signs in (devices have their own ingest tokens, apart)."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    # None only for an admin of the whole install (every agency)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    language: Mapped[str] = mapped_column(String(16), default="auto")
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_s: Mapped[float | None]
    last_login_s: Mapped[float | None]
    created_s: Mapped[float]
    password_changed_s: Mapped[float]


class SessionRow(Base):
    """A signed-in session; the token carries its id, the server keeps its
    idle clock, so logout and idle expiry take effect at once everywhere."""

    __tablename__ = "user_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the session id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_s: Mapped[float]
    last_seen_s: Mapped[float]
    expires_s: Mapped[float]
    source: Mapped[str] = mapped_column(String(64), default="")
    ended_s: Mapped[float | None]


class AuditRow(Base):
    """One entry of the hash-chained audit trail (ronda.audit.chain). Only ever
    inserted; `seq` is given by the writer (1, 2, 3 ... without gaps)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=False)
    at_s: Mapped[float]
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    agency: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    person: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON text: hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_audit_log_person_at", "person", "at_s"),
        Index("ix_audit_log_actor_at", "actor", "at_s"),
    )


class AuditHeadRow(Base):
    """The last entry's seq and hash, updated in the same transaction as each
    append. Its row lock serialises writers across servers (PostgreSQL); a
    cut tail shows as rows missing below the head."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BIGID)
    hash: Mapped[str] = mapped_column(String(64))


class LegalHoldRow(Base):
    """Keep a person's positions and events of a period past retention
    (litigation, an investigation, a court's order)."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    start_s: Mapped[float]
    end_s: Mapped[float]
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_s: Mapped[float]
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_s: Mapped[float | None]
