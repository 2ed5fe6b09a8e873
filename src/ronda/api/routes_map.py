"""Read endpoints for the web UI: the map's settings, the latest position and
state of every person the caller may see, a person's device events."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.api import auth
from ronda.api import schemas as sc
from ronda.api.deps import epoch, settings, tx, when
from ronda.api.policy import authenticator, current_caller, scope_of
from ronda.errors import InvalidInput
from ronda.storage import alerts, cases
from ronda.storage.models import DeviceRow, PersonRow, RecordRow

router = APIRouter(prefix="/api", tags=["map"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]

# Without a device-specific timeout, a person is shown as "no recent data"
# once their freshest device has been silent this long.
DEFAULT_STALE_S = 15 * 60.0
VIOLATIONS = frozenset({"exclusion", "inclusion", "proximity"})
DEVICE_PROBLEMS = frozenset({"tamper", "low_battery", "comms_loss", "no_fix"})
State = Literal["violation", "device_problem", "no_data", "compliant"]


class MapConfigOut(BaseModel):
    tile_url: str
    attribution: str


class DeviceStateOut(BaseModel):
    id: str
    kind: str
    status: str
    last_contact: dt.datetime | None
    battery_pct: float | None
    comms_timeout_s: float | None


class PersonStateOut(BaseModel):
    person: str
    name: str
    role: str
    state: State
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    time: dt.datetime | None
    device: str | None
    devices: list[DeviceStateOut]
    open_alerts: list[int]


class DeviceEventOut(BaseModel):
    device: str
    kind: str
    time: dt.datetime
    received: dt.datetime
    battery_pct: float | None
    extra: dict[str, Any] | None


@router.get("/map/config")
def map_config(request: Request) -> MapConfigOut:
    """The base map the web UI draws (tile URL template and credit; empty URL: no base map)."""
    m = settings(request).map
    return MapConfigOut(tile_url=m.tiles, attribution=m.credit)


def _latest(s: Session, device: str, positions_only: bool) -> RecordRow | None:
    stmt = select(RecordRow).where(RecordRow.device_id == device)
    if positions_only:
        stmt = stmt.where(RecordRow.kind == "position", RecordRow.valid.is_(True), RecordRow.lat.is_not(None))
    return s.execute(stmt.order_by(RecordRow.time_s.desc()).limit(1)).scalars().first()


def person_state(
    p: PersonRow, devices: list[DeviceRow], open_types: dict[int, str], s: Session, now_s: float
) -> PersonStateOut:
    """The person's latest fix (over the devices they wear) and their state,
    worst first: an open violation, a device problem, no recent data, compliant."""
    fix: RecordRow | None = None
    dev_out: list[DeviceStateOut] = []
    fresh = False
    for d in devices:
        last = _latest(s, d.id, positions_only=False)
        pos = _latest(s, d.id, positions_only=True)
        if pos is not None and (fix is None or pos.time_s > fix.time_s):
            fix = pos
        # Staleness is judged on the server's receive clock, so late or
        # replayed device times do not make a silent device look alive.
        if last is not None and now_s - last.received_s <= (d.comms_timeout_s or DEFAULT_STALE_S):
            fresh = True
        battery = pos.battery_pct if pos is not None else None
        dev_out.append(
            DeviceStateOut(
                id=d.id,
                kind=d.kind,
                status=d.status,
                last_contact=None if last is None else when(last.received_s),
                battery_pct=battery,
                comms_timeout_s=d.comms_timeout_s,
            )
        )
    kinds = set(open_types.values())
    state: State
    if kinds & VIOLATIONS:
        state = "violation"
    elif kinds & DEVICE_PROBLEMS or any(d.status == "faulty" for d in devices):
        state = "device_problem"
    elif fix is None or not fresh:
        state = "no_data"
    else:
        state = "compliant"
    return PersonStateOut(
        person=p.id,
        name=p.name,
        role=p.role,
        state=state,
        lat=None if fix is None else fix.lat,
        lon=None if fix is None else fix.lon,
        accuracy_m=None if fix is None else fix.accuracy_m,
        time=None if fix is None else when(fix.time_s),
        device=None if fix is None else fix.device_id,
        devices=dev_out,
        open_alerts=sorted(open_types),
    )


def _protected(p: PersonRow) -> bool:
    return p.role == "protected" or p.role in auth.PROTECTED_ROLES


def visible_persons(request: Request, s: Session, persons: list[PersonRow], now_s: float) -> list[PersonRow]:
    """The persons the caller may see through this route's scope; a protected
    person only while their location may be shown to the caller's role (around
    a proximity episode), so that neither their place nor their presence leaks."""
    if getattr(request.state, "caller", None) is None:  # the access guard is not installed: one token
        return persons
    caller, scope = current_caller(request), scope_of(request)
    allowed = auth.visible_persons(s, caller, scope)
    margin_s = authenticator(request).settings.protected_margin_s
    out = []
    for p in persons:
        if not _protected(p):
            if p.id in allowed:
                out.append(p)
        # A protected person's proximity episode is an alert about them: the
        # roles that act on it see them around it (operators and supervisors of
        # the agency; officers only within their caseload).
        elif (
            caller.in_agency(p.agency_id)
            and (scope is not auth.Scope.CASELOAD or p.id in allowed)
            and auth.may_see_protected_now(caller, auth.protected_windows(s, p.id, margin_s, now_s), now_s)
        ):
            out.append(p)
    return out


@router.get("/map/persons")
def map_persons(request: Request) -> list[PersonStateOut]:
    """Every person the caller may see with their latest position and state
    (`violation`, `device_problem`, `no_data`, `compliant`) and open alerts."""
    now_s = time.time()
    with tx(request) as s:
        persons = visible_persons(request, s, cases.list_persons(s, limit=100_000), now_s)
        by_person: dict[str, list[DeviceRow]] = {}
        for d in cases.list_devices(s, limit=100_000):
            if d.person_id is not None:
                by_person.setdefault(d.person_id, []).append(d)
        open_by_person: dict[str, dict[int, str]] = {}
        for e, a in alerts.list_episodes(s, alerts.EpisodeFilter(open=True), limit=100_000):
            if e.person_id is not None:
                open_by_person.setdefault(e.person_id, {})[a.id] = e.type
        return [
            person_state(p, by_person.get(p.id, []), open_by_person.get(p.id, {}), s, now_s) for p in persons
        ]


@router.get("/persons/{person_id}/events")
def person_events(
    request: Request,
    person_id: PathId,
    start: Annotated[dt.datetime, Query(description="from (ISO 8601; no zone means UTC)")],
    end: Annotated[dt.datetime, Query(description="to, excluded")],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[DeviceEventOut]:
    """Device events (tamper, strap, battery, home unit ...) of the devices the
    person wore, each within its assignment, by time."""
    a_s, b_s = epoch(start, "start"), epoch(end, "end")
    assert a_s is not None and b_s is not None
    if b_s <= a_s:
        raise InvalidInput("must be after start", field="query.end")
    out: list[RecordRow] = []
    with tx(request) as s:
        cases.get_person(s, person_id)  # 404 when unknown; the access guard checked visibility
        for asg in cases.assignments(s, person=person_id):
            lo, hi = max(a_s, asg.start_s), min(b_s, asg.end_s if asg.end_s is not None else b_s)
            if lo >= hi:
                continue
            stmt = (
                select(RecordRow)
                .where(
                    RecordRow.device_id == asg.device_id,
                    RecordRow.time_s >= lo,
                    RecordRow.time_s < hi,
                    RecordRow.kind.not_in(["position", "sighting"]),
                )
                .order_by(RecordRow.time_s)
                .limit(limit)
            )
            out += s.execute(stmt).scalars()
        out.sort(key=lambda r: r.time_s)
        return [
            DeviceEventOut(
                device=r.device_id,
                kind=r.kind,
                time=when(r.time_s),
                received=when(r.received_s),
                battery_pct=r.battery_pct,
                extra=r.extra,
            )
            for r in out[:limit]
        ]

