"""Reading exchange files (ours, or another system's through a mapping) into
the store. Idempotent: importing the same folder twice changes nothing the
second time (records, episodes and actions are keyed; the setup is updated)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.alerts.workflow import severity_of
from ronda.engine.episodes import Episode
from ronda.errors import InvalidInput
from ronda.exchange import format as fm
from ronda.exchange.mapping import TableMapping
from ronda.storage import alerts, cases, orders
from ronda.storage.caseload import POLICY, SITE
from ronda.storage.models import (
    AlertActionRow,
    AssignmentRow,
    DeviceRow,
    OrderRow,
    OrderVersionRow,
    PersonRow,
    ZoneRow,
)
from ronda.storage.records import insert_records
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, PersonId, RuleId, ZoneId
from ronda.zones.geometry import validate_zone_geometry

BATCH = 5000
ERROR = "__error__"  # a row that could not be converted carries its error under this key
STANDARD = {
    "persons": ("persons.csv",),
    "devices": ("devices.csv",),
    "assignments": ("assignments.csv",),
    "zones": ("zones.geojson",),
    "orders": ("orders.jsonl",),
    "positions": ("positions.geojsonl", "positions.csv"),
    "events": ("events.geojsonl", "events.csv"),
    "sightings": ("sightings.csv",),
    "alerts": ("alerts.csv", "alerts.geojsonl"),
    "alert_actions": ("alert_actions.csv",),
}


@dataclass
class ImportReport:
    counts: Counter[str] = field(default_factory=Counter)  # rows taken per table
    new_records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # rows refused, per table
    first_errors: list[str] = field(default_factory=list)  # the first 20, in English
    errors: list[InvalidInput] = field(default_factory=list)  # the same, to show in a reader's language

    def skip(self, table: str, row: int, exc: Exception) -> None:
        """Count row `row` of `table` as refused, naming why (`row 4, field 'lat': ...`)."""
        self.skipped[table] += 1
        if len(self.first_errors) < 20:
            error = _at_row(row, exc)
            self.first_errors.append(f"{table}: {error}")
            self.errors.append(error)


def _at_row(i: int, exc: Exception) -> InvalidInput:
    """Why row `i` was refused: another error's template and values carried over."""
    if isinstance(exc, InvalidInput):
        values: dict[str, Any] = dict(exc.values)  # the template's own, never source/line/field
        return InvalidInput(exc.template, source=f"row {i}", field=exc.field, **values)
    if isinstance(exc, KeyError) and exc.args:
        return InvalidInput("missing", source=f"row {i}", field=str(exc.args[0]))
    return InvalidInput("the row cannot be read: {error}", source=f"row {i}", error=str(exc))


