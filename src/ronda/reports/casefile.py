"""Gathering a person's case file from the store (an adapter: SQLAlchemy in,
plain `ronda.evidence.model` values out)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronda.evidence.model import Action, CaseFile, EpisodeFact, Event, Fix, OrderFact, WornDevice
from ronda.storage import alerts, cases, orders, records
from ronda.storage.caseload import DEFAULT_POLICY, DEFAULT_SITE, POLICY, SITE
from ronda.storage.models import AlertActionRow, DeviceRow, OrderVersionRow, RecordRow, ZoneRow
from ronda.storage.rules_json import schedule_from_json, timezone
from ronda.types import ZoneId
from ronda.zones.models import Zone

ALL = 10**9
EVENT_KINDS = (
    "strap_tamper",
    "strap_restored",
    "tag_present",
    "tag_absent",
    "heartbeat",
    "sos",
    "low_battery",
    "power_cut",
    "power_restored",
    "duress",
)


def fix_of(r: RecordRow) -> Fix:
    return Fix(
        r.device_id, r.time_s, r.received_s, r.lat, r.lon, r.accuracy_m, r.speed_mps, r.battery_pct, r.valid
    )


def event_of(r: RecordRow) -> Event:
    return Event(r.device_id, r.time_s, r.received_s, r.kind, r.battery_pct)


def worn_devices(s: Session, person: str, start_s: float, end_s: float) -> list[WornDevice]:
    """The devices the person wore during the period, each with its stretch."""
    out = []
    for a in cases.assignments(s, person=person):
        if a.start_s >= end_s or (a.end_s is not None and a.end_s <= start_s):
            continue
        d = s.get(DeviceRow, a.device_id)
        if d is None:
            continue
        out.append(
            WornDevice(
                d.id,
                d.kind,
                d.serial,
                a.start_s,
                a.end_s,
                d.report_interval_s,
                d.comms_timeout_s,
                d.home_zone_id,
            )
        )
    return out


def _records(
    s: Session, devices: list[WornDevice], start_s: float, end_s: float, kinds: tuple[str, ...]
) -> list[RecordRow]:
    rows: list[RecordRow] = []
    for d in devices:
        lo = max(start_s, d.start_s)
        hi = min(end_s, d.end_s if d.end_s is not None else end_s)
        if lo < hi:
            rows += records.device_records(s, [d.id], lo, hi, kinds=kinds, limit=ALL)
    rows.sort(key=lambda r: (r.time_s, r.device_id, r.kind))
    return rows


def person_fixes(s: Session, person: str, start_s: float, end_s: float) -> list[Fix]:
    return [
        fix_of(r) for r in _records(s, worn_devices(s, person, start_s, end_s), start_s, end_s, ("position",))
    ]


def episodes_of(s: Session, person: str, start_s: float, end_s: float) -> list[EpisodeFact]:
    rows = alerts.list_episodes(
        s, alerts.EpisodeFilter(person=person, start_s=start_s, end_s=end_s), limit=ALL
    )
    ids = [a.id for _, a in rows]
    acts: dict[int, list[Action]] = {}
    if ids:
        for r in s.execute(
            select(AlertActionRow).where(AlertActionRow.alert_id.in_(ids)).order_by(AlertActionRow.id)
        ).scalars():
            acts.setdefault(r.alert_id, []).append(
                Action(r.alert_id, r.action, r.actor, r.from_status, r.to_status, r.text, r.at_s)
            )
    out = [
        EpisodeFact(
            e.id,
            e.type,
            e.person_id,
            e.rule_id,
            e.device_id,
            e.start_s,
            e.raised_s,
            e.end_s,
            a.id,
            a.status,
            a.severity,
            a.owner,
            a.outcome,
            tuple(acts.get(a.id, ())),
        )
        for e, a in rows
    ]
    return sorted(out, key=lambda e: (e.start_s, e.type, e.id))


def _order(s: Session, person: str) -> OrderFact | None:
    found = orders.list_orders(s, person=person)
    if not found:
        return None
    active = [o for o in found if o.active] or found
    o = active[0]
    ver = s.get(OrderVersionRow, (o.id, o.version))
    n = len(orders.order_versions(s, o.id))
    return OrderFact(
        o.id,
        o.version,
        n,
        o.timezone,
        tuple(o.rules),
        ver.created_s if ver else o.created_s,
        ver.created_by if ver else "",
    )


def gather(s: Session, person: str, start_s: float, end_s: float) -> CaseFile:
    """The case file of `person` over [start_s, end_s) (NotFound if no such person)."""
    p = cases.get_person(s, person)
    order = _order(s, person)
    tz_name = (
        order.timezone if order else str(cases.get_setting(s, SITE, DEFAULT_SITE).get("timezone", "UTC"))
    )
    devices = worn_devices(s, person, start_s, end_s)
    rows = _records(s, devices, start_s, end_s, ("position", *EVENT_KINDS))
    zone_ids = {str(r["zone"]) for r in (order.rules if order else ()) if r.get("zone")}
    zone_ids |= {d.home_zone for d in devices if d.home_zone}
    zones = {
        z.id: Zone(ZoneId(z.id), z.name, z.geometry, z.radius_m)
        for z in s.execute(select(ZoneRow).where(ZoneRow.id.in_(sorted(zone_ids)))).scalars()
    }
    protected: dict[str, list[Fix]] = {}
    names: dict[str, str] = {}
    for r in order.rules if order else ():
        if r.get("type") == "proximity" and r.get("person"):
            other = str(r["person"])
            row = cases.get_person(s, other)
            names[other] = row.name or other
            protected[other] = person_fixes(s, other, start_s, end_s)
    policy = cases.get_setting(s, POLICY, DEFAULT_POLICY)
    tz = timezone(tz_name)
    schedules = {
        str(r["id"]): schedule_from_json(r["schedule"], tz, f"rules.{r['id']}.schedule")
        for r in (order.rules if order else ())
        if r.get("schedule")
    }
    return CaseFile(
        person_id=p.id,
        person_name=p.name,
        start_s=start_s,
        end_s=end_s,
        timezone=tz,
        order=order,
        zones=zones,
        devices=devices,
        fixes=[fix_of(r) for r in rows if r.kind == "position"],
        events=[event_of(r) for r in rows if r.kind != "position"],
        episodes=episodes_of(s, person, start_s, end_s),
        protected_fixes=protected,
        person_names=names,
        no_fix_timeout_s=float(policy.get("no_fix_timeout_s", 900.0)),
        schedules=schedules,
    )
