"""OsmAnd / Traccar Client, over HTTP (query string, form body or JSON body).

Query form: ``id`` (or ``deviceid``), ``lat``/``lon`` (or ``location=lat,lon``),
``timestamp`` (Unix seconds, milliseconds, ISO 8601 or ``yyyy-MM-dd HH:mm:ss``
UTC), ``speed`` in knots, ``bearing``/``heading``, ``altitude``, ``accuracy``
(m), ``hdop``, ``batt`` (%), ``valid``, ``alarm``. JSON form: the Transistorsoft
background-geolocation body ``{"location": {...} | [...], "device_id": ...}``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ronda.devices.protocols.base import HDOP_TO_M, KNOTS_TO_MPS
from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import DeviceId

DEFAULT_PORT = 5055
_MAX_BODY = 1024 * 1024

ALARMS: dict[str, EventKind] = {
    "sos": EventKind.SOS,
    "tampering": EventKind.STRAP_TAMPER,
    "removing": EventKind.STRAP_TAMPER,
    "lowbattery": EventKind.LOW_BATTERY,
    "powercut": EventKind.POWER_CUT,
}
"""``alarm`` values (case-insensitive) that map to canonical events."""


def _bad(message: str) -> InvalidFrame:
    return InvalidFrame(message, reason="malformed")


def _float(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(f"{name} is not a number")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError as exc:
            raise _bad(f"{name} is out of range") from exc
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError as exc:
            raise _bad(f"{name} is not a number: {value[:32]!r}") from exc
    else:
        raise _bad(f"{name} is not a number")
    if not math.isfinite(number):
        raise _bad(f"{name} is not finite")
    return number


def parse_time(value: str) -> float:
    """Unix seconds or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (UTC)."""
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            number = float(text)
            epoch_s = number / 1000.0 if number >= 2**31 else number
        else:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            epoch_s = parsed.timestamp()
    except (ValueError, OverflowError) as exc:
        raise InvalidFrame(f"timestamp not understood: {text[:40]!r}", reason="bad_time") from exc
    if not 0 <= epoch_s < 2**40:
        raise InvalidFrame(f"timestamp out of range: {text[:40]!r}", reason="bad_time")
    return epoch_s


def _pct(value: float | None) -> float | None:
    return value if value is not None and 0 <= value <= 100 else None


def _in_range(lat: float | None, lon: float | None) -> bool:
    return lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180


def decode_query(params: Mapping[str, str], received_s: float) -> list[Record]:
    """Records of one query-string (or form) report."""
    device_text = params.get("id") or params.get("deviceid")
    if not device_text:
        raise InvalidFrame("OsmAnd report without id", reason="unidentified")
    device = DeviceId(device_text)
    stamp = params.get("timestamp")
    time_s = parse_time(stamp) if stamp else received_s
    lat, lon = _float(params.get("lat"), "lat"), _float(params.get("lon"), "lon")
    if "location" in params and lat is None:
        pair = params["location"].split(",")
        if len(pair) == 2:
            lat, lon = _float(pair[0], "location"), _float(pair[1], "location")
    located = _in_range(lat, lon)
    valid_text = params.get("valid")
    valid = located and (valid_text is None or valid_text.lower() in ("true", "1"))
    accuracy = _float(params.get("accuracy"), "accuracy")
    hdop = _float(params.get("hdop"), "hdop")
    if accuracy is None and hdop:
        accuracy = hdop * HDOP_TO_M
    speed = _float(params.get("speed"), "speed")
    course = _float(params.get("bearing") or params.get("heading"), "bearing")
    battery = _pct(_float(params.get("batt"), "batt"))
    position = Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        accuracy_m=accuracy if valid and accuracy is not None and accuracy >= 0 else None,
        speed_mps=speed * KNOTS_TO_MPS if speed is not None and speed >= 0 else None,
        battery_pct=battery,
        valid=valid,
        course_deg=course if course is not None and 0 <= course <= 360 else None,
        altitude_m=_float(params.get("altitude"), "altitude"),
    )
    records: list[Record] = [position]
    alarm = ALARMS.get((params.get("alarm") or "").lower())
    if alarm is not None:
        records.append(DeviceEvent(device, time_s, received_s, alarm, battery))
    return records


def _json_location(item: object, device: DeviceId, received_s: float) -> list[Record]:
    if not isinstance(item, dict):
        raise _bad("JSON location is not an object")
    coords = item.get("coords")
    if not isinstance(coords, dict):
        raise _bad("JSON location without coords")
    stamp = item.get("timestamp")
    time_s = parse_time(str(stamp)) if stamp is not None else received_s
    lat, lon = (
        _float(coords.get("latitude"), "latitude"),
        _float(coords.get("longitude"), "longitude"),
    )
    valid = _in_range(lat, lon)
    accuracy = _float(coords.get("accuracy"), "accuracy")
    speed = _float(coords.get("speed"), "speed")
    heading = _float(coords.get("heading"), "heading")
    battery_info = item.get("battery")
    level = _float(battery_info.get("level"), "battery") if isinstance(battery_info, dict) else None
    battery = _pct(level * 100.0) if level is not None and level >= 0 else None
    position = Position(
        device=device,
        time_s=time_s,
        received_s=received_s,
        lat=lat if valid else None,
        lon=lon if valid else None,
        accuracy_m=accuracy if valid and accuracy is not None and accuracy >= 0 else None,
        speed_mps=speed if speed is not None and speed >= 0 else None,
        battery_pct=battery,
        valid=valid,
        course_deg=heading if heading is not None and 0 <= heading <= 360 else None,
        altitude_m=_float(coords.get("altitude"), "altitude"),
    )
    records: list[Record] = [position]
    extras = item.get("extras")
    alarm_value = extras.get("alarm") if isinstance(extras, dict) else None
    alarm = ALARMS.get(alarm_value.lower()) if isinstance(alarm_value, str) else None
    if alarm is not None:
        records.append(DeviceEvent(device, time_s, received_s, alarm, battery))
    return records


def decode_json(body: bytes, received_s: float) -> list[Record]:
    """Records of a Transistorsoft/Traccar Client JSON body."""
    try:
        document: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _bad("OsmAnd JSON body does not parse") from exc
    if not isinstance(document, dict):
        raise _bad("OsmAnd JSON body is not an object")
    device_value = document.get("device_id")
    if not isinstance(device_value, str | int) or isinstance(device_value, bool):
        raise InvalidFrame("OsmAnd JSON without device_id", reason="unidentified")
    device = DeviceId(str(device_value))
    locations = document.get("location")
    items = locations if isinstance(locations, list) else [locations]
    records: list[Record] = []
    for item in items:
        records.extend(_json_location(item, device, received_s))
    return records


def decode_osmand(
    query: Mapping[str, str] | None,
    body: bytes | None,
    content_type: str | None,
    received_s: float,
) -> list[Record]:
    """Decode one OsmAnd HTTP request: query string, form body or JSON body."""
    if body is not None and len(body) > _MAX_BODY:
        raise InvalidFrame("OsmAnd body too large", reason="too_large")
    media = (content_type or "").split(";")[0].strip().lower()
    if body and (media == "application/json" or (not media and body.lstrip()[:1] == b"{")):
        return decode_json(body, received_s)
    params: dict[str, str] = dict(query or {})
    if body and media in ("", "application/x-www-form-urlencoded"):
        try:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _bad("OsmAnd form body does not parse") from exc
    return decode_query(params, received_s)


def parse_uri_query(uri: str) -> dict[str, str]:
    """The parameters of a request target such as ``/?id=1&lat=..`` (first value wins)."""
    _, _, query = uri.partition("?")
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return params
