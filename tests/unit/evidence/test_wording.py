"""Rules in words, schedules in the order's local time with the zone shown."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ronda.evidence.text import Words, duration, local_time, register
from ronda.evidence.wording import days_words, rule_words, schedule_words
from ronda.types import ZoneId, from_iso
from ronda.zones.models import Zone

MADRID = ZoneInfo("Europe/Madrid")
HOME = Zone(ZoneId("z1"), "home of p1", {"type": "Point", "coordinates": [-3.7, 40.4]}, 100.0)
PARK = Zone(ZoneId("z2"), "city park", {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
tr = Words()


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (["mo", "tu", "we", "th", "fr", "sa", "su"], "every day"),
        (["mo", "tu", "we", "th", "fr"], "Monday to Friday"),
        (["sa", "su"], "Saturday and Sunday"),
        (["fr"], "Friday"),
        (["su", "mo", "we"], "Monday, Wednesday and Sunday"),
    ],
)
def test_days(days: list[str], words: str) -> None:
    assert days_words(days, tr) == words


def test_a_curfew_in_words_with_an_approved_absence_in_local_time() -> None:
    rule = {
        "id": "r1",
        "type": "inclusion",
        "zone": "z1",
        "schedule": {
            "weekly": [
                {"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "start": "22:00", "end": "06:00"}
            ],
            "exceptions": [{"start": "2026-03-28T20:00:00Z", "end": "2026-03-29T03:00:00Z"}],
        },
    }
    text = rule_words(rule, {"z1": HOME}, MADRID, tr)
    assert text.startswith(
        "Curfew: Must stay inside “home of p1” (a circle of 100 m around 40.40000, -3.70000)"
    )
    assert "every day from 22:00 to 06:00 the next day" in text
    # the absence straddles the spring change: each end in the offset in force then
    assert "except from 2026-03-28 21:00 CET to 2026-03-29 05:00 CEST" in text


def test_exclusion_always_and_proximity() -> None:
    assert rule_words({"id": "r2", "type": "exclusion", "zone": "z2"}, {"z2": PARK}, MADRID, tr) == (
        "Must not enter “city park” (an area shown on the map), at all times."
    )
    text = rule_words(
        {"id": "r3", "type": "proximity", "person": "v1", "distance_m": 500},
        {},
        MADRID,
        tr,
        {"v1": "the victim"},
    )
    assert text == "Must stay at least 500 m away from the victim, at all times."
    assert schedule_words({"weekly": [{"days": ["mo"], "start": "07:00", "end": "19:00"}]}, MADRID, tr) == (
        "Monday from 07:00 to 19:00"
    )


def test_local_time_shows_the_zone_and_durations_read_well() -> None:
    assert local_time(from_iso("2026-07-01T10:00:00Z"), MADRID) == "2026-07-01 12:00:00 CEST"
    assert (
        local_time(from_iso("2026-01-01T10:00:00Z"), ZoneInfo("America/Santiago"))
        == "2026-01-01 07:00:00 UTC-03:00"
    )
    assert [duration(s) for s in (45, 600, 3 * 3600 + 120, 2 * 86400 + 3600)] == [
        "45 s",
        "10 min",
        "3 h 2 min",
        "2 d 1 h",
    ]


def test_a_registered_translation_is_used_and_a_broken_one_never_loses_the_text() -> None:
    register(
        "xx",
        {
            "Must not enter {zone}": "No entrar en {zone}",
            "every day": "cada día",
            "at all times": "{broken}",
        }.get,
    )
    xx = Words("xx")
    assert xx("Must not enter {zone}", zone="Z") == "No entrar en Z"
    assert xx("Monday") == "Monday"  # untranslated: English
    assert xx("at all times") == "at all times" or xx("at all times") == "{broken}"
    assert days_words(["mo", "tu", "we", "th", "fr", "sa", "su"], xx) == "cada día"
    assert Words("xx")("{n} further events", n=3) == "3 further events"
