"""A prison day: a facility, its regime, inmates who follow it, readers that
hear their wristbands, injected incidents, and the truth.

The facility is built from a few numbers (wings, cells per wing, inmates per
cell): cells along each wing's landing, one corridor joining the wings to
the dining hall, the yard, the workshop, medical and the visits hall. Each
wing has its own regime (lock-up, meals, yard, work, association); some
inmates have a visit appointment. Inmates move in escorted groups through
the landing and the corridor; every band is heard every `interval_s` by the
readers near it, with a signal strength that falls with distance and walls,
noise, misses and rare stray sightings far away.

Injected incidents (each with its truth):
- keep-separate meetings: one of a pair walks to where the other is;
- out-of-bounds entries: an inmate goes where his regime forbids;
- missing inmates: a band falls silent for good (or for a long while);
- reader dropouts: a reader says nothing at all for one to four minutes;
- double-seen bands: a band is also heard clearly by the next zone's reader;
- a band tamper and a staff duress press.

The truth is computed from where everyone really was at each of their
band's ticks (a band's position is only ever sampled at its ticks), so a
meeting, an out-of-bounds stay and a headcount have exact answers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ronda.facility.document import parse_facility
from ronda.facility.model import Facility, Inmate
from ronda.facility.places import PlaceResolver
from ronda.facility.records import (
    BandEvent,
    BandEventKind,
    Direction,
    DoorCrossing,
    FacilityRecord,
    ReaderHeartbeat,
)
from ronda.facility.regime import next_change, situation
from ronda.tracking.records import Sighting
from ronda.types import DeviceId, PersonId, ZoneId, to_iso

CELL_W_M, CELL_D_M, LANDING_D_M, CORRIDOR_D_M = 3.0, 4.0, 4.0, 3.0
WING_GAP_M = 4.0
WALK_MPS = 1.2
TX_DBM = -52.0  # heard at 1 m
SENSITIVITY_DBM = -76.0
NOISE_DB = 2.5
HEAR_RANGE_M = 9.0  # readers further than this from a zone never hear its bands
GROUP = 6  # inmates escorted together


@dataclass(frozen=True)
class PrisonConfig:
    seed: int = 1
    wings: int = 2
    cells_per_wing: int = 8
    per_cell: int = 1
    date: dt.date = dt.date(2026, 3, 10)
    timezone: str = "Europe/Madrid"
    start_h: float = 6.0
    end_h: float = 22.0
    interval_s: float = 2.0
    miss_p: float = 0.02
    stray_p: float = 2e-5  # a band heard once by a far reader (reflections)
    heartbeat_s: float = 5.0
    staff: int = 3
    keep_separate_pairs: int = 3
    meetings: int = 2
    out_of_bounds: int = 2
    missing: int = 1
    dropouts: int = 3
    double_seen: int = 3
    tamper: bool = True
    duress: bool = True
    visits: int = 2
    quiet_around_counts_s: float = 900.0  # no dropout or double-seen this close to a scheduled count
    landing_reader_step_m: float = 6.0  # readers' spacing on landings, in the corridor, in the other rooms
    corridor_reader_step_m: float = 8.0
    amenity_reader_step_m: float = 8.0


@dataclass(frozen=True, slots=True)
class Leg:
    """Where a band is from `start_s` on: a zone and a position, fixed or walking."""

    start_s: float
    zone: ZoneId
    x0: float
    y0: float
    x1: float = math.nan  # walking: towards (x1, y1) at WALK_MPS
    y1: float = math.nan

    def at(self, t: float) -> tuple[float, float]:
        if math.isnan(self.x1):
            return self.x0, self.y0
        d = math.hypot(self.x1 - self.x0, self.y1 - self.y0)
        if d < 1e-9:
            return self.x0, self.y0
        f = min(1.0, (t - self.start_s) * WALK_MPS / d)
        return self.x0 + (self.x1 - self.x0) * f, self.y0 + (self.y1 - self.y0) * f


@dataclass
class Incident:
    kind: str  # meeting, out_of_bounds, missing, dropout, double_seen, tamper, duress
    start_s: float
    end_s: float
    person: str | None = None
    other: str | None = None
    reader: str | None = None
    zone: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "start": to_iso(self.start_s), "end": to_iso(self.end_s)}
        for k in ("person", "other", "reader", "zone"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out


@dataclass(frozen=True, slots=True)
class Interval:
    start_s: float
    end_s: float  # the last tick at which it still held


@dataclass
class Truth:
    meetings: dict[tuple[str, str], list[Interval]] = field(default_factory=dict)
    out_of_bounds: dict[str, list[Interval]] = field(default_factory=dict)
    missing: dict[str, float] = field(default_factory=dict)  # inmate -> silent from
    found: dict[str, float] = field(default_factory=dict)  # inmate -> heard again from (if he is)
    incidents: list[Incident] = field(default_factory=list)


@dataclass
class PrisonDay:
    config: PrisonConfig
    document: dict[str, Any]
    facility: Facility
    start_s: float
    end_s: float
    legs: dict[DeviceId, list[Leg]]
    phase: dict[DeviceId, float]
    truth: Truth
    dropouts: list[Incident]
    double_seen: list[Incident]
    silent_from: dict[DeviceId, tuple[float, float]]  # band -> (from, until)
    band_events: list[BandEvent]
    _reader_pos: dict[str, tuple[float, float]] = field(default_factory=dict)
    _candidates: dict[ZoneId, list[str]] = field(default_factory=dict)
    _starts: dict[DeviceId, list[float]] = field(default_factory=dict)

    # ------------------------------------------------------------- the truth

    def tick_at_or_before(self, band: DeviceId, t: float) -> float:
        step = self.config.interval_s
        ph = self.phase[band]
        return self.start_s + ph + math.floor((t - self.start_s - ph) / step) * step

    def leg_at(self, band: DeviceId, t: float) -> Leg:
        legs = self.legs[band]
        starts = self._starts.get(band)
        if starts is None or len(starts) != len(legs):
            starts = self._starts[band] = [lg.start_s for lg in legs]
        i = bisect.bisect_right(starts, t) - 1
        return legs[max(i, 0)]

    def zone_at(self, person: PersonId, t: float) -> ZoneId | None:
        """Where the inmate really was at his band's last tick at or before `t`."""
        band = self.facility.inmates[person].band
        assert band is not None
        return self.leg_at(band, self.tick_at_or_before(band, t)).zone

    def missing_at(self, t: float) -> set[str]:
        return {
            p
            for p, a in self.truth.missing.items()
            if a <= t and not (p in self.truth.found and self.truth.found[p] <= t)
        }

    def transition_near(self, t: float, margin_s: float) -> bool:
        """Whether any inmate changes zone within `margin_s` of `t`."""
        for inmate in self.facility.inmates.values():
            assert inmate.band is not None
            for leg_a, leg_b in zip(self.legs[inmate.band], self.legs[inmate.band][1:], strict=False):
                if leg_a.zone != leg_b.zone and abs(leg_b.start_s - t) <= margin_s:
                    return True
        return False

    # --------------------------------------------------------------- records

    def records(self) -> Iterator[FacilityRecord]:
        """Everything the readers and bands say, in event-time order."""
        rng = random.Random(self.config.seed * 7919 + 13)
        cfg = self.config
        f = self.facility
        bands = sorted(self.legs)
        zone_of_reader = {r.id: r.zone for r in f.readers.values()}
        hearers = {
            z: [
                (r, *self._reader_pos[r], wall_db(f, z, zone_of_reader[r]))
                for r in self._candidates.get(z, [])
            ]
            for z in f.zones
        }
        gate = next((r for r in f.readers.values() if r.door_from and r.door_to), None)
        down = sorted(self.dropouts, key=lambda i: i.start_s)
        doubles = {d.person: d for d in self.double_seen}
        band_of = {i.id: i.band for i in f.inmates.values()}
        doubles_by_band = {band_of[PersonId(p)]: d for p, d in doubles.items() if p is not None}
        events = sorted(self.band_events, key=lambda e: e.time_s)
        ev_i = 0
        next_hb = {r: self.start_s + rng.uniform(0, cfg.heartbeat_s) for r in f.readers}
        last_zone: dict[DeviceId, ZoneId] = {}
        all_readers = sorted(f.readers)
        t = self.start_s
        while t < self.end_s:
            t_next = t + cfg.interval_s
            out: list[FacilityRecord] = []
            dead = {i.reader for i in down if i.start_s <= t_next and i.end_s > t}

            def alive(reader: str, at: float, dead: set[str | None] = dead) -> bool:
                return reader not in dead or not any(
                    i.reader == reader and i.start_s <= at < i.end_s for i in down
                )

            for band in bands:
                tick = t + self.phase[band]
                if tick >= self.end_s:
                    continue
                quiet = self.silent_from.get(band)
                if quiet is not None and quiet[0] <= tick < quiet[1]:
                    continue
                leg = self.leg_at(band, tick)
                x, y = leg.at(tick)
                prev = last_zone.get(band)
                last_zone[band] = leg.zone
                if gate is not None and prev is not None and prev != leg.zone and alive(gate.id, tick):
                    if (prev, leg.zone) == (gate.door_from, gate.door_to):
                        out.append(DoorCrossing(band, tick, tick + 0.2, gate.id, Direction.IN))
                    elif (prev, leg.zone) == (gate.door_to, gate.door_from):
                        out.append(DoorCrossing(band, tick, tick + 0.2, gate.id, Direction.OUT))
                double = doubles_by_band.get(band)
                for r, rx, ry, wall in hearers[leg.zone]:
                    if dead and not alive(r, tick):
                        continue
                    if double is not None and double.reader == r and double.start_s <= tick < double.end_s:
                        wall = 0.0
                    mean = TX_DBM - 20 * math.log10(max(0.5, math.hypot(rx - x, ry - y))) - wall
                    if mean < SENSITIVITY_DBM - 4 * NOISE_DB:  # far below what a reader hears
                        continue
                    rssi = mean + rng.gauss(0, NOISE_DB)
                    if rssi >= SENSITIVITY_DBM and rng.random() >= cfg.miss_p:
                        out.append(Sighting(band, tick, tick + 0.2, reader=r, rssi_dbm=round(rssi, 1)))
                if rng.random() < cfg.stray_p:  # a reflection heard once, far away
                    r = rng.choice(all_readers)
                    if alive(r, tick):
                        out.append(
                            Sighting(
                                band, tick, tick + 0.2, reader=r, rssi_dbm=round(rng.uniform(-75, -62), 1)
                            )
                        )
            heard = {rec.reader for rec in out if isinstance(rec, Sighting)}
            for r, due in next_hb.items():
                while due < t_next:  # a reader that heard something has said it is alive
                    if alive(r, due) and r not in heard:
                        out.append(ReaderHeartbeat(r, due, due + 0.2))
                    due += cfg.heartbeat_s
                next_hb[r] = due
            while ev_i < len(events) and events[ev_i].time_s < t_next:
                out.append(events[ev_i])
                ev_i += 1
            out.sort(key=lambda rec: rec.time_s)
            yield from out
            t = t_next


