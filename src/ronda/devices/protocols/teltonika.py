"""Teltonika FMxxx and GH3000 (codec 8, 8E, 16, 7; codec 12/13 responses), port 5027.

TCP: the device opens with ``len u16 | IMEI`` and the server answers ``01``.
AVL data comes as ``00000000 | data_len u32 | codec | N1 | records | N2 |
crc u32``; the CRC-16/IBM (low 16 bits of the last word) covers exactly
``data_len`` bytes. The server acknowledges with the record count as a u32.
A lone ``FF`` is a keep-alive. Frames whose CRC fails are rejected.

Codec 7 is the GH3000 personal trackers' bit-masked record: every part of a
record is optional and announced by a mask bit. Some FMB configurations add a
fifth IO group of 16-byte values to codec 8 records ("extended" records).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from ronda.devices.protocols.base import HDOP_TO_M, KMH_TO_MPS, Decoded
from ronda.devices.protocols.checksums import crc16_ibm
from ronda.devices.protocols.framing import Reader
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId

DEFAULT_PORT = 5027
ACCEPT = b"\x01"
REJECT = b"\x00"
PING = b"\xff"
_MAX_DATA = 65536
_MAX_IMEI = 32

CODEC_7 = 0x07
"""GH3000 bit-masked records."""
CODEC_8 = 0x08
CODEC_8E = 0x8E
CODEC_16 = 0x10
CODEC_12 = 0x0C
CODEC_13 = 0x0D

IO_HDOP = 182
"""HDOP x10."""
IO_BATTERY_PCT = 113
IO_ALARM = 236
"""Alarm button (panic) event on personal trackers."""
IO_UNPLUG = 252
"""External power disconnected (FMB)."""

_GH3000_EPOCH_S = 1_167_609_600
"""Codec 7 times count seconds from 2007-01-01T00:00:00Z."""
_GH3000_SECONDS = 0x3FFFFFFF
"""The low 30 bits of a codec 7 timestamp; the top 2 carry the priority."""
_GH3000_IO_WIDTHS = ((0x02, 1), (0x04, 2), (0x08, 4))
"""Global-mask bit of each codec 7 IO group and the width of its values."""

_IO_EVENTS: dict[int, EventKind] = {IO_ALARM: EventKind.SOS, IO_UNPLUG: EventKind.POWER_CUT}


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut complete TCP frames (ping, IMEI handshake, AVL packet) off ``buffer``."""
    frames: list[bytes] = []
    pos = 0
    size = len(buffer)
    while pos < size:
        if buffer[pos] == 0xFF:
            frames.append(PING)
            pos += 1
            continue
        if size - pos < 2:
            break
        head = int.from_bytes(buffer[pos : pos + 2], "big")
        if head == 0:
            if size - pos < 8:
                break
            if buffer[pos + 2 : pos + 4] != b"\x00\x00":
                pos += 1
                continue
            data_len = int.from_bytes(buffer[pos + 4 : pos + 8], "big")
            if not 3 <= data_len <= _MAX_DATA:
                pos += 1
                continue
            end = pos + 12 + data_len
        elif head <= _MAX_IMEI:
            end = pos + 2 + head
        else:
            pos += 1
            continue
        if size < end:
            break
        frames.append(buffer[pos:end])
        pos = end
    return frames, buffer[pos:]


def _checked_payload(frame: bytes) -> bytes:
    """The ``data_len`` bytes of an AVL packet after checking length and CRC."""
    if len(frame) < 12 or frame[:4] != b"\x00\x00\x00\x00":
        raise InvalidFrame("Teltonika AVL packet without preamble", reason="malformed")
    data_len = int.from_bytes(frame[4:8], "big")
    if data_len + 12 != len(frame) or data_len < 3:
        raise InvalidFrame(
            f"Teltonika data length {data_len} does not match a {len(frame)}-byte packet",
            reason="malformed",
        )
    payload = frame[8:-4]
    if crc16_ibm(payload) != int.from_bytes(frame[-4:], "big"):
        raise InvalidFrame("Teltonika CRC-16/IBM mismatch", reason="bad_checksum")
    return payload


