"""Repositories of issue 6: agencies, users, sessions, the audit chain, legal
holds and the retention purge."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, delete, func, not_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ronda.audit.chain import GENESIS, AuditEntry, Head, Verdict, entry_hash, verify
from ronda.storage.errors import Conflict, NotFound
from ronda.storage.models import AssignmentRow, PersonRow, RecordRow
from ronda.storage.models_security import (
    AgencyRow,
    AuditHeadRow,
    AuditRow,
    LegalHoldRow,
    SessionRow,
    UserRow,
)

ROLES = ("admin", "supervisor", "operator", "officer", "auditor")

# ---------------------------------------------------------------- agencies


def get_agency(s: Session, agency_id: str) -> AgencyRow:
    row = s.get(AgencyRow, agency_id)
    if row is None:
        raise NotFound("agency", agency_id)
    return row


def create_agency(s: Session, agency_id: str, name: str) -> AgencyRow:
    if s.get(AgencyRow, agency_id) is not None:
        raise Conflict("agency {agency} exists", field="id", agency=repr(agency_id))
    row = AgencyRow(id=agency_id, name=name or agency_id, created_s=time.time())
    s.add(row)
    s.flush()
    return row


def list_agencies(s: Session) -> list[AgencyRow]:
    return list(s.execute(select(AgencyRow).order_by(AgencyRow.id)).scalars())


# ------------------------------------------------------------------ users


def get_user(s: Session, user_id: str) -> UserRow:
    row = s.get(UserRow, user_id)
    if row is None:
        raise NotFound("user", user_id)
    return row


def user_by_name(s: Session, username: str) -> UserRow | None:
    return s.execute(select(UserRow).where(UserRow.username == username)).scalar_one_or_none()


def list_users(s: Session, agency: str | None = None) -> list[UserRow]:
    stmt = select(UserRow).order_by(UserRow.username)
    if agency is not None:
        stmt = stmt.where(UserRow.agency_id == agency)
    return list(s.execute(stmt).scalars())


def create_user(
    s: Session,
    user_id: str,
    username: str,
    role: str,
    agency_id: str | None,
    password_hash: str,
    *,
    display_name: str = "",
    language: str = "auto",  # the agency's default, then the browser's
) -> UserRow:
    if role not in ROLES:
        raise Conflict("role must be one of {roles}", field="role", roles=", ".join(ROLES))
    if agency_id is None and role not in ("admin", "auditor"):
        raise Conflict("only admins and auditors may span every agency (no agency)", field="agency")
    if agency_id is not None:
        get_agency(s, agency_id)
    if user_by_name(s, username) is not None or s.get(UserRow, user_id) is not None:
        raise Conflict("user {user} exists", field="username", user=repr(username))
    now = time.time()
    row = UserRow(
        id=user_id,
        username=username,
        display_name=display_name or username,
        role=role,
        agency_id=agency_id,
        language=language,
        password_hash=password_hash,
        disabled=False,
        failed_logins=0,
        created_s=now,
        password_changed_s=now,
    )
    s.add(row)
    s.flush()
    return row


def end_sessions(s: Session, user_id: str, now_s: float) -> int:
    result = s.execute(
        update(SessionRow)
        .where(SessionRow.user_id == user_id, SessionRow.ended_s.is_(None))
        .values(ended_s=now_s)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_users(s: Session) -> int:
    return int(s.execute(select(func.count()).select_from(UserRow)).scalar_one())


# --------------------------------------------------------------- sessions


def add_session(
    s: Session, id_hash: str, user_id: str, now_s: float, expires_s: float, source: str
) -> SessionRow:
    row = SessionRow(
        id_hash=id_hash,
        user_id=user_id,
        created_s=now_s,
        last_seen_s=now_s,
        expires_s=expires_s,
        source=source[:64],
    )
    s.add(row)
    s.flush()
    return row


def session_and_user(s: Session, id_hash: str) -> tuple[SessionRow, UserRow] | None:
    row = s.execute(
        select(SessionRow, UserRow)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .where(SessionRow.id_hash == id_hash)
    ).first()
    return None if row is None else (row[0], row[1])


# ------------------------------------------------------------ audit chain

_append_lock = threading.Lock()  # writers of this process; the head row lock serialises processes


def append_audit(s: Session, e: AuditEntry) -> int:
    """Append `e` to the chain inside the caller's transaction; returns its seq.

    The head row is updated first: on PostgreSQL that takes its row lock (other
    writers wait), on SQLite the database write lock, so two writers can never
    chain onto the same predecessor. Call this before other reads in the
    transaction on SQLite (a read snapshot cannot be upgraded once stale)."""
    with _append_lock:
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=AuditHeadRow.seq + 1))
        seq, prev = s.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)).one()
        h = entry_hash(prev, e)
        s.add(
            AuditRow(
                seq=seq,
                at_s=e.at_s,
                actor=e.actor,
                role=e.role,
                agency=e.agency,
                action=e.action,
                target=e.target[:300],
                person=e.person,
                purpose=e.purpose,
                source=e.source,
                outcome=e.outcome,
                detail=e.detail_text(),
                prev_hash=prev,
                hash=h,
            )
        )
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(hash=h))
        s.flush()
        return int(seq)


def audit(sessions: sessionmaker[Session], e: AuditEntry) -> int:
    """Append `e` in a transaction of its own (committed when this returns)."""
    with sessions.begin() as s:
        return append_audit(s, e)


AUDIT_COLUMNS = (
    AuditRow.seq,
    AuditRow.at_s,
    AuditRow.actor,
    AuditRow.role,
    AuditRow.agency,
    AuditRow.action,
    AuditRow.target,
    AuditRow.person,
    AuditRow.purpose,
    AuditRow.source,
    AuditRow.outcome,
    AuditRow.detail,
    AuditRow.prev_hash,
    AuditRow.hash,
)


def audit_head(s: Session | Any) -> Head:
    seq, h = s.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)).one()
    return Head(int(seq), str(h))


AUDIT_SELECT = (
    "SELECT seq, at_s, actor, role, agency, action, target, person, purpose, source, outcome, detail, "
    "prev_hash, hash FROM audit_log ORDER BY seq"
)


def _stream_rows(
    engine: Engine, batch: int = 50_000, first: int | None = None, last: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every row (of seq first..last) as a plain tuple in StoredRow's order,
    streamed (a server-side cursor on PostgreSQL): a million rows never sit in
    memory at once."""
    sql = AUDIT_SELECT
    if first is not None and last is not None:
        sql = AUDIT_SELECT.replace("ORDER BY", f"WHERE seq BETWEEN {int(first)} AND {int(last)} ORDER BY")
    with engine.connect() as conn:
        # the driver's own cursor and rows: no per-row wrapping, nothing pre-read
        raw: Any = conn.connection.dbapi_connection
        server_side = engine.dialect.name == "postgresql"
        cursor = raw.cursor(name="ronda_audit_verify") if server_side else raw.cursor()
        try:
            cursor.execute(sql)
            while True:
                part = cursor.fetchmany(batch)
                if not part:
                    break
                yield from part
        finally:
            cursor.close()
            if server_side:
                raw.rollback()


