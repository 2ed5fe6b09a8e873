"""Privacy: legal holds (kept past retention), the retention in force, and a
person's data export (everything Ronda holds about them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.api import schemas as sc
from ronda.api.auth import Role, Scope, visible_persons
from ronda.api.deps import epoch, tx, when
from ronda.api.policy import CallerDep, authenticator, scope_of
from ronda.errors import InvalidInput
from ronda.storage import alerts, cases, orders, records
from ronda.storage import security as repo
from ronda.storage.errors import NotFound
from ronda.storage.models import AlertActionRow, RuleRow, ZoneRow
from ronda.storage.models_security import AuditRow, LegalHoldRow
from ronda.types import to_iso

router = APIRouter(prefix="/api", tags=["privacy"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]


class HoldIn(BaseModel):
    person: str = Field(pattern=sc.ID_PATTERN, max_length=64)
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=3, max_length=500)


class HoldOut(BaseModel):
    id: int
    person: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    created_by: str
    created: dt.datetime
    released_by: str | None
    released: dt.datetime | None


def hold_out(h: LegalHoldRow) -> HoldOut:
    return HoldOut(
        id=h.id,
        person=h.person_id,
        start=when(h.start_s),
        end=when(h.end_s),
        reason=h.reason,
        created_by=h.created_by,
        created=when(h.created_s),
        released_by=h.released_by,
        released=None if h.released_s is None else when(h.released_s),
    )


@router.get("/legal-holds")
def list_holds(
    request: Request,
    caller: CallerDep,
    person: Annotated[str | None, Query(max_length=64, pattern=sc.ID_PATTERN)] = None,
    active: bool | None = True,
) -> list[HoldOut]:
    with tx(request) as s:
        # auditors see the holds of their agency (what is kept, and why), not the cases
        scope = Scope.AGENCY if caller.role == Role.AUDITOR else scope_of(request)
        seen = visible_persons(s, caller, scope)
        return [hold_out(h) for h in repo.list_holds(s, person, active) if h.person_id in seen]


@router.post("/legal-holds", status_code=201)
def add_hold(request: Request, caller: CallerDep, body: HoldIn) -> HoldOut:
    """Keeps the person's positions and events of the period past retention."""
    a, b = epoch(body.start, "start"), epoch(body.end, "end")
    assert a is not None and b is not None
    if b <= a:
        raise InvalidInput("must be after start", field="end")
    with tx(request) as s:
        if body.person not in visible_persons(s, caller, scope_of(request)):
            raise NotFound("person", body.person)
        return hold_out(repo.add_hold(s, body.person, a, b, body.reason, caller.user_id))


@router.delete("/legal-holds/{hold_id}")
def release_hold(
    request: Request, caller: CallerDep, hold_id: Annotated[int, Path(ge=1, le=2**62)]
) -> HoldOut:
    """Releases a hold (kept on record): its data falls under retention again."""
    with tx(request) as s:
        return hold_out(repo.release_hold(s, hold_id, caller.user_id))


@router.get("/retention")
def retention(request: Request) -> dict[str, Any]:
    days = authenticator(request).settings.retention_days
    return {"retention_days": days, "applies_to": ["positions", "device events"], "legal_holds_exempt": True}


@router.get("/persons/{person_id}/export")
def export_person(request: Request, person_id: PathId) -> Response:
    """Everything Ronda holds about the person (right of access): the person,
    devices worn, orders with every version, zones of their rules, positions
    and device events, episodes and alerts with every action, legal holds, and
    who consulted their data (the audit entries about them). Needs a purpose."""
    import json

    with tx(request) as s:
        doc = person_export(s, person_id)
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="ronda-{person_id}.json"'},
    )


def person_export(s: Session, person_id: str) -> dict[str, Any]:
    p = cases.get_person(s, person_id)
    assigns = cases.assignments(s, person=person_id)
    devices = sorted({a.device_id for a in assigns})
    recs: list[dict[str, Any]] = []
    for a in assigns:
        hi = a.end_s if a.end_s is not None else float("inf")
        for r in records.device_records(s, [a.device_id], a.start_s, hi, limit=10**9):
            recs.append(
                {
                    "device": r.device_id,
                    "time": to_iso(r.time_s),
                    "kind": r.kind,
                    "received": to_iso(r.received_s),
                    "lat": r.lat,
                    "lon": r.lon,
                    "accuracy_m": r.accuracy_m,
                    "speed_mps": r.speed_mps,
                    "battery_pct": r.battery_pct,
                    "valid": r.valid,
                    "extra": r.extra,
                }
            )
    ords = orders.list_orders(s, person_id, limit=100_000)
    zone_ids = {r.get("zone") for o in ords for r in o.rules if r.get("zone")}
    protected_in = list(
        s.execute(
            select(RuleRow.order_id, RuleRow.id).where(RuleRow.protected_person_id == person_id).distinct()
        )
    )
    eps = alerts.list_episodes(s, alerts.EpisodeFilter(person=person_id), limit=10**9)
    out_eps = []
    for e, al in eps:
        actions = s.execute(
            select(AlertActionRow).where(AlertActionRow.alert_id == al.id).order_by(AlertActionRow.id)
        ).scalars()
        out_eps.append(
            {
                "episode": e.id,
                "type": e.type,
                "rule": e.rule_id,
                "device": e.device_id,
                "start": to_iso(e.start_s),
                "end": None if e.end_s is None else to_iso(e.end_s),
                "alert": {
                    "id": al.id,
                    "status": al.status,
                    "severity": al.severity,
                    "owner": al.owner,
                    "outcome": al.outcome,
                },
                "actions": [
                    {"action": x.action, "actor": x.actor, "text": x.text, "at": to_iso(x.at_s)}
                    for x in actions
                ],
            }
        )
    audit_rows = s.execute(
        select(AuditRow).where(AuditRow.person == person_id).order_by(AuditRow.seq)
    ).scalars()
    return {
        "format": "ronda-person-export-v1",
        "person": {
            "id": p.id,
            "role": p.role,
            "name": p.name,
            "agency": p.agency_id,
            "officer": p.officer_id,
            "created": to_iso(p.created_s),
        },
        "devices": devices,
        "assignments": [
            {
                "device": a.device_id,
                "start": to_iso(a.start_s),
                "end": None if a.end_s is None else to_iso(a.end_s),
                "assigned_by": a.assigned_by,
                "ended_by": a.ended_by,
            }
            for a in assigns
        ],
        "orders": [
            {
                "id": o.id,
                "version": v.version,
                "active": o.active,
                "timezone": v.timezone,
                "rules": v.rules,
                "updated": to_iso(v.updated_s),
            }
            for o in ords
            for v in orders.order_versions(s, o.id)
        ],
        "protected_by": [{"order": o, "rule": r} for o, r in protected_in],
        "zones": [
            {"id": z.id, "name": z.name, "geometry": z.geometry, "radius_m": z.radius_m}
            for z in s.execute(select(ZoneRow).where(ZoneRow.id.in_(zone_ids))).scalars()
        ],
        "records": recs,
        "episodes": out_eps,
        "legal_holds": [
            hold_out(h).model_dump(mode="json") for h in repo.list_holds(s, person_id, active=None)
        ],
        "consultations": [
            {
                "seq": r.seq,
                "at": to_iso(r.at_s),
                "actor": r.actor,
                "role": r.role,
                "action": r.action,
                "target": r.target,
                "purpose": r.purpose,
                "outcome": r.outcome,
            }
            for r in audit_rows
        ],
    }
