"""The caseload compiled into flat lookups for the engine's hot path."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ronda.cases.caseload import Caseload
from ronda.cases.models import DeviceKind, PersonRole
from ronda.geo.projection import FloatArray, LocalProjection
from ronda.rules.models import Rule, RuleType
from ronda.rules.schedule import Schedule
from ronda.types import DeviceId, PersonId, RuleId, ZoneId
from ronda.zones.geometry import project_zone, zone_lonlats
from ronda.zones.index import IntArray, ZoneIndex

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ProximityLink:
    rule: RuleId
    other: PersonId  # the person whose fixes this one is compared with
    distance_m: float
    monitored: PersonId


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    person: PersonId | None
    kind: DeviceKind
    comms_timeout_s: float | None
    health: bool  # device-health rules hold (devices of monitored persons)
    locates: bool  # its fixes place its person (tags, phones)


@dataclass
class CompiledCaseload:
    caseload: Caseload
    projection: LocalProjection
    index: ZoneIndex
    devices: dict[DeviceId, DeviceInfo]
    rules: dict[RuleId, Rule]
    rule_person: dict[RuleId, PersonId]
    schedules: dict[RuleId, Schedule | None]
    # zone rules per person, as parallel arrays for vectorised depth
    zone_rules: dict[PersonId, tuple[RuleId, ...]] = field(default_factory=dict)
    zone_shapes: dict[PersonId, IntArray] = field(default_factory=dict)
    zone_sign: dict[PersonId, tuple[float, ...]] = field(default_factory=dict)
    # inclusion rules whose zone is a home unit's: the unit vouches for presence
    home_unit_of_rule: dict[RuleId, DeviceId] = field(default_factory=dict)
    proximity: dict[PersonId, tuple[ProximityLink, ...]] = field(default_factory=dict)
    # where a home unit stands (its zone's centre), in metric coordinates
    home_points: dict[DeviceId, tuple[float, float]] = field(default_factory=dict)
    tables: Tables | None = None


@dataclass
class Tables:
    """The same caseload as numbered arrays, for the vectorised fast path."""

    dev_ids: list[DeviceId]
    dev_index: dict[DeviceId, int]
    dev_person: IntArray  # person number, -1 for none
    dev_health: BoolArray
    dev_gps: BoolArray
    dev_locates: BoolArray
    person_ids: list[PersonId]
    person_index: dict[PersonId, int]
    rule_ids: list[RuleId]
    rule_index: dict[RuleId, int]
    # zone rules of person p: pair_start[p] .. + pair_count[p] in the pair_* arrays
    pair_start: IntArray
    pair_count: IntArray
    pair_rule: IntArray
    pair_shape: IntArray
    pair_sign: FloatArray
    # proximity links of person p, likewise
    link_start: IntArray
    link_count: IntArray
    link_rule: IntArray
    link_other: IntArray
    link_dist: FloatArray


def _tables(c: CompiledCaseload) -> Tables:
    dev_ids = list(c.devices)
    person_ids = list(c.caseload.persons)
    person_index = {p: i for i, p in enumerate(person_ids)}
    rule_ids = list(c.rules)
    rule_index = {r: i for i, r in enumerate(rule_ids)}
    infos = [c.devices[d] for d in dev_ids]
    pair_start: list[int] = []
    pair_count: list[int] = []
    pair_rule: list[int] = []
    pair_shape: list[int] = []
    pair_sign: list[float] = []
    link_start: list[int] = []
    link_count: list[int] = []
    link_rule: list[int] = []
    link_other: list[int] = []
    link_dist: list[float] = []
    for p in person_ids:
        rules = c.zone_rules.get(p, ())
        pair_start.append(len(pair_rule))
        pair_count.append(len(rules))
        if rules:
            pair_rule.extend(rule_index[r] for r in rules)
            pair_shape.extend(int(s) for s in c.zone_shapes[p])
            pair_sign.extend(c.zone_sign[p])
        links = c.proximity.get(p, ())
        link_start.append(len(link_rule))
        link_count.append(len(links))
        for link in links:
            link_rule.append(rule_index[link.rule])
            link_other.append(person_index[link.other])
            link_dist.append(link.distance_m)
    return Tables(
        dev_ids=dev_ids,
        dev_index={d: i for i, d in enumerate(dev_ids)},
        dev_person=np.array([person_index.get(i.person, -1) if i.person else -1 for i in infos], np.int64),
        dev_health=np.array([i.health for i in infos], bool),
        dev_gps=np.array([i.kind == DeviceKind.GPS_TAG for i in infos], bool),
        dev_locates=np.array([i.locates for i in infos], bool),
        person_ids=person_ids,
        person_index=person_index,
        rule_ids=rule_ids,
        rule_index=rule_index,
        pair_start=np.array(pair_start, np.int64),
        pair_count=np.array(pair_count, np.int64),
        pair_rule=np.array(pair_rule, np.int64),
        pair_shape=np.array(pair_shape, np.int64),
        pair_sign=np.array(pair_sign, np.float64),
        link_start=np.array(link_start, np.int64),
        link_count=np.array(link_count, np.int64),
        link_rule=np.array(link_rule, np.int64),
        link_other=np.array(link_other, np.int64),
        link_dist=np.array(link_dist, np.float64),
    )


def compile_caseload(caseload: Caseload, projection: LocalProjection | None = None) -> CompiledCaseload:
    if projection is None:
        coords = [c for z in caseload.zones.values() for c in zone_lonlats(z)]
        projection = LocalProjection.around([c[0] for c in coords], [c[1] for c in coords])
    zone_ids: list[ZoneId] = list(caseload.zones)
    shape_of = {zid: i for i, zid in enumerate(zone_ids)}
    index = ZoneIndex([project_zone(caseload.zones[z], projection) for z in zone_ids])

    devices: dict[DeviceId, DeviceInfo] = {}
    for d in caseload.devices.values():
        owner = caseload.persons.get(d.person) if d.person else None
        monitored = owner is not None and owner.role == PersonRole.MONITORED
        devices[d.id] = DeviceInfo(
            person=d.person,
            kind=d.kind,
            comms_timeout_s=d.comms_timeout_s if monitored else None,
            health=monitored and d.kind != DeviceKind.PHONE,
            locates=d.kind in (DeviceKind.GPS_TAG, DeviceKind.PHONE),
        )
    home_units: dict[tuple[PersonId, ZoneId], DeviceId] = {
        (d.person, d.home_zone): d.id
        for d in caseload.devices.values()
        if d.kind == DeviceKind.HOME_UNIT and d.person and d.home_zone
    }

    compiled = CompiledCaseload(
        caseload=caseload,
        projection=projection,
        index=index,
        devices=devices,
        rules={},
        rule_person={},
        schedules={},
    )
    for d in caseload.devices.values():
        if d.kind == DeviceKind.HOME_UNIT and d.home_zone is not None:
            shape = index.shapes[shape_of[d.home_zone]]
            if shape.centre_xy is not None:
                compiled.home_points[d.id] = shape.centre_xy
            elif shape.polygon is not None:
                p = shape.polygon.representative_point()
                compiled.home_points[d.id] = (p.x, p.y)
    zone_lists: dict[PersonId, list[tuple[RuleId, int, float]]] = {}
    prox: dict[PersonId, list[ProximityLink]] = {}
    for order in caseload.orders:
        for rule in order.rules:
            compiled.rules[rule.id] = rule
            compiled.rule_person[rule.id] = order.person
            compiled.schedules[rule.id] = rule.schedule
            if rule.type == RuleType.PROXIMITY:
                assert rule.protected_person is not None and rule.distance_m is not None
                prox.setdefault(order.person, []).append(
                    ProximityLink(rule.id, rule.protected_person, rule.distance_m, order.person)
                )
                prox.setdefault(rule.protected_person, []).append(
                    ProximityLink(rule.id, order.person, rule.distance_m, order.person)
                )
                continue
            assert rule.zone is not None
            sign = 1.0 if rule.type == RuleType.EXCLUSION else -1.0
            zone_lists.setdefault(order.person, []).append((rule.id, shape_of[rule.zone], sign))
            unit = home_units.get((order.person, rule.zone))
            if rule.type == RuleType.INCLUSION and unit is not None:
                compiled.home_unit_of_rule[rule.id] = unit
    for person, items in zone_lists.items():
        compiled.zone_rules[person] = tuple(r for r, _, _ in items)
        compiled.zone_shapes[person] = np.array([s for _, s, _ in items], np.int64)
        compiled.zone_sign[person] = tuple(g for _, _, g in items)
    compiled.proximity = {p: tuple(links) for p, links in prox.items()}
    compiled.tables = _tables(compiled)
    return compiled
