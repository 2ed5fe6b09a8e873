"""The virtual headcount: expected against observed, per zone.

At a count time (scheduled or on demand) every inmate on the roll is placed:

- `counted`: seen lately (`count_fresh_s`) in a zone where the regime expects
  him now (his cell during lock-up, the workshop during work ...);
- `in_transit`: seen lately in a corridor;
- `out_of_place`: seen lately somewhere else;
- `unverified`: not seen lately, but every reader of the zone he was last in
  is silent (a reader fault, not a missing man), and that zone is where he is
  expected;
- `missing`: not seen lately (or his band is off his wrist).

Per zone: how many are expected there, how many were observed there, who is
missing from it and who is there unexpectedly. Every inmate not counted is
listed with his last sighting. An officer then reconciles each discrepancy
(found, in medical, at court ...); that is recorded by the storage adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ronda.errors import InvalidInput
from ronda.facility.model import TRANSIT_KINDS, Inmate
from ronda.facility.monitor import FacilityMonitor
from ronda.types import EpochS, PersonId, ZoneId, to_iso


class Status(StrEnum):
    COUNTED = "counted"
    IN_TRANSIT = "in_transit"
    OUT_OF_PLACE = "out_of_place"
    UNVERIFIED = "unverified"
    MISSING = "missing"


class Resolution(StrEnum):
    """What an officer found when reconciling one discrepancy."""

    FOUND = "found"  # seen in person where he should be (or brought back)
    IN_MEDICAL = "in_medical"
    AT_COURT = "at_court"
    AT_HOSPITAL = "at_hospital"
    VISIT = "visit"
    TRANSFERRED = "transferred"
    RELEASED = "released"
    BAND_FAULT = "band_fault"  # he is here; his band is not working
    ESCALATED = "escalated"  # not found: the escape procedure is under way
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Placement:
    inmate: PersonId
    status: Status
    expected_zone: ZoneId | None
    observed_zone: ZoneId | None  # where the presence model has him (even if not seen lately)
    last_seen_s: EpochS | None
    last_reader: str | None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "inmate": self.inmate,
            "status": self.status.value,
            "expected_zone": self.expected_zone,
            "observed_zone": self.observed_zone,
            "last_seen": None if self.last_seen_s is None else to_iso(self.last_seen_s),
            "last_reader": self.last_reader,
            "reason": self.reason,
        }


@dataclass(slots=True)
class ZoneCount:
    zone: ZoneId
    expected: int = 0
    observed: int = 0
    missing: list[PersonId] = field(default_factory=list)  # expected here, not observed here
    unexpected: list[PersonId] = field(default_factory=list)  # observed here, expected elsewhere

    def to_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "expected": self.expected,
            "observed": self.observed,
            "missing": sorted(self.missing),
            "unexpected": sorted(self.unexpected),
        }


@dataclass(slots=True)
class Headcount:
    facility: str
    at_s: EpochS
    placements: dict[PersonId, Placement]
    zones: dict[ZoneId, ZoneCount]

    def of(self, status: Status) -> list[PersonId]:
        return sorted(p for p, x in self.placements.items() if x.status == status)

    @property
    def discrepancies(self) -> list[Placement]:
        """Everyone an officer must account for: not counted where expected."""
        return [x for _, x in sorted(self.placements.items()) if x.status != Status.COUNTED]

    @property
    def exact(self) -> bool:
        return not self.discrepancies

    def summary(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for x in self.placements.values():
            out[x.status.value] += 1
        out["roll"] = len(self.placements)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "facility": self.facility,
            "at": to_iso(self.at_s),
            "summary": self.summary(),
            "zones": [z.to_json() for _, z in sorted(self.zones.items()) if z.expected or z.observed],
            "discrepancies": [x.to_json() for x in self.discrepancies],
        }


def _place(m: FacilityMonitor, inmate: Inmate, t: EpochS) -> Placement:
    expected = m.expected_zones(inmate, t)
    band = inmate.band
    st = m.presence.bands.get(band) if band is not None else None
    zone = st.zone if st is not None else None
    seen = st.last_seen_s if st is not None and st.last_seen_s > float("-inf") else None
    reader = st.last_reader if st is not None else None
    fresh = seen is not None and t - seen <= m.p.count_fresh_s
    first_expected = min(expected) if expected else None
    exp_zone = zone if zone in expected else first_expected
    if band is None:
        return Placement(inmate.id, Status.MISSING, exp_zone, None, None, None, "no band assigned")
    if band in m.removed:
        return Placement(inmate.id, Status.MISSING, exp_zone, zone, seen, reader, "band removed")
    if not fresh:
        readers = m.readers_of_zone.get(zone, []) if zone is not None else []
        if zone in expected and readers and all(r in m.readers_down for r in readers):
            return Placement(
                inmate.id, Status.UNVERIFIED, exp_zone, zone, seen, reader, "zone's readers silent"
            )
        return Placement(inmate.id, Status.MISSING, exp_zone, zone, seen, reader, "not seen lately")
    if zone in expected:
        return Placement(inmate.id, Status.COUNTED, exp_zone, zone, seen, reader)
    z = m.f.zones.get(zone) if zone is not None else None
    if z is not None and z.kind in TRANSIT_KINDS:
        return Placement(inmate.id, Status.IN_TRANSIT, exp_zone, zone, seen, reader)
    return Placement(inmate.id, Status.OUT_OF_PLACE, exp_zone, zone, seen, reader)


def take_headcount(m: FacilityMonitor, at_s: EpochS) -> Headcount:
    """Count the roll as the monitor knows it, for the regime in force at `at_s`.
    Call after `advance(at_s)` (a count never looks at sightings after it)."""
    placements: dict[PersonId, Placement] = {}
    zones: dict[ZoneId, ZoneCount] = {z: ZoneCount(z) for z in m.f.zones}
    for inmate in m.f.inmates.values():
        if not inmate.on_roll:
            continue
        x = _place(m, inmate, at_s)
        placements[inmate.id] = x
        if x.expected_zone is not None:
            zc = zones.setdefault(x.expected_zone, ZoneCount(x.expected_zone))
            zc.expected += 1
            if x.status not in (Status.COUNTED, Status.UNVERIFIED):
                zc.missing.append(inmate.id)
        if (
            x.status in (Status.COUNTED, Status.IN_TRANSIT, Status.OUT_OF_PLACE)
            and x.observed_zone is not None
        ):
            zc = zones.setdefault(x.observed_zone, ZoneCount(x.observed_zone))
            zc.observed += 1
            if x.status != Status.COUNTED:
                zc.unexpected.append(inmate.id)
    return Headcount(m.f.id, at_s, placements, zones)


def resolution_of(text: str) -> Resolution:
    """An officer's resolution of a discrepancy, or a refusal naming the known ones."""
    try:
        return Resolution(text)
    except ValueError:
        names = ", ".join(r.value for r in Resolution)
        raise InvalidInput(
            "unknown resolution {resolution} ({names})",
            field="resolution",
            resolution=repr(text),
            names=names,
        ) from None


