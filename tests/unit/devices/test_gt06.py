"""GT06 round trips through split + decode with frames built by our own builders."""

from __future__ import annotations

import pytest

from ronda.devices.protocols import gt06, testing
from ronda.devices.protocols.checksums import crc16_x25
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position

T0 = 1_700_000_000.0
IMEI = "864717003283581"


def test_crc_x25_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_login_ack_matches_documented_bytes() -> None:
    assert gt06.ack(0x01, 0x0004).hex() == "7878050100048e710d0a"
    assert gt06.ack(0x01, 0x0D5B).hex() == "787805010d5b947b0d0a"


def test_command_encoder_matches_documented_bytes() -> None:
    expected = "787812800c0000000052656c61792c312300009dee0d0a"
    assert gt06.encode_command("Relay,1#", serial=0).hex() == expected
    assert b"TIMER,60#" in gt06.encode_interval(60)


def test_login_then_location_gives_imei_and_acks() -> None:
    session = gt06.Gt06Session()
    login = session.decode(testing.gt06_login(IMEI, serial=7), T0)
    assert login.device == IMEI and login.records == []
    assert login.reply == gt06.ack(0x01, 7)
    fix = session.decode(testing.gt06_location(T0, 41.39, -2.17, serial=8, speed_kmh=36), T0 + 1)
    (position,) = fix.records
    assert isinstance(position, Position)
    assert position.device == IMEI and position.time_s == T0 and position.valid
    assert position.lat == pytest.approx(41.39, abs=1e-6)
    assert position.lon == pytest.approx(-2.17, abs=1e-6)
    assert position.speed_mps == pytest.approx(10.0)
    assert fix.reply == gt06.ack(0x12, 8)


def test_location_before_login_is_refused() -> None:
    with pytest.raises(InvalidFrame) as caught:
        gt06.Gt06Session().decode(testing.gt06_location(T0, 1.0, 1.0), T0)
    assert caught.value.reason == "unidentified"


def test_login_time_zone_applies_to_fixes() -> None:
    zone = (100 << 4) | 0x08  # "0100" (HHMM) west: UTC-01:00
    content = bytes.fromhex("0" + IMEI) + bytes.fromhex("3618") + zone.to_bytes(2, "big")
    session = gt06.Gt06Session()
    session.decode(testing.gt06_frame(0x01, content), T0)
    (position,) = session.decode(testing.gt06_location(T0, 1.0, 1.0), T0).records
    assert position.time_s == T0 + 3600


def test_invalid_fix_has_no_coordinates() -> None:
    session = gt06.Gt06Session(device=IMEI)
    (position,) = session.decode(testing.gt06_location(T0, 1.0, 1.0, valid=False), T0).records
    assert isinstance(position, Position)
    assert not position.valid and position.lat is None and position.lon is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0x01, EventKind.SOS),
        (0x02, EventKind.POWER_CUT),
        (0x0E, EventKind.LOW_BATTERY),
        (0x13, EventKind.STRAP_TAMPER),
        (0x18, EventKind.STRAP_TAMPER),
    ],
)
def test_alarm_frame_gives_position_and_event(code: int, kind: EventKind) -> None:
    session = gt06.Gt06Session(device=IMEI)
    decoded = session.decode(testing.gt06_alarm(T0, 10.0, 20.0, code, voltage_level=3), T0)
    position, event = decoded.records
    assert isinstance(position, Position) and position.battery_pct == 50.0
    assert isinstance(event, DeviceEvent) and event.kind is kind and event.time_s == T0
    assert decoded.reply == gt06.ack(0x16, 3)


def test_heartbeat_gives_battery_and_terminal_alarm() -> None:
    session = gt06.Gt06Session(device=IMEI)
    decoded = session.decode(testing.gt06_heartbeat(terminal=0x40 | (4 << 3)), T0)
    kinds = [r.kind for r in decoded.records if isinstance(r, DeviceEvent)]
    assert kinds == [EventKind.HEARTBEAT, EventKind.SOS]
    assert isinstance(decoded.records[0], DeviceEvent)
    assert decoded.records[0].battery_pct == 100.0
    assert decoded.reply == gt06.ack(0x13, 4)


def test_time_request_is_answered_with_utc_time() -> None:
    reply = gt06.Gt06Session(device=IMEI).decode(testing.gt06_frame(0x8A, b"", 5), T0).reply
    assert reply is not None and reply[3] == 0x8A
    assert reply[4:10] == bytes([23, 11, 14, 22, 13, 20])  # 2023-11-14 22:13:20 UTC


def test_several_frames_in_one_read_and_one_frame_over_many_reads() -> None:
    stream = testing.gt06_login(IMEI, 1) + testing.gt06_location(T0, 1.0, 2.0, serial=2)
    stream += testing.gt06_heartbeat()
    frames, rest = gt06.split(b"\x00garbage" + stream)
    assert len(frames) == 3 and rest == b""
    buffer, cut = b"", []
    for byte in stream:
        buffer += bytes([byte])
        got, buffer = gt06.split(buffer)
        cut.extend(got)
    assert cut == frames and buffer == b""


def test_bad_crc_is_rejected_and_the_next_frame_still_decodes() -> None:
    bad = testing.gt06_location(T0, 1.0, 2.0, serial=2, bad_crc=True)
    good = testing.gt06_location(T0 + 10, 1.0, 2.0, serial=3)
    frames, rest = gt06.split(bad + good)
    assert len(frames) == 2 and rest == b""
    session = gt06.Gt06Session(device=IMEI)
    with pytest.raises(InvalidFrame) as caught:
        session.decode(frames[0], T0)
    assert caught.value.reason == "bad_checksum"
    (position,) = session.decode(frames[1], T0).records
    assert position.time_s == T0 + 10


def test_garbage_start_marker_is_dropped_eventually() -> None:
    junk = b"\x78\x78\xff" + b"\x00" * 5000
    frames, rest = gt06.split(junk + testing.gt06_heartbeat())
    assert frames[-1] == testing.gt06_heartbeat() and rest == b""
