"""Orders and their rules, versioned: a change makes a new version, the old stays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.errors import InvalidInput, UnknownReference
from ronda.rules.models import RuleType
from ronda.storage.cases import get_person, now_s
from ronda.storage.errors import Conflict, NotFound
from ronda.storage.models import OrderRow, OrderVersionRow, PersonRow, RuleRow, ZoneRow
from ronda.storage.rules_json import rule_from_json, timezone


@dataclass(frozen=True)
class OrderView:
    id: str
    person: str
    version: int
    active: bool
    timezone: str
    rules: list[dict[str, Any]]
    created_s: float
    updated_s: float


def rule_to_json(r: RuleRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "type": r.type}
    if r.type == RuleType.PROXIMITY:
        out["person"] = r.protected_person_id
        out["distance_m"] = r.distance_m
    else:
        out["zone"] = r.zone_id
    if r.schedule is not None:
        out["schedule"] = r.schedule
    return out


def _rules(s: Session, order_id: str, version: int) -> list[RuleRow]:
    stmt = (
        select(RuleRow)
        .where(RuleRow.order_id == order_id, RuleRow.version == version)
        .order_by(RuleRow.position)
    )
    return list(s.execute(stmt).scalars())


def _view(s: Session, o: OrderRow, version: int | None = None) -> OrderView:
    v = version or o.version
    ver = s.get(OrderVersionRow, (o.id, v))
    if ver is None:
        raise NotFound("order version", f"{o.id} v{v}")
    return OrderView(
        o.id,
        o.person_id,
        v,
        o.active,
        ver.timezone,
        [rule_to_json(r) for r in _rules(s, o.id, v)],
        ver.created_s if version else o.created_s,
        o.updated_s,
    )


def get_order(s: Session, order_id: str, version: int | None = None) -> OrderView:
    o = s.get(OrderRow, order_id)
    if o is None:
        raise NotFound("order", order_id)
    return _view(s, o, version)


def list_orders(s: Session, person: str | None = None, limit: int = 1000, offset: int = 0) -> list[OrderView]:
    stmt = select(OrderRow).order_by(OrderRow.id).limit(limit).offset(offset)
    if person is not None:
        stmt = stmt.where(OrderRow.person_id == person)
    return [_view(s, o) for o in s.execute(stmt).scalars()]


def order_versions(s: Session, order_id: str) -> list[OrderView]:
    o = s.get(OrderRow, order_id)
    if o is None:
        raise NotFound("order", order_id)
    versions = s.execute(
        select(OrderVersionRow.version).where(OrderVersionRow.order_id == order_id).order_by("version")
    ).scalars()
    return [_view(s, o, v) for v in versions]


def _check_rules(s: Session, order_id: str, person: str, tz_name: str, rules: list[Any]) -> None:
    tz = timezone(tz_name)
    seen: set[str] = set()
    for i, raw in enumerate(rules):
        where = f"rules[{i}]"
        rule = rule_from_json(raw, tz, where)
        if rule.id in seen:
            raise InvalidInput("duplicate rule id {rule}", field=f"{where}.id", rule=repr(rule.id))
        seen.add(rule.id)
        if rule.zone is not None and s.get(ZoneRow, rule.zone) is None:
            raise UnknownReference("no zone {zone}", field=f"{where}.zone", zone=repr(rule.zone))
        if rule.protected_person is not None:
            other = s.get(PersonRow, rule.protected_person)
            if other is None:
                raise UnknownReference(
                    "no person {person}", field=f"{where}.person", person=repr(rule.protected_person)
                )
            if other.id == person:
                raise InvalidInput("a person cannot be kept away from themselves", field=f"{where}.person")
        # rule ids are the engine's keys: one current owner each
        clash = s.execute(
            select(RuleRow.order_id)
            .join(OrderRow, (OrderRow.id == RuleRow.order_id) & (OrderRow.version == RuleRow.version))
            .where(RuleRow.id == rule.id, RuleRow.order_id != order_id)
        ).first()
        if clash is not None:
            raise Conflict(
                "rule id {rule} belongs to order {order}",
                field=f"{where}.id",
                rule=repr(rule.id),
                order=repr(clash[0]),
            )


def _write_version(
    s: Session, order_id: str, version: int, tz_name: str, rules: list[dict[str, Any]], by: str
) -> None:
    s.add(
        OrderVersionRow(
            order_id=order_id, version=version, timezone=tz_name, created_s=now_s(), created_by=by
        )
    )
    s.flush()
    for i, raw in enumerate(rules):
        proximity = raw["type"] == RuleType.PROXIMITY
        s.add(
            RuleRow(
                order_id=order_id,
                version=version,
                id=raw["id"],
                position=i,
                type=raw["type"],
                zone_id=None if proximity else raw["zone"],
                protected_person_id=raw["person"] if proximity else None,
                distance_m=float(raw["distance_m"]) if proximity else None,
                schedule=raw.get("schedule") or None,
            )
        )
    s.flush()


def create_order(
    s: Session, order_id: str, person: str, tz_name: str, rules: list[dict[str, Any]], by: str = "system"
) -> OrderView:
    get_person(s, person)
    if s.get(OrderRow, order_id) is not None:
        raise Conflict("order {order} exists", field="id", order=repr(order_id))
    _check_rules(s, order_id, person, tz_name, rules)
    t = now_s()
    s.add(OrderRow(id=order_id, person_id=person, version=1, active=True, created_s=t, updated_s=t))
    s.flush()
    _write_version(s, order_id, 1, tz_name, rules, by)
    return get_order(s, order_id)


def update_order(
    s: Session,
    order_id: str,
    *,
    tz_name: str | None = None,
    rules: list[dict[str, Any]] | None = None,
    active: bool | None = None,
    by: str = "system",
) -> OrderView:
    """A new version with the given time zone and rules (the old version stays)."""
    current = get_order(s, order_id)
    o = s.get(OrderRow, order_id)
    assert o is not None
    new_tz = tz_name or current.timezone
    new_rules = rules if rules is not None else current.rules
    if tz_name is not None or rules is not None:
        _check_rules(s, order_id, o.person_id, new_tz, new_rules)
        o.version += 1
        _write_version(s, order_id, o.version, new_tz, new_rules, by)
    if active is not None:
        o.active = active
    o.updated_s = now_s()
    s.flush()
    return get_order(s, order_id)
