"""Teltonika codec 7 (GH3000) and FMB "extended" codec 8 records, built here.

The frames come from the small device-side builders below (the layouts of
Teltonika's GH3000 and codec 8 documentation), so these tests need no
captured data.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.devices.protocols import teltonika, testing
from ronda.devices.protocols.checksums import crc16_ibm
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position

T0 = 1_700_000_000
GH3000_EPOCH = 1_167_609_600  # 2007-01-01T00:00:00Z
IMEI = "356307042441013"


def _io_group(values: dict[int, int], width: int) -> bytes:
    return bytes([len(values)]) + b"".join(bytes([k]) + v.to_bytes(width, "big") for k, v in values.items())


def gh3000_record(
    time_s: int, *, lat: float | None = None, lon: float | None = None,
    altitude_m: int | None = None, angle_byte: int | None = None, speed_kmh: int | None = None,
    satellites: int | None = None, cell: tuple[int, int] | None = None, signal: int | None = None,
    operator: int | None = None, io1: dict[int, int] | None = None,
    io2: dict[int, int] | None = None, io4: dict[int, int] | None = None, priority: int = 1,
) -> bytes:  # fmt: skip
    """One codec 7 record; every part given is announced in the masks."""
    gps_mask, gps = 0, b""
    if lat is not None and lon is not None:
        gps_mask, gps = gps_mask | 0x01, gps + struct.pack(">ff", lat, lon)
    if altitude_m is not None:
        gps_mask, gps = gps_mask | 0x02, gps + altitude_m.to_bytes(2, "big", signed=True)
    if angle_byte is not None:
        gps_mask, gps = gps_mask | 0x04, gps + bytes([angle_byte])
    if speed_kmh is not None:
        gps_mask, gps = gps_mask | 0x08, gps + bytes([speed_kmh])
    if satellites is not None:
        gps_mask, gps = gps_mask | 0x10, gps + bytes([satellites])
    if cell is not None:
        gps_mask, gps = gps_mask | 0x20, gps + cell[0].to_bytes(2, "big") + cell[1].to_bytes(2, "big")
    if signal is not None:
        gps_mask, gps = gps_mask | 0x40, gps + bytes([signal])
    if operator is not None:
        gps_mask, gps = gps_mask | 0x80, gps + operator.to_bytes(4, "big")
    mask, body = 0, b""
    if gps_mask:
        mask, body = 0x01, bytes([gps_mask]) + gps
    for bit, width, values in ((0x02, 1, io1), (0x04, 2, io2), (0x08, 4, io4)):
        if values is not None:
            mask, body = mask | bit, body + _io_group(values, width)
    stamp = (priority << 30) | (time_s - GH3000_EPOCH)
    return stamp.to_bytes(4, "big") + bytes([mask]) + body


def extended_record(time_s: float, lat: float, lon: float, *, io1: dict[int, int], wide: int) -> bytes:
    """A codec 8 record carrying the FMB extra group of ``wide`` 16-byte values."""
    plain = testing.teltonika_record(time_s, lat, lon, io1=io1)
    head, groups = plain[:24], plain[24:]
    total = len(io1) + wide
    extra = bytes([wide]) + b"".join(bytes([200 + i]) + bytes(range(16)) for i in range(wide))
    return head + bytes([0, total]) + groups[2:] + extra


def avl(codec: int, records: list[bytes], *, count: int | None = None, bad_crc: bool = False) -> bytes:
    n = len(records) if count is None else count
    data = bytes([codec, n]) + b"".join(records) + bytes([n])
    crc = crc16_ibm(data) ^ (0xFFFF if bad_crc else 0)
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc.to_bytes(4, "big")


def session() -> teltonika.TeltonikaSession:
    return teltonika.TeltonikaSession(device=IMEI)


def test_gh3000_full_record_and_one_without_gps() -> None:
    full = gh3000_record(
        T0, lat=44.44019, lon=26.09313, altitude_m=61, angle_byte=64, speed_kmh=36,
        satellites=7, cell=(100, 33791), signal=26, operator=21803,
        io1={240: 1, 1: 100}, io2={67: 4108}, io4={5: 5},
    )  # fmt: skip
    no_gps = gh3000_record(T0 + 60, io1={240: 0}, priority=2)
    decoded = session().decode(avl(teltonika.CODEC_7, [full, no_gps]), T0 + 90.0)
    assert decoded.reply == b"\x00\x00\x00\x02"
    first, second = decoded.records
    assert isinstance(first, Position) and first.valid and first.device == IMEI
    assert first.time_s == T0 and first.received_s == T0 + 90.0
    assert first.lat == pytest.approx(44.44019, abs=1e-5)  # float32 degrees
    assert first.lon == pytest.approx(26.09313, abs=1e-5)
    assert first.altitude_m == 61.0 and first.course_deg == 90.0  # 64 x 360/256
    assert first.speed_mps == pytest.approx(10.0)
    # No GPS element: the record still reports, without a fix.
    assert isinstance(second, Position) and not second.valid
    assert second.time_s == T0 + 60 and second.lat is None and second.speed_mps is None


def test_gh3000_priority_bits_are_not_time() -> None:
    for priority in range(4):
        record = gh3000_record(T0, lat=1.0, lon=2.0, priority=priority)
        (position,) = session().decode(avl(teltonika.CODEC_7, [record]), T0).records
        assert position.time_s == T0


@pytest.mark.parametrize(
    ("lat", "lon", "satellites", "valid"),
    [
        (54.7, 25.3, None, True),  # coordinates only: the device does not count satellites
        (54.7, 25.3, 0, False),
        (0.0, 0.0, 5, False),
        (math.nan, 25.3, 5, False),
        (math.inf, 25.3, 5, False),
        (95.0, 25.3, 5, False),
        (None, None, 5, False),
    ],
)
def test_gh3000_validity(lat: float | None, lon: float | None, satellites: int | None, valid: bool) -> None:
    record = gh3000_record(T0, lat=lat, lon=lon, satellites=satellites)
    (position,) = session().decode(avl(teltonika.CODEC_7, [record]), T0).records
    assert isinstance(position, Position) and position.valid is valid
    assert (position.lat is None) is not valid


def test_gh3000_bad_crc_is_rejected() -> None:
    record = gh3000_record(T0, lat=1.0, lon=2.0, satellites=4)
    with pytest.raises(InvalidFrame) as caught:
        session().decode(avl(teltonika.CODEC_7, [record], bad_crc=True), T0)
    assert caught.value.reason == "bad_checksum"


@pytest.mark.parametrize(
    ("records", "count", "reason"),
    [
        ([gh3000_record(T0, lat=1.0, lon=2.0)], 2, "malformed"),  # N1 says two records
        ([gh3000_record(T0, lat=1.0, lon=2.0) + b"\x00"], None, "malformed"),  # trailing byte
        ([gh3000_record(T0, lat=1.0, lon=2.0)[:-3]], None, "malformed"),  # cut coordinates
        ([(T0 - GH3000_EPOCH).to_bytes(4, "big") + b"\x10"], None, "unsupported"),  # unknown mask bit
    ],
)
def test_gh3000_malformed(records: list[bytes], count: int | None, reason: str) -> None:
    with pytest.raises(InvalidFrame) as caught:
        session().decode(avl(teltonika.CODEC_7, records, count=count), T0)
    assert caught.value.reason == reason


def test_gh3000_over_udp() -> None:
    record = gh3000_record(T0, lat=-33.5, lon=-70.7, satellites=9)
    data = avl(teltonika.CODEC_7, [record])[8:-4]
    body = b"\xca\xfe\x01\x07" + len(IMEI).to_bytes(2, "big") + IMEI.encode() + data
    decoded = teltonika.decode_udp(len(body).to_bytes(2, "big") + body, T0)
    (position,) = decoded.records
    assert isinstance(position, Position) and position.lat == pytest.approx(-33.5)
    assert decoded.reply == b"\x00\x05\x00\x00\x01\x07\x01"


@pytest.mark.parametrize("configured", [True, False])
def test_extended_records_decode_whichever_layout_is_configured(configured: bool) -> None:
    records = [
        extended_record(T0, 54.7, 25.3, io1={252: 1}, wide=1),
        extended_record(T0 + 30, 54.8, 25.4, io1={}, wide=0),
    ]
    decoded = teltonika.TeltonikaSession(device=IMEI, extended=configured).decode(
        avl(teltonika.CODEC_8, records), T0
    )
    assert decoded.reply == b"\x00\x00\x00\x02"
    first, event, second = decoded.records
    assert isinstance(first, Position) and first.lat == pytest.approx(54.7)
    assert isinstance(event, DeviceEvent) and event.kind is EventKind.POWER_CUT
    assert isinstance(second, Position) and second.time_s == T0 + 30


@pytest.mark.parametrize("configured", [True, False])
def test_plain_records_still_decode_in_both_configurations(configured: bool) -> None:
    packet = testing.teltonika_avl([testing.teltonika_record(T0, 1.0, 2.0, io2={182: 10})] * 3)
    decoded = teltonika.TeltonikaSession(device=IMEI, extended=configured).decode(packet, T0)
    assert len(decoded.records) == 3 and decoded.reply == b"\x00\x00\x00\x03"


def test_extended_record_that_fits_neither_layout_is_malformed() -> None:
    broken = extended_record(T0, 54.7, 25.3, io1={}, wide=1)[:-5]
    with pytest.raises(InvalidFrame) as caught:
        teltonika.TeltonikaSession(device=IMEI, extended=True).decode(avl(teltonika.CODEC_8, [broken]), T0)
    assert caught.value.reason == "malformed"


_SAMPLES = [
    avl(teltonika.CODEC_7, [gh3000_record(T0, lat=1.0, lon=2.0, altitude_m=5, satellites=3,
                                          cell=(1, 2), signal=9, operator=24601, io1={1: 2})]),
    avl(teltonika.CODEC_8, [extended_record(T0, 54.7, 25.3, io1={1: 1}, wide=2)]),
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_payloads_with_valid_crc_raise_only_invalid_frame(data: st.DataObject) -> None:
    """The CRC stops random damage at the door; re-sealing it reaches the record parser."""
    payload = bytearray(data.draw(st.sampled_from(_SAMPLES))[8:-4])
    for _ in range(data.draw(st.integers(1, 6))):
        payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    sealed = bytes(payload[: data.draw(st.integers(3, len(payload)))])
    frame = (
        b"\x00\x00\x00\x00" + len(sealed).to_bytes(4, "big") + sealed + crc16_ibm(sealed).to_bytes(4, "big")
    )
    for extended in (False, True):
        try:
            decoded = teltonika.TeltonikaSession(device=IMEI, extended=extended).decode(frame, T0)
        except InvalidFrame:
            continue
        for record in decoded.records:
            if isinstance(record, Position) and record.valid:
                assert record.lat is not None and -90 <= record.lat <= 90
