"""Watch ("3G"/SG/CS/ZJ kids-watch and personal trackers), text over TCP, port 5093.

Frame: ``[<MF>*<id>*<len 4 hex>*<content>]``, or with an index
``[ZJ*<id>*<index 4 hex>*<len 4 hex>*<content>]``; content is
``TYPE[,fields...]``. Binary content (voice, images) is escaped with 0x7D;
the splitter unescapes. There is no checksum, and real devices miscount the
length field, so it is not enforced; frames that do not parse are rejected as
``malformed``.
"""

from __future__ import annotations

import re

from ronda.devices.protocols.base import KMH_TO_MPS, Decoded, utc_epoch
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId

DEFAULT_PORT = 5093
_MAX_FRAME = 256 * 1024
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_WORD = re.compile(r"[0-9A-Za-z]{1,32}")
_DATE_TIME = re.compile(r"[0-9]{12}")
_ESCAPES = {1: 0x7D, 2: 0x5B, 3: 0x5D, 4: 0x2C, 5: 0x2A}

_STATUS_EVENTS: tuple[tuple[int, EventKind], ...] = (
    (0, EventKind.LOW_BATTERY),
    (14, EventKind.POWER_CUT),
    (16, EventKind.SOS),
    (17, EventKind.LOW_BATTERY),
    (20, EventKind.STRAP_TAMPER),
)
"""Status-word alarm bits (bit 20: the watch/tag was taken off)."""


def unescape(data: bytes) -> bytes:
    """Undo the 0x7D escaping of binary content."""
    if 0x7D not in data:
        return data
    out = bytearray()
    index = 0
    while index < len(data):
        byte = data[index]
        if byte == 0x7D and index + 1 < len(data) and data[index + 1] in _ESCAPES:
            out.append(_ESCAPES[data[index + 1]])
            index += 2
        else:
            out.append(byte)
            index += 1
    return bytes(out)


def _closing(buffer: bytes, start: int) -> int:
    """Index of the ``]`` matching the ``[`` at ``start`` (texts such as Wi-Fi
    names may hold bracket pairs), or -1 when it has not arrived."""
    depth = 0
    for index in range(start, len(buffer)):
        byte = buffer[index]
        if byte == 0x5B:
            depth += 1
        elif byte == 0x5D:
            depth -= 1
            if depth == 0:
                return index
    return -1


