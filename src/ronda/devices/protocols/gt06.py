"""GT06 (Concox/Jimi family), binary over TCP, default port 5023.

Frame: ``78 78 | len u8 | proto | content | serial u16 | crc u16 | 0D 0A``
(``79 79 | len u16 | ...`` for the extended form). ``len`` counts proto
through crc. The CRC is CRC-16/X-25 over ``len`` through ``serial``; a frame
whose CRC fails is rejected (``bad_checksum``), one whose length byte does not
match the frame is rejected as ``malformed``.
"""

from __future__ import annotations

from ronda.devices.protocols.base import (
    KMH_TO_MPS,
    Decoded,
    utc_epoch,
    utc_fields,
)
from ronda.devices.protocols.checksums import crc16_x25
from ronda.devices.protocols.framing import Reader, bcd_digits
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId

DEFAULT_PORT = 5023
_SHORT = b"\x78\x78"
_LONG = b"\x79\x79"
_END = b"\r\n"
_MAX_UNTERMINATED = 2048
"""Bytes to wait for a terminator before a start marker is declared garbage."""

LOGIN = 0x01
HEARTBEAT = 0x13
HEARTBEAT_GK310 = 0x23
TIME_REQUEST = 0x8A
COMMAND = 0x80
MODULE_DATA = 0x70

_GPS_AT: dict[int, int] = {
    0x10: 0, 0x11: 0, 0x12: 0, 0x16: 0, 0x1E: 0, 0x22: 0, 0x26: 0, 0x27: 0,
    0x31: 0, 0x36: 0, 0x37: 0, 0x38: 0, 0xA0: 0, 0xA2: 0, 0xA4: 0, 0x34: 4,
}  # fmt: skip
"""Types whose content starts (at this offset) with a GPS block. 0x38, the extended
location type, carries a standard GPS block first; what follows it (4G LBS with a
u32 LAC and u64 cell id, and extension fields) does not change the fix."""

_IMEI_PREFIXED_MODELS = frozenset({"QH302R"})
"""Models that put their IMEI (8 BCD bytes) in front of the GPS block."""

_LONG_STATUS_LENGTH = 16
"""Heartbeat 0x13 content length of the long variant, whose byte 5 is battery %."""

_MODULE_GPS = 0x0033
"""0x70 module type of the GPS fix: epoch u32, satellites u8, altitude i16,
lat u32, lon u32, speed u8 and the usual course/status word (18 bytes)."""

_GPS_LBS_STATUS = frozenset({0x16, 0x26, 0x27, 0xA4})
"""GPS block, then a length-prefixed LBS block, then a status block."""

_LBS_STATUS_LENGTHS: dict[int, frozenset[int]] = {
    0x19: frozenset({13, 14}),
    0xA5: frozenset({20, 21}),
}
"""LBS alarm types (no GPS): LBS block then status; content lengths we accept."""

_ACK_TYPES = frozenset({LOGIN, HEARTBEAT, HEARTBEAT_GK310, 0x19, 0xA5, 0x28, 0xA1, *_GPS_AT})

_ALARM_CODES: dict[int, EventKind] = {
    0x01: EventKind.SOS,
    0x02: EventKind.POWER_CUT,
    0x0E: EventKind.LOW_BATTERY,
    0x0F: EventKind.LOW_BATTERY,
    0x19: EventKind.LOW_BATTERY,
    0x0C: EventKind.STRAP_TAMPER,
    0x13: EventKind.STRAP_TAMPER,
    0x25: EventKind.STRAP_TAMPER,
    0x32: EventKind.STRAP_TAMPER,
    0x18: EventKind.STRAP_TAMPER,
}
"""Status-block alarm byte to canonical events (others are not tagging events)."""

_TERMINAL_ALARMS: dict[int, EventKind] = {
    2: EventKind.POWER_CUT,
    3: EventKind.LOW_BATTERY,
    4: EventKind.SOS,
    7: EventKind.STRAP_TAMPER,
}
"""Terminal-info bits 3-5 to canonical events."""