def _read(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Rows of a file, one at a time (a history may not fit in memory); a line
    that is not JSON becomes an error row, counted like any other bad row."""
    if fmt == "geojson":
        doc = json.loads(path.read_bytes())
        yield from (fm.feature_row(f) for f in doc.get("features", []))
        return
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        if fmt == "csv":
            yield from (dict(r) for r in csv.DictReader(fh))
            return
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield {ERROR: InvalidInput("not JSON: {error}", source=path.name, line=n, error=str(exc))}
                continue
            if not isinstance(value, dict):
                yield {ERROR: InvalidInput("expected an object", source=path.name, line=n)}
            else:
                yield fm.feature_row(value) if value.get("type") == "Feature" else value


def _converted(rows: Iterator[dict[str, Any]], m: TableMapping) -> Iterator[dict[str, Any]]:
    for r in rows:
        if ERROR in r:
            yield r
            continue
        try:
            yield m.convert(r, m.file)
        except InvalidInput as exc:  # counted and named by the caller, like any bad row
            yield {ERROR: exc}


def read_table(
    directory: Path, table: str, mapping: dict[str, TableMapping] | None
) -> Iterator[dict[str, Any]] | None:
    """The rows of one table as exchange rows, streamed, or None if the folder has none."""
    m = (mapping or {}).get(table)
    if m is not None:
        path = directory / m.file
        if not path.exists():
            raise InvalidInput(
                "the mapping names {file}, which is not there", source=str(directory), file=m.file
            )
        return _converted(_read(path, m.format), m)
    for name in STANDARD[table]:
        path = directory / name
        if path.exists():
            if table == "zones":
                doc = json.loads(path.read_bytes())
                return iter(
                    [
                        {**(f.get("properties") or {}), "geometry": f.get("geometry")}
                        for f in doc.get("features", [])
                    ]
                )
            return _read(path, name.rsplit(".", 1)[1])
    return None


def _check(row: dict[str, Any]) -> None:
    error = row.get(ERROR)
    if isinstance(error, InvalidInput):
        raise error


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _num(v: Any, name: str) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise InvalidInput("expected a number", field=name)
    try:
        return float(v)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("not a number: {value}", field=name, value=repr(str(v)[:40])) from exc


def _bool(v: Any, default: bool = True) -> bool:
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "1", "yes", "y", "t")


def _time(v: Any, name: str) -> float:
    if v is None or v == "":
        raise InvalidInput("missing", field=name)
    return fm.parse_instant(str(v), name)


def _opt_time(v: Any, name: str) -> float | None:
    return None if v is None or v == "" else fm.parse_instant(str(v), name)


def _required(row: dict[str, Any], name: str) -> str:
    v = _text(row.get(name))
    if v is None:
        raise InvalidInput("missing", field=name)
    return v


def _record(table: str, row: dict[str, Any]) -> Record:
    device = DeviceId(_required(row, "device"))
    t = _time(row.get("time"), "time")
    received = _opt_time(row.get("received"), "received")
    received = t if received is None else received
    if table == "positions":
        lat, lon = _num(row.get("lat"), "lat"), _num(row.get("lon"), "lon")
        valid = _bool(row.get("valid"), default=lat is not None and lon is not None)
        if lat is not None and not -90 <= lat <= 90:
            raise InvalidInput("latitude {lat} outside -90..90", field="lat", lat=lat)
        if lon is not None and not -180 <= lon <= 180:
            raise InvalidInput("longitude {lon} outside -180..180", field="lon", lon=lon)
        return Position(
            device,
            t,
            received,
            lat=lat,
            lon=lon,
            accuracy_m=_num(row.get("accuracy_m"), "accuracy_m"),
            speed_mps=_num(row.get("speed_mps"), "speed_mps"),
            battery_pct=_num(row.get("battery_pct"), "battery_pct"),
            valid=valid,
            course_deg=_num(row.get("course_deg"), "course_deg"),
            altitude_m=_num(row.get("altitude_m"), "altitude_m"),
        )
    if table == "events":
        kind = _required(row, "kind")
        try:
            ev = EventKind(kind)
        except ValueError as exc:
            raise InvalidInput("unknown event kind {kind}", field="kind", kind=repr(kind)) from exc
        return DeviceEvent(device, t, received, ev, _num(row.get("battery_pct"), "battery_pct"))
    zone = _text(row.get("zone"))
    return Sighting(
        device,
        t,
        received,
        reader=_required(row, "reader"),
        zone=ZoneId(zone) if zone else None,
        rssi_dbm=_num(row.get("rssi_dbm"), "rssi_dbm"),
    )


def import_dir(
    s: Session, directory: Path, mapping: dict[str, TableMapping] | None = None, by: str = "exchange-import"
) -> ImportReport:
    """Import what the folder holds. Bad rows are counted and named (the first
    few), never stop the import; a missing reference is a bad row."""
    rep = ImportReport()
    settings = directory / "settings.json"
    if settings.exists() and not mapping:
        doc = json.loads(settings.read_bytes())
        if isinstance(doc.get("site"), dict):
            cases.put_setting(s, SITE, doc["site"])
        if isinstance(doc.get("policy"), dict):
            cases.put_setting(s, POLICY, doc["policy"])
    tables: dict[str, list[dict[str, Any]] | None] = {}
    for t in ("persons", "zones", "devices", "assignments", "orders"):  # small: read whole
        rows = read_table(directory, t, mapping)
        tables[t] = None if rows is None else list(rows)
    if tables["assignments"] is None and tables["devices"]:
        # another system's device list may name the wearer without a history:
        # the device is taken as worn by that person throughout
        tables["assignments"] = [
            {"device": d.get("id"), "person": d.get("person"), "start": fm.iso(0.0)}
            for d in tables["devices"]
            if _text(d.get("person"))
        ]
    for table, setup_rows in tables.items():
        for i, row in enumerate(setup_rows or [], start=1):
            try:
                _check(row)
                with s.begin_nested():
                    _SETUP[table](s, row, by)
                rep.counts[table] += 1
            except (InvalidInput, KeyError, TypeError, ValueError) as exc:
                rep.skip(table, i, exc)
    known = cases.device_ids(s)
    for table in ("positions", "events", "sightings"):
        batch: list[Record] = []
        for i, row in enumerate(read_table(directory, table, mapping) or [], start=1):
            try:
                _check(row)
                rec = _record(table, row)
                if rec.device not in known:
                    raise InvalidInput("unknown device {device}", field="device", device=repr(rec.device))
            except InvalidInput as exc:
                rep.skip(table, i, exc)
                continue
            batch.append(rec)
            rep.counts[table] += 1
            if len(batch) >= BATCH:
                rep.new_records += len(insert_records(s.connection(), batch))
                batch = []
        if batch:
            rep.new_records += len(insert_records(s.connection(), batch))
    ids: dict[str, int] = {}
    for i, row in enumerate(read_table(directory, "alerts", mapping) or [], start=1):
        try:
            _check(row)
            with s.begin_nested():
                ids[str(row.get("id") or i)] = _alert(s, row)
            rep.counts["alerts"] += 1
        except (InvalidInput, KeyError, ValueError) as exc:
            rep.skip("alerts", i, exc)
    for i, row in enumerate(read_table(directory, "alert_actions", mapping) or [], start=1):
        try:
            _check(row)
            alert_id = ids.get(_required(row, "alert"))
            if alert_id is None:
                raise InvalidInput(
                    "no alert {alert} in this import", field="alert", alert=repr(row.get("alert"))
                )
            if _action(s, alert_id, row):
                rep.counts["alert_actions"] += 1
        except InvalidInput as exc:
            rep.skip("alert_actions", i, exc)
    s.flush()
    return rep


def _person(s: Session, row: dict[str, Any], by: str) -> None:
    pid, role = _required(row, "id"), _text(row.get("role")) or "monitored"
    if role not in ("monitored", "protected"):
        raise InvalidInput("unknown role {role}", field="role", role=repr(role))
    if s.get(PersonRow, pid) is None:
        cases.create_person(s, pid, role, _text(row.get("name")) or "")
    else:
        cases.update_person(s, pid, role=role, name=_text(row.get("name")) or "")


def _zone(s: Session, row: dict[str, Any], by: str) -> None:
    zid = _required(row, "id")
    geometry = row.get("geometry")
    if isinstance(geometry, str):
        geometry = json.loads(geometry)
    radius = _num(row.get("radius_m"), "radius_m")
    validate_zone_geometry(geometry, radius)
    assert isinstance(geometry, dict)  # validated
    cases.put_zone(
        s, zid, _text(row.get("name")) or zid, geometry, radius, create=s.get(ZoneRow, zid) is None
    )


def _device(s: Session, row: dict[str, Any], by: str) -> None:
    did = _required(row, "id")
    kind = _text(row.get("kind")) or "gps_tag"
    serial = _text(row.get("serial")) or did
    interval = _num(row.get("report_interval_s"), "report_interval_s")
    timeout = _num(row.get("comms_timeout_s"), "comms_timeout_s")
    home = _text(row.get("home_zone"))
    if s.get(DeviceRow, did) is None:
        cases.create_device(
            s, did, kind, serial=serial, report_interval_s=interval, comms_timeout_s=timeout, home_zone=home
        )
    else:
        cases.update_device(
            s,
            did,
            kind=kind,
            serial=serial,
            report_interval_s=interval,
            comms_timeout_s=timeout,
            home_zone_id=home,
        )
    status = _text(row.get("status"))
    if status is not None:
        cases.get_device(s, did).status = status


def _assignment(s: Session, row: dict[str, Any], by: str) -> None:
    device, person = _required(row, "device"), _required(row, "person")
    cases.get_device(s, device)
    cases.get_person(s, person)
    start = _time(row.get("start"), "start")
    end = _opt_time(row.get("end"), "end")
    found = s.execute(
        select(AssignmentRow).where(
            AssignmentRow.device_id == device,
            AssignmentRow.person_id == person,
            AssignmentRow.start_s == start,
        )
    ).scalar_one_or_none()
    if found is None:
        s.add(
            AssignmentRow(
                device_id=device,
                person_id=person,
                start_s=start,
                assigned_by=_text(row.get("assigned_by")) or by,
                end_s=end,
                ended_by=_text(row.get("ended_by")),
            )
        )
    else:
        found.end_s, found.ended_by = end, _text(row.get("ended_by"))
    d = cases.get_device(s, device)
    if end is None:
        d.person_id, d.status = person, "active"
    elif d.person_id == person:
        d.person_id = None
    s.flush()


def _order(s: Session, row: dict[str, Any], by: str) -> None:
    oid, person = _required(row, "id"), _required(row, "person")
    versions = row.get("versions")
    if isinstance(versions, str):
        versions = json.loads(versions)
    if not versions:  # a flat order from another system: one version
        rules = row.get("rules")
        rules = json.loads(rules) if isinstance(rules, str) else rules
        versions = [{"version": 1, "timezone": _required(row, "timezone"), "rules": rules or []}]
    for v in sorted(versions, key=lambda v: int(v.get("version", 1))):
        number = int(v.get("version", 1))
        if s.get(OrderVersionRow, (oid, number)) is not None:
            continue
        tz, rules = str(v["timezone"]), list(v.get("rules") or [])
        if s.get(OrderRow, oid) is None:
            orders.create_order(s, oid, person, tz, rules, str(v.get("created_by") or by))
        else:
            orders.update_order(s, oid, tz_name=tz, rules=rules, by=str(v.get("created_by") or by))
        ver = s.get(OrderVersionRow, (oid, number))
        if ver is None:
            raise InvalidInput(
                "versions must be numbered 1, 2, ... (got {number})", field="versions", number=number
            )
        created = _opt_time(v.get("created"), "created")
        if created is not None:
            ver.created_s = created
    o = s.get(OrderRow, oid)
    if o is not None:
        o.active = _bool(row.get("active"), default=True)
        created, updated = _opt_time(row.get("created"), "created"), _opt_time(row.get("updated"), "updated")
        if created is not None:
            o.created_s = created
        if updated is not None:
            o.updated_s = updated
    s.flush()


_SETUP = {
    "persons": _person,
    "zones": _zone,
    "devices": _device,
    "assignments": _assignment,
    "orders": _order,
}


def _alert(s: Session, row: dict[str, Any]) -> int:
    kind = _required(row, "type")
    rule, device = _text(row.get("rule")), _text(row.get("device"))
    if rule is None and device is None:
        raise InvalidInput("an alert names a rule or a device", field="rule")
    person = _text(row.get("person"))
    ep = Episode(
        type=kind,
        person=PersonId(person) if person else None,
        start_s=_time(row.get("start"), "start"),
        raised_s=_time(row.get("raised") or row.get("start"), "raised"),
        rule=RuleId(rule) if rule else None,
        device=DeviceId(device) if device else None,
        end_s=_opt_time(row.get("end"), "end"),
    )
    stored = alerts.store_episode(s, ep)
    a = stored.alert
    a.status = _text(row.get("status")) or a.status
    a.severity = _text(row.get("severity")) or severity_of(kind).value
    a.owner = _text(row.get("owner"))
    a.outcome = _text(row.get("outcome"))
    created, updated = _opt_time(row.get("created"), "created"), _opt_time(row.get("updated"), "updated")
    if created is not None:
        a.created_s = created
    if updated is not None:
        a.updated_s = updated
    s.flush()
    return a.id


def _action(s: Session, alert_id: int, row: dict[str, Any]) -> bool:
    at = _time(row.get("at"), "at")
    action, actor = _required(row, "action"), _required(row, "actor")
    exists = s.execute(
        select(AlertActionRow.id).where(
            AlertActionRow.alert_id == alert_id,
            AlertActionRow.action == action,
            AlertActionRow.actor == actor,
            AlertActionRow.at_s == at,
        )
    ).first()
    if exists is not None:
        return False
    s.add(
        AlertActionRow(
            alert_id=alert_id,
            action=action,
            actor=actor,
            from_status=_text(row.get("from_status")) or "",
            to_status=_text(row.get("to_status")) or "",
            text=_text(row.get("text")) or "",
            at_s=at,
        )
    )
    return True
