"""Bad scenarios get a clear error naming file, line and field; bad arrival lines are skipped and counted."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ronda.errors import InvalidInput
from ronda.scenarios.loader import ArrivalStats, load_scenario, read_arrivals
from ronda.scenarios.replay import replay

BASE: dict[str, Any] = {
    "format": "em-scenario/1",
    "name": "tiny",
    "timezone": "Europe/Lisbon",
    "start": "2026-10-24T00:00:00Z",
    "end": "2026-10-24T02:00:00Z",
    "policy": {"low_battery_percent": 15, "no_fix_timeout_s": 900},
    "zones": [
        {
            "id": "z1",
            "name": "square",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-9.2, 38.7], [-9.1, 38.7], [-9.1, 38.8], [-9.2, 38.8], [-9.2, 38.7]]],
            },
        },
        {
            "id": "z2",
            "name": "home",
            "geometry": {"type": "Point", "coordinates": [-9.15, 38.75]},
            "radius_m": 100.0,
        },
    ],
    "persons": [{"id": "p1", "role": "monitored"}],
    "devices": [
        {"id": "tag-1", "kind": "gps_tag", "person": "p1", "report_interval_s": 60, "comms_timeout_s": 900}
    ],
    "orders": [
        {
            "id": "o1",
            "person": "p1",
            "rules": [
                {
                    "id": "r1",
                    "type": "exclusion",
                    "zone": "z1",
                    "schedule": {"weekly": [{"days": ["mo"], "start": "08:00", "end": "18:00"}]},
                },
                {"id": "r2", "type": "inclusion", "zone": "z2"},
            ],
        }
    ],
}

GOOD_LINE = '{"received":"2026-10-24T00:01:02Z","device":"tag-1","time":"2026-10-24T00:01:00Z","lat":38.75,"lon":-9.15,"accuracy":10,"speed":0,"battery":90}'  # noqa: E501


def write(tmp_path: Path, scenario: dict[str, Any], lines: list[str] | None = None) -> Path:
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    with gzip.open(tmp_path / "arrivals.jsonl.gz", "wt") as fh:
        fh.write("\n".join(lines if lines is not None else [GOOD_LINE]) + "\n")
    return tmp_path


def broken(path: str, value: Any) -> dict[str, Any]:
    sc = copy.deepcopy(BASE)
    node: Any = sc
    keys = path.split("/")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return sc


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("timezone", "Mars/Olympus", "timezone", "unknown time zone"),
        (
            "zones/1/geometry",
            {"type": "Point", "coordinates": [-9.15, 95.0]},
            "zones[1] (z2).geometry.coordinates",
            "latitude 95",
        ),
        (
            "zones/0/geometry",
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "zones[0] (z1).geometry",
            "Self-intersection",
        ),
        ("devices/0/person", "ghost", "devices[0].person", "no person"),
        ("devices/0/kind", "anklet", "devices[0].kind", "unknown device kind"),
        ("orders/0/rules/0/zone", "z9", "orders[0].rules[0].zone", "no zone"),
        ("orders/0/rules/0/type", "curfew", "orders[0].rules[0].type", "unknown rule type"),
        (
            "orders/0/rules/0/schedule",
            {"weekly": [{"days": ["mo"], "start": "8h", "end": "18:00"}]},
            "orders[0].rules[0].schedule.weekly[0].start",
            "HH:MM",
        ),
        ("start", "yesterday", "start", "ISO 8601"),
    ],
)
def test_bad_setup_names_file_and_field(
    tmp_path: Path, path: str, value: Any, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        load_scenario(write(tmp_path, broken(path, value)))
    err = info.value
    assert err.source is not None and err.source.endswith("scenario.json")
    assert err.field == field
    assert message in str(err)


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "scenario.json").write_text('{\n  "timezone": "UTC",\n  oops\n}')
    with pytest.raises(InvalidInput) as info:
        load_scenario(tmp_path)
    assert info.value.line == 3


def test_malformed_and_unknown_device_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    lines = [
        GOOD_LINE,
        "{not json",
        GOOD_LINE.replace('"lat":38.75', '"lat":95'),
        GOOD_LINE.replace("tag-1", "tag-999"),
        GOOD_LINE.replace('"time":"2026-10-24T00:01:00Z"', '"time":"soon"'),
        GOOD_LINE.replace('"lat":38.75,', ""),
        '{"received":"2026-10-24T00:03:02Z","device":"tag-1","time":"2026-10-24T00:03:00Z","event":"exploded"}',
        GOOD_LINE.replace("00:01:0", "00:02:0"),
    ]
    d = write(tmp_path, BASE, lines)
    stats = ArrivalStats()
    records = list(read_arrivals(d / "arrivals.jsonl.gz", stats, known_devices={"tag-1"}))
    assert len(records) == 2 and stats.read == 2
    assert sum(stats.skipped.values()) == 6
    assert stats.skipped["device"] == 1 and stats.skipped["lat"] == 2 and stats.skipped["event"] == 1
    assert any("line 4" in e and "unknown device 'tag-999'" in e for e in stats.first_errors)
    assert any("line 3" in e and "field 'lat'" in e for e in stats.first_errors)
    # and a replay of the same file runs to the end
    result = replay(load_scenario(d))
    assert result.engine.counters["positions"] == 2
    assert sum(result.arrivals.skipped.values()) == 6


def test_a_setup_error_is_a_template_a_reader_gets_in_their_language(tmp_path: Path) -> None:
    from ronda.i18n.errors import error_message

    with pytest.raises(InvalidInput) as info:
        load_scenario(write(tmp_path, broken("devices/0/person", "ghost")))
    err = info.value
    assert (err.template, err.values) == ("no person {person}", {"person": "'ghost'"})
    assert err.field == "devices[0].person"
    assert error_message(err, "es") == "no existe la persona 'ghost'"
    # a zone's geometry error keeps its own template, placed in the zone
    with pytest.raises(InvalidInput) as info:
        load_scenario(
            write(tmp_path, broken("zones/1/geometry", {"type": "Point", "coordinates": [-9.15, 95.0]}))
        )
    assert info.value.template == "latitude {lat} is outside -90..90"
    assert error_message(info.value, "pt") == "a latitude 95.0 está fora de -90..90"
