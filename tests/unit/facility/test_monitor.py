"""The facility monitor's rules, one at a time, on a small facility."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from tests.unit.facility.builders import document, local

from ronda.engine.episodes import EpisodeClosed, EpisodeOpened
from ronda.facility import episodes as ep
from ronda.facility.document import parse_facility
from ronda.facility.episodes import FacilityEffect, FacilityEpisode, HeadcountDue, Moved
from ronda.facility.model import Facility
from ronda.facility.monitor import FacilityMonitor
from ronda.facility.records import BandEvent, BandEventKind, FacilityRecord, ReaderHeartbeat
from ronda.tracking.records import Sighting
from ronda.types import DeviceId


def s(band: str, reader: str, t: float, rssi: float = -55.0) -> Sighting:
    return Sighting(DeviceId(band), t, t + 0.2, reader=reader, rssi_dbm=rssi)


class Run:
    def __init__(self, f: Facility, start: float) -> None:
        self.m = FacilityMonitor(f)
        self.effects: list[FacilityEffect] = []
        self.t = start
        self.m.advance(start)

    def feed(self, recs: Iterable[FacilityRecord]) -> None:
        for r in recs:
            self.effects += self.m.advance(r.time_s)
            self.effects += self.m.feed(r)

    def stay(self, places: dict[str, str], seconds: float, heartbeats: Iterable[str] = ()) -> None:
        """Each band heard by its reader every 2 s for `seconds`; listed readers beat."""
        end = self.t + seconds
        while self.t < end:
            recs: list[FacilityRecord] = [s(b, r, self.t) for b, r in places.items()]
            recs += [ReaderHeartbeat(r, self.t, self.t) for r in heartbeats]
            self.effects += self.m.advance(self.t)
            self.feed(recs)
            self.t += 2

    def opened(self, kind: str) -> list[FacilityEpisode]:
        out = []
        for e in self.effects:
            if isinstance(e, EpisodeOpened) and e.episode.type == kind:
                assert isinstance(e.episode, FacilityEpisode)
                out.append(e.episode)
        return out

    def closed(self, kind: str) -> list[FacilityEpisode]:
        return [e.episode for e in self.effects if isinstance(e, EpisodeClosed) and e.episode.type == kind]  # type: ignore[misc]


ALL = ["R-A-01", "R-A-02", "R-land", "R-corr", "R-yard-1", "R-yard-2", "R-shop", "D-gate"]


def cells() -> dict[str, str]:
    return {"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}


def test_out_of_bounds_opens_on_entry_and_closes_after_return(facility: Facility) -> None:
    run = Run(facility, local(8))
    run.stay(cells(), 60, ALL)
    assert not run.opened(ep.OUT_OF_BOUNDS)
    entry = run.t
    run.stay({**cells(), "W3": "R-shop"}, 120, ALL)  # the workshop, during lock-up
    oob = run.opened(ep.OUT_OF_BOUNDS)
    assert len(oob) == 1 and oob[0].person == "P3" and oob[0].zone == "workshop"
    assert oob[0].start_s == entry and oob[0].raised_s - entry <= 4
    back = run.t
    run.stay(cells(), 60, ALL)
    closed = run.closed(ep.OUT_OF_BOUNDS)
    assert len(closed) == 1 and closed[0].end_s == back


def test_the_yard_is_allowed_in_yard_time_and_not_after_the_grace(facility: Facility) -> None:
    run = Run(facility, local(10, 5))
    run.stay({**cells(), "W1": "R-yard-1"}, 60, ALL)
    assert not run.opened(ep.OUT_OF_BOUNDS)
    run.t = local(11, 9)  # the yard ended at 11:00; ten minutes' grace to walk back
    run.stay({**cells(), "W1": "R-yard-1"}, 120, ALL)
    oob = run.opened(ep.OUT_OF_BOUNDS)
    assert len(oob) == 1 and oob[0].person == "P1"
    assert oob[0].start_s == local(11, 10), "opens when the grace ends, by the regime's timer"


def test_keep_separate_same_zone(facility: Facility) -> None:
    run = Run(facility, local(10, 5))
    run.stay({"W1": "R-yard-1", "W2": "R-A-02", "W3": "R-A-02"}, 60, ALL)
    met = run.t
    run.stay({"W1": "R-yard-1", "W2": "R-yard-2", "W3": "R-A-02"}, 120, ALL)
    ks = run.opened(ep.KEEP_SEPARATE)
    assert len(ks) == 1 and ks[0].detail["members"] == ["P1", "P2"] and ks[0].zone == "yard"
    assert ks[0].start_s == met
    apart = run.t
    run.stay({"W1": "R-yard-1", "W2": "R-A-02", "W3": "R-A-02"}, 60, ALL)
    closed = run.closed(ep.KEEP_SEPARATE)
    assert len(closed) == 1 and closed[0].end_s == apart


def test_keep_separate_by_distance_but_not_through_a_cell_wall() -> None:
    doc = document(keep_separate=[{"id": "KS", "members": ["P1", "P2"], "mode": "distance", "distance_m": 8}])
    f = parse_facility(doc)
    run = Run(f, local(18, 5))
    # neighbouring cells (3 m apart): walls between them
    run.stay({"W1": "R-A-01", "W2": "R-A-02", "W3": "R-A-02"}, 60, ALL)
    assert not run.opened(ep.KEEP_SEPARATE)
    # one on the landing, one in the corridor next to it: about 6 m apart
    run.stay({"W1": "R-land", "W2": "R-corr", "W3": "R-A-02"}, 60, ALL)
    assert len(run.opened(ep.KEEP_SEPARATE)) == 1


def test_no_sighting_after_the_timeout_and_closed_when_seen(facility: Facility) -> None:
    run = Run(facility, local(8))
    run.stay(cells(), 60, ALL)
    last = run.t - 2
    run.stay({"W1": "R-A-01", "W2": "R-A-02"}, 200, ALL)  # W3 silent, its cell's reader still hears W2
    gone = run.opened(ep.NO_SIGHTING)
    assert len(gone) == 1 and gone[0].person == "P3" and gone[0].start_s == last
    assert gone[0].raised_s - last <= facility.params.no_sighting_s + 2
    assert gone[0].detail["last_reader"] == "R-A-02"
    run.stay(cells(), 10, ALL)
    assert len(run.closed(ep.NO_SIGHTING)) == 1


def test_reader_dropout_is_not_a_missing_inmate(facility: Facility) -> None:
    run = Run(facility, local(8))
    run.stay(cells(), 60, ALL)
    others = [r for r in ALL if r != "R-A-02"]
    run.stay({"W1": "R-A-01"}, 240, others)  # the reader of A-02 says nothing for four minutes
    assert not run.opened(ep.NO_SIGHTING)
    assert not run.opened(ep.READER_OFFLINE), "four minutes is a dropout, not an offline reader"
    run.stay(cells(), 60, ALL)
    assert not run.opened(ep.NO_SIGHTING)
    assert not run.opened(ep.OUT_OF_BOUNDS)


def test_missing_inmate_found_after_his_readers_return(facility: Facility) -> None:
    run = Run(facility, local(8))
    run.stay(cells(), 60, ALL)
    others = [r for r in ALL if r != "R-A-02"]
    run.stay({"W1": "R-A-01"}, 100, others)
    back = run.t
    run.stay({"W1": "R-A-01", "W2": "R-A-02"}, 200, ALL)  # reader back, W3 not there
    gone = run.opened(ep.NO_SIGHTING)
    assert [g.person for g in gone] == ["P3"]
    assert gone[0].raised_s >= back + facility.params.no_sighting_s


def test_reader_offline_after_a_long_silence_and_feed_loss_once() -> None:
    f = parse_facility(document())
    run = Run(f, local(8))
    run.stay(cells(), 30, ALL)
    run.stay(cells(), 400, [r for r in ALL if r != "R-shop"])
    off = run.opened(ep.READER_OFFLINE)
    assert [o.device for o in off] == ["R-shop"]
    run.stay({}, 60, [])  # everything silent: one facility alert, not one per reader
    assert len(run.opened(ep.FEED_LOSS)) == 1
    assert len(run.opened(ep.READER_OFFLINE)) == 1
    run.stay(cells(), 10, ALL)
    assert len(run.closed(ep.FEED_LOSS)) == 1


def test_band_tamper_removal_and_duress(facility: Facility) -> None:
    run = Run(facility, local(8))
    run.stay({**cells(), "B1": "R-corr"}, 20, ALL)
    t = run.t
    run.feed(
        [
            BandEvent(DeviceId("W1"), t, t, BandEventKind.TAMPER),
            BandEvent(DeviceId("W2"), t, t, BandEventKind.REMOVED),
            BandEvent(DeviceId("B1"), t + 1, t + 1, BandEventKind.DURESS),
            BandEvent(DeviceId("B1"), t + 2, t + 2, BandEventKind.DURESS),  # pressed twice: one alert
        ]
    )
    assert [e.person for e in run.opened(ep.BAND_TAMPER)] == ["P1"]
    assert [e.person for e in run.opened(ep.BAND_REMOVED)] == ["P2"]
    duress = run.opened(ep.DURESS)
    assert len(duress) == 1 and duress[0].person == "S1" and duress[0].zone == "corridor"
    run.feed(
        [
            BandEvent(DeviceId("W1"), t + 60, t + 60, BandEventKind.RESTORED),
            BandEvent(DeviceId("B1"), t + 60, t + 60, BandEventKind.DURESS_CLEARED),
        ]
    )
    assert len(run.closed(ep.BAND_TAMPER)) == 1 and len(run.closed(ep.DURESS)) == 1
    assert not run.closed(ep.BAND_REMOVED)


def test_headcounts_fall_due_at_local_times(facility: Facility) -> None:
    run = Run(facility, local(6))
    due = [e.at_s for e in run.m.advance(local(22)) if isinstance(e, HeadcountDue)]
    assert due == [local(7), local(21)]


def test_moves_are_reported_for_movement_history(facility: Facility) -> None:
    run = Run(facility, local(10, 5))
    run.stay(cells(), 10, ALL)
    run.stay({**cells(), "W1": "R-land"}, 10, ALL)
    moves = [e for e in run.effects if isinstance(e, Moved) and e.person == "P1"]
    assert [(m.from_zone, m.to_zone) for m in moves] == [(None, "A-01"), ("A-01", "A-landing")]


def test_same_records_same_effects(facility: Facility) -> None:
    def once() -> list[str]:
        run = Run(dataclasses.replace(facility), local(8))
        run.stay(cells(), 30, ALL)
        run.stay({**cells(), "W3": "R-shop"}, 60, ALL)
        run.stay({"W1": "R-A-01"}, 200, ALL)
        return [repr(e) for e in run.effects]

    assert once() == once()
