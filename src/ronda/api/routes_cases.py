"""Persons, devices (inventory, assignment, ingest token), zones, orders and rules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from shapely.errors import ShapelyError

from ronda.api import schemas as sc
from ronda.api.auth import visible_devices, visible_persons, visible_zones
from ronda.api.deps import service, tx, when
from ronda.api.policy import CallerDep, actor_name, scope_of
from ronda.errors import InvalidInput
from ronda.storage import cases, orders
from ronda.storage.errors import NotFound
from ronda.storage.models import DEFAULT_AGENCY, DeviceRow, PersonRow, ZoneRow
from ronda.zones.geometry import validate_zone_geometry

router = APIRouter(prefix="/api")
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


def _changed(request: Request) -> None:
    service(request).caseload_changed()


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- persons


def person_out(p: PersonRow) -> sc.PersonOut:
    return sc.PersonOut(id=p.id, role=p.role, name=p.name, created=when(p.created_s))


@router.get("/persons", tags=["persons"])
def list_persons(
    request: Request, caller: CallerDep, role: sc.Role | None = None, limit: Limit = 1000, offset: Offset = 0
) -> list[sc.PersonOut]:
    """The persons the caller may see (an officer: their caseload; an operator:
    persons in alert, or all with a stated purpose)."""
    with tx(request) as s:
        seen = visible_persons(s, caller, scope_of(request))
        rows = [p for p in cases.list_persons(s, role, 10**9, 0) if p.id in seen]
        return [person_out(p) for p in rows[offset : offset + limit]]


def _agency_of(caller: CallerDep) -> str:
    return caller.agency_id or DEFAULT_AGENCY


def _visible_person(request: Request, caller: CallerDep, s: Any, person: str | None) -> None:
    """A person named in a body must be one the caller may see (else: as if absent)."""
    if person is not None and person not in visible_persons(s, caller, scope_of(request)):
        raise NotFound("person", person)


@router.post("/persons", status_code=201, tags=["persons"])
def create_person(request: Request, caller: CallerDep, body: sc.PersonIn) -> sc.PersonOut:
    with tx(request) as s:
        row = cases.create_person(s, body.id or _new_id("p"), body.role, body.name)
        row.agency_id = _agency_of(caller)
        out = person_out(row)
    _changed(request)
    return out


@router.get("/persons/{person_id}", tags=["persons"])
def get_person(request: Request, person_id: PathId) -> sc.PersonOut:
    with tx(request) as s:
        return person_out(cases.get_person(s, person_id))


@router.patch("/persons/{person_id}", tags=["persons"])
def patch_person(request: Request, person_id: PathId, body: sc.PersonPatch) -> sc.PersonOut:
    with tx(request) as s:
        out = person_out(cases.update_person(s, person_id, role=body.role, name=body.name))
    _changed(request)
    return out


@router.delete("/persons/{person_id}", status_code=204, tags=["persons"])
def delete_person(request: Request, person_id: PathId) -> Response:
    with tx(request) as s:
        cases.delete_person(s, person_id)
    _changed(request)
    return Response(status_code=204)


# ---------------------------------------------------------------- devices


def device_out(d: DeviceRow) -> sc.DeviceOut:
    return sc.DeviceOut(
        id=d.id,
        kind=d.kind,
        serial=d.serial,
        status=d.status,
        person=d.person_id,
        home_zone=d.home_zone_id,
        report_interval_s=d.report_interval_s,
        comms_timeout_s=d.comms_timeout_s,
        has_token=d.token_hash is not None,
        created=when(d.created_s),
    )


@router.get("/devices", tags=["devices"])
def list_devices(
    request: Request,
    caller: CallerDep,
    person: Annotated[str | None, Query(max_length=64, pattern=sc.ID_PATTERN)] = None,
    status: sc.DeviceStatus | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[sc.DeviceOut]:
    with tx(request) as s:
        seen = visible_devices(s, caller, scope_of(request))
        rows = [d for d in cases.list_devices(s, person=person, status=status, limit=10**9) if d.id in seen]
        return [device_out(d) for d in rows[offset : offset + limit]]


@router.post("/devices", status_code=201, tags=["devices"])
def create_device(request: Request, caller: CallerDep, body: sc.DeviceIn) -> sc.DeviceOut:
    with tx(request) as s:
        row = cases.create_device(
            s,
            body.id,
            body.kind,
            serial=body.serial,
            status=body.status,
            report_interval_s=body.report_interval_s,
            comms_timeout_s=body.comms_timeout_s,
            home_zone=body.home_zone,
        )
        row.agency_id = _agency_of(caller)
        out = device_out(row)
    _changed(request)
    return out


@router.get("/devices/{device_id}", tags=["devices"])
def get_device(request: Request, device_id: PathId) -> sc.DeviceOut:
    with tx(request) as s:
        return device_out(cases.get_device(s, device_id))


@router.patch("/devices/{device_id}", tags=["devices"])
def patch_device(request: Request, device_id: PathId, body: sc.DevicePatch) -> sc.DeviceOut:
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "home_zone" in fields:
        fields["home_zone_id"] = fields.pop("home_zone")
    if "serial" in fields and fields["serial"] is None:
        fields.pop("serial")
    if "status" in fields and fields["status"] is None:
        fields.pop("status")
    with tx(request) as s:
        out = device_out(cases.update_device(s, device_id, **fields))
    _changed(request)
    return out


@router.delete("/devices/{device_id}", status_code=204, tags=["devices"])
def delete_device(request: Request, device_id: PathId) -> Response:
    with tx(request) as s:
        cases.delete_device(s, device_id)
    _changed(request)
    return Response(status_code=204)


@router.post("/devices/{device_id}/assign", tags=["devices"])
def assign_device(request: Request, caller: CallerDep, device_id: PathId, body: sc.AssignIn) -> sc.DeviceOut:
    with tx(request) as s:
        _visible_person(request, caller, s, body.person)
        out = device_out(cases.assign_device(s, device_id, body.person, actor_name(request, body.by)))
    _changed(request)
    return out


@router.get("/devices/{device_id}/assignments", tags=["devices"])
def device_assignments(request: Request, device_id: PathId) -> list[sc.AssignmentOut]:
    with tx(request) as s:
        cases.get_device(s, device_id)
        return [
            sc.AssignmentOut(
                device=a.device_id,
                person=a.person_id,
                start=when(a.start_s),
                assigned_by=a.assigned_by,
                end=None if a.end_s is None else when(a.end_s),
                ended_by=a.ended_by,
            )
            for a in cases.assignments(s, device=device_id)
        ]


@router.post("/devices/{device_id}/token", status_code=201, tags=["devices"])
def issue_token(request: Request, device_id: PathId) -> sc.TokenOut:
    """A new ingest token for the native endpoint (replaces the previous one)."""
    with tx(request) as s:
        token = cases.issue_token(s, device_id)
    _changed(request)
    return sc.TokenOut(device=device_id, token=token)


# ------------------------------------------------------------------ zones


def zone_feature(z: ZoneRow) -> dict[str, Any]:
    props: dict[str, Any] = {"name": z.name}
    if z.radius_m is not None:
        props["radius_m"] = z.radius_m
    return {"type": "Feature", "id": z.id, "geometry": z.geometry, "properties": props}


def _checked_geometry(body: sc.ZoneFeatureIn) -> None:
    try:
        validate_zone_geometry(body.geometry, body.properties.radius_m, field="geometry")
    except InvalidInput as exc:
        if exc.field == "radius_m":
            exc.field = "properties.radius_m"
        raise
    except (ValueError, TypeError, OverflowError, ShapelyError, RecursionError) as exc:
        raise InvalidInput(
            "not a usable geometry: {reason}", field="geometry", reason=type(exc).__name__
        ) from exc


@router.get("/zones", tags=["zones"])
def list_zones(
    request: Request, caller: CallerDep, limit: Limit = 1000, offset: Offset = 0
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection."""
    with tx(request) as s:
        seen = visible_zones(s, caller, scope_of(request))
        rows = [z for z in cases.list_zones(s, 10**9, 0) if z.id in seen]
        return {
            "type": "FeatureCollection",
            "features": [zone_feature(z) for z in rows[offset : offset + limit]],
        }


