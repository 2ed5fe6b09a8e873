"""Contacts and consent, the notification outbox, alert timers, protocol
steps and pursuits (issue 7): the repository functions.

The outbox is claimed with one statement, ``UPDATE ... WHERE id IN (SELECT
... LIMIT n)``: atomic on SQLite (one writer at a time) and, with ``FOR UPDATE
SKIP LOCKED`` in the subquery, on PostgreSQL, where several workers then
take disjoint rows without waiting for each other. A claim carries a lease:
rows of a worker that died are taken again once it has expired.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.policy import StepOutcome, retry_delay_s
from ronda.alerts.workflow import AlertAction
from ronda.errors import InvalidInput
from ronda.gateway.commands import Command, CommandKind, CommandStatus
from ronda.storage import alerts
from ronda.storage.errors import NotFound
from ronda.storage.models import DeviceRow, OrderRow, PersonRow, RecordRow, RuleRow
from ronda.storage.models_notify import (
    AlertStepRow,
    AlertTimerRow,
    CaseContactRow,
    ConsentRow,
    ContactRow,
    DeviceCommandRow,
    OutboxRow,
    PursuitRow,
)

CONTACT_KINDS: tuple[str, ...] = ("victim", "wearer", "police", "officer", "staff")
CHANNELS: tuple[str, ...] = ("email", "sms", "url")
CONSENT_METHODS: tuple[str, ...] = ("signed_form", "phone", "in_person", "online", "court_order")


class Status:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# ------------------------------------------------------------------ contacts


def check_addresses(addresses: Sequence[str]) -> list[str]:
    out = []
    for a in addresses:
        channel, _, value = a.partition(":")
        if channel not in CHANNELS or not value.strip():
            raise InvalidInput(
                "address {address}: expected channel:value with channel one of {channels}",
                field="addresses",
                address=repr(a),
                channels=", ".join(CHANNELS),
            )
        out.append(a.strip())
    return out


def create_contact(
    s: Session,
    *,
    kind: str,
    name: str,
    addresses: Sequence[str],
    language: str = "en",
    person_id: str | None = None,
    agency_id: str | None = None,
    now_s: float,
) -> ContactRow:
    if kind not in CONTACT_KINDS:
        raise InvalidInput(
            "kind {kind}: expected one of {kinds}",
            field="kind",
            kind=repr(kind),
            kinds=", ".join(CONTACT_KINDS),
        )
    row = ContactRow(
        person_id=person_id,
        kind=kind,
        name=name,
        language=language,
        addresses=check_addresses(addresses),
        agency_id=agency_id,
        active=True,
        created_s=now_s,
        updated_s=now_s,
    )
    s.add(row)
    s.flush()
    return row


def update_contact(
    s: Session,
    contact_id: int,
    *,
    now_s: float,
    name: str | None = None,
    addresses: Sequence[str] | None = None,
    language: str | None = None,
    active: bool | None = None,
) -> ContactRow:
    row = get_contact(s, contact_id)
    if name is not None:
        row.name = name
    if addresses is not None:
        row.addresses = check_addresses(addresses)
    if language is not None:
        row.language = language
    if active is not None:
        row.active = active
    row.updated_s = now_s
    s.flush()
    return row


def get_contact(s: Session, contact_id: int) -> ContactRow:
    row = s.get(ContactRow, contact_id)
    if row is None:
        raise NotFound("contact", contact_id)
    return row


def list_contacts(
    s: Session, *, person_id: str | None = None, kind: str | None = None, limit: int = 1000, offset: int = 0
) -> list[ContactRow]:
    stmt = select(ContactRow)
    if person_id is not None:
        stmt = stmt.where(ContactRow.person_id == person_id)
    if kind is not None:
        stmt = stmt.where(ContactRow.kind == kind)
    return list(s.execute(stmt.order_by(ContactRow.id).limit(limit).offset(offset)).scalars())


def record_consent(
    s: Session, contact_id: int, *, granted: bool, method: str, actor: str, note: str = "", now_s: float
) -> ConsentRow:
    """Consent given or withdrawn; the history is kept (append-only)."""
    get_contact(s, contact_id)
    if method not in CONSENT_METHODS:
        raise InvalidInput(
            "method {method}: expected one of {methods}",
            field="method",
            method=repr(method),
            methods=", ".join(CONSENT_METHODS),
        )
    row = ConsentRow(
        contact_id=contact_id, granted=granted, method=method, note=note, actor=actor, at_s=now_s
    )
    s.add(row)
    s.flush()
    return row


def consents(s: Session, contact_id: int) -> list[ConsentRow]:
    stmt = select(ConsentRow).where(ConsentRow.contact_id == contact_id).order_by(ConsentRow.id)
    return list(s.execute(stmt).scalars())


def has_consent(s: Session, contact_id: int) -> bool:
    """The latest consent row says yes (no row: no consent)."""
    stmt = (
        select(ConsentRow.granted).where(ConsentRow.contact_id == contact_id).order_by(ConsentRow.id.desc())
    )
    return bool(s.execute(stmt.limit(1)).scalar_one_or_none())


def set_case_contacts(
    s: Session,
    person_id: str,
    *,
    police_contact_id: int | None,
    officer_contact_id: int | None,
    agency_id: str | None,
    actor: str,
    now_s: float,
) -> CaseContactRow:
    for cid in (police_contact_id, officer_contact_id):
        if cid is not None:
            get_contact(s, cid)
    row = s.get(CaseContactRow, person_id)
    if row is None:
        row = CaseContactRow(person_id=person_id, updated_s=now_s, updated_by=actor)
        s.add(row)
    row.police_contact_id = police_contact_id
    row.officer_contact_id = officer_contact_id
    row.agency_id = agency_id
    row.updated_s, row.updated_by = now_s, actor
    s.flush()
    return row


def case_contacts(s: Session, person_id: str) -> CaseContactRow | None:
    return s.get(CaseContactRow, person_id)


# -------------------------------------------------------------------- outbox


@dataclass(frozen=True, slots=True)
class NewMessage:
    key: str  # idempotency key: the same cause gives the same key
    kind: str
    target: str  # channel:value
    language: str
    subject: str
    body: str
    alert_id: int | None = None
    contact_id: int | None = None
    recipient: str = ""


def message_key(*parts: object) -> str:
    """An idempotency key from what identifies a message (cause, recipient, address)."""
    text = "|".join(str(p) for p in parts)
    return f"{parts[0]}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def enqueue(s: Session, msg: NewMessage, *, now_s: float, max_attempts: int = 8) -> bool:
    """Queue a message unless one with its key exists; True when queued now.

    Part of the caller's transaction: the message is durable exactly when
    what caused it is."""
    values = {
        "key": msg.key,
        "alert_id": msg.alert_id,
        "kind": msg.kind,
        "contact_id": msg.contact_id,
        "recipient": msg.recipient[:200],
        "target": msg.target,
        "language": msg.language,
        "subject": msg.subject[:300],
        "body": msg.body,
        "status": Status.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "next_attempt_s": now_s,
        "created_s": now_s,
    }
    # One statement, INSERT ... ON CONFLICT (key) DO NOTHING, on both databases:
    # no read-then-write race between writers, and no savepoint (which SQLite's
    # driver would turn into a commit of its own).
    dialect = s.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["key"])
    return s.execute(stmt.returning(OutboxRow.id)).first() is not None


def _due(now_s: float):  # type: ignore[no-untyped-def]
    return or_(
        and_(OutboxRow.status == Status.PENDING, OutboxRow.next_attempt_s <= now_s),
        and_(OutboxRow.status == Status.SENDING, OutboxRow.lease_until_s < now_s),
    )


def claim(s: Session, worker: str, *, now_s: float, lease_s: float, limit: int) -> list[OutboxRow]:
    """Take up to `limit` due messages for `worker` (commit right after)."""
    token = f"{worker[:40]}:{uuid.uuid4().hex[:16]}"
    ids = select(OutboxRow.id).where(_due(now_s)).order_by(OutboxRow.id).limit(limit)
    if s.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    s.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_(ids.scalar_subquery()))
        .values(
            status=Status.SENDING,
            claimed_by=token,
            lease_until_s=now_s + lease_s,
            attempts=OutboxRow.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    stmt = select(OutboxRow).where(OutboxRow.claimed_by == token, OutboxRow.status == Status.SENDING)
    return list(s.execute(stmt.order_by(OutboxRow.id)).scalars())


def settle_sent(s: Session, row_id: int, token: str, *, now_s: float) -> bool:
    """Record a delivery; False when the claim was lost (the lease ran out)."""
    result = s.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.claimed_by == token, OutboxRow.status == Status.SENDING)
        .values(status=Status.SENT, sent_s=now_s, lease_until_s=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def settle_failed(s: Session, row: OutboxRow, *, error: str, now_s: float) -> str:
    """A failed try: back to pending after a backoff, or failed for good; returns the new status."""
    final = row.attempts >= row.max_attempts
    status = Status.FAILED if final else Status.PENDING
    s.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row.id, OutboxRow.claimed_by == row.claimed_by)
        .values(
            status=status,
            last_error=error[:2000],
            lease_until_s=None,
            next_attempt_s=now_s if final else now_s + retry_delay_s(row.attempts),
        )
        .execution_options(synchronize_session=False)
    )
    return status


def retry(s: Session, row_id: int, *, now_s: float) -> OutboxRow:
    """Send a failed message again (an operator fixed the address or the channel)."""
    row = s.get(OutboxRow, row_id)
    if row is None:
        raise NotFound("notification", row_id)
    if row.status != Status.FAILED:
        raise InvalidInput(
            "notification {id} is {status}: only failed ones are retried", id=row_id, status=row.status
        )
    row.status, row.next_attempt_s, row.max_attempts = Status.PENDING, now_s, row.attempts + 3
    s.flush()
    return row


def outbox_health(s: Session, now_s: float) -> dict[str, Any]:
    """How the notifications are doing, for the monitoring centre's status page:
    messages by status, how long the most overdue one has waited to go out
    (0 when none is due: a worker that stopped shows here first), and when
    the last one was delivered."""
    by_status = s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
    counts = {str(status): int(n) for status, n in by_status}
    oldest_due = s.execute(
        select(func.min(OutboxRow.next_attempt_s)).where(
            OutboxRow.status == Status.PENDING, OutboxRow.next_attempt_s <= now_s
        )
    ).scalar()
    last_sent = s.execute(select(func.max(OutboxRow.sent_s))).scalar()
    return {
        "messages": {
            str(k): counts.get(str(k), 0)
            for k in (Status.PENDING, Status.SENDING, Status.SENT, Status.FAILED)
        },
        "overdue_s": round(now_s - oldest_due, 1) if oldest_due is not None else 0.0,
        "last_sent_s": last_sent,
    }


def outbox_for_alert(s: Session, alert_id: int) -> list[OutboxRow]:
    stmt = select(OutboxRow).where(OutboxRow.alert_id == alert_id).order_by(OutboxRow.id)
    return list(s.execute(stmt).scalars())


def list_outbox(
    s: Session, *, status: str | None = None, limit: int = 1000, offset: int = 0
) -> list[OutboxRow]:
    stmt = select(OutboxRow)
    if status is not None:
        stmt = stmt.where(OutboxRow.status == status)
    return list(s.execute(stmt.order_by(OutboxRow.id.desc()).limit(limit).offset(offset)).scalars())


# -------------------------------------------------------------------- timers


def ensure_timer(
    s: Session, alert_id: int, *, agency_id: str | None, target_s: float, created_s: float
) -> tuple[AlertTimerRow, bool]:
    """The alert's response timer, created once (True when created now)."""
    row = s.get(AlertTimerRow, alert_id)
    if row is not None:
        return row, False
    row = AlertTimerRow(
        alert_id=alert_id,
        agency_id=agency_id,
        target_s=target_s,
        level=0,
        due_s=created_s + target_s,
        created_s=created_s,
        updated_s=created_s,
    )
    s.add(row)
    s.flush()
    return row, True


