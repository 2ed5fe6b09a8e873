"""Where each band is: one zone per band, from noisy sightings.

Readers overlap (a cell reader hears the landing through the door, two
landing readers hear each other's ground), signal strength wobbles, and a
reader may hear nothing for a while. So a band's zone is decided by weight
of evidence, with hysteresis:

- each reader's latest sighting of the band weighs by its signal strength
  (linear between `rssi_floor_dbm` and `rssi_ref_dbm`) and fades with age
  (to half at `window_s`, then forgotten); a zone weighs what its best reader
  says (a sum would favour the zones with more readers);
- a band stays in its zone until another zone weighs `switch_ratio` times as
  much AND that zone's own readers have seen it `confirm_hits` times over at
  least `confirm_s`: a band heard by two readers stays in one zone, and one
  stray sighting far away is not a move;
- a band's first zone is decided the same way (from no zone at all);
- silence changes nothing: a dropout is not a move (the band keeps its zone,
  its last sighting ages, and the rules decide what silence means);
- a door crossing is direct evidence and moves the band at once.

The move's time is the first sighting in the new zone (event time), so the
movement history says when the inmate arrived, not when we were sure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ronda.facility.model import Facility, FacilityParams, ReaderKind
from ronda.facility.records import Direction
from ronda.types import DeviceId, EpochS, ZoneId

NEG_INF = float("-inf")
DOOR_WEIGHT = 0.5  # a door reader hears both sides: half a vote for its own


@dataclass(frozen=True, slots=True)
class Move:
    band: DeviceId
    from_zone: ZoneId | None
    to_zone: ZoneId
    at_s: EpochS
    by: str  # "sightings" or "door"


@dataclass(slots=True)
class BandPresence:
    zone: ZoneId | None = None
    since_s: EpochS = NEG_INF  # when it entered `zone` (event time)
    last_seen_s: EpochS = NEG_INF
    last_reader: str | None = None
    last_rssi_dbm: float | None = None
    entries: dict[str, tuple[EpochS, float]] = field(default_factory=dict)  # reader -> (time, weight)
    heard_since: dict[ZoneId, EpochS] = field(default_factory=dict)  # zone -> first of its current run
    cand: ZoneId | None = None
    cand_since_s: EpochS = NEG_INF
    cand_hits: int = 0


class PresenceModel:
    def __init__(self, facility: Facility, params: FacilityParams | None = None) -> None:
        self.f = facility
        self.p = params or facility.params
        self.bands: dict[DeviceId, BandPresence] = {}
        self.stale_dropped = 0
        self._reader_zone = {r.id: r.zone for r in facility.readers.values()}
        self._reader_factor = {
            r.id: DOOR_WEIGHT if r.kind == ReaderKind.DOOR else 1.0 for r in facility.readers.values()
        }

    def state(self, band: DeviceId) -> BandPresence:
        st = self.bands.get(band)
        if st is None:
            st = self.bands[band] = BandPresence()
        return st

    def weight(self, rssi_dbm: float | None) -> float:
        if rssi_dbm is None:
            return 0.5
        p = self.p
        w = (rssi_dbm - p.rssi_floor_dbm) / (p.rssi_ref_dbm - p.rssi_floor_dbm)
        return min(1.0, max(0.05, w))

    def observe(self, band: DeviceId, reader: str, time_s: EpochS, rssi_dbm: float | None) -> Move | None:
        """Take one sighting; return the band's move if this one decided it."""
        zone = self._reader_zone.get(reader)
        if zone is None:
            return None
        st = self.state(band)
        p = self.p
        latest = max(st.last_seen_s, time_s)
        if time_s < latest - p.window_s:  # far older than what we know: no say in the present
            self.stale_dropped += 1
            return None
        if time_s >= st.last_seen_s:
            st.last_seen_s, st.last_reader, st.last_rssi_dbm = time_s, reader, rssi_dbm
        old = st.entries.get(reader)
        if old is None or old[0] <= time_s:
            st.entries[reader] = (time_s, self.weight(rssi_dbm) * self._reader_factor.get(reader, 1.0))
        horizon = latest - p.window_s
        if any(t < horizon for t, _ in st.entries.values()):
            st.entries = {r: e for r, e in st.entries.items() if e[0] >= horizon}
            alive = {self._reader_zone[r] for r in st.entries}
            st.heard_since = {z: t for z, t in st.heard_since.items() if z in alive}
        if zone not in st.heard_since or time_s < st.heard_since[zone]:
            st.heard_since[zone] = time_s
        scores: dict[ZoneId, float] = {}
        for r, (t, w) in st.entries.items():
            z = self._reader_zone[r]
            v = w * (1.0 - (latest - t) / (2 * p.window_s))
            if v > scores.get(z, 0.0):
                scores[z] = v
        leader = max(scores, key=scores.__getitem__)
        current = scores.get(st.zone, 0.0) if st.zone is not None else 0.0
        if leader == st.zone or scores[leader] < max(p.switch_ratio * current, p.min_move_score):
            st.cand, st.cand_hits = None, 0
            if leader == st.zone and zone == st.zone and len(st.heard_since) > 1:
                # heard where we have it, and it leads: what other zones heard
                # until now (through a wall, a door) starts no move
                st.heard_since = {st.zone: st.heard_since[st.zone]}
            return None
        if zone != leader:  # only the challenger's own readers count towards a move
            return None
        if st.cand != leader:
            st.cand, st.cand_since_s, st.cand_hits = leader, time_s, 1
        else:
            st.cand_hits += 1
            st.cand_since_s = min(st.cand_since_s, time_s)
        if st.cand_hits >= p.confirm_hits and time_s - st.cand_since_s >= p.confirm_s:
            # dated by the first sighting of the run that brought it there
            at_s = min(st.cand_since_s, st.heard_since.get(leader, st.cand_since_s))
            if st.zone is not None:
                at_s = max(at_s, st.since_s)
            move = Move(band, st.zone, leader, at_s, "sightings")
            st.zone, st.since_s = leader, at_s
            st.cand, st.cand_hits = None, 0
            return move
        return None

    def cross(self, band: DeviceId, reader: str, direction: Direction, time_s: EpochS) -> Move | None:
        """A door crossing: the band is on the far side now."""
        r = self.f.readers.get(reader)
        if r is None or r.door_from is None or r.door_to is None:
            return None
        st = self.state(band)
        if time_s < st.since_s:  # older than the zone we already put it in
            return None
        to = r.door_to if direction == Direction.IN else r.door_from
        st.last_seen_s = max(st.last_seen_s, time_s)
        st.last_reader = reader
        st.entries = {k: e for k, e in st.entries.items() if e[0] > time_s}
        st.heard_since = {}
        st.cand, st.cand_hits = None, 0
        if to == st.zone:
            return None
        move = Move(band, st.zone, to, time_s, "door")
        st.zone, st.since_s = to, time_s
        return move

    def position(self, band: DeviceId) -> tuple[str, int, float, float] | None:
        """Best estimate (building, floor, x_m, y_m): the signal-weighted mean
        of the readers of its zone that heard it, else the zone's centroid."""
        st = self.bands.get(band)
        if st is None or st.zone is None:
            return None
        z = self.f.zones.get(st.zone)
        if z is None:
            return None
        sx = sy = sw = 0.0
        for r_id, (_, w) in st.entries.items():
            r = self.f.readers[r_id]
            if r.zone == st.zone:
                sx += r.x_m * w
                sy += r.y_m * w
                sw += w
        if sw > 0:
            return (z.building, z.level, sx / sw, sy / sw)
        cx, cy = z.centroid_m
        return (z.building, z.level, cx, cy)
