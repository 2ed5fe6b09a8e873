"""Reading the scenario format (shared/scenarios/FORMAT.md): setup and arrivals.

Errors in the setup stop the load with a message naming the file and field;
a malformed arrival line is counted and skipped, never ends a replay.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.cases.caseload import Caseload
from ronda.cases.models import Device, DeviceKind, Person, PersonRole
from ronda.errors import InvalidInput, UnknownReference
from ronda.rules.models import HealthPolicy, Order, Rule, RuleType
from ronda.rules.schedule import Interval, Schedule, WeeklyWindow, parse_clock, parse_days
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId, OrderId, PersonId, RuleId, ZoneId, from_iso
from ronda.zones.geometry import validate_zone_geometry
from ronda.zones.models import Zone

SCENARIO_FILE = "scenario.json"


@dataclass
class Scenario:
    caseload: Caseload
    start_s: float
    end_s: float
    directory: Path
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def arrivals_path(self) -> Path:
        return arrivals_path(self.directory)


def arrivals_path(directory: Path) -> Path:
    for name in ("arrivals.jsonl.gz", "arrivals.jsonl"):
        if (directory / name).exists():
            return directory / name
    raise InvalidInput("no arrivals.jsonl.gz or arrivals.jsonl", source=str(directory))


class _Fields:
    """Typed access to a JSON object that names the offending field on error."""

    def __init__(self, obj: Any, where: str, source: str) -> None:
        if not isinstance(obj, dict):
            raise InvalidInput("expected an object", source=source, field=where)
        self.obj = obj
        self.where = where
        self.source = source

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, error: InvalidInput) -> InvalidInput:
        """`error` (its template and values) placed in this file, at `key` of this object."""
        error.source, error.field = self.source, self._name(key)
        return error

    def text(self, key: str, default: str | None = None) -> str:
        v = self.obj.get(key, default)
        if not isinstance(v, str) or not v:
            raise self.fail(key, InvalidInput("expected a non-empty string"))
        return v

    def number(self, key: str, default: float | None = None, *, allow_none: bool = False) -> float | None:
        v = self.obj.get(key, default)
        if v is None and (allow_none or (default is None and key not in self.obj and allow_none)):
            return None
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.fail(key, InvalidInput("expected a number, got {value}", value=repr(v)))
        return float(v)

    def items(self, key: str) -> list[Any]:
        v = self.obj.get(key, [])
        if not isinstance(v, list):
            raise self.fail(key, InvalidInput("expected a list"))
        return v

    def instant(self, key: str) -> float:
        v = self.text(key)
        try:
            return from_iso(v)
        except ValueError as exc:
            raise self.fail(
                key, InvalidInput("not an ISO 8601 instant with a zone: {value}", value=repr(v))
            ) from exc


def load_scenario(directory: Path) -> Scenario:
    path = directory / SCENARIO_FILE
    source = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput("file not found", source=source) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput("not JSON: {error}", source=source, line=exc.lineno, error=exc.msg) from exc
    top = _Fields(raw, "", source)
    tz_name = top.text("timezone")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise top.fail("timezone", InvalidInput("unknown time zone {zone}", zone=repr(tz_name))) from exc
    policy_f = _Fields(raw.get("policy", {}), "policy", source)
    policy = HealthPolicy(
        low_battery_pct=policy_f.number("low_battery_percent", 15.0) or 0.0,
        no_fix_timeout_s=policy_f.number("no_fix_timeout_s", 900.0) or 0.0,
    )
    zones: dict[ZoneId, Zone] = {}
    for i, z in enumerate(top.items("zones")):
        f = _Fields(z, f"zones[{i}]", source)
        zid = ZoneId(f.text("id"))
        try:
            validate_zone_geometry(z.get("geometry"), z.get("radius_m"), field="geometry")
        except InvalidInput as exc:
            # the geometry's own error (template and values), placed in this file and zone
            exc.source, exc.field = source, f"zones[{i}] ({zid}).{exc.field}"
            raise
        radius = z.get("radius_m")
        zones[zid] = Zone(zid, str(z.get("name", zid)), z["geometry"], float(radius) if radius else None)
    persons: dict[PersonId, Person] = {}
    for i, p in enumerate(top.items("persons")):
        f = _Fields(p, f"persons[{i}]", source)
        role = f.text("role")
        if role not in PersonRole.__members__.values():
            raise f.fail(
                "role", InvalidInput("unknown role {role} (monitored or protected)", role=repr(role))
            )
        persons[PersonId(f.text("id"))] = Person(PersonId(f.text("id")), PersonRole(role))
    devices: dict[DeviceId, Device] = {}
    for i, d in enumerate(top.items("devices")):
        f = _Fields(d, f"devices[{i}]", source)
        kind = f.text("kind")
        if kind not in DeviceKind.__members__.values():
            raise f.fail("kind", InvalidInput("unknown device kind {kind}", kind=repr(kind)))
        person = PersonId(f.text("person"))
        if person not in persons:
            raise UnknownReference(
                "no person {person}", source=source, field=f"devices[{i}].person", person=repr(person)
            )
        home = d.get("zone")
        if home is not None and home not in zones:
            raise UnknownReference(
                "no zone {zone}", source=source, field=f"devices[{i}].zone", zone=repr(home)
            )
        dev_id = DeviceId(f.text("id"))
        devices[dev_id] = Device(
            id=dev_id,
            kind=DeviceKind(kind),
            person=person,
            report_interval_s=f.number("report_interval_s", allow_none=True),
            comms_timeout_s=f.number("comms_timeout_s", allow_none=True),
            home_zone=ZoneId(home) if home else None,
        )
    orders = []
    seen_rules: set[str] = set()
    for i, o in enumerate(top.items("orders")):
        f = _Fields(o, f"orders[{i}]", source)
        person = PersonId(f.text("person"))
        if person not in persons:
            raise UnknownReference(
                "no person {person}", source=source, field=f"orders[{i}].person", person=repr(person)
            )
        rules = []
        for j, r in enumerate(f.items("rules")):
            rules.append(_rule(_Fields(r, f"orders[{i}].rules[{j}]", source), zones, persons, tz))
            if rules[-1].id in seen_rules:
                raise InvalidInput(
                    "duplicate rule id {rule}",
                    source=source,
                    field=f"orders[{i}].rules[{j}].id",
                    rule=repr(rules[-1].id),
                )
            seen_rules.add(rules[-1].id)
        orders.append(Order(OrderId(str(o.get("id", f"order-{i}"))), person, tuple(rules)))
    caseload = Caseload(
        timezone=tz,
        zones=zones,
        persons=persons,
        devices=devices,
        orders=tuple(orders),
        policy=policy,
        name=str(raw.get("name", directory.name)),
    )
    return Scenario(caseload, top.instant("start"), top.instant("end"), directory, raw)


def _rule(f: _Fields, zones: dict[ZoneId, Zone], persons: dict[PersonId, Person], tz: ZoneInfo) -> Rule:
    kind = f.text("type")
    if kind not in RuleType.__members__.values():
        raise f.fail(
            "type",
            InvalidInput("unknown rule type {type} (exclusion, inclusion, proximity)", type=repr(kind)),
        )
    schedule = (
        _schedule(f.obj["schedule"], f"{f.where}.schedule", f.source, tz) if f.obj.get("schedule") else None
    )
    rid = RuleId(f.text("id"))
    if kind == RuleType.PROXIMITY:
        other = PersonId(f.text("person"))
        if other not in persons:
            raise UnknownReference(
                "no person {person}", source=f.source, field=f"{f.where}.person", person=repr(other)
            )
        distance = f.number("distance_m")
        if distance is None or distance <= 0:
            raise f.fail("distance_m", InvalidInput("must be a positive number of metres"))
        return Rule(rid, RuleType.PROXIMITY, schedule, protected_person=other, distance_m=distance)
    zone = ZoneId(f.text("zone"))
    if zone not in zones:
        raise UnknownReference("no zone {zone}", source=f.source, field=f"{f.where}.zone", zone=repr(zone))
    return Rule(rid, RuleType(kind), schedule, zone=zone)


def _schedule(raw: Any, where: str, source: str, tz: ZoneInfo) -> Schedule:
    f = _Fields(raw, where, source)
    weekly = None
    if "weekly" in raw:
        windows = []
        for i, w in enumerate(f.items("weekly")):
            wf = _Fields(w, f"{where}.weekly[{i}]", source)
            try:
                days = parse_days(wf.items("days"))
            except ValueError as exc:
                raise wf.fail("days", InvalidInput("invalid days: {error}", error=str(exc))) from exc
            times = []
            for key in ("start", "end"):
                try:
                    times.append(parse_clock(wf.text(key)))
                except ValueError as exc:
                    raise wf.fail(key, InvalidInput("invalid time of day: {error}", error=str(exc))) from exc
            windows.append(WeeklyWindow(days, times[0], times[1]))
        weekly = tuple(windows)
    exceptions = []
    for i, e in enumerate(f.items("exceptions")):
        ef = _Fields(e, f"{where}.exceptions[{i}]", source)
        a, b = ef.instant("start"), ef.instant("end")
        if b <= a:
            raise ef.fail("end", InvalidInput("must be after start"))
        exceptions.append(Interval(a, b))
    return Schedule(tz, weekly, tuple(exceptions))


@dataclass
class ArrivalStats:
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def skip(self, error: InvalidInput) -> None:
        self.skipped[error.field or "line"] += 1
        if len(self.first_errors) < 20:
            self.first_errors.append(str(error))


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_arrivals(
    path: Path, stats: ArrivalStats | None = None, known_devices: Container[str] | None = None
) -> Iterator[Record]:
    """Records of an arrivals file, in file order. Malformed lines, and lines of
    devices not in `known_devices`, are counted in `stats` and skipped."""
    stats = stats if stats is not None else ArrivalStats()
    with _open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = parse_arrival(line, source=str(path), line=n)
                if known_devices is not None and rec.device not in known_devices:
                    raise UnknownReference(
                        "unknown device {device}",
                        source=str(path),
                        line=n,
                        field="device",
                        device=repr(rec.device),
                    )
            except InvalidInput as exc:
                stats.skip(exc)
                continue
            stats.read += 1
            yield rec


_EVENTS = {k.value: k for k in EventKind}


def parse_arrival(text: str, *, source: str = "", line: int | None = None, received: bool = True) -> Record:
    """One record in the native JSON shape (FORMAT.md)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("not JSON: {error}", source=source, line=line, error=exc.msg) from exc
    return record_from_json(obj, source=source, line=line, received_s=None if received else 0.0)


