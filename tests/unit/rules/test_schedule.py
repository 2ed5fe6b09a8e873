"""Schedules in local wall-clock time, including the nights the clocks change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ronda.rules.schedule import Interval, Schedule, WeeklyWindow, parse_clock, parse_days
from ronda.types import from_iso

EVERY_DAY = frozenset(range(7))


def curfew(
    tz: str, start: str = "22:00", end: str = "06:00", exceptions: tuple[Interval, ...] = ()
) -> Schedule:
    return Schedule(
        ZoneInfo(tz), (WeeklyWindow(EVERY_DAY, parse_clock(start), parse_clock(end)),), exceptions
    )


# (zone, instant UTC, active?) - each row says what a curfew 22:00-06:00 local must do.
DST_TABLE = [
    # Santiago: clocks go back 00:00 -> 23:00 on the night of Sat 4 to Sun 5 April 2026 (-03 -> -04).
    ("America/Santiago", "2026-04-05T00:59:00Z", False),  # 21:59 -03, before the curfew
    ("America/Santiago", "2026-04-05T01:00:00Z", True),  # 22:00 -03
    ("America/Santiago", "2026-04-05T09:59:00Z", True),  # 05:59 -04 (after the change)
    ("America/Santiago", "2026-04-05T10:00:00Z", False),  # 06:00 -04: ends at local 06:00
    # Santiago: clocks go forward 24:00 -> 01:00 on 5-6 Sept 2026 (-04 -> -03).
    ("America/Santiago", "2026-09-06T01:59:00Z", False),  # 21:59 -04
    ("America/Santiago", "2026-09-06T02:00:00Z", True),  # 22:00 -04
    ("America/Santiago", "2026-09-06T08:59:00Z", True),  # 05:59 -03
    ("America/Santiago", "2026-09-06T09:00:00Z", False),  # 06:00 -03
    # Lisbon: back 02:00 -> 01:00 on Sun 25 Oct 2026 (WEST +01 -> WET +00).
    ("Europe/Lisbon", "2026-10-24T20:59:00Z", False),  # 21:59 +01
    ("Europe/Lisbon", "2026-10-24T21:00:00Z", True),  # 22:00 +01
    ("Europe/Lisbon", "2026-10-25T05:59:00Z", True),  # 05:59 +00
    ("Europe/Lisbon", "2026-10-25T06:00:00Z", False),  # 06:00 +00
    # Lisbon: forward 01:00 -> 02:00 on Sun 29 Mar 2026.
    ("Europe/Lisbon", "2026-03-28T22:00:00Z", True),  # 22:00 +00
    ("Europe/Lisbon", "2026-03-29T04:59:00Z", True),  # 05:59 +01
    ("Europe/Lisbon", "2026-03-29T05:00:00Z", False),  # 06:00 +01
    # Chicago: forward 02:00 -> 03:00 on Sun 8 Mar 2026 (CST -6 -> CDT -5).
    ("America/Chicago", "2026-03-08T03:59:00Z", False),  # 21:59 CST
    ("America/Chicago", "2026-03-08T04:00:00Z", True),  # 22:00 CST
    ("America/Chicago", "2026-03-08T10:59:00Z", True),  # 05:59 CDT
    ("America/Chicago", "2026-03-08T11:00:00Z", False),  # 06:00 CDT
    # Chicago: back 02:00 -> 01:00 on Sun 1 Nov 2026.
    ("America/Chicago", "2026-11-01T03:00:00Z", True),  # 22:00 CDT
    ("America/Chicago", "2026-11-01T11:59:00Z", True),  # 05:59 CST
    ("America/Chicago", "2026-11-01T12:00:00Z", False),  # 06:00 CST
    # Auckland: back 03:00 -> 02:00 on Sun 5 Apr 2026 (NZDT +13 -> NZST +12).
    ("Pacific/Auckland", "2026-04-04T08:59:00Z", False),  # 21:59 +13
    ("Pacific/Auckland", "2026-04-04T09:00:00Z", True),  # 22:00 +13
    ("Pacific/Auckland", "2026-04-05T17:59:00Z", True),  # 05:59 +12
    ("Pacific/Auckland", "2026-04-05T18:00:00Z", False),  # 06:00 +12
    # Auckland: forward 02:00 -> 03:00 on Sun 27 Sep 2026.
    ("Pacific/Auckland", "2026-09-26T10:00:00Z", True),  # 22:00 +12
    ("Pacific/Auckland", "2026-09-26T16:59:00Z", True),  # 05:59 +13
    ("Pacific/Auckland", "2026-09-26T17:00:00Z", False),  # 06:00 +13
]


@pytest.mark.parametrize(("tz", "instant", "active"), DST_TABLE)
def test_curfew_follows_local_wall_clock_across_dst(tz: str, instant: str, active: bool) -> None:
    assert curfew(tz).active_at(from_iso(instant)) is active


def test_curfew_night_is_an_hour_longer_when_clocks_go_back() -> None:
    sched = curfew("Europe/Lisbon")
    start = from_iso("2026-10-24T21:00:00Z")
    active, until = sched.state_at(start)
    assert active
    assert until - start == 9 * 3600  # 22:00 -> 06:00 across the extra hour


def test_curfew_night_is_an_hour_shorter_when_clocks_go_forward() -> None:
    sched = curfew("America/Chicago")
    start = from_iso("2026-03-08T04:00:00Z")
    active, until = sched.state_at(start)
    assert active and until - start == 7 * 3600


def test_window_starting_in_the_skipped_hour_starts_when_the_wall_clock_resumes() -> None:
    # 02:30 does not exist in Chicago on 8 March 2026; it resolves to 03:30 CDT (08:30Z).
    sched = curfew("America/Chicago", "02:30", "04:00")
    assert not sched.active_at(from_iso("2026-03-08T07:59:00Z"))
    assert sched.active_at(from_iso("2026-03-08T08:30:00Z"))
    assert not sched.active_at(from_iso("2026-03-08T09:00:00Z"))


@pytest.mark.parametrize(
    ("instant", "active"),
    [
        ("2026-06-01T07:00:00Z", True),  # Monday 09:00 Madrid
        ("2026-06-01T16:59:00Z", True),  # 18:59
        ("2026-06-01T17:00:00Z", False),  # 19:00 end
        ("2026-06-06T07:00:00Z", False),  # Saturday
        ("2026-06-05T16:00:00Z", True),  # Friday 18:00
    ],
)
def test_weekday_daytime_window(instant: str, active: bool) -> None:
    sched = Schedule(
        ZoneInfo("Europe/Madrid"),
        (WeeklyWindow(parse_days(["mo", "tu", "we", "th", "fr"]), dt.time(7), dt.time(19)),),
    )
    assert sched.active_at(from_iso(instant)) is active


def test_overnight_window_belongs_to_the_day_it_starts() -> None:
    # Friday-only 22:00-06:00 covers Saturday 03:00 but not Friday 03:00.
    sched = Schedule(ZoneInfo("UTC"), (WeeklyWindow(parse_days(["fr"]), dt.time(22), dt.time(6)),))
    assert sched.active_at(from_iso("2026-06-06T03:00:00Z"))  # Saturday
    assert not sched.active_at(from_iso("2026-06-05T03:00:00Z"))  # Friday morning


def test_exception_switches_the_rule_off_inside_it_only() -> None:
    ex = Interval(from_iso("2026-04-04T02:30:00Z"), from_iso("2026-04-04T05:10:00Z"))
    sched = curfew("America/Santiago", exceptions=(ex,))
    assert sched.active_at(from_iso("2026-04-04T02:29:00Z"))
    assert not sched.active_at(from_iso("2026-04-04T02:30:00Z"))
    assert not sched.active_at(from_iso("2026-04-04T05:09:59Z"))
    assert sched.active_at(from_iso("2026-04-04T05:10:00Z"))
    active, until = sched.state_at(from_iso("2026-04-04T01:00:00Z"))
    assert active and until == ex.start_s


def test_no_weekly_windows_means_always_active_except_exceptions() -> None:
    ex = Interval(100.0, 200.0)
    sched = Schedule(ZoneInfo("UTC"), None, (ex,))
    assert sched.active_at(50.0) and not sched.active_at(150.0) and sched.active_at(200.0)


@pytest.mark.parametrize("text", ["25:00", "7", "07:5", "ab:cd", "12:60", ""])
def test_bad_clock_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


def test_bad_day_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown day"):
        parse_days(["mo", "xx"])


def test_state_is_consistent_with_active_at_over_a_week() -> None:
    sched = curfew("Pacific/Auckland", "21:30", "07:15")
    t = from_iso("2026-04-01T00:00:00Z")
    end = t + 8 * 86400
    while t < end:
        active, until = sched.state_at(t)
        assert until > t
        probe = min(until - 1.0, t + 3600)
        assert sched.active_at(probe) is active
        t = until