@router.post("/zones", status_code=201, tags=["zones"])
def create_zone(request: Request, caller: CallerDep, body: sc.ZoneFeatureIn) -> dict[str, Any]:
    _checked_geometry(body)
    with tx(request) as s:
        zid = body.id or _new_id("z")
        row = cases.put_zone(
            s, zid, body.properties.name or zid, body.geometry, body.properties.radius_m, create=True
        )
        row.agency_id = _agency_of(caller)
        out = zone_feature(row)
    _changed(request)
    return out


@router.get("/zones/{zone_id}", tags=["zones"])
def get_zone(request: Request, zone_id: PathId) -> dict[str, Any]:
    with tx(request) as s:
        return zone_feature(cases.get_zone(s, zone_id))


@router.put("/zones/{zone_id}", tags=["zones"])
def put_zone(request: Request, zone_id: PathId, body: sc.ZoneFeatureIn) -> dict[str, Any]:
    _checked_geometry(body)
    with tx(request) as s:
        row = cases.put_zone(
            s, zone_id, body.properties.name or zone_id, body.geometry, body.properties.radius_m, create=False
        )
        out = zone_feature(row)
    _changed(request)
    return out


@router.delete("/zones/{zone_id}", status_code=204, tags=["zones"])
def delete_zone(request: Request, zone_id: PathId) -> Response:
    with tx(request) as s:
        cases.delete_zone(s, zone_id)
    _changed(request)
    return Response(status_code=204)


