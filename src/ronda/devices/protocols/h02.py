"""H02 (Sinotrack/HQ "TK103-type"), text and binary over TCP, default port 5013.

Text frames are ``*HQ,<id>,<type>,...#``; binary frames start with ``$`` (or
``X``) and are 32 or 45 bytes (42 with a 15-digit id). There is no checksum;
frames that do not parse are rejected as ``malformed``. Every frame names its
device, so there is no login.
"""

from __future__ import annotations

import re

from ronda.devices.protocols.base import (
    KNOTS_TO_MPS,
    Decoded,
    utc_epoch,
    utc_fields,
)
from ronda.devices.protocols.framing import bcd_byte, bcd_digits
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId

DEFAULT_PORT = 5013
_SHORT = 32
_LONG = 45
_LONG_ID = 42
_MAX_TEXT = 4096
_MARKERS = b"*$X"

_DIGITS6 = re.compile(r"[0-9]{6}")
_WORD = re.compile(r"[0-9A-Za-z_]{1,32}")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_COORD = re.compile(r"(-?)(\d*)(?:-(\d+(?:\.\d+)?))?$|(-?\d+(?:\.\d+)?)$")


def _binary_length(buffer: bytes, start: int) -> int | None:
    """Length of the binary frame at ``start``, or None until enough bytes arrive."""
    available = len(buffer) - start
    if buffer[start] == ord("X") or available == _SHORT:
        return _SHORT if available >= _SHORT else None
    if available > _SHORT and buffer[start + _SHORT] in _MARKERS:
        return _SHORT
    if available >= _LONG:
        return _LONG
    return None


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut complete frames off ``buffer``; text frames lose a trailing CR/LF."""
    frames: list[bytes] = []
    pos = 0
    size = len(buffer)
    while pos < size:
        marker = buffer[pos]
        if marker not in _MARKERS:
            pos += 1
            continue
        if marker == ord("*"):
            end = buffer.find(b"#", pos)
            if end < 0:
                if size - pos > _MAX_TEXT:
                    pos += 1
                    continue
                break
            frames.append(buffer[pos : end + 1])
            pos = end + 1
            while pos < size and buffer[pos] in b"\r\n":
                pos += 1
            continue
        length = _binary_length(buffer, pos)
        if length is None:
            break
        frames.append(buffer[pos : pos + length])
        pos += length
    return frames, buffer[pos:]


def _status_events(status: int) -> list[EventKind]:
    """Alarm bits of the (active-low) status word mapped to canonical events."""
    kinds: list[EventKind] = []
    if not status & (1 << 1) or not status & (1 << 18):
        kinds.append(EventKind.SOS)
    if not status & (1 << 19):
        kinds.append(EventKind.POWER_CUT)
    return kinds


def _degrees(text: str, hemisphere: str) -> float | None:
    """``DDMM.MMMM`` (also ``-DD-MM.MMMM`` and undotted ``DDMMmmmm``) to degrees."""
    text = text.strip()
    if not text:
        return None
    try:
        if "-" in text.lstrip("-"):
            head, _, minutes = text.lstrip("-").partition("-")
            value = int(head) + float(minutes) / 60.0
        else:
            if "." not in text and text.lstrip("-").isdigit() and len(text) > 6:
                text = text[:-4] + "." + text[-4:]
            raw = abs(float(text))
            degrees = int(raw // 100)
            value = degrees + (raw - degrees * 100) / 60.0
    except (ValueError, OverflowError):  # not a number, or infinite
        return None
    if value != value or value > 180:  # NaN or out of range
        return None
    return -value if hemisphere in ("S", "W") or text.startswith("-") else value


def _hms(text: str) -> tuple[int, int, int] | None:
    if not _DIGITS6.fullmatch(text):
        return None
    return int(text[0:2]), int(text[2:4]), int(text[4:6])


def _instant(hms: str | None, dmy: str | None, received_s: float) -> float:
    time = _hms(hms) if hms is not None else None
    date = _hms(dmy) if dmy is not None else None
    if time is None or date is None:
        return received_s
    day, month, year = date
    if year == 0 and month == 0:
        return received_s
    return utc_epoch(2000 + year, month, day, *time)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e6 else None


class H02Session:
    """One H02 connection. ``ack`` adds the optional R12 acknowledgement."""

    def __init__(self, device: str | None = None, ack: bool = False) -> None:
        self.device = device
        self.ack = ack

    def decode(self, frame: bytes, received_s: float) -> Decoded:
        if not frame:
            raise InvalidFrame("empty H02 frame", reason="malformed")
        if frame[0] == ord("*"):
            return self._text(frame, received_s)
        if frame[0] in b"$X":
            return self._binary(frame, received_s)
        raise InvalidFrame("H02 frame without * or $ marker", reason="malformed")

    # -- text -------------------------------------------------------------
    def _text(self, frame: bytes, received_s: float) -> Decoded:
        text = frame.decode("latin-1").rstrip("\r\n")
        if not text.endswith("#"):
            raise InvalidFrame("H02 text frame without #", reason="malformed")
        parts = text[1:-1].split(",")
        if len(parts) < 3 or not _WORD.fullmatch(parts[0]) or not _WORD.fullmatch(parts[1]):
            raise InvalidFrame("H02 text frame without maker, id and type", reason="malformed")
        if not _WORD.fullmatch(parts[2]):
            raise InvalidFrame("H02 text frame with a bad type", reason="malformed")
        maker, device_text, kind = parts[0], parts[1], parts[2].upper()
        self.device = device_text
        device = DeviceId(device_text)
        result = Decoded(device=device_text)
        if kind in ("HTBT", "V0"):
            battery = _number(parts[3]) if len(parts) > 3 else None
            pct = battery if battery is not None and 0 <= battery <= 100 else None
            result.records = [DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT, pct)]
            result.reply = f"*{maker},{device_text},{parts[2]}#".encode("ascii")
            return result
        if kind == "LINK":
            result.records = _link(parts, device, received_s)
            return result
        if kind in ("NBR", "V3"):
            status = next((p for p in reversed(parts) if _HEX8.fullmatch(p)), None)
            if status is not None:
                result.records = _events(int(status, 16), device, received_s, received_s)
            if kind == "NBR":
                result.reply = self._stamped(maker, device_text, "NBR", received_s)
            return result
        records = _located(parts, device, received_s)
        result.records = records
        if kind == "V1" and records:
            result.reply = self._stamped(maker, device_text, "V1", received_s)
        elif self.ack and records:
            result.reply = self._r12(maker, device_text, received_s)
        return result

    @staticmethod
    def _stamped(maker: str, device: str, kind: str, received_s: float) -> bytes:
        stamp = utc_fields(received_s).strftime("%Y%m%d%H%M%S")
        return f"*{maker},{device},V4,{kind},{stamp}#".encode("ascii")

    @staticmethod
    def _r12(maker: str, device: str, received_s: float) -> bytes:
        stamp = utc_fields(received_s).strftime("%H%M%S")
        return f"*{maker},{device},R12,{stamp}#".encode("ascii")

    # -- binary -----------------------------------------------------------
    def _binary(self, frame: bytes, received_s: float) -> Decoded:
        if len(frame) < _SHORT - 2:
            raise InvalidFrame("H02 binary frame too short", reason="malformed")
        id_size = 8 if len(frame) == _LONG_ID else 5
        device_text = bcd_digits(frame[1 : 1 + id_size])
        if id_size == 8:
            device_text = device_text.lstrip("0") or "0"
        self.device = device_text
        device = DeviceId(device_text)
        at = 1 + id_size
        hour, minute, second = (bcd_byte(b) for b in frame[at : at + 3])
        day, month, year = (bcd_byte(b) for b in frame[at + 3 : at + 6])
        time_s = utc_epoch(2000 + year, month, day, hour, minute, second)
        lat_digits = bcd_digits(frame[at + 6 : at + 10])
        level = frame[at + 10]
        lon_hex = frame[at + 11 : at + 16].hex()
        flags = int(lon_hex[9], 16)
        lon_digits = lon_hex[:9]
        if not lon_digits.isdigit():
            raise InvalidFrame("H02 binary longitude is not BCD", reason="malformed")
        motion = frame[at + 16 : at + 19].hex()
        if not motion[:3].isdigit() or not motion[4:].isdigit():
            raise InvalidFrame("H02 binary speed/course is not BCD", reason="malformed")
        status = int.from_bytes(frame[at + 19 : at + 23], "big")
        lat = int(lat_digits[:2]) + int(lat_digits[2:]) / 10000.0 / 60.0
        lon = int(lon_digits[:3]) + int(lon_digits[3:]) / 10000.0 / 60.0
        valid = bool(flags & 0x2) and lat <= 90 and lon <= 180
        course = int(motion[3], 16) * 100 + int(motion[4:])
        # Level 1-6 (some devices send 7-100 as a percentage); 0 means "not reported".
        battery = level * 100.0 / 6.0 if 0 < level <= 6 else None
        if 6 < level <= 100:
            battery = float(level)
        position = Position(
            device=device,
            time_s=time_s,
            received_s=received_s,
            lat=(lat if flags & 0x4 else -lat) if valid else None,
            lon=(lon if flags & 0x8 else -lon) if valid else None,
            speed_mps=int(motion[:3]) * KNOTS_TO_MPS,
            battery_pct=battery,
            valid=valid,
            course_deg=float(course) if course <= 360 else None,
        )
        records: list[Record] = [position, *_events(status, device, time_s, received_s)]
        reply = self._r12("HQ", device_text, received_s) if self.ack else None
        return Decoded(records=records, reply=reply, device=device_text)


def _events(status: int, device: DeviceId, time_s: float, received_s: float) -> list[Record]:
    return [DeviceEvent(device, time_s, received_s, kind) for kind in _status_events(status)]


def _link(parts: list[str], device: DeviceId, received_s: float) -> list[Record]:
    """``LINK,hhmmss,rssi,satellites,battery%,steps,turnovers,ddmmyy,status``."""
    if len(parts) < 10:
        return [DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT)]
    time_s = _instant(parts[3], parts[9], received_s)
    battery = _number(parts[6])
    pct = battery if battery is not None and 0 <= battery <= 100 else None
    records: list[Record] = [DeviceEvent(device, time_s, received_s, EventKind.HEARTBEAT, pct)]
    if len(parts) > 10 and _HEX8.fullmatch(parts[10]):
        records.extend(_events(int(parts[10], 16), device, time_s, received_s))
    return records


def _fix_index(parts: list[str]) -> int | None:
    """Index of the validity field that precedes ``lat,N|S,lon,E|W``."""
    for index in range(3, len(parts) - 4):
        if parts[index + 2].upper() in ("N", "S") and parts[index + 4].upper() in ("E", "W"):
            return index
    return None


def _located(parts: list[str], device: DeviceId, received_s: float) -> list[Record]:
    at = _fix_index(parts)
    if at is None:
        return []
    lat = _degrees(parts[at + 1], parts[at + 2].upper())
    lon = _degrees(parts[at + 3], parts[at + 4].upper())
    if lat is None or lon is None or abs(lat) > 90:
        return []
    hms = parts[at - 1] if _hms(parts[at - 1]) else None
    rest = parts[at + 5 :]
    speed = _number(rest[0]) if rest else None
    course = _number(rest[1]) if len(rest) > 1 else None
    date_at = next((i for i in range(2, len(rest)) if _DIGITS6.fullmatch(rest[i])), None)
    dmy = rest[date_at] if date_at is not None else None
    search_from = date_at + 1 if date_at is not None else 2
    status = next((p for p in rest[search_from:] if _HEX8.fullmatch(p)), None)
    time_s = _instant(hms, dmy, received_s)
    valid = parts[at].upper() == "A"
    position = Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        speed_mps=speed * KNOTS_TO_MPS if speed is not None and speed >= 0 else None,
        valid=valid,
        course_deg=course if course is not None and 0 <= course <= 360 else None,
    )
    records: list[Record] = [position]
    if status is not None:
        records.extend(_events(int(status, 16), device, time_s, received_s))
    return records


def encode_command(device: str, command: str, now_s: float, *args: str) -> bytes:
    """A server command ``*HQ,<id>,<command>,<HHmmss>[,args...]#``."""
    stamp = utc_fields(now_s).strftime("%H%M%S")
    fields = ",".join(("*HQ", device, command, stamp, *args))
    return f"{fields}#".encode("ascii")


def encode_interval(device: str, interval_s: int, now_s: float) -> bytes:
    """Set the reporting interval: ``*HQ,<id>,S71,<HHmmss>,22,<s>#``."""
    if not 1 <= interval_s <= 65535:
        raise ValueError("interval_s must be within 1..65535")
    return encode_command(device, "S71", now_s, "22", str(interval_s))