def due_timers(s: Session, now_s: float, limit: int = 500) -> list[AlertTimerRow]:
    stmt = (
        select(AlertTimerRow).where(AlertTimerRow.due_s <= now_s).order_by(AlertTimerRow.due_s).limit(limit)
    )
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # two servers never escalate one alert twice
    return list(s.execute(stmt).scalars())


def get_timer(s: Session, alert_id: int) -> AlertTimerRow | None:
    return s.get(AlertTimerRow, alert_id)


# ---------------------------------------------------------- protocol steps


def record_step(
    s: Session, alert_id: int, step: str, outcome: str, *, actor: str, note: str, now_s: float
) -> AlertStepRow:
    """Tick off a protocol step: a row of its own and a `step` action in the alert's trail."""
    if outcome not in StepOutcome.ALL:
        raise InvalidInput(
            "outcome {outcome}: expected one of {outcomes}",
            field="outcome",
            outcome=repr(outcome),
            outcomes=", ".join(StepOutcome.ALL),
        )
    alerts.act(
        s, alert_id, AlertAction.STEP, actor, text=f"{step}: {outcome}" + (f" ({note})" if note else "")
    )
    row = AlertStepRow(alert_id=alert_id, step=step, outcome=outcome, note=note, actor=actor, at_s=now_s)
    s.add(row)
    s.flush()
    return row


