"""Crime-scene correlation on a simulated city with known passers-by added.

The scene is the centre of a simulated Madrid; the window 14:00-15:00 local.
Besides the simulated persons (checked against a brute-force oracle), six
constructed persons each test one part of the method."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from shapely.geometry import Polygon

from ronda.correlation import Confidence, Incident, Method, Params, Trail, TrailIndex, correlate
from ronda.correlation.incidents import parse_csv, point_incident
from ronda.errors import InvalidInput
from ronda.geo.projection import LocalProjection
from ronda.scenarios.loader import ArrivalStats, load_scenario, read_arrivals
from ronda.simulator import SimulationConfig, simulate
from ronda.tracking.records import Position

LAT, LON = 40.4168, -3.7038
SCENE = LocalProjection(LAT, LON)
TZ = ZoneInfo("Europe/Madrid")
WS = dt.datetime(2026, 6, 1, 14, 0, tzinfo=TZ).timestamp()
WE = WS + 3600.0
MID = WS + 1800.0
RADIUS_M = 100.0


def built(person: str, ts: list[float], xy: list[tuple[float, float]], acc: float) -> Trail:
    """A trail given in metres east/north of the scene."""
    lon, lat = SCENE.to_lonlat([p[0] for p in xy], [p[1] for p in xy])
    return Trail(
        person, ts, list(lat), list(lon), [acc] * len(ts), [f"tag-{person}"] * len(ts), WS - 7200, WE + 7200
    )


def line(
    person: str,
    t0: float,
    t1: float,
    every_s: float,
    start: tuple[float, float],
    v: tuple[float, float],
    acc: float,
) -> Trail:
    ts = list(np.arange(t0, t1 + 1e-6, every_s))
    return built(person, ts, [(start[0] + v[0] * (t - t0), start[1] + v[1] * (t - t0)) for t in ts], acc)


def constructed() -> list[Trail]:
    early, late = WS - 3600, WE + 3600
    walker = line("walker", early, late, 60, (-1.2 * (MID - early), 10.0), (1.2, 0.0), 8.0)
    # 15 m/s, a fix every 60 s: fixes 450 m either side, the straight line 30 m away
    between = line("between", MID - 1830, MID + 1830, 60, (-15.0 * 1830, 30.0), (15.0, 0.0), 10.0)
    lingerer = built("lingerer", list(np.arange(early, late, 60.0)), [(0.0, 95.0)] * 180, 20.0)
    # walks round the scene 127 m out: beyond 100 m + 15 m accuracy, chords included
    ts = list(np.arange(early, late, 30.0))
    outsider = built(
        "outsider",
        ts,
        [(127 * math.cos(i * 36 / 127), 127 * math.sin(i * 36 / 127)) for i in range(len(ts))],
        15.0,
    )
    # silent from 14:10 to 14:50, 600 m and 700 m away either side
    ts_s = [*np.arange(early, WS + 600 + 1, 60.0), *np.arange(WS + 3000, late, 60.0)]
    silent = built("silent", ts_s, [(600.0, 0.0) if t <= WS + 600 else (0.0, -700.0) for t in ts_s], 10.0)
    # silent 20 minutes, 40 km away: could not have got there and back
    ts_f = [*np.arange(early, WS + 1200 + 1, 60.0), *np.arange(WS + 2400, late, 60.0)]
    far = built("far-silent", ts_f, [(40_000.0, 0.0)] * len(ts_f), 10.0)
    return [walker, between, lingerer, outsider, silent, far]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> list[Trail]:
    """The simulated city's tag trails (invalid fixes left out, as storage does)."""
    out = simulate(
        tmp_path_factory.mktemp("sim") / "city",
        SimulationConfig.for_city("madrid", seed=3, persons=8, days=1),
    )
    scenario = load_scenario(out)
    owner = {d.id: d.person for d in scenario.caseload.devices.values() if d.kind.value == "gps_tag"}
    fixes: dict[str, list[Position]] = defaultdict(list)
    for rec in read_arrivals(scenario.arrivals_path(), ArrivalStats()):
        if isinstance(rec, Position) and rec.valid and rec.device in owner and rec.lat is not None:
            fixes[str(owner[rec.device])].append(rec)
    trails = []
    for person, recs in sorted(fixes.items()):
        recs = sorted(set(recs), key=lambda r: r.time_s)
        trails.append(
            Trail(
                person,
                [r.time_s for r in recs],
                [float(r.lat or 0) for r in recs],
                [float(r.lon or 0) for r in recs],
                [math.nan if r.accuracy_m is None else r.accuracy_m for r in recs],
                [r.device for r in recs],
                recs[0].time_s,
                recs[-1].time_s,
            )
        )
    assert len(trails) == 8
    return trails


@pytest.fixture(scope="module")
def index(simulated: list[Trail]) -> TrailIndex:
    return TrailIndex.build([*simulated, *constructed()], Params())


def scene(radius_m: float = RADIUS_M, start_s: float = WS, end_s: float = WE) -> Incident:
    return point_incident("case-1", LAT, LON, radius_m, start_s, end_s)


