"""A facility as a JSON document (the API's and the simulator's format), and
back. Every refusal names the field (`zones[3].kind`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.errors import InvalidInput
from ronda.facility.model import (
    Building,
    Facility,
    FacilityParams,
    Floor,
    Inmate,
    Reader,
    ReaderKind,
    Separation,
    SeparationMode,
    Staff,
    Zone,
    ZoneKind,
)
from ronda.facility.places import check_token
from ronda.facility.regime import Period, Regime
from ronda.rules.schedule import DAY_NAMES, Interval, Schedule, WeeklyWindow, parse_clock, parse_days
from ronda.types import DeviceId, PersonId, ZoneId, from_iso, to_iso

ALL_DAYS = list(DAY_NAMES)


def _get(d: Any, key: str, where: str, kind: type | tuple[type, ...] = str, default: Any = ...) -> Any:
    if not isinstance(d, dict):
        raise InvalidInput("expected an object", field=where)
    if key not in d or d[key] is None:
        if default is ...:
            raise InvalidInput("required", field=f"{where}.{key}" if where else key)
        return default
    value = d[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidInput(
            "wrong type {type}", field=f"{where}.{key}" if where else key, type=type(value).__name__
        )
    return value


def _list(d: Any, key: str, where: str) -> list[Any]:
    value = _get(d, key, where, list, [])
    assert isinstance(value, list)
    return value


def _enum(value: str, enum: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(e.value for e in enum)
        raise InvalidInput(
            "unknown value {value} ({names})", field=field, value=repr(value), names=names
        ) from None


def _polygon(raw: Any, field: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list) or len(raw) < 3:
        raise InvalidInput("a polygon needs at least 3 [x, y] points in metres", field=field)
    out = []
    for i, p in enumerate(raw):
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(c, int | float) for c in p)):
            raise InvalidInput("expected [x, y] in metres", field=f"{field}[{i}]")
        out.append((float(p[0]), float(p[1])))
    return tuple(out)


def _period(raw: Any, where: str, tz: ZoneInfo) -> Period:
    pid = _get(raw, "id", where)
    allowed = tuple(_get(raw, "allowed", where, list))
    count_at = tuple(_get(raw, "count_at", where, list, []))
    for i, tok in enumerate(allowed + count_at):
        if not isinstance(tok, str):
            raise InvalidInput("a place is text", field=f"{where}.allowed[{i}]")
        try:
            check_token(tok)
        except InvalidInput as exc:
            values: dict[str, Any] = dict(exc.values)  # the template's own, never source/line/field
            raise InvalidInput(exc.template, field=f"{where}.allowed", **values) from None
    schedule = interval = None
    if "start_at" in raw or "end_at" in raw:
        try:
            a, b = from_iso(_get(raw, "start_at", where)), from_iso(_get(raw, "end_at", where))
        except ValueError as exc:
            raise InvalidInput(
                "start_at and end_at must be ISO 8601 instants with a time zone ({error})",
                field=f"{where}.start_at",
                error=str(exc),
            ) from None
        if b <= a:
            raise InvalidInput("ends before it starts", field=f"{where}.end_at")
        interval = Interval(a, b)
    else:
        try:
            window = WeeklyWindow(
                parse_days(_get(raw, "days", where, list, ALL_DAYS)),
                parse_clock(_get(raw, "start", where)),
                parse_clock(_get(raw, "end", where)),
            )
        except ValueError as exc:
            raise InvalidInput(
                "a weekly period needs days and a start and end as HH:MM ({error})",
                field=f"{where}.start",
                error=str(exc),
            ) from None
        schedule = Schedule(tz, (window,))
    return Period(
        id=pid,
        activity=_get(raw, "activity", where, str, "other"),
        allowed=allowed,
        schedule=schedule,
        interval=interval,
        count_at=count_at,
        name=_get(raw, "name", where, str, ""),
    )


def parse_facility(doc: Any) -> Facility:
    """A Facility from its JSON document; raises InvalidInput naming the field."""
    fid = _get(doc, "id", "")
    tz_name = _get(doc, "timezone", "")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("unknown time zone {timezone}", field="timezone", timezone=repr(tz_name)) from None
    buildings = []
    for i, b in enumerate(_list(doc, "buildings", "")):
        w = f"buildings[{i}]"
        floors = tuple(
            Floor(
                building=_get(b, "id", w),
                level=_get(fl, "level", f"{w}.floors[{j}]", int),
                name=_get(fl, "name", f"{w}.floors[{j}]", str, ""),
                plan_image=_get(fl, "plan_image", f"{w}.floors[{j}]", str, None),
                plan_width_m=_get(fl, "plan_width_m", f"{w}.floors[{j}]", float, None),
                plan_height_m=_get(fl, "plan_height_m", f"{w}.floors[{j}]", float, None),
            )
            for j, fl in enumerate(_list(b, "floors", w))
        )
        buildings.append(Building(_get(b, "id", w), _get(b, "name", w, str, ""), floors))
    zones: dict[ZoneId, Zone] = {}
    for i, z in enumerate(_list(doc, "zones", "")):
        w = f"zones[{i}]"
        zid = ZoneId(_get(z, "id", w))
        if zid in zones:
            raise InvalidInput("zone {zone} twice", field=f"{w}.id", zone=repr(zid))
        zones[zid] = Zone(
            id=zid,
            name=_get(z, "name", w, str, zid),
            kind=_enum(_get(z, "kind", w), ZoneKind, f"{w}.kind"),
            building=_get(z, "building", w, str, ""),
            level=_get(z, "level", w, int, 0),
            polygon_m=_polygon(_get(z, "polygon", w, list), f"{w}.polygon"),
            wing=_get(z, "wing", w, str, None),
            capacity=_get(z, "capacity", w, int, None),
        )
    readers: dict[str, Reader] = {}
    for i, r in enumerate(_list(doc, "readers", "")):
        w = f"readers[{i}]"
        rid = _get(r, "id", w)
        kind = _enum(_get(r, "kind", w, str, "area"), ReaderKind, f"{w}.kind")
        refs = {k: _get(r, k, w, str, None) for k in ("zone", "door_from", "door_to")}
        for k, v in refs.items():
            if v is not None and v not in zones:
                raise InvalidInput("unknown zone {zone}", field=f"{w}.{k}", zone=repr(v))
        if refs["zone"] is None:
            raise InvalidInput("required", field=f"{w}.zone")
        if kind == ReaderKind.DOOR and (refs["door_from"] is None or refs["door_to"] is None):
            raise InvalidInput("a door reader needs door_from and door_to", field=f"{w}.door_from")
        readers[rid] = Reader(
            id=rid,
            zone=ZoneId(refs["zone"]),
            x_m=_get(r, "x", w, float),
            y_m=_get(r, "y", w, float),
            kind=kind,
            door_from=ZoneId(refs["door_from"]) if refs["door_from"] else None,
            door_to=ZoneId(refs["door_to"]) if refs["door_to"] else None,
            range_m=_get(r, "range_m", w, float, 3.0),
        )
    regimes: dict[str, Regime] = {}
    for i, rg in enumerate(_list(doc, "regimes", "")):
        w = f"regimes[{i}]"
        periods = tuple(_period(p, f"{w}.periods[{j}]", tz) for j, p in enumerate(_list(rg, "periods", w)))
        regimes[_get(rg, "id", w)] = Regime(_get(rg, "id", w), _get(rg, "name", w, str, ""), periods)
    wing_regimes = _get(doc, "wing_regimes", "", dict, {})
    for wing, rid in wing_regimes.items():
        if rid not in regimes:
            raise InvalidInput("unknown regime {regime}", field=f"wing_regimes.{wing}", regime=repr(rid))
    personal = {}
    for i, p in enumerate(_list(doc, "periods", "")):
        period = _period(p, f"periods[{i}]", tz)
        personal[period.id] = period
    inmates: dict[PersonId, Inmate] = {}
    bands: set[str] = set()
    for i, m in enumerate(_list(doc, "inmates", "")):
        w = f"inmates[{i}]"
        cell = _get(m, "cell", w)
        if cell not in zones:
            raise InvalidInput("unknown zone {zone}", field=f"{w}.cell", zone=repr(cell))
        band = _get(m, "band", w, str, None)
        if band is not None and band in bands:
            raise InvalidInput(
                "band {band} is already worn by another inmate", field=f"{w}.band", band=repr(band)
            )
        if band is not None:
            bands.add(band)
        extra = tuple(_get(m, "periods", w, list, []))
        for p in extra:
            if p not in personal:
                raise InvalidInput("unknown period {period}", field=f"{w}.periods", period=repr(p))
        regime = _get(m, "regime", w, str, None)
        if regime is not None and regime not in regimes:
            raise InvalidInput("unknown regime {regime}", field=f"{w}.regime", regime=repr(regime))
        pid = PersonId(_get(m, "id", w))
        inmates[pid] = Inmate(
            id=pid,
            name=_get(m, "name", w, str, ""),
            wing=_get(m, "wing", w, str, zones[ZoneId(cell)].wing or ""),
            cell=ZoneId(cell),
            band=DeviceId(band) if band else None,
            regime=regime,
            extra_periods=extra,
            on_roll=_get(m, "on_roll", w, bool, True),
        )
    staff: dict[PersonId, Staff] = {}
    for i, s in enumerate(_list(doc, "staff", "")):
        w = f"staff[{i}]"
        badge = _get(s, "badge", w, str, None)
        if badge is not None and badge in bands:
            raise InvalidInput("badge {badge} is already in use", field=f"{w}.badge", badge=repr(badge))
        if badge is not None:
            bands.add(badge)
        sid = PersonId(_get(s, "id", w))
        staff[sid] = Staff(sid, _get(s, "name", w, str, ""), DeviceId(badge) if badge else None)
    separations = []
    for i, k in enumerate(_list(doc, "keep_separate", "")):
        w = f"keep_separate[{i}]"
        members = tuple(PersonId(x) for x in _get(k, "members", w, list))
        if len(members) < 2:
            raise InvalidInput("a keep-separate group has at least two members", field=f"{w}.members")
        for x in members:
            if x not in inmates:
                raise InvalidInput("unknown inmate {inmate}", field=f"{w}.members", inmate=repr(x))
        separations.append(
            Separation(
                id=_get(k, "id", w),
                members=members,
                mode=_enum(_get(k, "mode", w, str, "same_zone"), SeparationMode, f"{w}.mode"),
                distance_m=_get(k, "distance_m", w, float, 10.0),
                reason=_get(k, "reason", w, str, ""),
            )
        )
    count_times = tuple(_get(doc, "count_times", "", list, []))
    for i, c in enumerate(count_times):
        try:
            parse_clock(c)
        except (ValueError, AttributeError):
            raise InvalidInput("expected HH:MM", field=f"count_times[{i}]") from None
    params_raw = _get(doc, "params", "", dict, {})
    known = FacilityParams.__dataclass_fields__
    values: dict[str, Any] = {}
    for k, v in params_raw.items():
        if k not in known:
            raise InvalidInput("unknown parameter {parameter}", field=f"params.{k}", parameter=repr(k))
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidInput("expected a number", field=f"params.{k}")
        values[k] = int(v) if k == "confirm_hits" else float(v)
    params = dataclasses.replace(FacilityParams(), **values)
    return Facility(
        id=fid,
        name=_get(doc, "name", "", str, fid),
        timezone=tz_name,
        buildings=tuple(buildings),
        zones=zones,
        readers=readers,
        inmates=inmates,
        staff=staff,
        regimes=regimes,
        wing_regimes=dict(wing_regimes),
        periods=personal,
        separations=tuple(separations),
        count_times=count_times,
        params=params,
    )


def _period_doc(p: Period) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "activity": p.activity, "allowed": list(p.allowed)}
    if p.name:
        out["name"] = p.name
    if p.count_at:
        out["count_at"] = list(p.count_at)
    if p.interval is not None:
        out["start_at"], out["end_at"] = to_iso(p.interval.start_s), to_iso(p.interval.end_s)
    elif p.schedule is not None and p.schedule.weekly:
        w = p.schedule.weekly[0]
        out["days"] = [DAY_NAMES[d] for d in sorted(w.days)]
        out["start"], out["end"] = _clock(w.start), _clock(w.end)
    return out


def _clock(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def facility_document(f: Facility) -> dict[str, Any]:
    """The JSON document of a facility (`parse_facility` reads it back)."""
    return {
        "id": f.id,
        "name": f.name,
        "timezone": f.timezone,
        "buildings": [
            {
                "id": b.id,
                "name": b.name,
                "floors": [
                    {
                        "level": fl.level,
                        "name": fl.name,
                        "plan_image": fl.plan_image,
                        "plan_width_m": fl.plan_width_m,
                        "plan_height_m": fl.plan_height_m,
                    }
                    for fl in b.floors
                ],
            }
            for b in f.buildings
        ],
        "zones": [
            {
                "id": z.id,
                "name": z.name,
                "kind": z.kind.value,
                "building": z.building,
                "level": z.level,
                "wing": z.wing,
                "capacity": z.capacity,
                "polygon": [list(p) for p in z.polygon_m],
            }
            for z in f.zones.values()
        ],
        "readers": [
            {
                "id": r.id,
                "zone": r.zone,
                "x": r.x_m,
                "y": r.y_m,
                "kind": r.kind.value,
                "door_from": r.door_from,
                "door_to": r.door_to,
                "range_m": r.range_m,
            }
            for r in f.readers.values()
        ],
        "regimes": [
            {"id": r.id, "name": r.name, "periods": [_period_doc(p) for p in r.periods]}
            for r in f.regimes.values()
        ],
        "wing_regimes": dict(f.wing_regimes),
        "periods": [_period_doc(p) for p in f.periods.values()],
        "inmates": [
            {
                "id": i.id,
                "name": i.name,
                "wing": i.wing,
                "cell": i.cell,
                "band": i.band,
                "regime": i.regime,
                "periods": list(i.extra_periods),
                "on_roll": i.on_roll,
            }
            for i in f.inmates.values()
        ],
        "staff": [{"id": s.id, "name": s.name, "badge": s.badge} for s in f.staff.values()],
        "keep_separate": [
            {
                "id": s.id,
                "members": list(s.members),
                "mode": s.mode.value,
                "distance_m": s.distance_m,
                "reason": s.reason,
            }
            for s in f.separations
        ],
        "count_times": list(f.count_times),
        "params": {k: getattr(f.params, k) for k in FacilityParams.__dataclass_fields__},
    }