def split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut ``[...]`` frames (brackets matched) off ``buffer``, unescaped; skip bytes
    outside brackets."""
    frames: list[bytes] = []
    pos = 0
    while True:
        start = buffer.find(b"[", pos)
        if start < 0:
            return frames, b""
        end = _closing(buffer, start)
        if end < 0:
            if len(buffer) - start > _MAX_FRAME:
                pos = start + 1
                continue
            return frames, buffer[start:]
        frames.append(unescape(buffer[start : end + 1]))
        pos = end + 1


def _header(text: str) -> tuple[str, str, str | None, str]:
    """(maker, device id, index or None, content) of a frame without brackets."""
    parts = text.split("*", 4)
    if len(parts) == 5 and _HEX4.fullmatch(parts[2]) and _HEX4.fullmatch(parts[3]):
        return parts[0], parts[1], parts[2], parts[4]
    parts = text.split("*", 3)
    if len(parts) != 4 or not _HEX4.fullmatch(parts[2]):
        raise InvalidFrame("watch frame header is not MF*id*len*", reason="malformed")
    return parts[0], parts[1], None, parts[3]


def encode(maker: str, device: str, content: str, index: str | None = None) -> bytes:
    """A watch frame carrying ``content`` (a reply or a server command)."""
    body = content.encode("utf-8")
    head = f"[{maker}*{device}*" + (f"{index}*" if index is not None else "")
    return head.encode("ascii") + f"{len(body):04x}*".encode("ascii") + body + b"]"


def encode_interval(device: str, interval_s: int, maker: str = "SG") -> bytes:
    """Set the reporting interval: ``[SG*<id>*len*UPLOAD,<s>]``."""
    if not 10 <= interval_s <= 86400:
        raise ValueError("interval_s must be within 10..86400")
    return encode(maker, device, f"UPLOAD,{interval_s}")


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e7 else None


def _is_location(kind: str) -> bool:
    return kind.startswith(("UD", "AL")) or kind == "WT"


class WatchSession:
    """One watch connection; every frame names its device."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def decode(self, frame: bytes, received_s: float) -> Decoded:
        if not frame.startswith(b"["):
            raise InvalidFrame("watch frame without [", reason="malformed")
        body = frame[1:-1] if frame.endswith(b"]") else frame[1:]
        maker, device_text, index, content = _header(body.decode("latin-1"))
        if not _WORD.fullmatch(maker) or not _WORD.fullmatch(device_text):
            raise InvalidFrame("watch frame without maker or device id", reason="malformed")
        self.device = device_text
        device = DeviceId(device_text)
        fields = content.split(",")
        kind = fields[0]
        result = Decoded(device=device_text)

        def reply(text: str) -> bytes:
            return encode(maker, device_text, text, index)

        if kind == "LK":
            battery = _number(fields[3]) if len(fields) > 3 else None
            pct = battery if battery is not None and 0 <= battery <= 100 else None
            result.records = [DeviceEvent(device, received_s, received_s, EventKind.HEARTBEAT, pct)]
            result.reply = reply("LK")
        elif _is_location(kind):
            result.records = _location(fields, device, received_s)
            if kind.startswith("AL"):
                result.reply = reply("AL")
        elif kind == "INIT":
            result.reply = reply("INIT,1")
        elif kind in ("TKQ", "TKQ2"):
            result.reply = reply(kind)
        return result


def _location(fields: list[str], device: DeviceId, received_s: float) -> list[Record]:
    """``TYPE,ddmmyy,hhmmss,A|V,lat,N|S,lon,E|W,speed,course,alt,sats,gsm,batt,steps,
    tumbles,status,...``."""
    if len(fields) < 8:
        raise InvalidFrame("watch location with too few fields", reason="malformed")
    date, time = fields[1].strip(), fields[2].strip()
    if not _DATE_TIME.fullmatch(date + time):
        raise InvalidFrame("watch location without date/time", reason="malformed")
    time_s = utc_epoch(
        2000 + int(date[4:6]), int(date[2:4]), int(date[0:2]),
        int(time[0:2]), int(time[2:4]), int(time[4:6]),
    )  # fmt: skip
    lat, lon = _number(fields[4]), _number(fields[6])
    if lat is None or lon is None:
        raise InvalidFrame("watch location without coordinates", reason="malformed")
    if fields[5].strip() == "S":
        lat = -abs(lat)
    if fields[7].strip() == "W":
        lon = -abs(lon)
    valid = fields[3].strip() == "A" and abs(lat) <= 90 and abs(lon) <= 180

    def field(index: int) -> float | None:
        return _number(fields[index]) if len(fields) > index else None

    speed, course, altitude, battery = field(8), field(9), field(10), field(13)
    position = Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        speed_mps=speed * KMH_TO_MPS if speed is not None and speed >= 0 else None,
        battery_pct=battery if battery is not None and 0 <= battery <= 100 else None,
        valid=valid,
        course_deg=course if course is not None and 0 <= course <= 360 else None,
        altitude_m=altitude,
    )
    records: list[Record] = [position]
    status_text = fields[16].strip() if len(fields) > 16 else ""
    try:
        status = int(status_text, 16) if status_text else 0
    except ValueError:
        status = 0
    kinds: list[EventKind] = []
    for bit, kind in _STATUS_EVENTS:
        if status >> bit & 1 and kind not in kinds:
            kinds.append(kind)
    records.extend(
        DeviceEvent(device, time_s, received_s, kind, position.battery_pct) for kind in kinds
    )
    return records