def _io(reader: Reader, codec: int, extended: bool) -> dict[int, int]:
    """The IO elements of one record (values wider than 8 bytes are skipped).

    Groups hold 1-, 2-, 4- and 8-byte values; ``extended`` records add a group
    of 16-byte values, counted and keyed like the others. Codec 8E then has a
    group of variable-length values.
    """
    wide = codec == CODEC_8E
    id_size = 1 if codec == CODEC_8 else 2
    count_size = 2 if wide else 1
    values: dict[int, int] = {}
    for width in (1, 2, 4, 8, 16) if extended else (1, 2, 4, 8):
        for _ in range(reader.uint(count_size)):
            key = reader.uint(id_size)
            value = reader.take(width)
            if width <= 8:
                values[key] = int.from_bytes(value, "big")
    if wide:
        for _ in range(reader.u16()):
            reader.u16()
            reader.skip(reader.u16())
    return values


def _record(reader: Reader, codec: int, device: DeviceId, received_s: float, extended: bool) -> list[Record]:
    time_s = reader.uint(8) / 1000.0
    reader.u8()  # priority
    lon = reader.sint(4) / 1e7
    lat = reader.sint(4) / 1e7
    altitude = reader.sint(2)
    angle = reader.u16()
    satellites = reader.u8()
    speed_kmh = reader.u16()
    if codec == CODEC_8:
        reader.u8()  # event IO id
        reader.u8()  # total IO count
    elif codec == CODEC_8E:
        reader.u16()
        reader.u16()
    else:  # codec 16: event id u16, generation type u8, total count u8
        reader.u16()
        reader.u8()
        reader.u8()
    io = _io(reader, codec, extended)
    valid = satellites != 0 and -90 <= lat <= 90 and -180 <= lon <= 180
    hdop = io.get(IO_HDOP)
    battery = io.get(IO_BATTERY_PCT)
    position = Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        accuracy_m=hdop / 10.0 * HDOP_TO_M if valid and hdop else None,
        speed_mps=speed_kmh * KMH_TO_MPS,
        battery_pct=float(battery) if battery is not None and battery <= 100 else None,
        valid=valid,
        course_deg=float(angle) if angle <= 360 else None,
        altitude_m=float(altitude),
    )
    records: list[Record] = [position]
    for key, kind in _IO_EVENTS.items():
        if io.get(key) == 1:
            records.append(DeviceEvent(device, time_s, received_s, kind, position.battery_pct))
    return records


def _gh3000_record(reader: Reader, device: DeviceId, received_s: float) -> Position:
    """One codec 7 record: ``time u32 | global mask | [GPS element] | [IO groups]``.

    Global mask: bit 0 GPS element, bits 1-3 IO groups of 1-, 2- and 4-byte
    values (``count u8``, then ``id u8 | value``). The GPS element starts with
    its own mask: bit 0 lat, lon (float32 degrees), 1 altitude i16 m, 2 angle
    u8 (x 360/256), 3 speed u8 km/h, 4 satellites u8, 5 LAC u16 + cell u16,
    6 signal quality u8, 7 operator code u32. GH3000 IO ids differ from the
    FM ones, so no IO element is read as an alarm here.
    """
    time_s = float(_GH3000_EPOCH_S + (reader.u32() & _GH3000_SECONDS))
    mask = reader.u8()
    if mask & 0xF0:
        # Bits we have no layout for: guessing would misread every byte after.
        raise InvalidFrame(
            f"Teltonika codec 7 global mask 0x{mask:02x} has unknown bits", reason="unsupported"
        )
    lat = lon = speed_kmh = course = altitude = satellites = None
    gps = reader.u8() if mask & 0x01 else 0
    if gps & 0x01:
        lat, lon = struct.unpack(">ff", reader.take(8))
    if gps & 0x02:
        altitude = float(reader.sint(2))
    if gps & 0x04:
        course = reader.u8() * 360.0 / 256.0
    if gps & 0x08:
        speed_kmh = reader.u8()
    if gps & 0x10:
        satellites = reader.u8()
    reader.skip(4 if gps & 0x20 else 0)  # LAC and cell id
    reader.skip(1 if gps & 0x40 else 0)  # GSM signal quality
    reader.skip(4 if gps & 0x80 else 0)  # operator code
    for bit, width in _GH3000_IO_WIDTHS:
        for _ in range(reader.u8() if mask & bit else 0):
            reader.skip(1 + width)
    # A fix needs coordinates that are numbers on the globe, not the (0, 0) of
    # a receiver that never had one, and satellites when the device counts them.
    valid = (
        lat is not None
        and lon is not None
        and math.isfinite(lat)
        and math.isfinite(lon)
        and abs(lat) <= 90
        and abs(lon) <= 180
        and (lat, lon) != (0.0, 0.0)
        and satellites != 0
    )
    return Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        speed_mps=speed_kmh * KMH_TO_MPS if speed_kmh is not None else None,
        valid=valid,
        course_deg=course,
        altitude_m=altitude,
    )