def wall_db(f: Facility, band_zone: ZoneId, reader_zone: ZoneId) -> float:
    """Attenuation between a band's zone and a reader's: none in the same zone,
    most through a cell's walls and between indoors and the yard."""
    if band_zone == reader_zone:
        return 0.0
    a, b = f.zones[band_zone].kind.value, f.zones[reader_zone].kind.value
    if "cell" in (a, b) or "yard" in (a, b):
        return 20.0
    return 14.0


# ------------------------------------------------------------------ facility


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def facility_document(cfg: PrisonConfig) -> dict[str, Any]:
    """The facility, its regimes and its people as a JSON document."""
    rng = random.Random(cfg.seed)
    zones: list[dict[str, Any]] = []
    readers: list[dict[str, Any]] = []
    inmates: list[dict[str, Any]] = []
    wing_w = cfg.cells_per_wing * CELL_W_M
    width = max(96.0, cfg.wings * (wing_w + WING_GAP_M))
    y_land, y_corr, y_amen = CELL_D_M, CELL_D_M + LANDING_D_M, CELL_D_M + LANDING_D_M + CORRIDOR_D_M

    def zone(zid: str, name: str, kind: str, poly: list[list[float]], wing: str | None = None) -> None:
        zones.append(
            {
                "id": zid,
                "name": name,
                "kind": kind,
                "building": "main",
                "level": 0,
                "polygon": poly,
                "wing": wing,
            }
        )

    def reader(rid: str, zid: str, x: float, y: float) -> None:
        readers.append({"id": rid, "zone": zid, "x": round(x, 2), "y": round(y, 2)})

    def grid(zid: str, x0: float, y0: float, x1: float, y1: float, step: float) -> None:
        nx, ny = max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step))
        for i in range(nx):
            for j in range(ny):
                reader(
                    f"R-{zid}-{i}{j}", zid, x0 + (i + 0.5) * (x1 - x0) / nx, y0 + (j + 0.5) * (y1 - y0) / ny
                )

    n = 0
    for w in range(cfg.wings):
        wing = chr(ord("A") + w)
        x0 = w * (wing_w + WING_GAP_M)
        land = f"{wing}-landing"
        zone(land, f"Wing {wing} landing", "wing", _rect(x0, y_land, x0 + wing_w, y_corr), wing)
        grid(land, x0, y_land, x0 + wing_w, y_corr, cfg.landing_reader_step_m)
        for c in range(cfg.cells_per_wing):
            cid = f"{wing}-{c + 1:02d}"
            cx = x0 + c * CELL_W_M
            zone(cid, f"Cell {cid}", "cell", _rect(cx, 0, cx + CELL_W_M, CELL_D_M), wing)
            reader(f"R-{cid}", cid, cx + CELL_W_M / 2, CELL_D_M / 2)
            for _ in range(cfg.per_cell):
                n += 1
                inmates.append(
                    {"id": f"P{n:04d}", "name": f"Inmate {n}", "wing": wing, "cell": cid, "band": f"W{n:04d}"}
                )
    zone("corridor", "Main corridor", "corridor", _rect(0, y_corr, width, y_amen))
    step = cfg.corridor_reader_step_m
    for i in range(int(width // step)):
        reader(f"R-corridor-{i:02d}", "corridor", step / 2 + i * step, y_corr + CORRIDOR_D_M / 2)
    amenities = [
        ("dining", "Dining hall", "dining", 0.0, 24.0),
        ("yard", "Exercise yard", "yard", 24.0, 56.0),
        ("workshop", "Workshop", "workshop", 56.0, 76.0),
        ("medical", "Healthcare", "medical", 76.0, 86.0),
        ("visits", "Visits hall", "visits", 86.0, 96.0),
    ]
    for zid, name, kind, a, b in amenities:
        zone(zid, name, kind, _rect(a, y_amen, b, y_amen + 16))
        grid(zid, a, y_amen, b, y_amen + 16, cfg.amenity_reader_step_m)
    readers.append(
        {
            "id": "D-yard-gate",
            "zone": "corridor",
            "x": 40.0,
            "y": y_amen - 0.2,
            "kind": "door",
            "door_from": "corridor",
            "door_to": "yard",
        }
    )
    wings = [chr(ord("A") + w) for w in range(cfg.wings)]
    regimes = [_regime("early", late=False), _regime("late", late=True)]
    wing_regimes = {wing: ("early" if i % 2 == 0 else "late") for i, wing in enumerate(wings)}
    # visits: personal appointments, on the day
    tz = ZoneInfo(cfg.timezone)
    periods = []
    visitors = rng.sample(range(len(inmates)), min(cfg.visits, len(inmates)))
    for k, i in enumerate(visitors):
        visit_at = dt.datetime.combine(cfg.date, dt.time(15 + k % 2, 0), tz)
        pid = f"visit-{inmates[i]['id']}"
        periods.append(
            {
                "id": pid,
                "activity": "visits",
                "allowed": ["visits", "corridor", "own_wing"],
                "count_at": ["visits"],
                "start_at": to_iso(visit_at.timestamp()),
                "end_at": to_iso((visit_at + dt.timedelta(hours=1)).timestamp()),
            }
        )
        inmates[i]["periods"] = [pid]
    # keep-separate pairs: one of each pair in different wings where possible
    by_wing: dict[str, list[str]] = {}
    for m in inmates:
        by_wing.setdefault(m["wing"], []).append(m["id"])
    pairs = []
    used: set[str] = set()
    for k in range(cfg.keep_separate_pairs):
        wa, wb = wings[k % len(wings)], wings[(k + 1) % len(wings)]
        first = rng.choice([x for x in by_wing[wa] if x not in used])
        used.add(first)
        second = rng.choice([x for x in by_wing[wb] if x not in used])
        used.add(second)
        pairs.append(
            {
                "id": f"KS{k + 1}",
                "members": sorted([first, second]),
                "mode": "same_zone",
                "reason": "rival gangs",
            }
        )
    staff = [
        {"id": f"S{k + 1:02d}", "name": f"Officer {k + 1}", "badge": f"B{k + 1:02d}"}
        for k in range(cfg.staff)
    ]
    return {
        "id": "hmp-ronda",
        "name": "HMP Ronda (simulated)",
        "timezone": cfg.timezone,
        "buildings": [{"id": "main", "name": "Main block", "floors": [{"level": 0, "name": "Ground"}]}],
        "zones": zones,
        "readers": readers,
        "regimes": regimes,
        "wing_regimes": wing_regimes,
        "periods": periods,
        "inmates": inmates,
        "staff": staff,
        "keep_separate": pairs,
        "count_times": ["06:30", "13:30", "21:00"],
    }


def _regime(rid: str, late: bool) -> dict[str, Any]:
    """A weekday regime. The "late" wings eat later, take the yard in the
    morning and work in the afternoon; every movement of one wing is at least
    fifteen minutes from every movement of the other, so wings do not meet in
    the corridor."""

    def hm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def p(pid: str, activity: str, a: int, b: int, allowed: list[str], count: list[str]) -> dict[str, Any]:
        return {
            "id": pid,
            "activity": activity,
            "start": hm(a),
            "end": hm(b),
            "allowed": allowed,
            "count_at": count,
        }

    meal, h = ["own_wing", "dining"], 60
    if late:
        times = {
            "breakfast": (8 * h + 15, 8 * h + 45),
            "yard": (10 * h, 11 * h),
            "lunch": (12 * h + 45, 13 * h + 15),
            "work": (14 * h, 16 * h + 30),
            "dinner": (18 * h + 15, 18 * h + 45),
        }
    else:
        times = {
            "breakfast": (7 * h + 30, 8 * h),
            "work": (9 * h + 15, 11 * h + 30),
            "lunch": (12 * h, 12 * h + 30),
            "yard": (14 * h + 30, 15 * h + 30),
            "dinner": (17 * h + 30, 18 * h),
        }
    places = {
        "breakfast": (meal, ["dining"]),
        "lunch": (meal, ["dining"]),
        "dinner": (meal, ["dining"]),
        "yard": (["yard", "own_wing"], ["yard"]),
        "work": (["workshop", "own_wing"], ["workshop"]),
    }
    activity = {"breakfast": "meal", "lunch": "meal", "dinner": "meal", "yard": "yard", "work": "work"}
    periods = [p(k, activity[k], a, b, *places[k]) for k, (a, b) in times.items()]
    periods.append(p("association", "association", 19 * h, 20 * h + 30, ["own_wing"], ["own_wing"]))
    return {"id": rid, "name": f"Standard regime ({rid})", "periods": periods}


# ------------------------------------------------------------------- movement


class _Mover:
    """Builds each band's legs: stays and walks through landing and corridor."""

    def __init__(self, f: Facility, rng: random.Random, seed: int = 0) -> None:
        self.f, self.rng, self.seed = f, rng, seed
        self.box = {z.id: _bbox(z.polygon_m) for z in f.zones.values()}

    def spot(self, zone: ZoneId) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box[zone]
        return self.rng.uniform(x0 + 0.4, x1 - 0.4), self.rng.uniform(y0 + 0.4, y1 - 0.4)

    def landing_of(self, zone: ZoneId) -> ZoneId | None:
        z = self.f.zones[zone]
        return ZoneId(f"{z.wing}-landing") if z.kind.value == "cell" and z.wing else None

    def walk(self, legs: list[Leg], t: float, to: ZoneId, timing: random.Random | None = None) -> float:
        """Append the walk from the last leg's zone to `to`; return the arrival
        time. An escorted group shares `timing`: its members wait at the gate
        and walk the corridor together."""
        clock = timing or self.rng
        here = legs[-1].zone
        if here == to:
            return t
        route: list[ZoneId] = []
        la, lb = self.landing_of(here), self.landing_of(to)
        if la is not None:
            route.append(la)
        same_wing = (la is not None and (la in (lb, to))) or (lb is not None and lb == here)
        if not same_wing:
            route.append(ZoneId("corridor"))
        if lb is not None and lb != here and (not route or route[-1] != lb):
            route.append(lb)
        route.append(to)
        route = [z for i, z in enumerate(route) if z != here and (i == 0 or route[i - 1] != z)]
        x = legs[-1].at(t)[0]
        prev = here
        for z in route:
            tx, ty = self.spot(z)
            if z == "corridor":
                bx0, _by0, bx1, _by1 = self.box[to if to != "corridor" else here]
                tx = min(max((bx0 + bx1) / 2, 1.0), self.box[z][2] - 1.0)
                ty = (self.box[z][1] + self.box[z][3]) / 2
                sx = min(max(x, 1.0), self.box[z][2] - 1.0)
                legs.append(Leg(t, z, sx, ty, tx, ty))
                gx0, _, gx1, _ = self.box[prev]  # the group starts from the gate of where it was
                t += max(25.0, abs(tx - (gx0 + gx1) / 2) / WALK_MPS) + clock.uniform(2, 6)
            elif z == to:
                legs.append(Leg(t, z, tx, ty))
            else:
                legs.append(Leg(t, z, tx, ty))
                t += clock.uniform(8, 16)
            x = tx
            prev = z
        return t


def _bbox(poly: tuple[tuple[float, float], ...]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def _plan(f: Facility, inmate: Inmate, start_s: float, end_s: float, slot: int, mover: _Mover) -> list[Leg]:
    """The ordinary day: in the cell, out to each period's place with his group, back."""
    rng = mover.rng
    x, y = mover.spot(inmate.cell)
    legs = [Leg(start_s - 3600, inmate.cell, x, y)]
    changes: list[tuple[float, str]] = []
    periods = f.periods_of(inmate)
    t = start_s
    while t < end_s:  # where he belongs over the day, minute by minute
        sit = situation(periods, t, 0.0, 0.0)
        key = ",".join(sorted(sit.count_at))
        if not changes or changes[-1][1] != key:
            changes.append((t, key))
        t += 60.0
    resolver = PlaceResolver(f)
    for at, key in changes:
        tokens = frozenset(key.split(",")) if key else frozenset({"own_cell"})
        targets = sorted(resolver.zones(tokens, inmate))
        if inmate.cell in targets and rng.random() < 0.5 and "own_wing" in tokens:
            target = inmate.cell  # association: some stay in their cell
        elif len(targets) > 1 and "own_wing" in tokens:
            target = ZoneId(f"{inmate.wing}-landing")
        else:
            target = targets[0] if targets else inmate.cell
        depart = max(at, legs[-1].start_s) + 40 + slot * 75
        timing = random.Random(f"{mover.seed}:{inmate.wing}:{slot}:{at}")
        if target != legs[-1].zone:
            mover.walk(legs, depart, target, timing)
    return legs


def _divert(
    legs: list[Leg], mover: _Mover, t: float, to: ZoneId, stay_s: float
) -> tuple[list[Leg], float, float]:
    """Insert a trip to `to` at `t` for `stay_s`, then back to where the plan has him."""
    before = [lg for lg in legs if lg.start_s <= t]
    arrive = mover.walk(before, t, to)
    leave = arrive + stay_s
    back_to = max((lg for lg in legs if lg.start_s <= leave), key=lambda lg: lg.start_s).zone
    done = mover.walk(before, leave, back_to)
    after = [lg for lg in legs if lg.start_s > done]
    return before + after, arrive, leave


def simulate_day(cfg: PrisonConfig) -> PrisonDay:
    rng = random.Random(cfg.seed)
    doc = facility_document(cfg)
    f = parse_facility(doc)
    tz = ZoneInfo(cfg.timezone)
    day0 = dt.datetime.combine(cfg.date, dt.time(0, 0), tz).timestamp()
    start_s = dt.datetime.combine(cfg.date, dt.time(0, 0), tz).timestamp() + cfg.start_h * 3600
    end_s = day0 + cfg.end_h * 3600
    mover = _Mover(f, rng, cfg.seed)
    legs: dict[DeviceId, list[Leg]] = {}
    slots: dict[str, int] = {}
    wing_sizes: dict[str, int] = {}
    for inmate in f.inmates.values():
        wing_sizes[inmate.wing] = wing_sizes.get(inmate.wing, 0) + 1
    for inmate in sorted(f.inmates.values(), key=lambda i: i.id):
        slot = slots.get(inmate.wing, 0)
        slots[inmate.wing] = slot + 1
        assert inmate.band is not None
        # escorted groups of GROUP, or larger so that a big wing moves in eight groups
        size = max(GROUP, wing_sizes[inmate.wing] // 8)
        legs[inmate.band] = _plan(f, inmate, start_s, end_s, slot // size, mover)
    for s in f.staff.values():  # officers walk the landings and the corridor
        assert s.badge is not None
        places = sorted(z for z, zone in f.zones.items() if zone.kind.value in ("wing", "corridor"))
        x, y = mover.spot(ZoneId(places[0]))
        sl = [Leg(start_s - 3600, ZoneId(places[0]), x, y)]
        t = start_s
        while t < end_s:
            t = mover.walk(sl, t + rng.uniform(300, 900), ZoneId(rng.choice(places)))
        legs[s.badge] = sl
    phase = {b: rng.uniform(0, cfg.interval_s) for b in sorted(legs)}
    truth = Truth()
    counts = [day0 + (int(c[:2]) * 3600 + int(c[3:]) * 60) for c in f.count_times]

    def near_count(a: float, b: float) -> bool:
        return any(a - cfg.quiet_around_counts_s <= c <= b + cfg.quiet_around_counts_s for c in counts)

    margin_h = min(0.5, (cfg.end_h - cfg.start_h) / 4)

    def random_time(lo_h: float, hi_h: float) -> float:
        lo, hi = max(lo_h, cfg.start_h + margin_h), min(hi_h, cfg.end_h - margin_h)
        if lo >= hi:  # a short day: anywhere in it
            lo, hi = cfg.start_h + margin_h, cfg.end_h - margin_h
        return day0 + rng.uniform(lo, hi) * 3600

    inmate_ids = sorted(f.inmates)
    used: set[str] = set()
    # keep-separate meetings: b walks to where a is, during a's time out of his cell
    for k in range(cfg.meetings):
        sep = f.separations[k % len(f.separations)]
        for _ in range(200):
            t = random_time(7.5, 20.5)
            stay = rng.uniform(240, 420)
            # the one out of his cell stays put; the other walks to him
            for a, b in ((sep.members[0], sep.members[1]), (sep.members[1], sep.members[0])):
                band_a, band_b = f.inmates[a].band, f.inmates[b].band
                assert band_a is not None and band_b is not None
                za = mover_zone(legs[band_a], t)
                if (
                    f.zones[za].kind.value in ("cell", "corridor")
                    or mover_zone(legs[band_a], t + stay + 120) != za
                ):
                    continue
                if mover_zone(legs[band_b], t) == za:
                    continue
                legs[band_b], arrive, leave = _divert(legs[band_b], mover, t, za, stay)
                truth.incidents.append(Incident("meeting", arrive, leave, b, a, zone=za))
                used.update((a, b))
                break
            else:
                continue
            break
    # out-of-bounds: an inmate goes where his regime forbids
    forbidden_places = ["medical", "workshop", "visits"]
    for _ in range(cfg.out_of_bounds):
        p = rng.choice([x for x in inmate_ids if x not in used])
        inmate = f.inmates[p]
        assert inmate.band is not None
        for _ in range(200):
            t = random_time(7.0, 21.0)
            stay = rng.uniform(180, 360)
            to = ZoneId(rng.choice(forbidden_places))
            allowed = PlaceResolver(f).zones(
                situation(
                    f.periods_of(inmate), t, f.params.movement_grace_s, f.params.movement_lead_s
                ).allowed
                | situation(
                    f.periods_of(inmate), t + stay + 300, f.params.movement_grace_s, f.params.movement_lead_s
                ).allowed,
                inmate,
            )
            if to in allowed:
                continue
            legs[inmate.band], arrive, leave = _divert(legs[inmate.band], mover, t, to, stay)
            truth.incidents.append(Incident("out_of_bounds", arrive, leave, p, zone=to))
            used.add(p)
            break
    # missing: the band falls silent (escape, or hidden)
    silent_from: dict[DeviceId, tuple[float, float]] = {}
    for _ in range(cfg.missing):
        p = rng.choice([x for x in inmate_ids if x not in used])
        band = f.inmates[p].band
        assert band is not None
        t = random_time(8.0, 19.0)
        until = end_s + 3600
        silent_from[band] = (t, until)
        truth.missing[p] = t
        truth.incidents.append(Incident("missing", t, until, p))
        used.add(p)
    # reader dropouts and double-seen bands, away from the scheduled counts
    dropouts: list[Incident] = []
    reader_ids = sorted(r for r in f.readers if not r.startswith("D-"))
    cells = [r for r in reader_ids if f.zones[f.readers[r].zone].kind.value == "cell"]
    pools = [cells, [r for r in reader_ids if r not in cells]]
    for k in range(cfg.dropouts):
        for _ in range(200):
            r = rng.choice(pools[k % 2])
            t = random_time(6.5, 21.5)
            d = rng.uniform(60, 240)
            if not near_count(t, t + d):
                dropouts.append(Incident("dropout", t, t + d, reader=r, zone=f.readers[r].zone))
                break
    double_seen: list[Incident] = []
    for _ in range(cfg.double_seen):
        for _ in range(200):
            p = rng.choice([x for x in inmate_ids if x not in used])
            band = f.inmates[p].band
            assert band is not None
            t = random_time(6.5, 21.0)
            d = rng.uniform(300, 900)
            z = mover_zone(legs[band], t)
            if near_count(t, t + d) or any(mover_zone(legs[band], t + s) != z for s in range(0, int(d), 20)):
                continue
            nxt = _neighbour_reader(f, mover, z, legs[band], t)
            if nxt is None:
                continue
            double_seen.append(Incident("double_seen", t, t + d, p, reader=nxt, zone=z))
            used.add(p)
            break
    band_events: list[BandEvent] = []
    if cfg.tamper:
        p = rng.choice([x for x in inmate_ids if x not in used])
        band = f.inmates[p].band
        assert band is not None
        t = random_time(9.0, 20.0)
        band_events += [
            BandEvent(band, t, t + 0.2, BandEventKind.TAMPER),
            BandEvent(band, t + 600, t + 600.2, BandEventKind.RESTORED),
        ]
        truth.incidents.append(Incident("tamper", t, t + 600, p))
    if cfg.duress and f.staff:
        s = sorted(f.staff.values(), key=lambda x: x.id)[0]
        assert s.badge is not None
        t = random_time(9.0, 20.0)
        band_events += [
            BandEvent(s.badge, t, t + 0.2, BandEventKind.DURESS),
            BandEvent(s.badge, t + 300, t + 300.2, BandEventKind.DURESS_CLEARED),
        ]
        truth.incidents.append(Incident("duress", t, t + 300, s.id))
    truth.incidents += dropouts + double_seen
    day = PrisonDay(
        cfg, doc, f, start_s, end_s, legs, phase, truth, dropouts, double_seen, silent_from, band_events
    )
    day._reader_pos = {r.id: (r.x_m, r.y_m) for r in f.readers.values() if r.kind.value == "area"}
    for zone in f.zones.values():
        x0, y0, x1, y1 = _bbox(zone.polygon_m)
        day._candidates[zone.id] = sorted(
            r
            for r, (rx, ry) in day._reader_pos.items()
            if math.hypot(max(x0 - rx, 0, rx - x1), max(y0 - ry, 0, ry - y1)) <= HEAR_RANGE_M
        )
    _compute_truth(day)
    return day


def mover_zone(legs: list[Leg], t: float) -> ZoneId:
    i = bisect.bisect_right([lg.start_s for lg in legs], t) - 1
    return legs[max(i, 0)].zone


def _neighbour_reader(f: Facility, mover: _Mover, zone: ZoneId, legs: list[Leg], t: float) -> str | None:
    """The nearest reader of another zone (not a cell, not the yard) to where the band is."""
    x, y = legs[max(bisect.bisect_right([lg.start_s for lg in legs], t) - 1, 0)].at(t)
    best: tuple[float, str] | None = None
    for r in f.readers.values():
        if r.kind.value != "area" or r.zone == zone or f.zones[r.zone].kind.value in ("cell", "yard"):
            continue
        d = math.hypot(r.x_m - x, r.y_m - y)
        if d <= 6.0 and (best is None or d < best[0]):
            best = (d, r.id)
    return best[1] if best else None


def _intervals(ticks: list[tuple[float, bool]]) -> list[Interval]:
    out: list[Interval] = []
    start = last = None
    for t, on in ticks:
        if on and start is None:
            start = t
        if on:
            last = t
        if not on and start is not None and last is not None:
            out.append(Interval(start, last))
            start = None
    if start is not None and last is not None:
        out.append(Interval(start, last))
    return out


def _compute_truth(day: PrisonDay) -> None:
    """Meetings of keep-separate pairs and out-of-bounds stays, at the bands' ticks."""
    f, cfg = day.facility, day.config
    resolver = PlaceResolver(f)
    p = f.params
    step = cfg.interval_s
    for inmate in f.inmates.values():
        band = inmate.band
        assert band is not None
        periods = f.periods_of(inmate)
        gone = day.silent_from.get(band, (math.inf, math.inf))[0]
        ticks: list[tuple[float, bool]] = []
        t = day.start_s + day.phase[band]
        legs = day.legs[band]
        starts = [lg.start_s for lg in legs]
        allowed: frozenset[ZoneId] = frozenset()
        until = -math.inf
        while t < min(day.end_s, gone):
            z = legs[bisect.bisect_right(starts, t) - 1].zone
            if t >= until:  # the regime's answer holds until its next change
                sit = situation(periods, t, p.movement_grace_s, p.movement_lead_s)
                allowed = resolver.zones(sit.allowed, inmate)
                until = next_change(periods, t, p.movement_grace_s, p.movement_lead_s)
            ticks.append((t, z not in allowed))
            t += step
        found = _intervals(ticks)
        if found:
            day.truth.out_of_bounds[inmate.id] = found
    for sep in f.separations:
        a, b = sep.members[0], sep.members[1]
        ba, bb = f.inmates[a].band, f.inmates[b].band
        assert ba is not None and bb is not None
        gone = min(day.silent_from.get(ba, (math.inf, 0))[0], day.silent_from.get(bb, (math.inf, 0))[0])
        ticks = []
        t = day.start_s
        while t < min(day.end_s, gone):
            ticks.append((t, mover_zone(day.legs[ba], t) == mover_zone(day.legs[bb], t)))
            t += step
        found = _intervals(ticks)
        if found:
            day.truth.meetings[(a, b)] = found


def truth_json(day: PrisonDay) -> dict[str, Any]:
    t = day.truth
    return {
        "meetings": [
            {"members": list(k), "start": to_iso(iv.start_s), "end": to_iso(iv.end_s)}
            for k, ivs in sorted(t.meetings.items())
            for iv in ivs
        ],
        "out_of_bounds": [
            {"inmate": p, "start": to_iso(iv.start_s), "end": to_iso(iv.end_s)}
            for p, ivs in sorted(t.out_of_bounds.items())
            for iv in ivs
        ],
        "missing": [{"inmate": p, "from": to_iso(a)} for p, a in sorted(t.missing.items())],
        "incidents": [i.to_json() for i in t.incidents],
    }