def steps(s: Session, alert_id: int) -> list[AlertStepRow]:
    stmt = select(AlertStepRow).where(AlertStepRow.alert_id == alert_id).order_by(AlertStepRow.id)
    return list(s.execute(stmt).scalars())


# ------------------------------------------------------------------ pursuits


def start_pursuit(
    s: Session, episode_id: int, device_id: str, *, interval_s: int, normal_interval_s: int, now_s: float
) -> PursuitRow | None:
    """A new pursuit of `device_id` for the episode; None if it already exists."""
    existing = s.execute(
        select(PursuitRow).where(PursuitRow.episode_id == episode_id, PursuitRow.device_id == device_id)
    ).scalar_one_or_none()
    if existing is not None:
        return None
    row = PursuitRow(
        episode_id=episode_id,
        device_id=device_id,
        interval_s=interval_s,
        normal_interval_s=normal_interval_s,
        started_s=now_s,
    )
    s.add(row)
    s.flush()
    return row


def pursuits_of_episode(s: Session, episode_id: int) -> list[PursuitRow]:
    return list(s.execute(select(PursuitRow).where(PursuitRow.episode_id == episode_id)).scalars())


def active_pursuits(s: Session) -> list[PursuitRow]:
    return list(s.execute(select(PursuitRow).where(PursuitRow.ended_s.is_(None))).scalars())