# ----------------------------------------------------------------- orders


def order_out(o: orders.OrderView) -> sc.OrderOut:
    return sc.OrderOut(
        id=o.id,
        person=o.person,
        version=o.version,
        active=o.active,
        timezone=o.timezone,
        rules=o.rules,
        updated=when(o.updated_s),
    )


def _rules_json(rules: list[sc.RuleIn]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude_none=True) for r in rules]


@router.get("/orders", tags=["orders"])
def list_orders(
    request: Request,
    caller: CallerDep,
    person: Annotated[str | None, Query(max_length=64, pattern=sc.ID_PATTERN)] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[sc.OrderOut]:
    with tx(request) as s:
        seen = visible_persons(s, caller, scope_of(request))
        rows = [o for o in orders.list_orders(s, person, 10**9, 0) if o.person in seen]
        return [order_out(o) for o in rows[offset : offset + limit]]


@router.post("/orders", status_code=201, tags=["orders"])
def create_order(request: Request, caller: CallerDep, body: sc.OrderIn) -> sc.OrderOut:
    with tx(request) as s:
        _visible_person(request, caller, s, body.person)
        view = orders.create_order(
            s,
            body.id or _new_id("o"),
            body.person,
            body.timezone,
            _rules_json(body.rules),
            actor_name(request, body.by),
        )
    _changed(request)
    return order_out(view)


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(
    request: Request, order_id: PathId, version: Annotated[int | None, Query(ge=1, le=10**6)] = None
) -> sc.OrderOut:
    with tx(request) as s:
        return order_out(orders.get_order(s, order_id, version))


@router.get("/orders/{order_id}/versions", tags=["orders"])
def order_versions(request: Request, order_id: PathId) -> list[sc.OrderOut]:
    with tx(request) as s:
        return [order_out(o) for o in orders.order_versions(s, order_id)]


@router.put("/orders/{order_id}", tags=["orders"])
def update_order(request: Request, order_id: PathId, body: sc.OrderUpdate) -> sc.OrderOut:
    """Changing the time zone or the rules makes a new version; the old one is kept."""
    with tx(request) as s:
        view = orders.update_order(
            s,
            order_id,
            tz_name=body.timezone,
            rules=None if body.rules is None else _rules_json(body.rules),
            active=body.active,
            by=actor_name(request, body.by),
        )
    _changed(request)
    return order_out(view)


@router.delete("/orders/{order_id}", tags=["orders"])
def end_order(request: Request, order_id: PathId) -> sc.OrderOut:
    """Ends (deactivates) the order; it and its versions are kept for the record."""
    with tx(request) as s:
        view = orders.update_order(s, order_id, active=False)
    _changed(request)
    return order_out(view)


@router.post("/orders/{order_id}/rules", status_code=201, tags=["orders"])
def add_rule(request: Request, order_id: PathId, body: sc.RuleIn) -> sc.OrderOut:
    """Adds a rule: a new version of the order."""
    with tx(request) as s:
        current = orders.get_order(s, order_id)
        view = orders.update_order(s, order_id, rules=[*current.rules, *_rules_json([body])])
    _changed(request)
    return order_out(view)


@router.delete("/orders/{order_id}/rules/{rule_id}", tags=["orders"])
def remove_rule(request: Request, order_id: PathId, rule_id: PathId) -> sc.OrderOut:
    """Removes a rule: a new version of the order."""
    with tx(request) as s:
        current = orders.get_order(s, order_id)
        kept = [r for r in current.rules if r["id"] != rule_id]
        if len(kept) == len(current.rules):
            from ronda.storage.errors import NotFound

            raise NotFound("rule", rule_id)
        view = orders.update_order(s, order_id, rules=kept)
    _changed(request)
    return order_out(view)


@router.get("/rules", tags=["orders"])
def list_rules(request: Request, caller: CallerDep) -> list[dict[str, Any]]:
    """Current rules of active orders, each with its order and person."""
    with tx(request) as s:
        seen = visible_persons(s, caller, scope_of(request))
        return [
            {**r, "order": o.id, "monitored": o.person, "order_version": o.version}
            for o in orders.list_orders(s, limit=100_000)
            if o.active and o.person in seen
            for r in o.rules
        ]
