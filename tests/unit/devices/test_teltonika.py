"""Teltonika round trips with codec 8 packets built by our own builders."""

from __future__ import annotations

import pytest

from ronda.devices.protocols import teltonika, testing
from ronda.devices.protocols.checksums import crc16_ibm
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position

T0 = 1_700_000_000.0
IMEI = "356307042441013"


def test_crc_ibm_check_value() -> None:
    assert crc16_ibm(b"123456789") == 0xBB3D


def test_codec12_command_matches_documented_bytes() -> None:
    expected = "00000000000000140c01050000000c7365746469676f7574203131010000bed5"
    assert teltonika.encode_command("setdigout 11").hex() == expected


def test_handshake_then_records_acked_with_count() -> None:
    session = teltonika.TeltonikaSession()
    hello = session.decode(testing.teltonika_imei(IMEI), T0)
    assert hello.reply == b"\x01" and hello.device == IMEI
    packet = testing.teltonika_avl(
        [
            testing.teltonika_record(T0, 54.7, 25.3, speed_kmh=72, io1={}, io2={182: 12}),
            testing.teltonika_record(T0 + 30, -33.5, -70.7, satellites=0, io1={252: 1}),
        ]
    )
    decoded = session.decode(packet, T0 + 60)
    assert decoded.reply == b"\x00\x00\x00\x02"
    first, second, event = decoded.records
    assert isinstance(first, Position) and first.device == IMEI and first.time_s == T0
    assert first.lat == pytest.approx(54.7) and first.speed_mps == pytest.approx(20.0)
    assert first.accuracy_m == pytest.approx(6.0)  # HDOP 1.2 x 5 m
    assert isinstance(second, Position) and not second.valid and second.lat is None
    assert isinstance(event, DeviceEvent) and event.kind is EventKind.POWER_CUT


def test_rejecting_handshake() -> None:
    session = teltonika.TeltonikaSession(accept=lambda imei: imei == "1")
    assert session.decode(testing.teltonika_imei(IMEI), T0).reply == b"\x00"
    assert session.device is None


def test_stream_split_ping_handshake_packets_and_bad_crc() -> None:
    good = testing.teltonika_avl([testing.teltonika_record(T0, 1.0, 2.0)])
    bad = testing.teltonika_avl([testing.teltonika_record(T0, 1.0, 2.0)], bad_crc=True)
    stream = b"\xff" + testing.teltonika_imei(IMEI) + bad + good
    buffer, frames = b"", []
    for start in range(0, len(stream), 7):
        got, buffer = teltonika.split(buffer + stream[start : start + 7])
        frames.extend(got)
    assert frames == [b"\xff", testing.teltonika_imei(IMEI), bad, good] and buffer == b""
    session = teltonika.TeltonikaSession()
    assert session.decode(frames[0], T0).records == []
    session.decode(frames[1], T0)
    with pytest.raises(InvalidFrame) as caught:
        session.decode(frames[2], T0)
    assert caught.value.reason == "bad_checksum"
    assert len(session.decode(frames[3], T0).records) == 1


def test_data_before_imei_is_refused() -> None:
    packet = testing.teltonika_avl([testing.teltonika_record(T0, 1.0, 2.0)])
    with pytest.raises(InvalidFrame):
        teltonika.TeltonikaSession().decode(packet, T0)
