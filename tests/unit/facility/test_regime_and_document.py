"""Regimes in local time (movement allowances, personal periods, the night
the clocks change) and the facility document (round trip, refusals that
name the field)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.unit.facility.builders import TZ, document, local

from ronda.errors import InvalidInput
from ronda.facility.document import facility_document, parse_facility
from ronda.facility.model import Facility
from ronda.facility.monitor import FacilityMonitor
from ronda.facility.places import PlaceResolver
from ronda.types import PersonId, ZoneId

P1 = PersonId("P1")


def allowed(f: Facility, t: float) -> set[str]:
    m = FacilityMonitor(f)
    return set(m.allowed_zones(f.inmates[P1], t))


@pytest.mark.parametrize(
    ("hh", "mm", "zones"),
    [
        (8, 0, {"A-01"}),  # lock-up: his cell only
        (9, 56, {"A-01", "A-landing", "yard", "corridor"}),  # five minutes before the yard: may set off
        (10, 30, {"A-01", "A-landing", "yard"}),  # yard time: yard and own wing, no corridor
        (11, 5, {"A-01", "A-landing", "yard", "corridor"}),  # after: ten minutes to walk back
        (11, 11, {"A-01"}),
        (18, 30, {"A-01", "A-landing"}),  # association: own wing, never another man's cell
    ],
)
def test_allowed_places_through_the_day(facility: Facility, hh: int, mm: int, zones: set[str]) -> None:
    assert allowed(facility, local(hh, mm)) == zones


def test_a_personal_period_adds_places_and_says_where_he_is_counted() -> None:
    a = dt.datetime.combine(dt.date(2026, 3, 10), dt.time(15), ZoneInfo(TZ))
    visit = {
        "id": "v1",
        "activity": "visits",
        "allowed": ["workshop", "corridor"],
        "count_at": ["workshop"],
        "start_at": a.isoformat(),
        "end_at": (a + dt.timedelta(hours=1)).isoformat(),
    }
    doc = document(periods=[visit])
    doc["inmates"][0]["periods"] = ["v1"]
    f = parse_facility(doc)
    m = FacilityMonitor(f)
    assert {"workshop", "corridor"} <= set(m.allowed_zones(f.inmates[P1], local(15, 30)))
    assert m.expected_zones(f.inmates[P1], local(15, 30)) == {ZoneId("workshop")}
    assert m.expected_zones(f.inmates[PersonId("P2")], local(15, 30)) == {ZoneId("A-02")}


def test_a_period_ends_at_its_local_time_on_the_night_the_clocks_change() -> None:
    doc = document()
    doc["regimes"][0]["periods"].append(
        {"id": "night-work", "activity": "work", "start": "22:00", "end": "06:00", "allowed": ["workshop"]}
    )
    doc["params"] = {"movement_grace_s": 0, "movement_lead_s": 0}
    f = parse_facility(doc)
    tz = ZoneInfo(TZ)
    # Europe/Madrid moved from +01:00 to +02:00 at 02:00 on 29 March 2026
    end = dt.datetime(2026, 3, 29, 6, 0, tzinfo=tz).timestamp()
    assert "workshop" in allowed(f, end - 60)
    assert "workshop" not in allowed(f, end + 60)
    assert end - dt.datetime(2026, 3, 28, 22, 0, tzinfo=tz).timestamp() == 7 * 3600


def test_place_tokens_resolve_per_inmate(facility: Facility) -> None:
    r = PlaceResolver(facility)
    p2 = facility.inmates[PersonId("P2")]
    assert r.zones(frozenset({"own_wing"}), p2) == {"A-02", "A-landing"}
    assert r.zones(frozenset({"zone:yard", "workshop"}), p2) == {"yard", "workshop"}
    assert r.zones(frozenset({"wing:A"}), p2) == {"A-landing"}


def test_document_round_trip(facility: Facility) -> None:
    again = parse_facility(facility_document(facility))
    assert facility_document(again) == facility_document(facility)
    assert again.readers["D-gate"].door_to == "yard"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["zones"][0].update(kind="dungeon"), "zones[0].kind"),
        (lambda d: d["zones"][1].update(polygon=[[0, 0], [1, 1]]), "zones[1].polygon"),
        (lambda d: d["readers"][0].update(zone="nowhere"), "readers[0].zone"),
        (lambda d: d["readers"][7].pop("door_to"), "readers[7].door_from"),
        (lambda d: d["inmates"][1].update(band="W1"), "inmates[1].band"),
        (lambda d: d["inmates"][0].update(cell="nowhere"), "inmates[0].cell"),
        (lambda d: d["keep_separate"][0].update(members=["P1"]), "keep_separate[0].members"),
        (lambda d: d["regimes"][0]["periods"][0].update(allowed=["moon"]), "regimes[0].periods[0].allowed"),
        (lambda d: d["regimes"][0]["periods"][0].update(start="25:00"), "regimes[0].periods[0].start"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d.update(count_times=["noon"]), "count_times[0]"),
        (lambda d: d.update(params={"no_sighting_s": "soon"}), "params.no_sighting_s"),
        (lambda d: d.update(wing_regimes={"A": "nope"}), "wing_regimes.A"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(change: Any, field: str) -> None:
    doc = document()
    change(doc)
    with pytest.raises(InvalidInput) as err:
        parse_facility(doc)
    assert err.value.field == field