def _records(payload: bytes, codec: int, device: DeviceId, received_s: float, extended: bool) -> list[Record]:
    """Decode the N1 records after ``codec | N1`` and check that N2 ends the data."""
    reader = Reader(payload, 2)
    count = payload[1]
    records: list[Record] = []
    for _ in range(count):
        if codec == CODEC_7:
            records.append(_gh3000_record(reader, device, received_s))
        else:
            records.extend(_record(reader, codec, device, received_s, extended))
    if reader.remaining != 1 or reader.u8() != count:
        raise InvalidFrame("Teltonika record counts disagree", reason="malformed")
    return records


def decode_avl(
    payload: bytes, device: DeviceId, received_s: float, extended: bool = False
) -> tuple[list[Record], int]:
    """Records of an AVL data block (``codec | N1 | records | N2``) and the count N1.

    Codec 12/13 (command responses) yield no records and a count of 0.
    ``extended``: codec 8/8E/16 records are first read with the extra group
    of 16-byte IO values; if they do not parse that way, the other layout is
    tried, since the server cannot see how the device was configured.
    """
    reader = Reader(payload)
    codec = reader.u8()
    count = reader.u8()
    if codec in (CODEC_12, CODEC_13):
        return [], 0
    if codec not in (CODEC_7, CODEC_8, CODEC_8E, CODEC_16):
        raise InvalidFrame(f"Teltonika codec 0x{codec:02x} not supported", reason="unsupported")
    try:
        return _records(payload, codec, device, received_s, extended), count
    except InvalidFrame as first:
        if codec == CODEC_7 or first.reason != "malformed":
            raise
        try:
            return _records(payload, codec, device, received_s, not extended), count
        except InvalidFrame:
            raise first from None


class TeltonikaSession:
    """One TCP connection: the IMEI from the handshake, then AVL packets.

    ``extended``: expect FMB records with the 16-byte IO group first (see
    ``decode_avl``; either layout is accepted).
    """

    def __init__(
        self,
        device: str | None = None,
        accept: Callable[[str], bool] | None = None,
        extended: bool = False,
    ) -> None:
        self.device = device
        self.extended = extended
        self._accept = accept

    def decode(self, frame: bytes, received_s: float) -> Decoded:
        if frame == PING:
            return Decoded(device=self.device)
        if frame[:4] == b"\x00\x00\x00\x00":
            if self.device is None:
                raise InvalidFrame("Teltonika data before IMEI", reason="unidentified")
            device = DeviceId(self.device)
            payload = _checked_payload(frame)
            records, count = decode_avl(payload, device, received_s, self.extended)
            reply = count.to_bytes(4, "big") if count else None
            return Decoded(records=records, reply=reply, device=self.device)
        return self._handshake(frame)

    def _handshake(self, frame: bytes) -> Decoded:
        if len(frame) < 3 or int.from_bytes(frame[:2], "big") != len(frame) - 2:
            raise InvalidFrame("Teltonika IMEI handshake malformed", reason="malformed")
        imei = frame[2:].decode("ascii", "replace")
        if not imei.isdigit():
            raise InvalidFrame("Teltonika IMEI is not numeric", reason="malformed")
        if self._accept is not None and not self._accept(imei):
            return Decoded(reply=REJECT, device=None)
        self.device = imei
        return Decoded(reply=ACCEPT, device=imei)


def decode_udp(packet: bytes, received_s: float) -> Decoded:
    """One UDP datagram; the reply acknowledges the AVL packet id and count."""
    reader = Reader(packet)
    length = reader.u16()
    if length + 2 != len(packet):
        raise InvalidFrame("Teltonika UDP length mismatch", reason="malformed")
    reader.u16()  # packet id
    reader.u8()  # packet type
    avl_id = reader.u8()
    imei = reader.take(reader.u16()).decode("ascii", "replace")
    if not imei.isdigit():
        raise InvalidFrame("Teltonika UDP IMEI is not numeric", reason="malformed")
    records, count = decode_avl(packet[reader.pos :], DeviceId(imei), received_s)
    reply = b"\x00\x05\x00\x00\x01" + bytes([avl_id, count & 0xFF])
    return Decoded(records=records, reply=reply, device=imei)


def encode_command(text: str) -> bytes:
    """A codec 12 GPRS command packet (e.g. ``"setdigout 11"``)."""
    body = text.encode("ascii")
    data = bytes([CODEC_12, 1, 0x05]) + len(body).to_bytes(4, "big") + body + b"\x01"
    crc = crc16_ibm(data)
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc.to_bytes(4, "big")
