"""Positions and device events: batched idempotent inserts, reads in order."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ronda.storage.models import RecordRow
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, ZoneId

RecordKey = tuple[str, float, str]
POSITION = "position"
SIGHTING = "sighting"


def record_kind(rec: Record) -> str:
    if isinstance(rec, DeviceEvent):
        return rec.kind.value
    return POSITION if isinstance(rec, Position) else SIGHTING


def record_key(rec: Record) -> RecordKey:
    """The idempotence key: a record resent with the same device, event time and
    kind is the same record (as ronda.pipeline.memory.record_key)."""
    return (rec.device, rec.time_s, record_kind(rec))


def to_row(rec: Record) -> dict[str, Any]:
    row: dict[str, Any] = {
        "device_id": rec.device,
        "time_s": rec.time_s,
        "kind": record_kind(rec),
        "received_s": rec.received_s,
        "lat": None,
        "lon": None,
        "accuracy_m": None,
        "speed_mps": None,
        "battery_pct": None,
        "course_deg": None,
        "altitude_m": None,
        "valid": True,
        "extra": None,
    }
    if isinstance(rec, Position):
        row.update(
            lat=rec.lat,
            lon=rec.lon,
            accuracy_m=rec.accuracy_m,
            speed_mps=rec.speed_mps,
            battery_pct=rec.battery_pct,
            course_deg=rec.course_deg,
            altitude_m=rec.altitude_m,
            valid=rec.valid,
        )
    elif isinstance(rec, DeviceEvent):
        row["battery_pct"] = rec.battery_pct
    else:
        row["extra"] = {"reader": rec.reader, "zone": rec.zone, "rssi_dbm": rec.rssi_dbm}
    return row


def from_row(row: Any) -> Record:
    device = DeviceId(row.device_id)
    if row.kind == POSITION:
        return Position(
            device,
            row.time_s,
            row.received_s,
            lat=row.lat,
            lon=row.lon,
            accuracy_m=row.accuracy_m,
            speed_mps=row.speed_mps,
            battery_pct=row.battery_pct,
            valid=row.valid,
            course_deg=row.course_deg,
            altitude_m=row.altitude_m,
        )
    if row.kind == SIGHTING:
        extra = row.extra or {}
        zone = extra.get("zone")
        return Sighting(
            device,
            row.time_s,
            row.received_s,
            reader=str(extra.get("reader", "")),
            zone=ZoneId(zone) if zone else None,
            rssi_dbm=extra.get("rssi_dbm"),
        )
    return DeviceEvent(device, row.time_s, row.received_s, EventKind(row.kind), row.battery_pct)


def _insert(conn: Connection) -> Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(RecordRow).on_conflict_do_nothing(constraint="uq_records_device_time_kind")
    return sqlite.insert(RecordRow).on_conflict_do_nothing(index_elements=["device_id", "time_s", "kind"])


_PG_COLUMNS = (
    "device_id text, time_s float8, kind text, received_s float8, lat float8, lon float8, "
    "accuracy_m float8, speed_mps float8, battery_pct float8, course_deg float8, altitude_m float8, "
    "valid boolean, extra json"
)
_PG_NAMES = (
    "device_id, time_s, kind, received_s, lat, lon, accuracy_m, speed_mps, battery_pct, course_deg, "
    "altitude_m, valid, extra"
)
# One statement with one parameter whatever the batch size: the rows travel as
# one JSON document (written by the C json encoder, parsed once by the
# server; a key left out is NULL). The statement text never changes, so the
# driver parses it once and prepares it after a few uses; a many-VALUES insert
# is a new statement of thousands of placeholders every time (that was most of
# the ingest CPU). Floats are written with repr (the shortest exact form) and
# read back exactly by float8. `valid` defaults to true and `extra` to the
# JSON null, as the generic path stores them. Being one statement, it is
# atomic on its own (the record writer runs it in autocommit: no BEGIN).
_PG_INSERT = (
    f"INSERT INTO records ({_PG_NAMES}) "
    "SELECT device_id, time_s, kind, received_s, lat, lon, accuracy_m, speed_mps, battery_pct, course_deg, "
    "altitude_m, coalesce(valid, true), coalesce(extra, 'null'::json) "
    f"FROM json_to_recordset(%s::json) AS x({_PG_COLUMNS}) "
    "ON CONFLICT ON CONSTRAINT uq_records_device_time_kind DO NOTHING "
    "RETURNING seq, device_id, time_s, kind"
)
_POSITION_COLUMNS = ("lat", "lon", "accuracy_m", "speed_mps", "battery_pct", "course_deg", "altitude_m")


def _pg_row(rec: Record) -> dict[str, Any]:
    """`to_row` without the NULLs (json_to_recordset fills them in)."""
    if isinstance(rec, Position):
        row: dict[str, Any] = {
            "device_id": rec.device,
            "time_s": rec.time_s,
            "kind": POSITION,
            "received_s": rec.received_s,
        }
        for column in _POSITION_COLUMNS:  # the attribute has the column's name
            v = getattr(rec, column)
            if v is not None:
                row[column] = v
        if not rec.valid:
            row["valid"] = False
        return row
    row = {
        "device_id": rec.device,
        "time_s": rec.time_s,
        "kind": record_kind(rec),
        "received_s": rec.received_s,
    }
    if isinstance(rec, DeviceEvent):
        if rec.battery_pct is not None:
            row["battery_pct"] = rec.battery_pct
    else:
        row["extra"] = {"reader": rec.reader, "zone": rec.zone, "rssi_dbm": rec.rssi_dbm}
    return row


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity; float8 reads them from strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": accepted by float8
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _insert_postgresql(conn: Connection, unique: dict[RecordKey, Record]) -> Sequence[Any]:
    rows = [_pg_row(r) for r in unique.values()]
    try:
        doc = json.dumps(rows, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a non-finite number somewhere (the gateways refuse them)
        doc = json.dumps([_finite(row) for row in rows], separators=(",", ":"))
    return conn.exec_driver_sql(_PG_INSERT, (doc,)).all()


def insert_records(conn: Connection, records: Sequence[Record]) -> list[tuple[int, Record]]:
    """Insert what is new (one statement for the batch) and return it with its
    sequence number, in sequence order. A record already stored (same key) is
    skipped; so is the second of two equal keys in one batch."""
    unique: dict[RecordKey, Record] = {}
    for rec in records:
        unique.setdefault(record_key(rec), rec)
    if not unique:
        return []
    rows: Sequence[Any]
    if conn.dialect.name == "postgresql":
        rows = _insert_postgresql(conn, unique)
    else:
        stmt = _insert(conn).returning(RecordRow.seq, RecordRow.device_id, RecordRow.time_s, RecordRow.kind)
        rows = conn.execute(stmt, [to_row(r) for r in unique.values()]).all()
    out = [(int(r.seq), unique[(r.device_id, r.time_s, r.kind)]) for r in rows]
    out.sort(key=lambda p: p[0])
    return out


def records_after(session: Session | Connection, seq: int, limit: int = 10_000) -> list[tuple[int, Record]]:
    """Stored records with a sequence number above `seq`, in order."""
    rows = session.execute(select(RecordRow).where(RecordRow.seq > seq).order_by(RecordRow.seq).limit(limit))
    return [(r.seq, from_row(r)) for r in rows.scalars()]


def last_seq(session: Session | Connection) -> int:
    from sqlalchemy import func

    return int(session.execute(select(func.coalesce(func.max(RecordRow.seq), 0))).scalar_one())


def device_records(
    session: Session,
    devices: Iterable[str],
    start_s: float,
    end_s: float,
    *,
    kinds: Sequence[str] = (POSITION,),
    limit: int = 100_000,
) -> list[RecordRow]:
    """Records of the devices with event time in [start_s, end_s), by time."""
    stmt = (
        select(RecordRow)
        .where(
            RecordRow.device_id.in_(list(devices)),
            RecordRow.time_s >= start_s,
            RecordRow.time_s < end_s,
            RecordRow.kind.in_(list(kinds)),
        )
        .order_by(RecordRow.time_s, RecordRow.device_id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def count_records(session: Session, device: str | None = None) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(RecordRow)
    if device is not None:
        stmt = stmt.where(RecordRow.device_id == device)
    return int(session.execute(stmt).scalar_one())
