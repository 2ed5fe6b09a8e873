"""Weighing fixes as the engine does; gaps and no-fix periods."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ronda.engine.params import EngineParams
from ronda.evidence.analysis import (
    Verdict,
    data_gaps,
    deciding,
    home_view,
    no_fix_periods,
    weigh_proximity_fixes,
    weigh_zone_fixes,
)
from ronda.evidence.model import Event, Fix, WornDevice
from ronda.rules.schedule import Schedule, WeeklyWindow, parse_clock
from ronda.types import ZoneId
from ronda.zones.models import Zone

LAT0, LON0 = 40.0, -3.0
M_LAT = 1 / 111_000  # degrees of latitude per metre (enough for these tests)
CIRCLE = Zone(ZoneId("z"), "z", {"type": "Point", "coordinates": [LON0, LAT0]}, 200.0)


def fix(t: float, north_m: float, acc: float = 10.0, dev: str = "tag") -> Fix:
    return Fix(dev, t, t + 5, LAT0 + north_m * M_LAT, LON0, acc)


def test_zone_verdicts_weigh_accuracy() -> None:
    p = EngineParams()  # violating beyond 1 x accuracy + 15 m
    fixes = [fix(0, 0), fix(60, 170, acc=10), fix(120, 195), fix(180, 260), fix(240, 150, acc=80)]
    got = weigh_zone_fixes(fixes, {"type": "exclusion"}, CIRCLE, p)
    assert [g.verdict for g in got] == [
        Verdict.VIOLATING,  # the centre: 200 m inside
        Verdict.VIOLATING,  # 30 m inside, accuracy 10 m: beyond 25 m
        Verdict.UNCERTAIN,  # 5 m inside: within its uncertainty
        Verdict.COMPLIANT,  # outside
        Verdict.UNCERTAIN,  # 50 m inside but an 80 m accuracy
    ]
    assert abs(got[0].beyond_m - 200) < 2 and abs(got[3].beyond_m + 60) < 2
    inclusion = weigh_zone_fixes(fixes, {"type": "inclusion"}, CIRCLE, p)
    assert inclusion[0].verdict == Verdict.COMPLIANT and inclusion[3].verdict == Verdict.VIOLATING


def test_fixes_outside_the_schedule_do_not_count() -> None:
    utc = ZoneInfo("UTC")
    night = Schedule(utc, (WeeklyWindow(frozenset(range(7)), parse_clock("22:00"), parse_clock("06:00")),))
    day_fix, night_fix = fix(12 * 3600, 0), fix(23 * 3600, 0)  # 1970-01-01 noon and 23:00
    got = weigh_zone_fixes([day_fix, night_fix], {"type": "exclusion"}, CIRCLE, schedule=night)
    assert [g.verdict for g in got] == [Verdict.INACTIVE, Verdict.VIOLATING]


def test_proximity_pairs_the_nearest_fix_in_time() -> None:
    mine = [fix(0, 0), fix(600, 0), fix(2000, 0)]
    theirs = [
        Fix("phone", 30, 35, LAT0 + 100 * M_LAT, LON0, 10.0),
        Fix("phone", 650, 655, LAT0 + 2000 * M_LAT, LON0, 10.0),
    ]
    got = weigh_proximity_fixes(mine, 500.0, theirs)
    assert len(got) == 2  # the last fix has no partner within 300 s
    assert got[0].verdict == Verdict.VIOLATING and abs((got[0].distance_m or 0) - 100) < 2
    assert got[1].verdict == Verdict.COMPLIANT and got[0].other is theirs[0]


def test_deciding_fixes_are_the_opening_and_closing_runs() -> None:
    weighed = weigh_zone_fixes([fix(t, 0) for t in range(0, 7200, 60)], {"type": "exclusion"}, CIRCLE)
    got = [w.fix.time_s for w in deciding(weighed, start_s=1800, raised_s=1920, end_s=5400)]
    assert got[0] == 1500 and 1920 in got and 2040 not in got  # from 5 min before start until raised
    assert 5100 in got and 5700 in got and 6000 not in got  # 5 min either side of the end


def test_gaps_and_no_fix_periods() -> None:
    tag = WornDevice("tag", "gps_tag", "s", 0.0, None, report_interval_s=60, comms_timeout_s=900)
    times = [0, 60, 120, 1200, 1260]  # 18 silent minutes, then the end of the period at 3600
    gaps = data_gaps(tag, times, 0, 3600)
    assert [(g.start_s, g.end_s) for g in gaps] == [(120, 1200), (1260, 3600)]
    unit = WornDevice("unit", "home_unit", "s", 1000.0, 5000.0, comms_timeout_s=2700)
    assert [(g.start_s, g.end_s) for g in data_gaps(unit, [], 0, 9000)] == [(1000.0, 5000.0)]  # while worn
    assert data_gaps(unit, [3000.0], 0, 9000) == []  # no silence longer than its 45 min timeout
    fixes = [
        fix(0, 0),
        Fix("tag", 60, 61, None, None, None, valid=False),
        Fix("tag", 500, 501, None, None, None, valid=False),
        fix(600, 0),
        Fix("tag", 700, 701, None, None, None, valid=False),
        fix(760, 0),
    ]
    runs = no_fix_periods(fixes)
    assert [(r.start_s, r.end_s, r.reports) for r in runs] == [(60, 600, 2)]  # the 60 s one is too short


def test_home_view() -> None:
    evs = [
        Event("unit", 100, 101, "tag_present"),
        Event("unit", 500, 501, "tag_absent"),
        Event("unit", 900, 901, "heartbeat"),
        Event("tag", 950, 951, "strap_tamper"),
    ]
    before, within = home_view(evs, {"unit"}, 400, 1000)
    assert before is not None and before.kind == "tag_present"
    assert [e.kind for e in within] == ["tag_absent"]