PARALLEL_FROM_ROWS = 200_000


def verify_audit(engine: Engine, workers: int = 1) -> Verdict:
    """Check the whole chain against the head (ronda audit verify).

    With `workers` > 1 and a long chain, ranges of rows are checked in that
    many processes at once (each row's hash depends only on what is stored in
    it, and each range's first link is checked against the row before it); if
    any range is not intact the chain is walked again in one process, so the
    finding is named exactly as a single walk names it."""
    with engine.connect() as conn:
        head = audit_head(conn)

    def all_hashes() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(select(AuditRow.hash)).scalars())

    if workers > 1 and head.seq >= PARALLEL_FROM_ROWS:
        intact = _verify_parallel(engine, head, workers)
        if intact is not None:
            return intact
    return verify(_stream_rows(engine), head, hashes_of=all_hashes)


def _verify_parallel(engine: Engine, head: Head, workers: int) -> Verdict | None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    step = -(-head.seq // workers)
    ranges = [(a, min(a + step - 1, head.seq)) for a in range(1, head.seq + 1, step)]
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_verify_range, [url] * len(ranges), ranges))
    if any(p is None for p in parts):
        return None
    rows = sum(p[0] for p in parts if p is not None)
    last = parts[-1]
    assert last is not None
    if last[1] != head.hash:
        return None
    return Verdict(rows, head.seq, head.hash, None)


def _verify_range(url: str, bounds: tuple[int, int]) -> tuple[int, str] | None:
    """(rows, last hash) when rows a..b are all there and whole and each follows
    the one before (the first: the stored row a-1); None otherwise."""
    from ronda.storage.db import connect

    a, b = bounds
    db = connect(url)
    try:
        with db.connect() as conn:
            before = conn.execute(select(AuditRow.hash).where(AuditRow.seq == a - 1)).scalar()
        first_prev = GENESIS if a == 1 else before
        if first_prev is None:
            return None
        v = verify(_stream_rows(db, first=a, last=b), None, first_seq=a, first_prev=first_prev)
        return (v.rows, v.head_hash) if v.ok and v.head_seq == b else None
    finally:
        db.dispose()


@dataclass(frozen=True)
class AuditQuery:
    person: str | None = None
    actor: str | None = None
    action: str | None = None
    agency: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    after_seq: int = 0


def read_audit(s: Session, q: AuditQuery, limit: int = 1000) -> list[AuditRow]:
    stmt = select(AuditRow).where(AuditRow.seq > q.after_seq).order_by(AuditRow.seq).limit(limit)
    for col, value in ((AuditRow.person, q.person), (AuditRow.actor, q.actor), (AuditRow.action, q.action)):
        if value is not None:
            stmt = stmt.where(col == value)
    if q.agency is not None:
        # an agency's auditor sees what its staff did and what anyone did to its persons
        ours = select(PersonRow.id).where(PersonRow.agency_id == q.agency)
        stmt = stmt.where(or_(AuditRow.agency == q.agency, AuditRow.person.in_(ours)))
    if q.start_s is not None:
        stmt = stmt.where(AuditRow.at_s >= q.start_s)
    if q.end_s is not None:
        stmt = stmt.where(AuditRow.at_s < q.end_s)
    return list(s.execute(stmt).scalars())