def _find_start(buffer: bytes, pos: int) -> int:
    short, long = buffer.find(_SHORT, pos), buffer.find(_LONG, pos)
    if short < 0:
        return long
    return short if long < 0 else min(short, long)


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut complete frames off ``buffer``; return them and the bytes left over."""
    frames: list[bytes] = []
    pos = 0
    size = len(buffer)
    while True:
        start = _find_start(buffer, pos)
        if start < 0:
            tail = buffer[-1:] if size > pos and buffer[-1] in (0x78, 0x79) else b""
            return frames, tail
        long = buffer[start] == 0x79
        header = 4 if long else 3
        if size - start < header:
            return frames, buffer[start:]
        length = int.from_bytes(buffer[start + 2 : start + header], "big")
        end = start + length + header + 2
        if length >= 5 and size < end:
            # Incomplete by its length byte; a short frame whose length byte lies
            # is still cut when a terminator ends the buffer or precedes a start.
            terminator = buffer.find(_END, start + header + 1)
            after = terminator + 2
            if terminator < 0 or not (after == size or buffer[after : after + 2] in (_SHORT, _LONG)):
                return frames, buffer[start:]
            frames.append(buffer[start:after])
            pos = after
            continue
        if length >= 5 and buffer[end - 2 : end] == _END:
            frames.append(buffer[start:end])
            pos = end
            continue
        terminator = buffer.find(_END, start + header + 1)
        restart = _find_start(buffer, start + 2)
        if 0 <= restart < terminator:
            pos = restart  # the length lied and another frame starts first: resync there
        elif terminator >= 0:
            frames.append(buffer[start : terminator + 2])
            pos = terminator + 2
        elif size - start > max(_MAX_UNTERMINATED, end - start):
            pos = start + 2
        else:
            return frames, buffer[start:]


def _frame(proto: int, body: bytes, serial: int) -> bytes:
    """A 7878 frame around ``proto + body`` with ``serial`` and a valid CRC."""
    inner = bytes([len(body) + 5, proto]) + body + serial.to_bytes(2, "big")
    return _SHORT + inner + crc16_x25(inner).to_bytes(2, "big") + _END


def ack(proto: int, serial: int) -> bytes:
    """The server's acknowledgement of a frame of type ``proto``."""
    return _frame(proto, b"", serial)


def encode_command(text: str, serial: int = 1, server_flag: int = 0) -> bytes:
    """A 0x80 server command carrying ASCII ``text`` (e.g. ``"Relay,1#"``)."""
    payload = server_flag.to_bytes(4, "big") + text.encode("ascii")
    if len(payload) > 240:
        raise ValueError("command too long for a GT06 frame")
    return _frame(COMMAND, bytes([len(payload)]) + payload, serial)


def encode_interval(interval_s: int, serial: int = 1) -> bytes:
    """Set the reporting interval (seconds): ``TIMER,<s>#``."""
    if not 5 <= interval_s <= 18000:
        raise ValueError("interval_s must be within 5..18000")
    return encode_command(f"TIMER,{interval_s}#", serial)


def _time_reply(serial: int, received_s: float) -> bytes:
    now = utc_fields(received_s)
    body = bytes([now.year % 100, now.month, now.day, now.hour, now.minute, now.second])
    return _frame(TIME_REQUEST, body, serial)


def _timezone_s(ext: int) -> float:
    """Login time-zone word: bits 15-4 the offset as HHMM, bit 3 set for west."""
    hhmm = ext >> 4
    hours, minutes = divmod(hhmm, 100)
    if hours > 14 or minutes >= 60:
        return 0.0
    offset = hours * 3600.0 + minutes * 60.0
    return -offset if ext & 0x08 else offset


def _battery_from_level(level: int) -> float | None:
    """Voltage level 0-6 as a percentage; some devices send a percentage (7-100)."""
    if level <= 6:
        return level * 100.0 / 6.0
    return float(level) if level <= 100 else None


def _status_events(terminal: int, alarm: int | None) -> list[EventKind]:
    kinds: list[EventKind] = []
    if alarm is not None and alarm in _ALARM_CODES:
        kinds.append(_ALARM_CODES[alarm])
    from_bits = _TERMINAL_ALARMS.get((terminal >> 3) & 0x07)
    if from_bits is not None and from_bits not in kinds:
        kinds.append(from_bits)
    return kinds


