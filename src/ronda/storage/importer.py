"""`ronda import`: the setup of a scenario folder (zones, persons, devices, orders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ronda.scenarios.loader import load_scenario
from ronda.storage import cases, orders
from ronda.storage.caseload import DEFAULT_POLICY, POLICY, SITE
from ronda.storage.models import DeviceRow, OrderRow, PersonRow, ZoneRow


@dataclass
class ImportCounts:
    zones: int = 0
    persons: int = 0
    devices: int = 0
    orders: int = 0


def import_scenario(s: Session, directory: Path, by: str = "import") -> ImportCounts:
    """Create what is missing and update what exists (a changed order gets a new
    version). The scenario is validated first (errors name file and field)."""
    scenario = load_scenario(directory)
    raw = scenario.raw
    counts = ImportCounts()
    tz_name = str(raw["timezone"])
    cases.put_setting(s, SITE, {"timezone": tz_name, "name": scenario.caseload.name})
    cases.put_setting(s, POLICY, {**DEFAULT_POLICY, **(raw.get("policy") or {})})
    for z in raw.get("zones", []):
        exists = s.get(ZoneRow, z["id"]) is not None
        radius = z.get("radius_m")
        cases.put_zone(
            s,
            z["id"],
            str(z.get("name", z["id"])),
            z["geometry"],
            float(radius) if radius else None,
            create=not exists,
        )
        counts.zones += 1
    for p in raw.get("persons", []):
        if s.get(PersonRow, p["id"]) is None:
            cases.create_person(s, p["id"], p["role"], str(p.get("name", "")))
        else:
            cases.update_person(s, p["id"], role=p["role"])
        counts.persons += 1
    for d in raw.get("devices", []):
        if s.get(DeviceRow, d["id"]) is None:
            cases.create_device(
                s,
                d["id"],
                d["kind"],
                serial=str(d.get("serial", d["id"])),
                report_interval_s=d.get("report_interval_s"),
                comms_timeout_s=d.get("comms_timeout_s"),
                home_zone=d.get("zone"),
            )
        else:
            cases.update_device(
                s,
                d["id"],
                report_interval_s=d.get("report_interval_s"),
                comms_timeout_s=d.get("comms_timeout_s"),
                home_zone_id=d.get("zone"),
            )
        cases.assign_device(s, d["id"], d["person"], by, at_s=scenario.start_s)
        counts.devices += 1
    for i, o in enumerate(raw.get("orders", [])):
        oid = str(o.get("id", f"order-{i}"))
        rules = list(o.get("rules", []))
        if s.get(OrderRow, oid) is None:
            orders.create_order(s, oid, o["person"], tz_name, rules, by)
        else:
            current = orders.get_order(s, oid)
            if current.rules != rules or current.timezone != tz_name:
                orders.update_order(s, oid, tz_name=tz_name, rules=rules, by=by)
        counts.orders += 1
    return counts
