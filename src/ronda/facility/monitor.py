"""The facility monitor: the prison's engine.

Like `ronda.engine.engine.Engine` it is a deterministic state machine:
`feed(record)` takes what a reader or band said, `advance(now_s)` moves the
clock and fires timers; both return effects (episodes opened and closed,
moves, headcounts due). It never reads a clock or a setting. Time is event
time: the readers' own timestamps, which a facility keeps in step (NTP).

Rules, each raising an episode that becomes one alert:

| type | opens | closes |
|---|---|---|
| `out_of_bounds` | an inmate's zone is not one his regime allows now | back in bounds for `oob_close_s` |
| `keep_separate` | two of a keep-separate group in one zone (or near) | apart `separation_close_s` |
| `no_sighting` | a band not seen for `no_sighting_s` while its zone's readers work | the next sighting |
| `band_tamper` / `band_removed` | the band says so | the band is restored |
| `duress` | a staff badge's duress button | cleared |
| `reader_offline` | a reader silent for `reader_offline_s` | the reader is heard again |
| `feed_loss` | `feed_loss_fraction` of the readers silent at once (one alert, not hundreds) | fewer |

A reader dropout is not an escape: while every reader of a band's zone is
silent, the band's silence says nothing, and its clock restarts when a reader
of the zone is heard again.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ronda.engine.episodes import Episode, EpisodeClosed, EpisodeOpened
from ronda.facility import episodes as ep
from ronda.facility.episodes import FacilityEffect, FacilityEpisode, HeadcountDue, Moved
from ronda.facility.model import Facility, Inmate, Separation, SeparationMode, ZoneKind, distance_m
from ronda.facility.places import PlaceResolver
from ronda.facility.presence import Move, PresenceModel
from ronda.facility.records import BandEvent, BandEventKind, DoorCrossing, FacilityRecord, ReaderHeartbeat
from ronda.facility.regime import Period, Situation, next_change, situation
from ronda.rules.schedule import parse_clock
from ronda.tracking.records import Sighting
from ronda.types import DeviceId, EpochS, PersonId, RuleId, ZoneId

NEG_INF = float("-inf")
INF = float("inf")
_READER_SCAN_S = 1.0  # reader liveness is checked at most this often (event time)


@dataclass(slots=True)
class _Oob:
    episode: FacilityEpisode | None = None
    back_since_s: EpochS | None = None


@dataclass(slots=True)
class _Pair:
    episode: FacilityEpisode | None = None
    apart_since_s: EpochS | None = None


PairKey = tuple[str, PersonId, PersonId]


class FacilityMonitor:
    def __init__(self, facility: Facility) -> None:
        self.f = facility
        self.p = facility.params
        self.presence = PresenceModel(facility)
        self.places = PlaceResolver(facility)
        self.tz = ZoneInfo(facility.timezone)
        self.now_s: EpochS = NEG_INF
        self.start_s: EpochS = NEG_INF
        self.counters: Counter[str] = Counter()
        self.inmate_of: dict[DeviceId, PersonId] = facility.band_owner()
        self.staff_of: dict[DeviceId, PersonId] = facility.badge_owner()
        self.readers_of_zone = facility.readers_of_zone()
        # regimes: inmates sharing the same periods share the answer
        # inmates with the same regime and personal periods share one answer
        self._pkey: dict[PersonId, tuple[str, tuple[str, ...]]] = {}
        self._periods: dict[tuple[str, tuple[str, ...]], tuple[Period, ...]] = {}
        for i in facility.inmates.values():
            key = (i.regime or facility.wing_regimes.get(i.wing, ""), i.extra_periods)
            self._pkey[i.id] = key
            if key not in self._periods:
                self._periods[key] = facility.periods_of(i)
        self._situations: dict[tuple[str, tuple[str, ...]], tuple[EpochS, EpochS, Situation]] = {}
        self._next_regime_s: EpochS = INF
        # rules' state
        self.oob: dict[PersonId, _Oob] = {}
        self.pairs: dict[PairKey, _Pair] = {}
        self._pairs_of: dict[PersonId, list[tuple[Separation, PersonId]]] = {}
        for sep in facility.separations:
            for a in sep.members:
                for b in sep.members:
                    if a != b:
                        self._pairs_of.setdefault(a, []).append((sep, b))
        self.silent: dict[DeviceId, FacilityEpisode] = {}  # open no_sighting episodes
        self._silence_heap: list[tuple[EpochS, DeviceId]] = []
        self.band_events: dict[tuple[str, DeviceId], FacilityEpisode] = {}  # (type, device)
        self.removed: set[DeviceId] = set()
        # readers' health
        self.reader_heard: dict[str, EpochS] = {}
        self.reader_up_since: dict[str, EpochS] = {}
        self.readers_down: set[str] = set()
        self.reader_episodes: dict[str, FacilityEpisode] = {}
        self.feed_loss: FacilityEpisode | None = None
        self._next_reader_scan_s: EpochS = NEG_INF
        self._timers: list[tuple[EpochS, str, str]] = []  # (due, kind, key) for closes
        self._next_count_s: EpochS = INF

    # ------------------------------------------------------------------ input

    def feed(self, record: FacilityRecord) -> list[FacilityEffect]:
        """Take one record. Sightings and crossings move bands; events act at once."""
        out: list[FacilityEffect] = []
        self.counters["records"] += 1
        if self.now_s == NEG_INF:
            self._start(record.time_s)
        if isinstance(record, Sighting | DoorCrossing):
            self._heard(record.reader, record.time_s, out)
            self._band_seen(record.device, record.time_s, out)
            known = self.presence.bands.get(record.device)
            was_stale = known is None or record.time_s - known.last_seen_s > self.p.stale_s
            if isinstance(record, Sighting):
                move = self.presence.observe(record.device, record.reader, record.time_s, record.rssi_dbm)
            else:
                move = self.presence.cross(record.device, record.reader, record.direction, record.time_s)
            self._after_sighting(record.device, record.time_s, move, was_stale, out)
        elif isinstance(record, ReaderHeartbeat):
            self._heard(record.reader, record.time_s, out)
        elif isinstance(record, BandEvent):
            self._band_event(record, out)
        return out

    def advance(self, now_s: EpochS) -> list[FacilityEffect]:
        """Move the clock to `now_s`: regime changes, silences, closes, counts."""
        out: list[FacilityEffect] = []
        if self.now_s == NEG_INF:
            self._start(now_s)
        if now_s < self.now_s:
            return out
        self.now_s = now_s
        while self._next_regime_s <= now_s:
            t = self._next_regime_s
            for inmate in self.f.inmates.values():
                self._check_bounds(inmate, t, out)
            self._next_regime_s = self._regime_change_after(t)
        if now_s >= self._next_reader_scan_s:
            self._scan_readers(now_s, out)
            self._next_reader_scan_s = now_s + _READER_SCAN_S
        while self._silence_heap and self._silence_heap[0][0] <= now_s:
            _, band = heapq.heappop(self._silence_heap)
            self._check_silence(band, now_s, out)
        while self._timers and self._timers[0][0] <= now_s:
            due, kind, key = heapq.heappop(self._timers)
            self._fire(kind, key, due, out)
        while self._next_count_s <= now_s:
            out.append(HeadcountDue(self.f.id, self._next_count_s))
            self._next_count_s = self.next_count_after(self._next_count_s)
        return out

    def _start(self, t: EpochS) -> None:
        """The first instant: every reader counts as just heard (no alarm for
        what was silent before we started), timers are armed from here."""
        self.now_s = self.start_s = t
        for r in self.f.readers:
            self.reader_heard[r] = t
        for band in self.inmate_of:  # a band never seen at all is missing too
            heapq.heappush(self._silence_heap, (t + self.p.no_sighting_s, band))
        self._next_regime_s = self._regime_change_after(t)
        self._next_count_s = self.next_count_after(t)

    # -------------------------------------------------------------- sightings

    def _raised(self, t: EpochS) -> EpochS:
        return max(self.now_s, t)

    def _heard(self, reader: str, t: EpochS, out: list[FacilityEffect]) -> None:
        if reader not in self.f.readers:
            self.counters["unknown_reader"] += 1
            return
        if t > self.reader_heard.get(reader, NEG_INF):
            self.reader_heard[reader] = t
        if reader in self.readers_down:
            self.readers_down.discard(reader)
            self.reader_up_since[reader] = t
            opened = self.reader_episodes.pop(reader, None)
            if opened is not None:
                self._close(opened, t, out)
            self._check_feed(t, out)

    def _band_seen(self, band: DeviceId, t: EpochS, out: list[FacilityEffect]) -> None:
        opened = self.silent.pop(band, None)
        if opened is not None:
            opened.detail["seen_again_s"] = t
            self._close(opened, t, out)
            heapq.heappush(self._silence_heap, (t + self.p.no_sighting_s, band))

    def _after_sighting(
        self, band: DeviceId, t: EpochS, move: Move | None, was_stale: bool, out: list[FacilityEffect]
    ) -> None:
        person = self.inmate_of.get(band)
        if move is not None:
            if person is not None:
                out.append(
                    Moved(self.f.id, person, "inmate", band, move.from_zone, move.to_zone, move.at_s, move.by)
                )
            elif (staff := self.staff_of.get(band)) is not None:
                out.append(
                    Moved(self.f.id, staff, "staff", band, move.from_zone, move.to_zone, move.at_s, move.by)
                )
        if person is None:
            if band not in self.staff_of:
                self.counters["unknown_band"] += 1
            return
        inmate = self.f.inmates[person]
        when = move.at_s if move is not None else t
        if move is not None or was_stale:  # moved, or heard again after a silence
            self._check_bounds(inmate, when, out)
        pairs = self._pairs_of.get(person)
        if pairs and (
            move is not None or was_stale or any(s.mode == SeparationMode.DISTANCE for s, _ in pairs)
        ):
            self._check_pairs(person, pairs, when, out)

    # ----------------------------------------------------------------- bounds

    def situation(self, inmate: Inmate, t: EpochS) -> Situation:
        key = self._pkey.get(inmate.id)
        if key is None:
            key = self._pkey[inmate.id] = (
                inmate.regime or self.f.wing_regimes.get(inmate.wing, ""),
                inmate.extra_periods,
            )
            self._periods[key] = self.f.periods_of(inmate)
        periods = self._periods[key]
        hit = self._situations.get(key)
        if hit is not None and hit[0] <= t < hit[1]:
            return hit[2]
        s = situation(periods, t, self.p.movement_grace_s, self.p.movement_lead_s)
        until = next_change(periods, t, self.p.movement_grace_s, self.p.movement_lead_s)
        if len(self._situations) > 10_000:
            self._situations.clear()
        self._situations[key] = (t, until, s)
        return s

    def allowed_zones(self, inmate: Inmate, t: EpochS) -> frozenset[ZoneId]:
        return self.places.zones(self.situation(inmate, t).allowed, inmate)

    def expected_zones(self, inmate: Inmate, t: EpochS) -> frozenset[ZoneId]:
        return self.places.zones(self.situation(inmate, t).count_at, inmate)

    def _regime_change_after(self, t: EpochS) -> EpochS:
        out = INF
        for periods in self._periods.values():
            out = min(out, next_change(periods, t, self.p.movement_grace_s, self.p.movement_lead_s))
        return out

    def _check_bounds(self, inmate: Inmate, t: EpochS, out: list[FacilityEffect]) -> None:
        if inmate.band is None or not inmate.on_roll:
            return
        st = self.presence.bands.get(inmate.band)
        if st is None or st.zone is None:
            return
        if t - st.last_seen_s > self.p.stale_s:
            return  # not heard lately: where he is now is unknown (the silence has its own rule)
        inside = st.zone in self.allowed_zones(inmate, t)
        state = self.oob.get(inmate.id)
        if not inside:
            if state is None:
                state = self.oob[inmate.id] = _Oob()
            state.back_since_s = None
            if state.episode is None:
                sit = self.situation(inmate, t)
                state.episode = self._open(
                    ep.OUT_OF_BOUNDS,
                    inmate.id,
                    max(t, st.since_s),
                    RuleId(f"oob:{inmate.id}"),
                    inmate.band,
                    st.zone,
                    {"activity": sit.activity, "allowed": sorted(sit.allowed), "reader": st.last_reader},
                    out,
                )
            elif state.episode.zone != st.zone:
                state.episode.detail.setdefault("zones", [state.episode.zone]).append(st.zone)
        elif state is not None and state.episode is not None and state.back_since_s is None:
            state.back_since_s = t
            heapq.heappush(self._timers, (t + self.p.oob_close_s, "oob", inmate.id))

    # ---------------------------------------------------------- keep-separate

    def _together(self, a: PersonId, b: PersonId, sep: Separation, t: EpochS) -> bool | None:
        """True/False, or None when one of them has not been seen lately (no say)."""
        ia, ib = self.f.inmates.get(a), self.f.inmates.get(b)
        if ia is None or ib is None or ia.band is None or ib.band is None:
            return None
        sa, sb = self.presence.bands.get(ia.band), self.presence.bands.get(ib.band)
        if sa is None or sb is None or sa.zone is None or sb.zone is None:
            return None
        if t - sa.last_seen_s > self.p.stale_s or t - sb.last_seen_s > self.p.stale_s:
            return None
        if sa.zone == sb.zone:
            return True
        if sep.mode != SeparationMode.DISTANCE:
            return False
        za, zb = self.f.zones.get(sa.zone), self.f.zones.get(sb.zone)
        if za is None or zb is None or ZoneKind.CELL in (za.kind, zb.kind):
            return False  # a cell's walls and door separate, however close
        pa, pb = self.presence.position(ia.band), self.presence.position(ib.band)
        if pa is None or pb is None or pa[:2] != pb[:2]:
            return False
        return distance_m(pa[2:], pb[2:]) <= sep.distance_m

    def _check_pairs(
        self, person: PersonId, pairs: list[tuple[Separation, PersonId]], t: EpochS, out: list[FacilityEffect]
    ) -> None:
        for sep, other in pairs:
            together = self._together(person, other, sep, t)
            if together is None:
                continue
            a, b = sorted((person, other))
            key: PairKey = (sep.id, PersonId(a), PersonId(b))
            state = self.pairs.get(key)
            if together:
                if state is None:
                    state = self.pairs[key] = _Pair()
                state.apart_since_s = None
                if state.episode is None:
                    ia = self.f.inmates[PersonId(a)]
                    zone = self.presence.bands[ia.band].zone if ia.band else None
                    state.episode = self._open(
                        ep.KEEP_SEPARATE,
                        PersonId(a),
                        t,
                        RuleId(f"{sep.id}:{a}:{b}"[:64]),
                        None,
                        zone,
                        {
                            "separation": sep.id,
                            "members": [a, b],
                            "mode": sep.mode.value,
                            "reason": sep.reason,
                        },
                        out,
                    )
            elif state is not None and state.episode is not None and state.apart_since_s is None:
                state.apart_since_s = t
                heapq.heappush(self._timers, (t + self.p.separation_close_s, "pair", "\x1f".join(key)))

    # --------------------------------------------------------------- silence

    def _check_silence(self, band: DeviceId, now_s: EpochS, out: list[FacilityEffect]) -> None:
        if band in self.silent or band not in self.inmate_of:
            return
        inmate = self.f.inmates[self.inmate_of[band]]
        if not inmate.on_roll:
            return
        st = self.presence.bands.get(band)
        zone = st.zone if st is not None else None
        last_seen_s = st.last_seen_s if st is not None else NEG_INF
        readers = self.readers_of_zone.get(zone, []) if zone is not None else []
        if readers and all(r in self.readers_down for r in readers):
            # its zone's readers hear nothing at all: silence says nothing; look again later
            heapq.heappush(self._silence_heap, (now_s + self.p.reader_silent_s, band))
            return
        base = max(last_seen_s, self.start_s)
        for r in readers:
            base = max(base, self.reader_up_since.get(r, NEG_INF))
        due = base + self.p.no_sighting_s
        if due > now_s:
            heapq.heappush(self._silence_heap, (due, band))
            return
        self.silent[band] = self._open(
            ep.NO_SIGHTING,
            inmate.id,
            max(last_seen_s, self.start_s),
            None,
            band,
            zone,
            {
                "last_seen_s": None if last_seen_s == NEG_INF else last_seen_s,
                "last_reader": st.last_reader if st is not None else None,
                "last_zone": zone,
            },
            out,
        )
        self.counters["no_sighting"] += 1

    # --------------------------------------------------------------- readers

    def _scan_readers(self, now_s: EpochS, out: list[FacilityEffect]) -> None:
        changed = False
        for r, heard in self.reader_heard.items():
            if r not in self.readers_down and now_s - heard > self.p.reader_silent_s:
                self.readers_down.add(r)
                changed = True
        if changed:
            self._check_feed(now_s, out)
        if self.feed_loss is not None:
            return
        for r in self.readers_down:
            if r not in self.reader_episodes and now_s - self.reader_heard[r] >= self.p.reader_offline_s:
                reader = self.f.readers[r]
                self.reader_episodes[r] = self._open(
                    ep.READER_OFFLINE,
                    None,
                    self.reader_heard[r],
                    None,
                    DeviceId(r),
                    reader.zone,
                    {"reader": r, "last_heard_s": self.reader_heard[r]},
                    out,
                )

    def _check_feed(self, t: EpochS, out: list[FacilityEffect]) -> None:
        total = len(self.f.readers)
        if total == 0:
            return
        lost = len(self.readers_down) >= self.p.feed_loss_fraction * total and len(self.readers_down) > 1
        if lost and self.feed_loss is None:
            self.feed_loss = self._open(
                ep.FEED_LOSS,
                None,
                t,
                RuleId(f"feed:{self.f.id}"),
                None,
                None,
                {"readers_down": len(self.readers_down), "readers": total},
                out,
            )
        elif not lost and self.feed_loss is not None:
            self._close(self.feed_loss, t, out)
            self.feed_loss = None

    # ----------------------------------------------------------- band events

    def _band_event(self, e: BandEvent, out: list[FacilityEffect]) -> None:
        person = self.inmate_of.get(e.device) or self.staff_of.get(e.device)
        if person is None:
            self.counters["unknown_band"] += 1
            return
        st = self.presence.bands.get(e.device)
        zone = st.zone if st is not None else None
        opens = {
            BandEventKind.TAMPER: ep.BAND_TAMPER,
            BandEventKind.REMOVED: ep.BAND_REMOVED,
            BandEventKind.DURESS: ep.DURESS,
        }
        if e.kind in opens:
            kind = opens[e.kind]
            if e.kind == BandEventKind.REMOVED:
                self.removed.add(e.device)
            if (kind, e.device) not in self.band_events:
                detail = {
                    "reader": st.last_reader if st else None,
                    "role": "staff" if person in self.f.staff else "inmate",
                }
                self.band_events[(kind, e.device)] = self._open(
                    kind, person, e.time_s, None, e.device, zone, detail, out
                )
            return
        closes = (ep.DURESS,) if e.kind == BandEventKind.DURESS_CLEARED else (ep.BAND_TAMPER, ep.BAND_REMOVED)
        if e.kind == BandEventKind.RESTORED:
            self.removed.discard(e.device)
        for kind in closes:
            opened = self.band_events.pop((kind, e.device), None)
            if opened is not None:
                self._close(opened, e.time_s, out)

    # ---------------------------------------------------------------- timers

    def _fire(self, kind: str, key: str, due: EpochS, out: list[FacilityEffect]) -> None:
        if kind == "oob":
            state = self.oob.get(PersonId(key))
            if state is None or state.episode is None or state.back_since_s is None:
                return
            if due - state.back_since_s >= self.p.oob_close_s:
                self._close(state.episode, state.back_since_s, out)
                state.episode = None
                state.back_since_s = None
        elif kind == "pair":
            sep_id, a, b = key.split("\x1f")
            pair = self.pairs.get((sep_id, PersonId(a), PersonId(b)))
            if pair is None or pair.episode is None or pair.apart_since_s is None:
                return
            if due - pair.apart_since_s >= self.p.separation_close_s:
                self._close(pair.episode, pair.apart_since_s, out)
                pair.episode = None
                pair.apart_since_s = None

    # -------------------------------------------------------------- episodes

    def _open(
        self,
        kind: str,
        person: PersonId | None,
        start_s: EpochS,
        rule: RuleId | None,
        device: DeviceId | None,
        zone: ZoneId | None,
        detail: Mapping[str, object],
        out: list[FacilityEffect],
    ) -> FacilityEpisode:
        e = FacilityEpisode(
            type=kind,
            person=person,
            start_s=start_s,
            raised_s=self._raised(start_s),
            rule=rule,
            device=device,
            facility=self.f.id,
            zone=zone,
            detail=dict(detail),
        )
        e.evidence.append(start_s)
        out.append(EpisodeOpened(e))
        self.counters[f"opened_{kind}"] += 1
        return e

    def _close(self, e: Episode, end_s: EpochS, out: list[FacilityEffect]) -> None:
        e.end_s = max(end_s, e.start_s)
        out.append(EpisodeClosed(e))

    def open_episodes(self) -> list[FacilityEpisode]:
        found: list[FacilityEpisode] = [s.episode for s in self.oob.values() if s.episode is not None]
        found += [s.episode for s in self.pairs.values() if s.episode is not None]
        found += (
            list(self.silent.values()) + list(self.band_events.values()) + list(self.reader_episodes.values())
        )
        if self.feed_loss is not None:
            found.append(self.feed_loss)
        return found

    # ---------------------------------------------------------------- counts

    def next_count_after(self, t: EpochS) -> EpochS:
        """The first scheduled headcount strictly after `t` (local wall-clock times)."""
        if not self.f.count_times:
            return INF
        times = sorted(parse_clock(c) for c in self.f.count_times)
        day = dt.datetime.fromtimestamp(t, self.tz).date()
        for offset in range(3):
            d = day + dt.timedelta(days=offset)
            for clock in times:
                at = dt.datetime.combine(d, clock, self.tz).timestamp()
                if at > t:
                    return at
        return INF