def record_from_json(
    obj: Any, *, source: str = "", line: int | None = None, received_s: float | None = None
) -> Record:
    """A record from its native JSON object. `received_s` overrides (stamps) the
    object's own `received`, as a server does for what devices send."""

    def fail(fld: str, error: InvalidInput) -> InvalidInput:
        """`error` (its template and values) placed at this line, in field `fld`."""
        error.source, error.line, error.field = source, line, fld
        return error

    if not isinstance(obj, dict):
        raise fail("", InvalidInput("expected a JSON object"))
    device = obj.get("device")
    if not isinstance(device, str) or not device:
        raise fail("device", InvalidInput("expected a device id"))

    def instant(key: str) -> float:
        v = obj.get(key)
        if not isinstance(v, str):
            raise fail(key, InvalidInput("expected an ISO 8601 instant"))
        try:
            return from_iso(v)
        except ValueError as exc:
            raise fail(
                key, InvalidInput("not an ISO 8601 instant with a zone: {value}", value=repr(v))
            ) from exc

    def number(key: str, lo: float, hi: float) -> float | None:
        v = obj.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not lo <= v <= hi:
            raise fail(
                key,
                InvalidInput(
                    "expected a number in {low}..{high}, got {value}",
                    low=f"{lo:g}",
                    high=f"{hi:g}",
                    value=repr(v),
                ),
            )
        return float(v)

    time_s = instant("time")
    rec_s = received_s if received_s is not None else instant("received")
    battery = number("battery", 0, 100)
    event = obj.get("event")
    if event is not None:
        kind = _EVENTS.get(event) if isinstance(event, str) else None
        if kind is None:
            raise fail("event", InvalidInput("unknown event {event}", event=repr(event)))
        return DeviceEvent(DeviceId(device), time_s, rec_s, kind, battery)
    valid = obj.get("valid", True)
    if not isinstance(valid, bool):
        raise fail("valid", InvalidInput("expected true or false"))
    if not valid:
        return Position(DeviceId(device), time_s, rec_s, battery_pct=battery, valid=False)
    lat = number("lat", -90, 90)
    lon = number("lon", -180, 180)
    if lat is None:
        raise fail("lat", InvalidInput("a position needs lat and lon (or valid: false)"))
    if lon is None:
        raise fail("lon", InvalidInput("a position needs lat and lon (or valid: false)"))
    return Position(
        DeviceId(device),
        time_s,
        rec_s,
        lat=lat,
        lon=lon,
        accuracy_m=number("accuracy", 0, 1e6),
        speed_mps=number("speed", 0, 1000),
        battery_pct=battery,
        valid=True,
    )
