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


def _long_frame(proto: int, content: bytes, serial: int = 1, *, bad_crc: bool = False) -> bytes:
    """A 7979 frame (u16 length) with a valid CRC unless ``bad_crc``."""
    inner = (len(content) + 5).to_bytes(2, "big") + bytes([proto]) + content
    inner += serial.to_bytes(2, "big")
    crc = crc16_x25(inner) ^ (0xFFFF if bad_crc else 0)
    return b"\x79\x79" + inner + crc.to_bytes(2, "big") + b"\r\n"


def test_extended_location_0x38_reads_the_leading_gps_block() -> None:
    # GPS block, then extension bytes and a 4G LBS block (u32 LAC, u64 cell id).
    lte = bytes.fromhex("0e0003") + bytes.fromhex("02c801") + (3108).to_bytes(4, "big")
    content = testing.gt06_gps(T0, 9.9, -84.1, speed_kmh=18) + lte + (297736).to_bytes(8, "big")
    session = gt06.Gt06Session(device=IMEI)
    (position,) = session.decode(_long_frame(0x38, content + bytes(21), 543), T0).records
    assert isinstance(position, Position) and position.time_s == T0 and position.valid
    assert position.lat == pytest.approx(9.9, abs=1e-6)
    assert position.lon == pytest.approx(-84.1, abs=1e-6)
    assert position.speed_mps == pytest.approx(5.0)
    short = session.decode(testing.gt06_frame(0x38, content, 9), T0)
    assert len(short.records) == 1 and short.reply == gt06.ack(0x38, 9)


def test_long_heartbeat_reads_battery_percent_at_byte_5() -> None:
    # terminal info (SOS in bits 3-5), 2 status bytes, 2 reserved, battery 6 %,
    # GSM signal, battery voltage 3.35 V, extension.
    content = bytes([4 << 3]) + bytes.fromhex("802b0000") + bytes([6, 0x42])
    content += (335).to_bytes(2, "big") + bytes.fromhex("0008720000802b")
    assert len(content) == 16
    decoded = gt06.Gt06Session(device=IMEI).decode(testing.gt06_frame(0x13, content, 4), T0)
    heartbeat, sos = decoded.records
    assert isinstance(heartbeat, DeviceEvent) and heartbeat.kind is EventKind.HEARTBEAT
    assert heartbeat.battery_pct == 6.0  # a percentage, not level 6 of 0-6
    assert isinstance(sos, DeviceEvent) and sos.kind is EventKind.SOS
    assert decoded.reply == gt06.ack(0x13, 4)


def _module(kind: int, value: bytes) -> bytes:
    return kind.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value


def _module_gps(time_s: int, lat: float, lon: float, altitude_m: int, course: int) -> bytes:
    flags = 0x1000 | course | (0x0400 if lat >= 0 else 0) | (0x0800 if lon < 0 else 0)
    return (
        time_s.to_bytes(4, "big") + bytes([8]) + altitude_m.to_bytes(2, "big", signed=True)
        + round(abs(lat) * 1_800_000).to_bytes(4, "big")
        + round(abs(lon) * 1_800_000).to_bytes(4, "big")
        + bytes([36]) + flags.to_bytes(2, "big")
    )  # fmt: skip


def test_module_data_0x70_gps_module_gives_a_position() -> None:
    gps = _module_gps(int(T0), 43.8945, -79.2727, altitude_m=-12, course=349)
    content = (
        _module(0x0000, b"\x02") + _module(0x0001, bytes.fromhex("0" + IMEI))
        + _module(0x0033, gps) + _module(0x0009, b"\x08")
    )  # fmt: skip
    session = gt06.Gt06Session(device=IMEI)
    (position,) = session.decode(_long_frame(0x70, content, 6), T0 + 5).records
    assert isinstance(position, Position) and position.valid
    assert position.time_s == T0  # Unix time: no login zone applies
    assert position.lat == pytest.approx(43.8945, abs=1e-6)
    assert position.lon == pytest.approx(-79.2727, abs=1e-6)
    assert position.altitude_m == -12.0 and position.course_deg == 349.0
    assert position.speed_mps == pytest.approx(10.0)
    identity_only = _long_frame(0x70, _module(0x0001, bytes.fromhex("0" + IMEI)))
    assert session.decode(identity_only, T0).records == []


@pytest.mark.parametrize(
    "content",
    [
        _module(0x0033, bytes(18))[:-3],  # length runs past the content
        _module(0x0001, b"\x01") + b"\x00\x33",  # a module header cut short
    ],
)
def test_module_data_that_does_not_fill_the_content_is_malformed(content: bytes) -> None:
    with pytest.raises(InvalidFrame) as caught:
        gt06.Gt06Session(device=IMEI).decode(_long_frame(0x70, content), T0)
    assert caught.value.reason == "malformed"


def test_module_data_with_a_bad_crc_is_rejected() -> None:
    frame = _long_frame(0x70, _module(0x0033, _module_gps(int(T0), 1, 2, 0, 0)), bad_crc=True)
    with pytest.raises(InvalidFrame) as caught:
        gt06.Gt06Session(device=IMEI).decode(frame, T0)
    assert caught.value.reason == "bad_checksum"


def _imei_prefixed_location(imei: str = IMEI) -> bytes:
    lbs = bytes.fromhex("01cc00287d001f71")
    content = bytes.fromhex("0" + imei) + testing.gt06_gps(T0, 13.49, 144.82, 44) + lbs
    return testing.gt06_frame(0x12, content, 60)


@pytest.mark.parametrize("model", ["QH302R", None])
def test_imei_prefixed_gps_block_configured_or_recognised(model: str | None) -> None:
    session = gt06.Gt06Session(device=IMEI, model=model)
    decoded = session.decode(_imei_prefixed_location(), T0)
    (position,) = decoded.records
    assert isinstance(position, Position) and position.time_s == T0
    assert position.lat == pytest.approx(13.49, abs=1e-6)
    assert position.lon == pytest.approx(144.82, abs=1e-6)
    assert decoded.reply == gt06.ack(0x12, 60)


def test_imei_prefix_naming_another_device_is_refused() -> None:
    session = gt06.Gt06Session(device=IMEI, model="QH302R")
    with pytest.raises(InvalidFrame) as caught:
        session.decode(_imei_prefixed_location("866703066502297"), T0)
    assert caught.value.reason == "malformed"


def test_plain_gps_block_is_not_taken_for_an_imei_prefix() -> None:
    (position,) = gt06.Gt06Session(device=IMEI).decode(testing.gt06_location(T0, 1.0, 2.0), T0).records
    assert isinstance(position, Position) and position.lat == pytest.approx(1.0, abs=1e-6)
