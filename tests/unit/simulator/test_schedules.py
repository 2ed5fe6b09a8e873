"""The simulator's own schedule reading: overnight windows, DST nights, exceptions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ronda.simulator.schedules import ScheduleSpec, Window

ALL = ("mo", "tu", "we", "th", "fr", "sa", "su")


def _utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("tz", "night", "start_utc", "end_utc"),
    [
        # Oslo, spring forward on 2026-03-29: 22:00 CET -> 06:00 CEST
        ("Europe/Oslo", dt.date(2026, 3, 28), "2026-03-28T21:00", "2026-03-29T04:00"),
        # Auckland, clocks back on 2026-04-05: 22:00 NZDT -> 06:00 NZST
        ("Pacific/Auckland", dt.date(2026, 4, 4), "2026-04-04T09:00", "2026-04-04T18:00"),
        # Santiago, clocks back at midnight 2026-04-05: 22:00 -03 -> 06:00 -04
        ("America/Santiago", dt.date(2026, 4, 4), "2026-04-05T01:00", "2026-04-05T10:00"),
    ],
)
def test_curfew_on_a_dst_night(tz: str, night: dt.date, start_utc: str, end_utc: str) -> None:
    z = ZoneInfo(tz)
    lo = dt.datetime.combine(night, dt.time(12), z).timestamp()
    spec = ScheduleSpec([Window(ALL, "22:00", "06:00")])
    first = spec.intervals(z, lo, lo + 86400)[0]
    assert first == (_utc(start_utc), _utc(end_utc))


def test_exception_cuts_a_window() -> None:
    z = ZoneInfo("UTC")
    lo = _utc("2026-06-01T00:00")
    spec = ScheduleSpec(
        [Window(ALL, "22:00", "06:00")], [(_utc("2026-06-01T23:00"), _utc("2026-06-02T01:00"))]
    )
    got = [iv for iv in spec.intervals(z, lo, lo + 2 * 86400) if iv[0] >= _utc("2026-06-01T12:00")]
    assert got[:2] == [
        (_utc("2026-06-01T22:00"), _utc("2026-06-01T23:00")),
        (_utc("2026-06-02T01:00"), _utc("2026-06-02T06:00")),
    ]