def check_reconciliation(count: Headcount, inmate: PersonId, resolution: str) -> Resolution:
    """Validate one officer's resolution: a known outcome, for a discrepancy of this count."""
    res = resolution_of(resolution)
    x = count.placements.get(inmate)
    if x is None:
        raise InvalidInput("{inmate} is not on this count's roll", field="inmate", inmate=inmate)
    if x.status == Status.COUNTED:
        raise InvalidInput("{inmate} was counted: nothing to reconcile", field="inmate", inmate=inmate)
    return res


def occupancy(m: FacilityMonitor, at_s: EpochS) -> dict[ZoneId, dict[str, list[PersonId]]]:
    """Who is in each zone now: inmates and staff seen lately there, and inmates
    whose last zone it is but who have not been seen lately ("stale")."""
    out: dict[ZoneId, dict[str, list[PersonId]]] = {
        z: {"inmates": [], "staff": [], "stale": []} for z in m.f.zones
    }
    for band, st in m.presence.bands.items():
        if st.zone is None:
            continue
        slot = out.setdefault(st.zone, {"inmates": [], "staff": [], "stale": []})
        fresh = at_s - st.last_seen_s <= m.p.count_fresh_s
        inmate = m.inmate_of.get(band)
        if inmate is not None:
            slot["inmates" if fresh else "stale"].append(inmate)
        elif (staff := m.staff_of.get(band)) is not None and fresh:
            slot["staff"].append(staff)
    for slot in out.values():
        for names in slot.values():
            names.sort()
    return out