def test_known_passers_by_are_found_ranked_and_explained(index: TrailIndex) -> None:
    res = correlate(index, scene())
    near = {m.person: m for m in res.near}
    ranked = [m.person for m in res.near if m.person in {"walker", "between", "lingerer"}]
    assert ranked == ["walker", "between", "lingerer"]
    ranks = [m.worst_case_m for m in res.near]
    assert ranks == sorted(ranks)

    w = near["walker"]
    assert w.method is Method.FIX and w.confidence is Confidence.HIGH
    assert w.min_distance_m == pytest.approx(10.0, abs=1.0)
    assert abs(w.at_s - MID) <= 30
    assert w.supporting and all(f.distance_m <= 100 + 8 + 0.5 for f in w.supporting)
    assert w.near_fixes == len(w.supporting) >= 3

    b = near["between"]
    assert b.method is Method.INTERPOLATED and b.confidence is Confidence.MEDIUM
    assert b.min_distance_m == pytest.approx(30.0, abs=1.0)
    assert abs(b.at_s - MID) <= 2
    # no fix of theirs was near: only the line between the two fixes found them
    assert b.near_fixes == 0
    assert [round(f.distance_m) for f in b.supporting] == [451, 451]
    assert b.supporting[0].time_s < b.at_s < b.supporting[1].time_s

    ling = near["lingerer"]
    assert ling.method is Method.FIX and ling.min_distance_m == pytest.approx(95.0, abs=1.0)


def test_a_silent_tag_is_reported_as_a_gap_not_absent(index: TrailIndex) -> None:
    res = correlate(index, scene())
    unplaced = {u.person: u for u in res.unplaced}
    assert "silent" in unplaced and "silent" not in {m.person for m in res.near}
    (s,) = unplaced["silent"].silences
    assert (s.from_s, s.to_s) == (WS + 600, WS + 3000)
    assert s.before is not None and s.before.distance_m == pytest.approx(600, abs=1)
    assert s.after is not None and s.after.distance_m == pytest.approx(700, abs=1)
    assert WS + 600 < s.reachable_from_s < s.reachable_to_s < WS + 3000
    assert unplaced["silent"].nearest_known_m == pytest.approx(600, abs=1)
    # 40 km away and silent only 20 minutes: could not have been there, so not listed
    assert "far-silent" not in unplaced and "far-silent" not in {m.person for m in res.near}


def test_just_outside_the_distance_is_not_listed(index: TrailIndex) -> None:
    res = correlate(index, scene())
    listed = {m.person for m in res.near} | {u.person for u in res.unplaced}
    assert "outsider" not in listed
    # ... and is listed once the distance covers them
    wider = correlate(index, scene(radius_m=RADIUS_M + 15))
    assert "outsider" in {m.person for m in wider.near}
    assert res.persons_considered == 14 and res.persons_elsewhere == 14 - len(res.near) - len(res.unplaced)


def test_without_interpolation_the_passer_between_fixes_is_a_gap_not_absent(simulated: list[Trail]) -> None:
    idx = TrailIndex.build([*simulated, *constructed()], Params(max_gap_s=30))
    res = correlate(idx, scene())
    assert "between" not in {m.person for m in res.near}
    assert "between" in {u.person for u in res.unplaced}


def test_window_outside_the_pass_lists_nobody_constructed(index: TrailIndex) -> None:
    res = correlate(index, scene(start_s=WS - 3000, end_s=WS - 2400))
    assert {"walker", "between"} & {m.person for m in res.near} == set()


def test_polygon_area_inside_counts_as_zero(index: TrailIndex) -> None:
    sq = [(-50.0, -50.0), (50.0, -50.0), (50.0, 50.0), (-50.0, 50.0)]
    lon, lat = SCENE.to_lonlat([p[0] for p in sq], [p[1] for p in sq])
    area = Polygon(list(zip(lon.tolist(), lat.tolist(), strict=True)))
    res = correlate(index, Incident("poly", WS, WE, area, 0.0))
    near = {m.person: m for m in res.near}
    assert near["walker"].min_distance_m == pytest.approx(0.0, abs=0.01)
    assert near["between"].min_distance_m == pytest.approx(0.0, abs=0.01)
    assert near["between"].method is Method.INTERPOLATED
    assert "lingerer" not in near  # 45 m outside, 20 m accuracy


