"""Writing the exchange files from the store: everything, or one person's
period (the evidence bundle uses the same files)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.exchange import format as fm
from ronda.storage import cases
from ronda.storage.caseload import DEFAULT_POLICY, DEFAULT_SITE, POLICY, SITE
from ronda.storage.models import (
    AlertActionRow,
    AlertRow,
    AssignmentRow,
    DeviceRow,
    EpisodeRow,
    OrderRow,
    OrderVersionRow,
    PersonRow,
    RecordRow,
    RuleRow,
    ZoneRow,
)
from ronda.storage.orders import rule_to_json

PAGE = 20_000


@dataclass(frozen=True)
class Scope:
    """What to export: all (None) or one person's devices and alerts over a period."""

    person: str | None = None
    start_s: float | None = None
    end_s: float | None = None


def _holders(s: Session) -> list[AssignmentRow]:
    return list(s.execute(select(AssignmentRow).order_by(AssignmentRow.start_s, AssignmentRow.id)).scalars())


class _Wearer:
    """Who wore a device at an instant (from the assignment history)."""

    def __init__(self, rows: list[AssignmentRow]) -> None:
        self.by_device: dict[str, list[AssignmentRow]] = {}
        for a in rows:
            self.by_device.setdefault(a.device_id, []).append(a)

    def at(self, device: str, t: float) -> str | None:
        for a in reversed(self.by_device.get(device, [])):
            if a.start_s <= t and (a.end_s is None or t < a.end_s):
                return a.person_id
        return None


def _records(s: Session, scope: Scope, wearer: _Wearer) -> Iterator[Any]:
    """Records in (device, time, kind) order, paged, limited to the scope
    (plain rows, not ORM objects: a history is millions of them)."""
    table = RecordRow.__table__
    stmt = select(*table.columns).order_by(RecordRow.device_id, RecordRow.time_s, RecordRow.kind)
    if scope.person is not None:
        devices = sorted(
            {a.device_id for rows in wearer.by_device.values() for a in rows if a.person_id == scope.person}
        )
        stmt = stmt.where(RecordRow.device_id.in_(devices))
    if scope.start_s is not None:
        stmt = stmt.where(RecordRow.time_s >= scope.start_s)
    if scope.end_s is not None:
        stmt = stmt.where(RecordRow.time_s < scope.end_s)
    last: tuple[str, float, str] | None = None
    while True:
        page = stmt
        if last is not None:
            d, t, k = last
            page = page.where(
                (RecordRow.device_id > d)
                | ((RecordRow.device_id == d) & (RecordRow.time_s > t))
                | ((RecordRow.device_id == d) & (RecordRow.time_s == t) & (RecordRow.kind > k))
            )
        rows = s.execute(page.limit(PAGE)).all()
        if not rows:
            return
        for r in rows:
            if scope.person is None or wearer.at(r.device_id, r.time_s) == scope.person:
                yield r
        last = (rows[-1].device_id, rows[-1].time_s, rows[-1].kind)


class Sink(Protocol):
    """Where a file's bytes go: memory (a bundle) or a file (a full export)."""

    def write(self, data: bytes, /) -> object: ...


def write_records(s: Session, scope: Scope, open_file: Callable[[str], Sink]) -> None:
    """Stream positions (CSV and GeoJSON Lines), events (CSV and GeoJSON Lines)
    and sightings (CSV) into the sinks, one page of rows in memory at a time."""
    wearer = _Wearer(_holders(s))
    out = {name: open_file(name) for name in RECORD_FILES}
    for name, columns in (
        ("positions.csv", fm.POSITIONS),
        ("events.csv", fm.EVENTS),
        ("sightings.csv", fm.SIGHTINGS),
    ):
        out[name].write(fm.csv_bytes(columns, []))
    for r in _records(s, scope, wearer):
        base = {
            "device": r.device_id,
            "person": wearer.at(r.device_id, r.time_s),
            "time": fm.iso(r.time_s),
            "received": fm.iso(r.received_s),
        }
        if r.kind == "position":
            row = {
                **base,
                "lat": r.lat,
                "lon": r.lon,
                "accuracy_m": r.accuracy_m,
                "speed_mps": r.speed_mps,
                "battery_pct": r.battery_pct,
                "course_deg": r.course_deg,
                "altitude_m": r.altitude_m,
                "valid": bool(r.valid),
            }
            out["positions.csv"].write(fm.csv_row(fm.POSITIONS, row))
            props = {k: v for k, v in row.items() if k not in ("lat", "lon")}
            out["positions.geojsonl"].write(
                fm.json_line(fm.point_feature(props, r.lon, r.lat)).encode("utf-8")
            )
        elif r.kind == "sighting":
            extra = r.extra or {}
            row = {
                **base,
                "reader": extra.get("reader"),
                "zone": extra.get("zone"),
                "rssi_dbm": extra.get("rssi_dbm"),
            }
            out["sightings.csv"].write(fm.csv_row(fm.SIGHTINGS, row))
        else:
            row = {**base, "kind": r.kind, "battery_pct": r.battery_pct}
            out["events.csv"].write(fm.csv_row(fm.EVENTS, row))
            out["events.geojsonl"].write(fm.json_line(fm.point_feature(row, None, None)).encode("utf-8"))