def unsent_pursuit_commands(s: Session) -> list[PursuitRow]:
    """Pursuits whose start (or, once ended, restoring) command was never queued."""
    stmt = select(PursuitRow).where(
        or_(
            and_(PursuitRow.ended_s.is_(None), PursuitRow.start_command.is_(None)),
            and_(PursuitRow.ended_s.is_not(None), PursuitRow.end_command.is_(None)),
        )
    )
    return list(s.execute(stmt.order_by(PursuitRow.id)).scalars())


def device_in_other_pursuit(s: Session, device_id: str, episode_id: int) -> bool:
    stmt = select(PursuitRow.id).where(
        PursuitRow.device_id == device_id, PursuitRow.ended_s.is_(None), PursuitRow.episode_id != episode_id
    )
    return s.execute(stmt.limit(1)).first() is not None


# ----------------------------------------------------- facts for messages


def protected_persons(s: Session, wearer: str, rule: str | None = None) -> list[str]:
    """Whom `wearer` must keep away from: the rule's protected person, or
    those of every proximity rule of the wearer's active orders."""
    stmt = (
        select(RuleRow.protected_person_id)
        .join(OrderRow, (OrderRow.id == RuleRow.order_id) & (OrderRow.version == RuleRow.version))
        .where(
            OrderRow.person_id == wearer,
            OrderRow.active.is_(True),
            RuleRow.type == "proximity",
            RuleRow.protected_person_id.is_not(None),
        )
    )
    if rule is not None:
        stmt = stmt.where(RuleRow.id == rule)
    return sorted({p for p in s.execute(stmt).scalars() if p})


def person_contacts(s: Session, person_id: str, kind: str) -> list[tuple[ContactRow, bool]]:
    """The person's active contacts of `kind`, each with whether consent stands."""
    stmt = select(ContactRow).where(
        ContactRow.person_id == person_id, ContactRow.kind == kind, ContactRow.active.is_(True)
    )
    return [(c, has_consent(s, c.id)) for c in s.execute(stmt.order_by(ContactRow.id)).scalars()]


def person_name(s: Session, person_id: str | None) -> str:
    if person_id is None:
        return ""
    row = s.get(PersonRow, person_id)
    return (row.name or row.id) if row is not None else person_id


def person_agency(s: Session, person_id: str | None) -> str | None:
    """The agency whose chain escalates this person's alerts: the case's, else the person's."""
    if person_id is None:
        return None
    case = s.get(CaseContactRow, person_id)
    if case is not None and case.agency_id:
        return case.agency_id
    row = s.get(PersonRow, person_id)
    return getattr(row, "agency_id", None) if row is not None else None


