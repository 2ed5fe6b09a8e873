"""Frame builders for tests and simulators: the device side of each protocol.

These produce well-formed frames (valid CRCs) from plain values so that tests
can round-trip them through ``split`` and ``decode`` without captured data.
"""

from __future__ import annotations

import datetime as dt

from ronda.devices.protocols.checksums import crc16_ibm, crc16_x25


def _utc(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


# -- GT06 -----------------------------------------------------------------
def gt06_frame(proto: int, content: bytes, serial: int = 1, *, bad_crc: bool = False) -> bytes:
    inner = bytes([len(content) + 5, proto]) + content + serial.to_bytes(2, "big")
    crc = crc16_x25(inner) ^ (0xFFFF if bad_crc else 0)
    return b"\x78\x78" + inner + crc.to_bytes(2, "big") + b"\r\n"


def gt06_login(imei: str, serial: int = 1) -> bytes:
    return gt06_frame(0x01, bytes.fromhex(("0" + imei)[-16:].rjust(16, "0")), serial)


def gt06_gps(
    time_s: float, lat: float, lon: float, speed_kmh: int = 0, course: int = 0, valid: bool = True
) -> bytes:
    t = _utc(time_s)
    flags = course & 0x3FF
    flags |= 0x1000 if valid else 0
    flags |= 0x0400 if lat >= 0 else 0
    flags |= 0x0800 if lon < 0 else 0
    return (
        bytes([t.year % 100, t.month, t.day, t.hour, t.minute, t.second, 0xC8])
        + round(abs(lat) * 1_800_000).to_bytes(4, "big")
        + round(abs(lon) * 1_800_000).to_bytes(4, "big")
        + bytes([speed_kmh])
        + flags.to_bytes(2, "big")
    )


def gt06_location(
    time_s: float, lat: float, lon: float, serial: int = 2, *, speed_kmh: int = 0,
    valid: bool = True, bad_crc: bool = False,
) -> bytes:  # fmt: skip
    """A 0x12 GPS+LBS frame."""
    lbs = bytes.fromhex("01cc00287d001f71")
    content = gt06_gps(time_s, lat, lon, speed_kmh, valid=valid) + lbs
    return gt06_frame(0x12, content, serial, bad_crc=bad_crc)


def gt06_alarm(
    time_s: float, lat: float, lon: float, alarm: int, serial: int = 3, voltage_level: int = 4
) -> bytes:
    """A 0x16 alarm frame (GPS, LBS with length, status with ``alarm`` code)."""
    lbs = bytes.fromhex("0901cc00287d001f71")
    status = bytes([0x40, voltage_level, 0x04, alarm, 0x02])
    return gt06_frame(0x16, gt06_gps(time_s, lat, lon) + lbs + status, serial)


def gt06_heartbeat(terminal: int = 0x40, voltage_level: int = 6, serial: int = 4) -> bytes:
    return gt06_frame(0x13, bytes([terminal, voltage_level, 0x04, 0x00, 0x02]), serial)


# -- Teltonika ------------------------------------------------------------
def teltonika_imei(imei: str) -> bytes:
    return len(imei).to_bytes(2, "big") + imei.encode("ascii")


def teltonika_record(
    time_s: float, lat: float, lon: float, *, speed_kmh: int = 0, satellites: int = 8,
    altitude_m: int = 0, angle: int = 0, io1: dict[int, int] | None = None,
    io2: dict[int, int] | None = None,
) -> bytes:  # fmt: skip
    """One codec 8 record with 1- and 2-byte IO elements."""
    one, two = io1 or {}, io2 or {}
    head = (
        round(time_s * 1000).to_bytes(8, "big")
        + b"\x00"
        + round(lon * 1e7).to_bytes(4, "big", signed=True)
        + round(lat * 1e7).to_bytes(4, "big", signed=True)
        + altitude_m.to_bytes(2, "big", signed=True)
        + angle.to_bytes(2, "big")
        + bytes([satellites])
        + speed_kmh.to_bytes(2, "big")
    )
    io = bytes([0, len(one) + len(two), len(one)])
    io += b"".join(bytes([k, v]) for k, v in one.items())
    io += bytes([len(two)]) + b"".join(bytes([k]) + v.to_bytes(2, "big") for k, v in two.items())
    return head + io + b"\x00\x00"


def teltonika_avl(records: list[bytes], *, bad_crc: bool = False) -> bytes:
    data = bytes([0x08, len(records)]) + b"".join(records) + bytes([len(records)])
    crc = crc16_ibm(data) ^ (0xFFFF if bad_crc else 0)
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc.to_bytes(4, "big")


# -- H02 ------------------------------------------------------------------
def _ddmm(value: float, width: int) -> str:
    degrees = int(abs(value))
    minutes = (abs(value) - degrees) * 60
    return f"{degrees:0{width}d}{minutes:07.4f}"


def h02_v1(
    device: str, time_s: float, lat: float, lon: float, *, speed_kn: float = 0.0,
    course: int = 0, valid: bool = True, status: int = 0xFFFFFBFF,
) -> bytes:  # fmt: skip
    t = _utc(time_s)
    fields = [
        "*HQ", device, "V1", t.strftime("%H%M%S"), "A" if valid else "V",
        _ddmm(lat, 2), "N" if lat >= 0 else "S", _ddmm(lon, 3), "E" if lon >= 0 else "W",
        f"{speed_kn:.2f}", str(course), t.strftime("%d%m%y"), f"{status:08X}",
    ]  # fmt: skip
    return (",".join(fields) + "#").encode("ascii")


# -- Watch ----------------------------------------------------------------
def watch_frame(maker: str, device: str, content: str) -> bytes:
    body = content.encode("latin-1")
    return f"[{maker}*{device}*{len(body):04X}*".encode("ascii") + body + b"]"


def watch_location(
    device: str, time_s: float, lat: float, lon: float, *, kind: str = "UD",
    valid: bool = True, speed_kmh: float = 0.0, battery: int = 80, status: int = 0,
    maker: str = "3G",
) -> bytes:  # fmt: skip
    t = _utc(time_s)
    fields = [
        kind, t.strftime("%d%m%y"), t.strftime("%H%M%S"), "A" if valid else "V",
        f"{abs(lat):.6f}", "N" if lat >= 0 else "S", f"{abs(lon):.6f}", "E" if lon >= 0 else "W",
        f"{speed_kmh:.2f}", "90", "100", "8", "80", str(battery), "0", "0", f"{status:08X}",
        "1", "1", "460", "0", "9360", "4082", "131", "0",
    ]  # fmt: skip
    return watch_frame(maker, device, ",".join(fields))