class Gt06Session:
    """Decoder state of one GT06 connection: the IMEI from login and its time zone."""

    def __init__(self, device: str | None = None, timezone_s: float = 0.0, model: str | None = None) -> None:
        self.device = device
        self.timezone_s = timezone_s
        self.model = model  # configured device model (e.g. "QH302R"); None: frames decide

    def decode(self, frame: bytes, received_s: float) -> Decoded:
        proto, content, serial, long = _unwrap(frame)
        if proto == LOGIN:
            return self._login(content, serial)
        device = self._device()
        result = Decoded(device=device)
        if not long and proto in _ACK_TYPES:
            result.reply = ack(proto, serial)
        if proto == TIME_REQUEST:
            result.reply = _time_reply(serial, received_s)
        elif proto in (HEARTBEAT, HEARTBEAT_GK310):
            result.records = self._heartbeat(proto, content, device, received_s)
        elif proto in _GPS_AT:
            result.records = self._located(proto, content, device, received_s)
        elif proto == MODULE_DATA:
            result.records = _module_data(content, device, received_s)
        elif proto in _LBS_STATUS_LENGTHS and len(content) in _LBS_STATUS_LENGTHS[proto]:
            result.records = self._status(content[-5:], device, received_s, None)
        return result

    def _device(self) -> DeviceId:
        if self.device is None:
            raise InvalidFrame("GT06 data before login", reason="unidentified")
        return DeviceId(self.device)

    def _login(self, content: bytes, serial: int) -> Decoded:
        if len(content) < 8:
            raise InvalidFrame("GT06 login without terminal id", reason="malformed")
        digits = bcd_digits(content[:8])
        self.device = digits[1:] if digits.startswith("0") else digits
        if len(content) >= 12:
            self.timezone_s = _timezone_s(int.from_bytes(content[10:12], "big"))
        return Decoded(reply=ack(LOGIN, serial), device=self.device)

    def _heartbeat(self, proto: int, content: bytes, device: DeviceId, received_s: float) -> list[Record]:
        if proto == HEARTBEAT_GK310 or len(content) < 3:
            return [DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT)]
        if len(content) == _LONG_STATUS_LENGTH:
            # Long variant: terminal info, 2 status bytes, 2 reserved, battery % (not
            # a 0-6 level), GSM signal, battery voltage u16, extension. Only the
            # terminal-info byte has the standard meaning, so alarms come from it alone.
            level = content[5]
            battery = float(level) if level <= 100 else None
            records = self._status(content[:1], device, received_s, None)
            heartbeat = DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT, battery)
            return [heartbeat, *records]
        records = self._status(content[:5], device, received_s, None)
        battery = _battery_from_level(content[1])
        records.insert(0, DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT, battery))
        return records

    def _status(
        self, status: bytes, device: DeviceId, received_s: float, time_s: float | None
    ) -> list[Record]:
        terminal = status[0]
        battery = _battery_from_level(status[1]) if len(status) > 1 else None
        alarm = status[3] if len(status) > 3 else None
        at = received_s if time_s is None else time_s
        return [
            DeviceEvent(device, at, received_s, kind, battery) for kind in _status_events(terminal, alarm)
        ]

    def _located(self, proto: int, content: bytes, device: DeviceId, received_s: float) -> list[Record]:
        reader = Reader(content, self._gps_start(proto, content))
        if reader.remaining < 18:
            return []
        position = _gps(reader, device, received_s, self.timezone_s)
        if position is None:
            return []
        records: list[Record] = []
        if proto in _GPS_LBS_STATUS and reader.remaining >= 6:
            lbs_length = reader.u8()
            reader.skip(max(lbs_length - 1, 0))
            # The 5-byte status block ends the content; 0xA4 may append bytes after it.
            status = reader.take(5) if proto == 0xA4 else content[-5:]
            battery = _battery_from_level(status[1])
            if battery is not None:
                position = _with_battery(position, battery)
            records = self._status(status, device, received_s, position.time_s)
        return [position, *records]

    def _gps_start(self, proto: int, content: bytes) -> int:
        """Where the GPS block starts: after an IMEI prefix for models that send one.

        A configured model decides. Without one, a prefix is recognised when the
        content starts with 8 BCD bytes that cannot be a date but a plausible date
        follows them, so unconfigured gateways still read these devices.
        """
        start = _GPS_AT[proto]
        if self.model is None:
            prefixed = (
                len(content) >= start + 8 + 18
                and content[start : start + 8].hex().isdigit()
                and not _plausible_date(content[start : start + 6])
                and _plausible_date(content[start + 8 : start + 14])
            )
        else:
            prefixed = self.model.upper() in _IMEI_PREFIXED_MODELS
        if not prefixed or len(content) < start + 8 + 18:
            return start + 8 if prefixed else start  # too short for a fix either way
        digits = bcd_digits(content[start : start + 8]).lstrip("0")
        if self.device is not None and self.device.isdigit() and digits != self.device.lstrip("0"):
            # A fix must not be filed under the logged-in device if it names another one.
            raise InvalidFrame("GT06 IMEI prefix differs from the login", reason="malformed")
        return start + 8


