"""Persons, zones, devices (inventory and who wore them), site settings."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from ronda.storage.errors import Conflict, NotFound
from ronda.storage.models import (
    AssignmentRow,
    DeviceRow,
    OrderRow,
    PersonRow,
    RuleRow,
    SettingRow,
    ZoneRow,
)

DEVICE_STATUSES = ("in_stock", "active", "faulty", "retired")


def now_s() -> float:
    return time.time()


# ---------------------------------------------------------------- persons


def get_person(s: Session, person_id: str) -> PersonRow:
    row = s.get(PersonRow, person_id)
    if row is None:
        raise NotFound("person", person_id)
    return row


def list_persons(s: Session, role: str | None = None, limit: int = 1000, offset: int = 0) -> list[PersonRow]:
    stmt = select(PersonRow).order_by(PersonRow.id).limit(limit).offset(offset)
    if role is not None:
        stmt = stmt.where(PersonRow.role == role)
    return list(s.execute(stmt).scalars())


def create_person(s: Session, person_id: str, role: str, name: str = "") -> PersonRow:
    if s.get(PersonRow, person_id) is not None:
        raise Conflict("person {person} exists", field="id", person=repr(person_id))
    row = PersonRow(id=person_id, role=role, name=name, created_s=now_s())
    s.add(row)
    s.flush()
    return row


def update_person(
    s: Session, person_id: str, *, role: str | None = None, name: str | None = None
) -> PersonRow:
    row = get_person(s, person_id)
    if role is not None:
        row.role = role
    if name is not None:
        row.name = name
    s.flush()
    return row


def delete_person(s: Session, person_id: str) -> None:
    row = get_person(s, person_id)
    used = (
        s.execute(select(exists().where(DeviceRow.person_id == person_id))).scalar()
        or s.execute(select(exists().where(OrderRow.person_id == person_id))).scalar()
        or s.execute(select(exists().where(AssignmentRow.person_id == person_id))).scalar()
        or s.execute(select(exists().where(RuleRow.protected_person_id == person_id))).scalar()
    )
    if used:
        raise Conflict("person {person} has devices, orders or history; it is kept", person=repr(person_id))
    s.delete(row)
    s.flush()


# ------------------------------------------------------------------ zones


def get_zone(s: Session, zone_id: str) -> ZoneRow:
    row = s.get(ZoneRow, zone_id)
    if row is None:
        raise NotFound("zone", zone_id)
    return row


def list_zones(s: Session, limit: int = 1000, offset: int = 0) -> list[ZoneRow]:
    return list(s.execute(select(ZoneRow).order_by(ZoneRow.id).limit(limit).offset(offset)).scalars())


def put_zone(
    s: Session, zone_id: str, name: str, geometry: dict[str, Any], radius_m: float | None, *, create: bool
) -> ZoneRow:
    """Create (`create`: refused if it exists) or replace a zone (validated by the caller)."""
    row = s.get(ZoneRow, zone_id)
    t = now_s()
    if row is None:
        if not create:
            raise NotFound("zone", zone_id)
        row = ZoneRow(id=zone_id, name=name, geometry=geometry, radius_m=radius_m, created_s=t, updated_s=t)
        s.add(row)
    elif create:
        raise Conflict("zone {zone} exists", field="id", zone=repr(zone_id))
    else:
        row.name, row.geometry, row.radius_m, row.updated_s = name, geometry, radius_m, t
    s.flush()
    return row


def delete_zone(s: Session, zone_id: str) -> None:
    row = get_zone(s, zone_id)
    used = (
        s.execute(select(exists().where(RuleRow.zone_id == zone_id))).scalar()
        or s.execute(select(exists().where(DeviceRow.home_zone_id == zone_id))).scalar()
    )
    if used:
        raise Conflict("zone {zone} is used by a rule or a home unit; it is kept", zone=repr(zone_id))
    s.delete(row)
    s.flush()


# ---------------------------------------------------------------- devices


def get_device(s: Session, device_id: str) -> DeviceRow:
    row = s.get(DeviceRow, device_id)
    if row is None:
        raise NotFound("device", device_id)
    return row


def list_devices(
    s: Session,
    *,
    person: str | None = None,
    status: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[DeviceRow]:
    stmt = select(DeviceRow).order_by(DeviceRow.id).limit(limit).offset(offset)
    if person is not None:
        stmt = stmt.where(DeviceRow.person_id == person)
    if status is not None:
        stmt = stmt.where(DeviceRow.status == status)
    return list(s.execute(stmt).scalars())


def device_ids(s: Session) -> set[str]:
    return set(s.execute(select(DeviceRow.id)).scalars())


def create_device(
    s: Session,
    device_id: str,
    kind: str,
    *,
    serial: str = "",
    status: str = "in_stock",
    report_interval_s: float | None = None,
    comms_timeout_s: float | None = None,
    home_zone: str | None = None,
) -> DeviceRow:
    if s.get(DeviceRow, device_id) is not None:
        raise Conflict("device {device} exists", field="id", device=repr(device_id))
    if home_zone is not None:
        get_zone(s, home_zone)
    row = DeviceRow(
        id=device_id,
        kind=kind,
        serial=serial,
        status=status,
        report_interval_s=report_interval_s,
        comms_timeout_s=comms_timeout_s,
        home_zone_id=home_zone,
        created_s=now_s(),
    )
    s.add(row)
    s.flush()
    return row


def update_device(s: Session, device_id: str, **fields: Any) -> DeviceRow:
    """Change inventory fields (serial, status, report_interval_s, comms_timeout_s, home_zone_id)."""
    row = get_device(s, device_id)
    if fields.get("home_zone_id") is not None:
        get_zone(s, fields["home_zone_id"])
    for key, value in fields.items():
        setattr(row, key, value)
    s.flush()
    return row


def delete_device(s: Session, device_id: str) -> None:
    row = get_device(s, device_id)
    if s.execute(select(exists().where(AssignmentRow.device_id == device_id))).scalar():
        raise Conflict("device {device} has an assignment history; retire it instead", device=repr(device_id))
    s.delete(row)
    s.flush()


def assign_device(
    s: Session, device_id: str, person_id: str | None, by: str, at_s: float | None = None
) -> DeviceRow:
    """Give the device to a person (None: take it back), closing the previous
    assignment; the history keeps who decided and from when (`at_s`, default now)."""
    row = get_device(s, device_id)
    if person_id is not None:
        get_person(s, person_id)
    if row.person_id == person_id:
        return row
    t = now_s() if at_s is None else at_s
    s.execute(
        update(AssignmentRow)
        .where(AssignmentRow.device_id == device_id, AssignmentRow.end_s.is_(None))
        .values(end_s=t, ended_by=by)
    )
    if person_id is not None:
        s.add(AssignmentRow(device_id=device_id, person_id=person_id, start_s=t, assigned_by=by))
        row.status = "active"
    else:
        row.status = "in_stock" if row.status == "active" else row.status
    row.person_id = person_id
    s.flush()
    return row


def assignments(s: Session, *, device: str | None = None, person: str | None = None) -> list[AssignmentRow]:
    stmt = select(AssignmentRow).order_by(AssignmentRow.start_s, AssignmentRow.id)
    if device is not None:
        stmt = stmt.where(AssignmentRow.device_id == device)
    if person is not None:
        stmt = stmt.where(AssignmentRow.person_id == person)
    return list(s.execute(stmt).scalars())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(s: Session, device_id: str, token: str | None = None) -> str:
    """A new ingest token for the device (only its hash is stored); replaces the old one."""
    row = get_device(s, device_id)
    token = token or secrets.token_urlsafe(24)
    row.token_hash = hash_token(token)
    s.flush()
    return token


def device_tokens(s: Session) -> dict[str, str]:
    """token hash -> device id, for the ingest endpoint."""
    rows = s.execute(select(DeviceRow.token_hash, DeviceRow.id).where(DeviceRow.token_hash.is_not(None)))
    return {h: d for h, d in rows if h is not None}


# --------------------------------------------------------------- settings


def get_setting(s: Session, key: str, default: dict[str, Any]) -> dict[str, Any]:
    row = s.get(SettingRow, key)
    return dict(row.value) if row is not None else dict(default)


def put_setting(s: Session, key: str, value: dict[str, Any]) -> None:
    row = s.get(SettingRow, key)
    if row is None:
        s.add(SettingRow(key=key, value=value))
    else:
        row.value = value
    s.flush()
