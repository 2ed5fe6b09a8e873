"""The caseload the engine runs on, read from what is stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.cases.caseload import Caseload
from ronda.cases.models import Device, DeviceKind, Person, PersonRole
from ronda.rules.models import HealthPolicy, Order
from ronda.storage.cases import get_setting
from ronda.storage.models import DeviceRow, OrderRow, OrderVersionRow, PersonRow, RuleRow, ZoneRow
from ronda.storage.rules_json import rule_from_json, timezone
from ronda.types import DeviceId, OrderId, PersonId, ZoneId
from ronda.zones.models import Zone

SITE = "site"
POLICY = "policy"
DEFAULT_SITE = {"timezone": "UTC", "name": "ronda"}
DEFAULT_POLICY = {"low_battery_percent": 15.0, "no_fix_timeout_s": 900.0}


def load_caseload(s: Session) -> Caseload:
    site = get_setting(s, SITE, DEFAULT_SITE)
    policy = get_setting(s, POLICY, DEFAULT_POLICY)
    zones = {
        ZoneId(z.id): Zone(ZoneId(z.id), z.name, z.geometry, z.radius_m)
        for z in s.execute(select(ZoneRow)).scalars()
    }
    persons = {
        PersonId(p.id): Person(PersonId(p.id), PersonRole(p.role), p.name)
        for p in s.execute(select(PersonRow)).scalars()
    }
    devices = {
        DeviceId(d.id): Device(
            DeviceId(d.id),
            DeviceKind(d.kind),
            PersonId(d.person_id) if d.person_id else None,
            d.report_interval_s,
            d.comms_timeout_s,
            ZoneId(d.home_zone_id) if d.home_zone_id else None,
        )
        for d in s.execute(select(DeviceRow).where(DeviceRow.status != "retired")).scalars()
    }
    orders = []
    current = s.execute(
        select(OrderRow, OrderVersionRow)
        .join(
            OrderVersionRow,
            (OrderVersionRow.order_id == OrderRow.id) & (OrderVersionRow.version == OrderRow.version),
        )
        .where(OrderRow.active.is_(True))
        .order_by(OrderRow.id)
    )
    for o, ver in current:
        tz = timezone(ver.timezone)
        rows = s.execute(
            select(RuleRow)
            .where(RuleRow.order_id == o.id, RuleRow.version == o.version)
            .order_by(RuleRow.position)
        ).scalars()
        rules = []
        for r in rows:
            raw = {
                "id": r.id,
                "type": r.type,
                "zone": r.zone_id,
                "person": r.protected_person_id,
                "distance_m": r.distance_m,
                "schedule": r.schedule,
            }
            rules.append(rule_from_json(raw, tz, f"order {o.id} rule {r.id}"))
        orders.append(Order(OrderId(o.id), PersonId(o.person_id), tuple(rules)))
    return Caseload(
        timezone=timezone(site.get("timezone", "UTC")),
        zones=zones,
        persons=persons,
        devices=devices,
        orders=tuple(orders),
        policy=HealthPolicy(
            low_battery_pct=float(policy.get("low_battery_percent", 15.0)),
            no_fix_timeout_s=float(policy.get("no_fix_timeout_s", 900.0)),
        ),
        name=str(site.get("name", "ronda")),
    )