# ------------------------------------------------------------ legal holds


def add_hold(s: Session, person_id: str, start_s: float, end_s: float, reason: str, by: str) -> LegalHoldRow:
    if s.get(PersonRow, person_id) is None:
        raise NotFound("person", person_id)
    if end_s <= start_s:
        raise Conflict("the hold must end after it starts", field="end")
    if not reason.strip():
        raise Conflict("a legal hold needs a reason", field="reason")
    row = LegalHoldRow(
        person_id=person_id,
        start_s=start_s,
        end_s=end_s,
        reason=reason.strip(),
        created_by=by,
        created_s=time.time(),
    )
    s.add(row)
    s.flush()
    return row


def list_holds(s: Session, person_id: str | None = None, active: bool | None = True) -> list[LegalHoldRow]:
    stmt = select(LegalHoldRow).order_by(LegalHoldRow.id)
    if person_id is not None:
        stmt = stmt.where(LegalHoldRow.person_id == person_id)
    if active is True:
        stmt = stmt.where(LegalHoldRow.released_s.is_(None))
    elif active is False:
        stmt = stmt.where(LegalHoldRow.released_s.is_not(None))
    return list(s.execute(stmt).scalars())


def release_hold(s: Session, hold_id: int, by: str) -> LegalHoldRow:
    row = s.get(LegalHoldRow, hold_id)
    if row is None:
        raise NotFound("legal hold", hold_id)
    if row.released_s is None:
        row.released_s, row.released_by = time.time(), by
        s.flush()
    return row


def held_windows(s: Session) -> list[tuple[str, float, float, int]]:
    """(device, from, to, hold id): every device a held person wore during the
    hold, clipped to the time they wore it."""
    out: list[tuple[str, float, float, int]] = []
    for h in list_holds(s, active=True):
        for a in s.execute(select(AssignmentRow).where(AssignmentRow.person_id == h.person_id)).scalars():
            lo = max(h.start_s, a.start_s)
            hi = min(h.end_s, a.end_s if a.end_s is not None else h.end_s)
            if lo < hi:
                out.append((a.device_id, lo, hi, h.id))
    return out


# -------------------------------------------------------------- retention


SESSIONS_KEPT_S = 90 * 86400.0
"""Sign-in sessions are deleted this long after they expired."""


@dataclass(frozen=True)
class PurgeResult:
    cutoff_s: float
    deleted: int
    kept_held: int
    holds: tuple[int, ...]
    audit_seq: int


def purge(
    sessions: sessionmaker[Session],
    cutoff_s: float,
    *,
    actor: str = "system",
    role: str = "system",
    now_s: float | None = None,
    batch: int = 20_000,
) -> PurgeResult:
    """Delete positions and device events recorded before `cutoff_s`, except
    those of a person under an active legal hold for that time, and record the
    purge in the audit trail (in the last batch's transaction)."""
    now_s = time.time() if now_s is None else now_s
    with sessions() as s:
        windows = held_windows(s)
    held = (
        or_(
            *(
                and_(RecordRow.device_id == d, RecordRow.time_s >= lo, RecordRow.time_s <= hi)
                for d, lo, hi, _ in windows
            )
        )
        if windows
        else None
    )
    old = RecordRow.time_s < cutoff_s
    doomed = and_(old, not_(held)) if held is not None else old
    deleted = 0
    while True:
        with sessions.begin() as s:
            seqs = list(s.execute(select(RecordRow.seq).where(doomed).limit(batch)).scalars())
            if seqs:
                s.execute(delete(RecordRow).where(RecordRow.seq.in_(seqs)))
                deleted += len(seqs)
        if len(seqs) < batch:
            break
    kept = 0
    if held is not None:
        with sessions() as s:
            kept = int(s.execute(select(func.count()).select_from(RecordRow).where(old, held)).scalar_one())
    holds = tuple(sorted({h for *_, h in windows}))
    with sessions.begin() as s:  # sign-in sessions long over are of no use to anyone
        stale = s.execute(delete(SessionRow).where(SessionRow.expires_s < now_s - SESSIONS_KEPT_S))
        sessions_deleted = int(stale.rowcount or 0)  # type: ignore[attr-defined]
    with sessions.begin() as s:
        seq = append_audit(
            s,
            AuditEntry(
                at_s=now_s,
                actor=actor,
                role=role,
                agency=None,
                action="purge",
                target="records",
                detail={
                    "cutoff_s": cutoff_s,
                    "deleted": deleted,
                    "kept_under_hold": kept,
                    "holds": list(holds),
                    "sessions_deleted": sessions_deleted,
                },
            ),
        )
    return PurgeResult(cutoff_s, deleted, kept, holds, seq)