def oracle(trail: Trail, idx: TrailIndex, lon: float, lat: float, ws: float, we: float) -> float:
    """Brute force, independent of the index: the smallest (distance minus
    allowance) over the fixes in the window and the lines between linked
    fixes sampled every half second. Near when <= 0."""
    p = idx.params
    t = np.asarray(trail.time_s, float)
    x, y = idx.projection.to_xy(np.asarray(trail.lon), np.asarray(trail.lat))
    acc = np.nan_to_num(np.asarray(trail.accuracy_m, float), nan=p.default_accuracy_m)
    ok = acc <= p.max_accuracy_m
    t, x, y, acc = t[ok], x[ok], y[ok], acc[ok]
    cx, cy = idx.projection.point_xy(lon, lat)
    best = math.inf
    for i in range(len(t)):
        if ws <= t[i] <= we:
            best = min(best, math.hypot(x[i] - cx, y[i] - cy) - RADIUS_M - acc[i])
        if i + 1 < len(t) and t[i + 1] - t[i] <= p.max_gap_s and t[i] <= we and t[i + 1] >= ws:
            ss = np.arange(max(t[i], ws), min(t[i + 1], we) + 0.5, 0.5)
            f = (ss - t[i]) / max(t[i + 1] - t[i], 1e-9)
            d = np.hypot(x[i] + f * (x[i + 1] - x[i]) - cx, y[i] + f * (y[i + 1] - y[i]) - cy)
            best = min(best, float(d.min()) - RADIUS_M - max(acc[i], acc[i + 1]))
    return best


def test_simulated_persons_agree_with_a_brute_force_oracle(simulated: list[Trail]) -> None:
    idx = TrailIndex.build(simulated, Params())
    rng = np.random.default_rng(5)
    checked = found_near = 0
    for hour in range(8, 22, 2):
        ws = dt.datetime(2026, 6, 1, hour, 0, tzinfo=TZ).timestamp()
        # scenes on a simulated person's own trail, so that someone is near
        tr = simulated[int(rng.integers(len(simulated)))]
        j = min(int(np.searchsorted(np.asarray(tr.time_s), ws + 900)), len(tr.time_s) - 1)
        lat, lon = float(tr.lat[j]), float(tr.lon[j])
        res = correlate(idx, point_incident(f"s{hour}", lat, lon, RADIUS_M, ws, ws + 1800))
        found = {m.person for m in res.near}
        assert tr.person in found
        for other in simulated:
            best = oracle(other, idx, lon, lat, ws, ws + 1800)
            if abs(best) < 1.0:
                continue  # too close to the threshold for a sampled oracle
            assert (other.person in found) == (best <= 0), (hour, other.person, best)
            checked += 1
            found_near += best <= 0
    assert checked >= 40 and found_near >= 7


def test_csv_batch_parses_points_and_polygons_and_names_bad_lines() -> None:
    text = (
        "id,from,to,lat,lon,radius_m,area,distance_m,label\n"
        f"a,2026-06-01T14:00:00+02:00,2026-06-01T15:00:00+02:00,{LAT},{LON},200,,,burglary\n"
        "b,2026-06-01T14:00:00Z,2026-06-01T15:00:00Z,,,,"
        '"POLYGON((-3.70 40.41,-3.69 40.41,-3.69 40.42,-3.70 40.41))",25,\n'
        "c,2026-06-01T14:00:00,2026-06-01T15:00:00Z,40,-3,200,,,\n"
        "d,2026-06-01T15:00:00Z,2026-06-01T14:00:00Z,40,-3,200,,,\n"
        "e,2026-06-01T14:00:00Z,2026-06-01T15:00:00Z,91,-3,200,,,\n"
        "a,2026-06-01T14:00:00Z,2026-06-01T15:00:00Z,40,-3,200,,,\n"
    )
    parsed = parse_csv(text)
    assert [i.id for i in parsed.incidents] == ["a", "b"]
    assert parsed.incidents[0].label == "burglary" and parsed.incidents[0].distance_m == 200
    assert parsed.incidents[1].area.geom_type == "Polygon" and parsed.incidents[1].distance_m == 25
    assert parsed.bad_lines == 4
    said = [str(e) for e in parsed.errors]
    assert said[0].startswith("line 4, field 'from'")
    assert "line 5, field 'end'" in said[1]
    assert "line 6, field 'lat'" in said[2]
    assert "line 7, field 'id'" in said[3] and "twice" in said[3]
    assert [str(e) for e in parse_csv("").errors] == ["line 1: the file is empty (a header row is needed)"]


def test_bad_parameters_and_incidents_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as e:
        Params(max_gap_s=0)
    assert e.value.field == "max_gap_s"
    with pytest.raises(InvalidInput) as e:
        point_incident("x", LAT, LON, 0, WS, WE)
    assert e.value.field == "radius_m"
    with pytest.raises(InvalidInput) as e:
        point_incident("x", LAT, LON, 100, WS, WS + 40 * 86400)
    assert e.value.field == "end"


def test_empty_index_answers_with_nobody() -> None:
    idx = TrailIndex.build([], Params())
    res = correlate(idx, scene())
    assert res.near == () and res.unplaced == () and res.persons_considered == 0


def test_a_person_with_no_fix_at_all_in_their_monitored_time_is_unplaced() -> None:
    nobody = Trail("ghost", [], [], [], [], [], WS - 3600, WE + 3600)
    res = correlate(TrailIndex.build([nobody, *constructed()], Params()), scene())
    ghost = {u.person: u for u in res.unplaced}["ghost"]
    (s,) = ghost.silences
    assert s.before is None and s.after is None and ghost.nearest_known_m is None
    assert res.unplaced[-1].person == "ghost"  # nothing known comes last