def last_position(s: Session, person_id: str | None) -> tuple[float, float] | None:
    """The latest valid fix of any device the person wears."""
    if person_id is None:
        return None
    devices = select(DeviceRow.id).where(DeviceRow.person_id == person_id)
    stmt = (
        select(RecordRow.lat, RecordRow.lon)
        .where(
            RecordRow.device_id.in_(devices),
            RecordRow.kind == "position",
            RecordRow.valid.is_(True),
            RecordRow.lat.is_not(None),
        )
        .order_by(RecordRow.time_s.desc())
        .limit(1)
    )
    row = s.execute(stmt).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1])


def devices_of(s: Session, person_id: str) -> list[DeviceRow]:
    stmt = select(DeviceRow).where(DeviceRow.person_id == person_id, DeviceRow.status != "retired")
    return list(s.execute(stmt.order_by(DeviceRow.id)).scalars())


# ---------------------------------------------------------- device commands


class DbCommandStore:
    """The gateway's command store (``gateway.commands.CommandStore``) in the
    database, so queued commands survive a restart. Its methods are async
    like the port's; each runs its short transaction in a thread."""

    def __init__(self, db: Engine) -> None:
        self.sessions: sessionmaker[Session] = sessionmaker(db, expire_on_commit=False)

    @staticmethod
    def _out(r: DeviceCommandRow) -> Command:
        return Command(
            id=r.id,
            device=r.device_id,
            kind=CommandKind(r.kind),
            created_s=r.created_s,
            interval_s=r.interval_s,
            text=r.text,
            status=CommandStatus(r.status),
            protocol=r.protocol,
            match_key=r.match_key,
            sent_s=r.sent_s,
            answered_s=r.answered_s,
            response=r.response,
            error=r.error,
        )

    def _add(
        self, device: str, kind: CommandKind, now_s: float, interval_s: int | None, text: str | None
    ) -> Command:
        with self.sessions.begin() as s:
            row = DeviceCommandRow(
                device_id=device,
                kind=kind.value,
                created_s=now_s,
                interval_s=interval_s,
                text=text,
                status=CommandStatus.QUEUED.value,
            )
            s.add(row)
            s.flush()
            return self._out(row)

    async def add(
        self,
        device: str,
        kind: CommandKind,
        now_s: float,
        *,
        interval_s: int | None = None,
        text: str | None = None,
    ) -> Command:
        return await asyncio.to_thread(self._add, device, kind, now_s, interval_s, text)

    def _get(self, command_id: int) -> Command | None:
        with self.sessions() as s:
            row = s.get(DeviceCommandRow, command_id)
            return None if row is None else self._out(row)

    async def get(self, command_id: int) -> Command | None:
        return await asyncio.to_thread(self._get, command_id)

    def _list(self, device: str, status: CommandStatus | None) -> list[Command]:
        stmt = select(DeviceCommandRow).where(DeviceCommandRow.device_id == device)
        if status is not None:
            stmt = stmt.where(DeviceCommandRow.status == status.value)
        with self.sessions() as s:
            return [self._out(r) for r in s.execute(stmt.order_by(DeviceCommandRow.id)).scalars()]

    async def for_device(self, device: str) -> list[Command]:
        return await asyncio.to_thread(self._list, device, None)

    async def queued(self, device: str) -> list[Command]:
        return await asyncio.to_thread(self._list, device, CommandStatus.QUEUED)

    async def awaiting_answer(self, device: str) -> list[Command]:
        return await asyncio.to_thread(self._list, device, CommandStatus.SENT)

    def _update(self, command_id: int, **changes: object) -> Command:
        with self.sessions.begin() as s:
            row = s.get(DeviceCommandRow, command_id)
            if row is None:
                raise NotFound("command", command_id)
            for key, value in changes.items():
                setattr(row, key, value)
            s.flush()
            return self._out(row)

    async def mark_sent(self, command_id: int, protocol: str, match_key: str | None, now_s: float) -> Command:
        return await asyncio.to_thread(
            self._update,
            command_id,
            status=CommandStatus.SENT.value,
            protocol=protocol,
            match_key=match_key,
            sent_s=now_s,
        )

    async def mark_acknowledged(self, command_id: int, now_s: float, response: str | None) -> Command:
        return await asyncio.to_thread(
            self._update,
            command_id,
            status=CommandStatus.ACKNOWLEDGED.value,
            answered_s=now_s,
            response=response,
        )

    async def mark_failed(self, command_id: int, now_s: float, error: str) -> Command:
        return await asyncio.to_thread(
            self._update, command_id, status=CommandStatus.FAILED.value, answered_s=now_s, error=error
        )
