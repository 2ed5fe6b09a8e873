"""OsmAnd query-string and JSON forms."""

from __future__ import annotations

import json

import pytest

from ronda.devices.protocols import osmand
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position

T0 = 1_700_000_000.0


def test_query_form_with_units_and_alarm() -> None:
    query = {
        "id": "902064", "lat": "42.06288", "lon": "-88.23412", "timestamp": "2016-01-27T18:55:47Z",
        "hdop": "2.0", "speed": "10", "bearing": "90", "batt": "55", "alarm": "tampering",
    }  # fmt: skip
    position, event = osmand.decode_osmand(query, None, None, T0)
    assert isinstance(position, Position)
    assert position.time_s == 1453920947.0 and position.accuracy_m == 10.0
    assert position.speed_mps == pytest.approx(5.14444) and position.battery_pct == 55.0
    assert isinstance(event, DeviceEvent) and event.kind is EventKind.STRAP_TAMPER


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [("1377177267", 1377177267.0), ("1442068686579", 1442068686.579),
     ("2016-01-27 18:55:47", 1453920947.0)],
)  # fmt: skip
def test_timestamp_forms(stamp: str, expected: float) -> None:
    (position,) = osmand.decode_osmand({"id": "1", "timestamp": stamp}, None, None, T0)
    assert isinstance(position, Position)
    assert position.time_s == expected and not position.valid


def test_form_body_and_accuracy() -> None:
    body = b"id=7&location=60.0,30.0&accuracy=12&valid=false"
    (position,) = osmand.decode_osmand({}, body, "application/x-www-form-urlencoded", T0)
    assert isinstance(position, Position) and not position.valid and position.time_s == T0


def test_json_form() -> None:
    body = json.dumps(
        {
            "device_id": "abc",
            "location": {
                "timestamp": "2021-07-21T08:06:34.444Z",
                "coords": {"latitude": -6.1, "longitude": 106.6, "accuracy": 3.8, "speed": 2.0,
                           "heading": -1, "altitude": 35.7},
                "battery": {"level": 0.79, "is_charging": False},
            },
        }
    ).encode()  # fmt: skip
    (position,) = osmand.decode_osmand(None, body, "application/json", T0)
    assert isinstance(position, Position) and position.device == "abc"
    assert position.speed_mps == 2.0 and position.course_deg is None
    assert position.battery_pct == pytest.approx(79.0) and position.accuracy_m == 3.8


@pytest.mark.parametrize(
    ("query", "body", "reason"),
    [({"lat": "1"}, None, "unidentified"), ({"id": "1", "lat": "x"}, None, "malformed"),
     ({"id": "1", "timestamp": "soon"}, None, "bad_time"), (None, b"{", "malformed")],
)  # fmt: skip
def test_rejections(query: dict[str, str] | None, body: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidFrame) as caught:
        osmand.decode_osmand(query, body, "application/json" if body else None, T0)
    assert caught.value.reason == reason