RECORD_FILES = ("positions.csv", "positions.geojsonl", "events.csv", "events.geojsonl", "sightings.csv")


def record_tables(s: Session, scope: Scope) -> dict[str, bytes]:
    """The record files in memory (a person's period, for a bundle)."""
    buffers = {name: io.BytesIO() for name in RECORD_FILES}
    write_records(s, scope, buffers.__getitem__)
    return {name: b.getvalue() for name, b in buffers.items()}


def alert_tables(s: Session, scope: Scope) -> dict[str, bytes]:
    stmt = (
        select(EpisodeRow, AlertRow)
        .join(AlertRow, AlertRow.episode_id == EpisodeRow.id)
        .order_by(AlertRow.id)
    )
    if scope.person is not None:
        stmt = stmt.where(EpisodeRow.person_id == scope.person)
    if scope.end_s is not None:
        stmt = stmt.where(EpisodeRow.start_s < scope.end_s)
    if scope.start_s is not None:
        stmt = stmt.where(EpisodeRow.end_s.is_(None) | (EpisodeRow.end_s >= scope.start_s))
    rows = []
    lines = []
    ids = []
    for e, a in s.execute(stmt):
        row = {
            "id": a.id,
            "type": e.type,
            "person": e.person_id,
            "rule": e.rule_id,
            "device": e.device_id,
            "start": fm.iso(e.start_s),
            "raised": fm.iso(e.raised_s),
            "end": fm.iso(e.end_s),
            "status": a.status,
            "severity": a.severity,
            "owner": a.owner,
            "outcome": a.outcome,
            "created": fm.iso(a.created_s),
            "updated": fm.iso(a.updated_s),
        }
        ids.append(a.id)
        rows.append(row)
        lines.append(fm.json_line(fm.point_feature(row, None, None)))
    actions = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for act in s.execute(
            select(AlertActionRow).where(AlertActionRow.alert_id.in_(chunk)).order_by(AlertActionRow.id)
        ).scalars():
            actions.append(
                {
                    "alert": act.alert_id,
                    "action": act.action,
                    "actor": act.actor,
                    "from_status": act.from_status,
                    "to_status": act.to_status,
                    "text": act.text,
                    "at": fm.iso(act.at_s),
                }
            )
    actions.sort(key=lambda r: (r["alert"], r["at"] or ""))
    return {
        "alerts.csv": fm.csv_bytes(fm.ALERTS, rows),
        "alerts.geojsonl": "".join(lines).encode("utf-8"),
        "alert_actions.csv": fm.csv_bytes(fm.ALERT_ACTIONS, actions),
    }


def _order_lines(s: Session, scope: Scope) -> list[dict[str, Any]]:
    stmt = select(OrderRow).order_by(OrderRow.id)
    if scope.person is not None:
        stmt = stmt.where(OrderRow.person_id == scope.person)
    out = []
    for o in s.execute(stmt).scalars():
        versions = []
        for v in s.execute(
            select(OrderVersionRow).where(OrderVersionRow.order_id == o.id).order_by(OrderVersionRow.version)
        ).scalars():
            rules = s.execute(
                select(RuleRow)
                .where(RuleRow.order_id == o.id, RuleRow.version == v.version)
                .order_by(RuleRow.position)
            ).scalars()
            versions.append(
                {
                    "version": v.version,
                    "timezone": v.timezone,
                    "created": fm.iso(v.created_s),
                    "created_by": v.created_by,
                    "rules": [rule_to_json(r) for r in rules],
                }
            )
        out.append(
            {
                "id": o.id,
                "person": o.person_id,
                "active": o.active,
                "version": o.version,
                "created": fm.iso(o.created_s),
                "updated": fm.iso(o.updated_s),
                "versions": versions,
            }
        )
    return out