def _with_battery(position: Position, battery: float) -> Position:
    return Position(
        position.device, position.time_s, position.received_s, position.lat, position.lon,
        position.accuracy_m, position.speed_mps, battery, position.valid,
        position.course_deg, position.altitude_m,
    )  # fmt: skip


def _unwrap(frame: bytes) -> tuple[int, bytes, int, bool]:
    """Check framing and CRC; return (proto, content, serial, extended)."""
    if len(frame) < 10 or frame[-2:] != _END:
        raise InvalidFrame("GT06 frame too short or unterminated", reason="malformed")
    if frame[:2] == _SHORT:
        header, long = 3, False
    elif frame[:2] == _LONG:
        header, long = 4, True
    else:
        raise InvalidFrame("GT06 frame without 7878/7979 start", reason="malformed")
    length = int.from_bytes(frame[2:header], "big")
    if length + header + 2 != len(frame):
        raise InvalidFrame(
            f"GT06 length field {length} does not match a {len(frame)}-byte frame",
            reason="malformed",
        )
    expected = int.from_bytes(frame[-4:-2], "big")
    if crc16_x25(frame[2:-4]) != expected:
        raise InvalidFrame("GT06 CRC-ITU mismatch", reason="bad_checksum")
    return frame[header], frame[header + 1 : -6], int.from_bytes(frame[-6:-4], "big"), long


def _plausible_date(stamp: bytes) -> bool:
    """``YY MM DD hh mm ss`` (binary) with every field in range."""
    _, month, day, hour, minute, second = stamp
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60


def _gps(reader: Reader, device: DeviceId, received_s: float, tz_s: float) -> Position | None:
    """A GPS block, or None when it is not plausible (no fix time, out of range)."""
    stamp = reader.take(6)
    reader.u8()  # GPS info length (high nibble) and satellites (low nibble)
    lat_raw, lon_raw = reader.u32(), reader.u32()
    speed_kmh = reader.u8()
    flags = reader.u16()
    if not _plausible_date(stamp):
        return None
    year, month, day, hour, minute, second = stamp
    try:
        time_s = utc_epoch(2000 + year, month, day, hour, minute, second) - tz_s
    except InvalidFrame:
        return None
    return _fix(device, time_s, received_s, lat_raw, lon_raw, speed_kmh, flags)


def _module_data(content: bytes, device: DeviceId, received_s: float) -> list[Record]:
    """0x70: modules ``type u16 | length u16 | value`` filling the content exactly.

    Identity modules (IMEI, IMSI, ICCID ...) and counters carry nothing we store;
    the GPS module (0x0033) becomes a position.
    """
    reader = Reader(content)
    records: list[Record] = []
    while reader.remaining:
        kind, size = reader.u16(), reader.u16()
        value = reader.take(size)  # overrunning the content: InvalidFrame("malformed")
        if kind == _MODULE_GPS and size >= 18:
            position = _module_gps(Reader(value), device, received_s)
            if position is not None:
                records.append(position)
    return records


_MIN_EPOCH_S = 946_684_800.0
"""2000-01-01: earlier module times are an unset clock, not a fix."""


def _module_gps(reader: Reader, device: DeviceId, received_s: float) -> Position | None:
    time_s = float(reader.u32())  # Unix time, so UTC whatever the login zone says
    reader.u8()  # satellites
    altitude_m = reader.sint(2)
    lat_raw, lon_raw = reader.u32(), reader.u32()
    speed_kmh = reader.u8()
    flags = reader.u16()
    if time_s < _MIN_EPOCH_S:
        return None
    altitude = float(altitude_m) if -12_262 <= altitude_m <= 18_000 else None
    return _fix(device, time_s, received_s, lat_raw, lon_raw, speed_kmh, flags, altitude)


def _fix(
    device: DeviceId, time_s: float, received_s: float, lat_raw: int, lon_raw: int,
    speed_kmh: int, flags: int, altitude_m: float | None = None,
) -> Position | None:  # fmt: skip
    """Coordinates (/1 800 000 degrees) and the course/status word as a Position."""
    if lat_raw > 90 * 1_800_000 or lon_raw > 180 * 1_800_000:
        return None
    valid = bool(flags & 0x1000)
    course = flags & 0x03FF
    lat = lat_raw / 1_800_000.0 * (1 if flags & 0x0400 else -1)
    lon = lon_raw / 1_800_000.0 * (-1 if flags & 0x0800 else 1)
    return Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        speed_mps=speed_kmh * KMH_TO_MPS,
        valid=valid,
        course_deg=float(course) if course <= 360 else None,
        altitude_m=altitude_m,
    )
