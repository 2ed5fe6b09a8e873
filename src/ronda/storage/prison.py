"""Prison storage: facility documents, sightings (idempotent), moves, episode
details, headcounts and their reconciliation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ronda.engine.episodes import EpisodeClosed, EpisodeOpened
from ronda.errors import InvalidInput
from ronda.facility.document import facility_document, parse_facility
from ronda.facility.episodes import FacilityEffect, FacilityEpisode, Moved
from ronda.facility.headcount import Headcount, resolution_of
from ronda.facility.model import Facility
from ronda.facility.records import (
    BandEvent,
    BandEventKind,
    Direction,
    DoorCrossing,
    FacilityRecord,
    ReaderHeartbeat,
)
from ronda.storage import alerts
from ronda.storage.cases import now_s
from ronda.storage.errors import NotFound
from ronda.storage.models_prison import (
    EpisodeDetailRow,
    FacilityRow,
    HeadcountRow,
    MovementRow,
    ReconciliationRow,
    SightingRow,
)
from ronda.tracking.records import Sighting
from ronda.types import DeviceId

# ------------------------------------------------------------------ facilities


def save_facility(s: Session, doc: dict[str, Any], actor: str) -> tuple[FacilityRow, Facility]:
    """Create or replace a facility from its document (checked first)."""
    facility = parse_facility(doc)
    clean = facility_document(facility)
    row = s.get(FacilityRow, facility.id)
    t = now_s()
    if row is None:
        row = FacilityRow(
            id=facility.id,
            name=facility.name,
            timezone=facility.timezone,
            version=1,
            document=clean,
            created_s=t,
            updated_s=t,
            updated_by=actor,
        )
        s.add(row)
    else:
        row.name, row.timezone, row.document = facility.name, facility.timezone, clean
        row.version += 1
        row.updated_s, row.updated_by = t, actor
    s.flush()
    return row, facility


def get_facility(s: Session, facility_id: str) -> FacilityRow:
    row = s.get(FacilityRow, facility_id)
    if row is None:
        raise NotFound("facility", facility_id)
    return row


def list_facilities(s: Session) -> list[FacilityRow]:
    return list(s.execute(select(FacilityRow).order_by(FacilityRow.id)).scalars())


def load_facility(s: Session, facility_id: str) -> Facility:
    return parse_facility(get_facility(s, facility_id).document)


# ------------------------------------------------------------------- sightings


def record_row(facility_id: str, rec: FacilityRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "facility_id": facility_id,
        "time_s": rec.time_s,
        "received_s": rec.received_s,
        "rssi_dbm": None,
    }
    if isinstance(rec, Sighting):
        row.update(device_id=rec.device, reader_id=rec.reader, kind="sighting", rssi_dbm=rec.rssi_dbm)
    elif isinstance(rec, DoorCrossing):
        row.update(device_id=rec.device, reader_id=rec.reader, kind=f"door_{rec.direction.value}")
    elif isinstance(rec, ReaderHeartbeat):
        row.update(device_id="", reader_id=rec.reader, kind="heartbeat")
    else:
        row.update(device_id=rec.device, reader_id="", kind=rec.kind.value)
    return row


def row_record(r: SightingRow) -> FacilityRecord:
    band = DeviceId(r.device_id)
    if r.kind == "sighting":
        return Sighting(band, r.time_s, r.received_s, reader=r.reader_id, rssi_dbm=r.rssi_dbm)
    if r.kind.startswith("door_"):
        return DoorCrossing(band, r.time_s, r.received_s, r.reader_id, Direction(r.kind[5:]))
    if r.kind == "heartbeat":
        return ReaderHeartbeat(r.reader_id, r.time_s, r.received_s)
    return BandEvent(band, r.time_s, r.received_s, BandEventKind(r.kind))


def _insert(conn: Connection | Session) -> Insert:
    name = (
        conn.bind.dialect.name if isinstance(conn, Session) and conn.bind else getattr(conn, "dialect", None)
    )
    dialect = name if isinstance(name, str) else getattr(name, "name", "")
    if dialect == "postgresql":
        return postgresql.insert(SightingRow).on_conflict_do_nothing(constraint="uq_prison_sightings_key")
    return sqlite.insert(SightingRow).on_conflict_do_nothing(
        index_elements=["facility_id", "device_id", "reader_id", "time_s", "kind"]
    )


def insert_records(s: Session, facility_id: str, records: Sequence[FacilityRecord]) -> list[FacilityRecord]:
    """Store what is new (a resent batch stores nothing twice); return the new
    records, in the order given."""
    unique: dict[tuple[str, str, float, str], FacilityRecord] = {}
    rows = []
    for rec in records:
        row = record_row(facility_id, rec)
        key = (row["device_id"], row["reader_id"], row["time_s"], row["kind"])
        if key not in unique:
            unique[key] = rec
            rows.append(row)
    if not rows:
        return []
    stmt = _insert(s).returning(
        SightingRow.device_id, SightingRow.reader_id, SightingRow.time_s, SightingRow.kind
    )
    new = {(r.device_id, r.reader_id, r.time_s, r.kind) for r in s.execute(stmt, rows)}
    return [rec for key, rec in unique.items() if key in new]


def records_since(
    s: Session, facility_id: str, since_s: float, limit: int = 2_000_000
) -> list[FacilityRecord]:
    stmt = (
        select(SightingRow)
        .where(SightingRow.facility_id == facility_id, SightingRow.time_s >= since_s)
        .order_by(SightingRow.time_s, SightingRow.id)
        .limit(limit)
    )
    return [row_record(r) for r in s.execute(stmt).scalars()]


def purge_sightings(s: Session, facility_id: str, before_s: float) -> int:
    """Delete raw sightings older than `before_s` (moves, episodes and counts stay)."""
    from sqlalchemy import delete

    result = s.execute(
        delete(SightingRow).where(SightingRow.facility_id == facility_id, SightingRow.time_s < before_s)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def band_sightings(
    s: Session, facility_id: str, band: str, start_s: float, end_s: float, limit: int = 10_000
) -> list[SightingRow]:
    stmt = (
        select(SightingRow)
        .where(
            SightingRow.facility_id == facility_id,
            SightingRow.device_id == band,
            SightingRow.time_s >= start_s,
            SightingRow.time_s < end_s,
        )
        .order_by(SightingRow.time_s.desc())
        .limit(limit)
    )
    return list(s.execute(stmt).scalars())


# --------------------------------------------------------------------- effects


@dataclass(frozen=True)
class StoredEffects:
    alerts: list[alerts.Stored]
    closed: list[bool]  # per stored alert: from an EpisodeClosed
    moves: int


def store_effects(
    s: Session, facility_id: str, effects: Sequence[FacilityEffect], severity: alerts.SeverityOf | None = None
) -> StoredEffects:
    """Episodes as alerts (the shared workflow), with their facility detail;
    moves as movement history. Idempotent: replayed effects change nothing."""
    stored: list[alerts.Stored] = []
    closed: list[bool] = []
    moves = []
    for eff in effects:
        if isinstance(eff, EpisodeOpened | EpisodeClosed):
            x = alerts.store_episode(s, eff.episode, severity)
            stored.append(x)
            closed.append(isinstance(eff, EpisodeClosed))
            e = eff.episode
            if isinstance(e, FacilityEpisode):
                detail = s.get(EpisodeDetailRow, x.episode.id)
                if detail is None:
                    s.add(
                        EpisodeDetailRow(
                            episode_id=x.episode.id,
                            facility_id=facility_id,
                            zone_id=e.zone,
                            detail=dict(e.detail),
                        )
                    )
                else:
                    detail.detail = dict(e.detail)
        elif isinstance(eff, Moved):
            moves.append(
                {
                    "facility_id": facility_id,
                    "person_id": eff.person,
                    "role": eff.role,
                    "band_id": eff.band,
                    "from_zone": eff.from_zone,
                    "to_zone": eff.to_zone,
                    "at_s": eff.at_s,
                    "by": eff.by,
                }
            )
    if moves:
        dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
        ins: Insert
        if dialect == "postgresql":
            ins = postgresql.insert(MovementRow).on_conflict_do_nothing(constraint="uq_prison_movements_key")
        else:
            ins = sqlite.insert(MovementRow).on_conflict_do_nothing(
                index_elements=["facility_id", "band_id", "at_s", "to_zone"]
            )
        s.execute(ins, moves)
    s.flush()
    return StoredEffects(stored, closed, len(moves))


def movements(
    s: Session, facility_id: str, person: str, start_s: float, end_s: float, limit: int = 5000
) -> list[MovementRow]:
    stmt = (
        select(MovementRow)
        .where(
            MovementRow.facility_id == facility_id,
            MovementRow.person_id == person,
            MovementRow.at_s >= start_s,
            MovementRow.at_s < end_s,
        )
        .order_by(MovementRow.at_s, MovementRow.id)
        .limit(limit)
    )
    return list(s.execute(stmt).scalars())


def last_move_before(s: Session, facility_id: str, person: str, t: float) -> MovementRow | None:
    stmt = (
        select(MovementRow)
        .where(MovementRow.facility_id == facility_id, MovementRow.person_id == person, MovementRow.at_s < t)
        .order_by(MovementRow.at_s.desc())
        .limit(1)
    )
    return s.execute(stmt).scalar_one_or_none()


def facility_episodes(
    s: Session, facility_id: str, *, open_only: bool = False, limit: int = 500
) -> list[tuple[Any, Any, EpisodeDetailRow]]:
    from ronda.storage.models import AlertRow, EpisodeRow

    stmt = (
        select(EpisodeRow, AlertRow, EpisodeDetailRow)
        .join(AlertRow, AlertRow.episode_id == EpisodeRow.id)
        .join(EpisodeDetailRow, EpisodeDetailRow.episode_id == EpisodeRow.id)
        .where(EpisodeDetailRow.facility_id == facility_id)
        .order_by(EpisodeRow.raised_s.desc())
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(EpisodeRow.end_s.is_(None))
    return [(e, a, d) for e, a, d in s.execute(stmt)]


# ------------------------------------------------------------------ headcounts


def save_headcount(s: Session, count: Headcount, kind: str, requested_by: str) -> HeadcountRow:
    result = count.to_json()
    existing = s.execute(
        select(HeadcountRow).where(
            HeadcountRow.facility_id == count.facility,
            HeadcountRow.at_s == count.at_s,
            HeadcountRow.kind == kind,
        )
    ).scalar_one_or_none()
    if existing is not None:  # a scheduled count replayed after a restart
        return existing
    n = len(count.discrepancies)
    t = now_s()
    row = HeadcountRow(
        facility_id=count.facility,
        at_s=count.at_s,
        kind=kind,
        requested_by=requested_by,
        status="exact" if n == 0 else "open",
        result=result,
        discrepancies=n,
        created_s=t,
        closed_s=t if n == 0 else None,
    )
    s.add(row)
    s.flush()
    return row


def get_headcount(s: Session, facility_id: str, headcount_id: int) -> HeadcountRow:
    row = s.get(HeadcountRow, headcount_id)
    if row is None or row.facility_id != facility_id:
        raise NotFound("headcount", headcount_id)
    return row


def list_headcounts(s: Session, facility_id: str, limit: int = 100) -> list[HeadcountRow]:
    stmt = (
        select(HeadcountRow)
        .where(HeadcountRow.facility_id == facility_id)
        .order_by(HeadcountRow.at_s.desc(), HeadcountRow.id.desc())
        .limit(limit)
    )
    return list(s.execute(stmt).scalars())


def reconciliations(s: Session, headcount_id: int) -> list[ReconciliationRow]:
    stmt = (
        select(ReconciliationRow)
        .where(ReconciliationRow.headcount_id == headcount_id)
        .order_by(ReconciliationRow.id)
    )
    return list(s.execute(stmt).scalars())


def reconcile(
    s: Session, row: HeadcountRow, inmate: str, resolution: str, note: str, officer: str
) -> ReconciliationRow:
    """Record an officer's account of one discrepancy; the count is reconciled
    once every discrepancy has one."""
    res = resolution_of(resolution)
    open_ones = {d["inmate"] for d in row.result.get("discrepancies", [])}
    if inmate not in open_ones:
        raise InvalidInput("{inmate} is not a discrepancy of this count", field="inmate", inmate=inmate)
    t = now_s()
    rec = ReconciliationRow(
        headcount_id=row.id, inmate_id=inmate, resolution=res.value, note=note, officer=officer, at_s=t
    )
    s.add(rec)
    s.flush()
    done = set(
        s.execute(
            select(ReconciliationRow.inmate_id).where(ReconciliationRow.headcount_id == row.id).distinct()
        ).scalars()
    )
    if open_ones <= done and row.status == "open":
        row.status, row.closed_s = "reconciled", t
    s.flush()
    return rec


def count_sightings(s: Session, facility_id: str) -> int:
    return int(
        s.execute(
            select(func.count()).select_from(SightingRow).where(SightingRow.facility_id == facility_id)
        ).scalar_one()
    )
