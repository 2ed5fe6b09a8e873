"""Tables: Alert workflow extras: notification outbox, escalation, protocols (issue 7).

Contacts, languages and consent live here rather than on `persons`: a
protected person's phone number and consent are a victim-protection matter,
kept, audited and erased on their own terms.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ronda.storage.models import BIGID, ID, Base


class ContactRow(Base):
    """Someone Ronda may send messages to: a protected person, a wearer, a
    police unit, an officer. `addresses` are ``channel:value`` strings
    (``email:ana@example.org``, ``sms:+34600000000``, ``url:json://host/hook``)."""

    __tablename__ = "notify_contacts"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    person_id: Mapped[str | None] = mapped_column(ID, index=True)  # persons.id when it is one
    kind: Mapped[str] = mapped_column(String(16))  # victim, wearer, police, officer, staff
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    addresses: Mapped[list[str]] = mapped_column(JSON)
    agency_id: Mapped[str | None] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_s: Mapped[float]
    updated_s: Mapped[float]


class ConsentRow(Base):
    """Consent to be messaged, and its withdrawal: append-only, the latest row counts."""

    __tablename__ = "notify_consents"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("notify_contacts.id"), index=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(32))  # signed_form, phone, in_person, court_order
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at_s: Mapped[float]


class CaseContactRow(Base):
    """Who to tell about a monitored person's alerts: the police contact of the
    case, the supervising officer, and the agency whose chain escalates."""

    __tablename__ = "notify_case_contacts"
    person_id: Mapped[str] = mapped_column(ID, primary_key=True)  # the wearer
    police_contact_id: Mapped[int | None] = mapped_column(ForeignKey("notify_contacts.id"))
    officer_contact_id: Mapped[int | None] = mapped_column(ForeignKey("notify_contacts.id"))
    agency_id: Mapped[str | None] = mapped_column(ID)
    updated_s: Mapped[float]
    updated_by: Mapped[str] = mapped_column(String(100))


class OutboxRow(Base):
    """One message to send, written in the transaction of what caused it.

    `key` is the idempotency key: the same cause writes the same key, so a
    replay or a retry never queues it twice, and it goes out with the message
    (Message-ID, ``X-Ronda-Idempotency-Key``) so a receiver can drop a repeat.
    A worker claims rows (status ``sending`` with a lease) and settles them
    (``sent``, or back to ``pending`` with a backoff, or ``failed``)."""

    __tablename__ = "notify_outbox"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[int | None] = mapped_column(BIGID, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(BIGID)
    recipient: Mapped[str] = mapped_column(String(200), default="")  # who, for people reading the record
    target: Mapped[str] = mapped_column(String(500))  # channel:value
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_s: Mapped[float]
    lease_until_s: Mapped[float | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_s: Mapped[float]
    sent_s: Mapped[float | None]
    __table_args__ = (Index("ix_notify_outbox_due", "status", "next_attempt_s"),)


class AlertTimerRow(Base):
    """An alert's response target and where it stands on its escalation chain."""

    __tablename__ = "alert_timers"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    agency_id: Mapped[str | None] = mapped_column(ID)
    target_s: Mapped[float]
    level: Mapped[int] = mapped_column(Integer, default=0)  # index of the chain link it has reached
    due_s: Mapped[float | None] = mapped_column(index=True)  # next escalation; None: no more
    acknowledged_s: Mapped[float | None]  # first acknowledgement (response time = this - created)
    created_s: Mapped[float]
    updated_s: Mapped[float]


class AlertStepRow(Base):
    """A protocol step ticked off on an alert, with its outcome."""

    __tablename__ = "alert_steps"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at_s: Mapped[float]


class PursuitRow(Base):
    """A device asked to report fast while an episode is open, and what to restore."""

    __tablename__ = "pursuits"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    episode_id: Mapped[int] = mapped_column(BIGID, index=True)
    device_id: Mapped[str] = mapped_column(ID)
    interval_s: Mapped[int] = mapped_column(Integer)
    normal_interval_s: Mapped[int] = mapped_column(Integer)
    started_s: Mapped[float]
    ended_s: Mapped[float | None]
    start_command: Mapped[int | None] = mapped_column(BIGID)  # gateway command ids, for the record
    end_command: Mapped[int | None] = mapped_column(BIGID)
    __table_args__ = (UniqueConstraint("episode_id", "device_id", name="uq_pursuits_episode_device"),)


class DeviceCommandRow(Base):
    """A command to a device (gateway/commands.py), kept across restarts: a
    pursuit request queued for a device that is offline still goes out at
    its next login after the server restarted."""

    __tablename__ = "device_commands"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(16))
    created_s: Mapped[float]
    interval_s: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[str | None] = mapped_column(String(32))
    match_key: Mapped[str | None] = mapped_column(String(64))
    sent_s: Mapped[float | None]
    answered_s: Mapped[float | None]
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_device_commands_device_status", "device_id", "status"),)
