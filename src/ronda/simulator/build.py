"""Putting a simulation together: city, people, paths, devices, truth, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ronda.simulator.city import build_city
from ronda.simulator.config import SimulationConfig
from ronda.simulator.devices import (
    Arrival,
    Delivered,
    Issue,
    phone_records,
    tag_records,
    unit_records,
)
from ronda.simulator.population import Monitored, Town
from ronda.simulator.truth import Episode, health_episodes, rule_episodes
from ronda.simulator.writer import write_scenario
from ronda.types import to_iso

FORMAT = "em-scenario/1"
LOW_BATTERY_PCT = 15
NO_FIX_TIMEOUT_S = 900
TAG_TIMEOUT_S = 900.0
UNIT_TIMEOUT_S = 2700.0

FORCED_ISSUES = [
    Issue.TAMPER,
    Issue.LOW_BATTERY,
    Issue.SWITCHED_OFF,
    Issue.BASEMENT,
    Issue.COVERAGE_LOSS,
    Issue.FLAT_BATTERY,
    Issue.UNIT_POWER_CUT,
]
ISSUE_RATE = 0.035  # chance of each issue per person-day


def _issues(
    rng: np.random.Generator, town: Town, p: Monitored, ensure_variety: bool
) -> list[tuple[Issue, float]]:
    out: list[tuple[Issue, float]] = []
    for d in range(town.days):
        kinds = [k for k in Issue if rng.uniform() < ISSUE_RATE]
        if ensure_variety and d == 0:
            kinds.insert(0, FORCED_ISSUES[p.index % len(FORCED_ISSUES)])
        for k in dict.fromkeys(kinds):
            if k == Issue.UNIT_POWER_CUT and not p.has_unit:
                continue
            hour = rng.uniform(1.0, 5.0) if k == Issue.UNIT_POWER_CUT else rng.uniform(9.0, 16.0)
            out.append((k, float(np.floor(town.local(d, hour)))))
    return out


def simulate(out_dir: Path, config: SimulationConfig) -> Path:
    """Simulate a city under monitoring and write the scenario folder."""
    rng = np.random.default_rng(config.seed)
    tz = ZoneInfo(config.timezone)
    start_s, end_s = config.start_s(), config.end_s()
    n_restricted = 4 + config.persons // 4
    radius = max(config.city_radius_m, 2500.0 * np.sqrt(config.persons) ** 0.5 * 1.6)
    city = build_city(rng, config.lat, config.lon, float(radius), n_restricted)
    town = Town(rng, city, tz, start_s, config.days, next_zone=1 + n_restricted)
    persons, victims = town.populate(config.persons, config.violation_rate, config.ensure_variety)
    for v in victims:
        v.path = town.victim_path(v)
    for p in persons:
        p.path = town.monitored_path(p)

    arrivals: list[Arrival] = []
    devices: list[dict[str, Any]] = []
    delivered: dict[str, Delivered] = {}
    phones: dict[str, Delivered] = {}
    owners: dict[str, str] = {}
    timeouts: dict[str, float | None] = {}
    tags: set[str] = set()
    vmap = {v.id: v for v in victims}
    for p in persons:
        assert p.path is not None
        n = p.number
        tag, unit = f"tag-{n:04d}", f"unit-{n:04d}"
        issues = _issues(rng, town, p, config.ensure_variety)
        charges = [float(town.local(d, rng.uniform(19.5, 22.0))) for d in range(config.days)]
        recs, delivered[tag] = tag_records(
            rng, city.projection, tag, p.path, start_s, end_s, config.noise_level, issues, charges
        )
        arrivals += recs
        devices.append(
            {
                "id": tag,
                "kind": "gps_tag",
                "person": p.id,
                "report_interval_s": 60,
                "comms_timeout_s": TAG_TIMEOUT_S,
            }
        )
        owners[tag], timeouts[tag] = p.id, TAG_TIMEOUT_S
        tags.add(tag)
        if p.victim is not None:
            v = p.victim
            assert v.path is not None
            phone = f"phone-{n:04d}"
            recs, phones[v.id] = phone_records(
                rng, city.projection, phone, v.path, start_s, end_s, config.noise_level
            )
            arrivals += recs
            devices.append(
                {
                    "id": phone,
                    "kind": "phone",
                    "person": v.id,
                    "report_interval_s": 120,
                    "comms_timeout_s": None,
                }
            )
        if p.has_unit:
            cuts = [(t, t + float(rng.uniform(3000, 6000))) for k, t in issues if k == Issue.UNIT_POWER_CUT]
            arrivals += unit_records(rng, unit, p.path, p.home.xy, start_s, end_s, cuts)
            devices.append(
                {
                    "id": unit,
                    "kind": "home_unit",
                    "person": p.id,
                    "zone": p.home_zone.id,
                    "comms_timeout_s": UNIT_TIMEOUT_S,
                }
            )
            owners[unit], timeouts[unit] = p.id, UNIT_TIMEOUT_S

    episodes: list[Episode] = []
    for p in persons:
        episodes += rule_episodes(p, vmap, tz, start_s, end_s, delivered[f"tag-{p.number:04d}"], phones)
    episodes += health_episodes(arrivals, owners, timeouts, tags, end_s, LOW_BATTERY_PCT, NO_FIX_TIMEOUT_S)
    episodes.sort(key=lambda e: (_pnum(e.person), e.type, e.rule or e.device or "", e.start_s))

    name = config.scenario_name()
    zones = [city.limits, *city.restricted, *town.zones]
    people: list[dict[str, Any]] = []
    for p in persons:
        people.append({"id": p.id, "role": "monitored"})
        if p.victim is not None:
            people.append({"id": p.victim.id, "role": "protected"})
    scenario: dict[str, Any] = {
        "format": FORMAT,
        "name": name,
        "timezone": config.timezone,
        "start": to_iso(start_s),
        "end": to_iso(end_s),
        "policy": {"low_battery_percent": LOW_BATTERY_PCT, "no_fix_timeout_s": NO_FIX_TIMEOUT_S},
        "zones": [z.to_json(city.projection) for z in zones],
        "persons": people,
        "devices": devices,
        "orders": [
            {"id": f"o-{p.id}", "person": p.id, "rules": [r.to_json() for r in p.rules]} for p in persons
        ],
    }
    truth = {
        "scenario": name,
        "person_days": config.persons * config.days,
        "episodes": [e.to_json() for e in episodes],
    }
    return write_scenario(out_dir, scenario, arrivals, truth)


def _pnum(person: str) -> int:
    return int(person[1:]) if person[1:].isdigit() else 0
