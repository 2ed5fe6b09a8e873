"""The records' form on JetStream: every kind of record comes back equal."""

from __future__ import annotations

import math

from ronda.pipeline.jetstream import decode, encode, message_id
from ronda.tracking.records import DeviceEvent, EventKind, Position, Sighting
from ronda.types import DeviceId, ZoneId

D = DeviceId("864717003283581")


def test_every_kind_of_record_round_trips_exactly() -> None:
    records = [
        Position(D, 1_700_000_000.0, 1_700_000_004.25, 40.4168, -3.7038, 7.5, 1.2, 88.0, True, 270.0, 650.5),
        Position(D, 1_700_000_030.0, 1_700_000_031.0, lat=40.1, lon=-3.1),
        Position(D, 1_700_000_060.0, 1_700_000_061.0, battery_pct=14.0, valid=False),
        DeviceEvent(D, 1_700_000_090.0, 1_700_000_090.5, EventKind.STRAP_TAMPER, 55.0),
        DeviceEvent(D, 1_700_000_091.0, 1_700_000_091.5, EventKind.HEARTBEAT),
        Sighting(D, 1_700_000_100.0, 1_700_000_100.1, reader="gate-3", zone=ZoneId("wing-a"), rssi_dbm=-61.0),
        Sighting(D, 1_700_000_101.0, 1_700_000_101.1, reader="gate-4"),
    ]
    assert decode(encode(records)) == records  # type: ignore[arg-type]


def test_non_finite_numbers_survive() -> None:
    [back] = decode(encode([Position(D, 1.0, 2.0, 40.0, -3.0, math.inf, math.nan)]))
    assert back.accuracy_m == math.inf and math.isnan(back.speed_mps or 0.0)  # type: ignore[union-attr]


def test_the_message_id_names_the_records_not_their_order() -> None:
    a = Position(D, 1.0, 2.0, 40.0, -3.0)
    b = DeviceEvent(D, 1.0, 2.0, EventKind.STRAP_TAMPER)
    assert message_id([a, b]) == message_id([b, a])
    assert message_id([a]) != message_id([b])
    # a resend has a new receipt time but is the same records
    assert message_id([Position(D, 1.0, 9.0, 40.0, -3.0)]) == message_id([a])
