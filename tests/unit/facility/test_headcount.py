"""The virtual headcount: every inmate placed, per-zone figures, discrepancies
with the last sighting, reconciliation checked."""

from __future__ import annotations

import pytest
from tests.unit.facility.builders import local

from ronda.errors import InvalidInput
from ronda.facility.headcount import Resolution, Status, check_reconciliation, occupancy, take_headcount
from ronda.facility.model import Facility
from ronda.facility.monitor import FacilityMonitor
from ronda.facility.records import BandEvent, BandEventKind, ReaderHeartbeat
from ronda.tracking.records import Sighting
from ronda.types import DeviceId, PersonId

ALL = ["R-A-01", "R-A-02", "R-land", "R-corr", "R-yard-1", "R-yard-2", "R-shop", "D-gate"]


def run(
    m: FacilityMonitor, start: float, seconds: float, places: dict[str, str], silent: tuple[str, ...] = ()
) -> float:
    """Every listed band heard by its reader every 2 s; every reader but `silent` beating."""
    t = start
    while t < start + seconds:
        m.advance(t)
        for r in ALL:
            if r not in silent:
                m.feed(ReaderHeartbeat(r, t, t))
        for b, r in places.items():
            m.feed(Sighting(DeviceId(b), t, t, reader=r, rssi_dbm=-55))
        t += 2
    return t


@pytest.fixture
def monitor(facility: Facility) -> FacilityMonitor:
    return FacilityMonitor(facility)


def test_lock_up_count_is_exact(facility: Facility, monitor: FacilityMonitor) -> None:
    t = run(monitor, local(8), 60, {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"})
    c = take_headcount(monitor, t)
    assert c.exact and c.summary()["counted"] == 3
    assert (c.zones["A-02"].expected, c.zones["A-02"].observed) == (2, 2)


def test_transit_out_of_place_missing_and_unverified(facility: Facility, monitor: FacilityMonitor) -> None:
    run(monitor, local(8), 40, {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"})
    t = run(
        monitor, local(8, 1), 60, {"W1": "R-corr", "W2": "R-shop"}
    )  # W3 silent, its cell's reader working
    c = take_headcount(monitor, t)
    assert c.of(Status.IN_TRANSIT) == ["P1"] and c.of(Status.OUT_OF_PLACE) == ["P2"]
    assert c.of(Status.MISSING) == ["P3"]
    x = c.placements[PersonId("P3")]
    assert x.last_reader == "R-A-02" and x.observed_zone == "A-02" and x.last_seen_s is not None
    assert c.zones["A-02"].missing == ["P2", "P3"] and c.zones["workshop"].unexpected == ["P2"]
    assert c.zones["corridor"].observed == 1


def test_silent_readers_make_unverified_not_missing(facility: Facility, monitor: FacilityMonitor) -> None:
    run(monitor, local(8), 40, {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"})
    t = run(monitor, local(8, 1), 60, {"W1": "R-A-01"}, silent=("R-A-02",))
    c = take_headcount(monitor, t)
    assert c.of(Status.UNVERIFIED) == ["P2", "P3"] and not c.of(Status.MISSING)


def test_a_removed_band_is_missing_whatever_the_readers_hear(
    facility: Facility, monitor: FacilityMonitor
) -> None:
    t = run(monitor, local(8), 40, {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"})
    monitor.feed(BandEvent(DeviceId("W1"), t, t, BandEventKind.REMOVED))
    t = run(monitor, t, 20, {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"})
    c = take_headcount(monitor, t)
    assert c.of(Status.MISSING) == ["P1"] and c.placements[PersonId("P1")].reason == "band removed"


def test_yard_time_expects_the_yard(facility: Facility, monitor: FacilityMonitor) -> None:
    t = run(monitor, local(10, 20), 60, {"W1": "R-yard-1", "W2": "R-yard-2", "W3": "R-A-02"})
    c = take_headcount(monitor, t)
    assert c.of(Status.COUNTED) == ["P1", "P2"] and c.of(Status.OUT_OF_PLACE) == ["P3"]
    occ = occupancy(monitor, t)
    assert occ["yard"]["inmates"] == ["P1", "P2"] and occ["A-02"]["inmates"] == ["P3"]


def test_reconciliation_is_checked(facility: Facility, monitor: FacilityMonitor) -> None:
    t = run(monitor, local(8), 40, {"W1": "R-A-01", "W2": "R-A-02"})
    t = run(monitor, t, 120, {"W1": "R-A-01", "W2": "R-A-02"})
    c = take_headcount(monitor, t)
    assert check_reconciliation(c, PersonId("P3"), "at_court") == Resolution.AT_COURT
    with pytest.raises(InvalidInput, match="was counted"):
        check_reconciliation(c, PersonId("P1"), "found")
    with pytest.raises(InvalidInput, match="unknown resolution"):
        check_reconciliation(c, PersonId("P3"), "vanished")
