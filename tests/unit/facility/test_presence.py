"""The zone-presence model: a band heard by two readers is in one zone, a
dropout is not a move, a faint or stray sighting is not a move, a real move
is, dated by its first sighting in the new zone."""

from __future__ import annotations

from ronda.facility.model import Facility
from ronda.facility.presence import PresenceModel
from ronda.facility.records import Direction
from ronda.types import DeviceId

W = DeviceId("W1")
T0 = 1_000_000.0


def settle(m: PresenceModel, reader: str, start: float = T0, n: int = 3, rssi: float = -55.0) -> float:
    t = start
    for _ in range(n):
        m.observe(W, reader, t, rssi)
        t += 2
    return t


def test_first_zone_needs_two_sightings(facility: Facility) -> None:
    m = PresenceModel(facility)
    assert m.observe(W, "R-A-01", T0, -55) is None
    move = m.observe(W, "R-A-01", T0 + 2, -55)
    assert move is not None and move.to_zone == "A-01" and move.at_s == T0


def test_heard_by_two_readers_stays_in_one_zone(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    moves = []
    for k in range(300):  # ten minutes heard by its own reader and, nearly as well, by the landing's
        moves.append(m.observe(W, "R-land", t + 0.1, -62 + (k % 3)))
        moves.append(m.observe(W, "R-A-01", t, -58 - (k % 4)))
        t += 2
    assert [x for x in moves if x is not None] == []
    assert m.bands[W].zone == "A-01"


def test_dropout_is_not_a_move(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    t += 600  # ten minutes of silence
    assert m.bands[W].zone == "A-01"
    assert m.observe(W, "R-A-01", t, -56) is None
    assert m.bands[W].zone == "A-01"


def test_own_reader_silent_and_a_faint_neighbour_is_not_a_move(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    for _ in range(60):  # only heard through the wall, faintly (-82 dBm)
        assert m.observe(W, "R-A-02", t, -82) is None
        t += 2
    assert m.bands[W].zone == "A-01"


def test_one_stray_sighting_is_not_a_move(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    assert m.observe(W, "R-yard-1", t, -60) is None
    t = settle(m, "R-A-01", t + 2)
    assert m.bands[W].zone == "A-01"


def test_a_real_move_is_dated_by_its_first_sighting(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    first = t + 10
    assert m.observe(W, "R-land", first, -57) is None
    move = m.observe(W, "R-land", first + 2, -56)
    assert move is not None
    assert (move.from_zone, move.to_zone, move.at_s) == ("A-01", "A-landing", first)


def test_door_crossing_moves_at_once(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-corr")
    move = m.cross(W, "D-gate", Direction.IN, t)
    assert move is not None and move.to_zone == "yard"
    back = m.cross(W, "D-gate", Direction.OUT, t + 60)
    assert back is not None and back.to_zone == "corridor"


def test_position_is_the_signal_weighted_mean_of_its_zone_readers(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-yard-1")
    m.observe(W, "R-yard-2", t, -55)
    pos = m.position(W)
    assert pos is not None and pos[:2] == ("main", 0) and 15 < pos[2] < 35


def test_sightings_far_older_than_the_latest_have_no_say(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-A-01")
    assert m.observe(W, "R-land", t - 60, -50) is None
    assert m.stale_dropped == 1


def test_a_move_is_not_dated_by_what_was_heard_through_the_wall_before(facility: Facility) -> None:
    m = PresenceModel(facility)
    t = settle(m, "R-shop")
    for _ in range(300):  # ten minutes in the workshop, heard faintly by the corridor's reader too
        m.observe(W, "R-corr", t, -74)
        m.observe(W, "R-shop", t, -55)
        t += 2
    walked = t
    moves = [m.observe(W, "R-corr", walked + 2 * k, -55) for k in range(4)]
    move = next(x for x in moves if x is not None)
    assert move.to_zone == "corridor" and move.at_s == walked