def setup_tables(s: Session, scope: Scope) -> dict[str, bytes]:
    """persons, devices, assignments, zones, orders and site settings."""
    assignments = _holders(s)
    orders = _order_lines(s, scope)
    if scope.person is not None:
        assignments = [a for a in assignments if a.person_id == scope.person]
        persons = {scope.person} | {
            str(r["person"]) for o in orders for v in o["versions"] for r in v["rules"] if r.get("person")
        }
        devices = {a.device_id for a in assignments}
        zones = {str(r["zone"]) for o in orders for v in o["versions"] for r in v["rules"] if r.get("zone")}
    person_rows = list(s.execute(select(PersonRow).order_by(PersonRow.id)).scalars())
    device_rows = list(s.execute(select(DeviceRow).order_by(DeviceRow.id)).scalars())
    zone_rows = list(s.execute(select(ZoneRow).order_by(ZoneRow.id)).scalars())
    if scope.person is not None:
        person_rows = [p for p in person_rows if p.id in persons]
        device_rows = [d for d in device_rows if d.id in devices]
        zones |= {d.home_zone_id for d in device_rows if d.home_zone_id}
        zone_rows = [z for z in zone_rows if z.id in zones]
    zone_fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": z.id,
                "geometry": z.geometry,
                "properties": {"id": z.id, "name": z.name, "radius_m": z.radius_m},
            }
            for z in zone_rows
        ],
    }
    settings = {
        "site": cases.get_setting(s, SITE, DEFAULT_SITE),
        "policy": cases.get_setting(s, POLICY, DEFAULT_POLICY),
    }
    return {
        "persons.csv": fm.csv_bytes(
            fm.PERSONS, ({"id": p.id, "role": p.role, "name": p.name} for p in person_rows)
        ),
        "devices.csv": fm.csv_bytes(
            fm.DEVICES,
            (
                {
                    "id": d.id,
                    "kind": d.kind,
                    "serial": d.serial,
                    "status": d.status,
                    "person": d.person_id,
                    "home_zone": d.home_zone_id,
                    "report_interval_s": d.report_interval_s,
                    "comms_timeout_s": d.comms_timeout_s,
                }
                for d in device_rows
            ),
        ),
        "assignments.csv": fm.csv_bytes(
            fm.ASSIGNMENTS,
            (
                {
                    "device": a.device_id,
                    "person": a.person_id,
                    "start": fm.iso(a.start_s),
                    "end": fm.iso(a.end_s),
                    "assigned_by": a.assigned_by,
                    "ended_by": a.ended_by,
                }
                for a in assignments
            ),
        ),
        "zones.geojson": (json.dumps(zone_fc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode(
            "utf-8"
        ),
        "orders.jsonl": fm.jsonl_bytes(orders),
        "settings.json": (json.dumps(settings, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    }


class _HashingFile:
    """A file that counts and digests what is written to it (for the manifest)."""

    def __init__(self, path: Path) -> None:
        self.fh = path.open("wb")
        self.sha = hashlib.sha256()
        self.bytes = 0
        self.lines = 0

    def write(self, data: bytes, /) -> int:
        self.sha.update(data)
        self.bytes += len(data)
        self.lines += data.count(b"\n")
        return self.fh.write(data)


def export_dir(s: Session, directory: Path, exported: str) -> int:
    """The whole history into `directory`, records streamed (memory stays
    bounded whatever the history's size), then the manifest. Returns the
    number of files written."""
    directory.mkdir(parents=True, exist_ok=True)
    listing: dict[str, dict[str, Any]] = {}
    small = {**setup_tables(s, Scope()), **alert_tables(s, Scope())}
    for name, data in small.items():
        (directory / name).write_bytes(data)
        listing[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "lines": data.count(b"\n"),
        }
    files: dict[str, _HashingFile] = {}

    def open_file(name: str) -> _HashingFile:
        files[name] = _HashingFile(directory / name)
        return files[name]

    try:
        write_records(s, Scope(), open_file)
    finally:
        for f in files.values():
            f.fh.close()
    for name, f in files.items():
        listing[name] = {"sha256": f.sha.hexdigest(), "bytes": f.bytes, "lines": f.lines}
    doc = {"format": fm.FORMAT, "exported": exported, "files": dict(sorted(listing.items()))}
    (directory / fm.MANIFEST).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(listing) + 1


def export_files(s: Session, scope: Scope | None = None) -> dict[str, bytes]:
    scope = scope or Scope()
    return {**setup_tables(s, scope), **record_tables(s, scope), **alert_tables(s, scope)}
