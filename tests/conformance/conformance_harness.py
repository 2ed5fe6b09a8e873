"""Shared checks for the protocol conformance vectors in ../shared/conformance.

Checksum policy: REJECT. Vectors whose annotations mark a bad CRC must raise
InvalidFrame(reason="bad_checksum") and those with an inconsistent length
InvalidFrame(reason="malformed"), instead of matching Traccar's expectation.
A device that reports without a fix (valid=False) gets lat/lon None, so exact
coordinates are compared only for valid fixes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ronda.errors import InvalidFrame
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record
from ronda.types import from_iso

SHARED = Path(__file__).parents[2].parent / "shared" / "conformance"
DEVICE = "conformance-device"
"""Traccar's tests resolve any id to a device; sessions start with this one."""

ALARMS: dict[str, EventKind] = {
    "tampering": EventKind.STRAP_TAMPER,
    "removing": EventKind.STRAP_TAMPER,
    "sos": EventKind.SOS,
    "lowBattery": EventKind.LOW_BATTERY,
    "powerCut": EventKind.POWER_CUT,
}
_MIN_TIME_S = 915_148_800.0  # 1999-01-01
_MAX_SPEED_MPS = 869 * 0.514444
RECEIVED_S = 1_750_000_000.0


def vectors(name: str, unsupported: dict[int, str] | None = None) -> list[Any]:
    """pytest params for ``name``.json, or one skipped param when it is absent."""
    path = SHARED / name
    if not path.exists():
        reason = f"../shared/conformance not present: {path}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    params = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        line = item["source"]["line"]
        marks = []
        if unsupported and line in unsupported:
            marks.append(pytest.mark.xfail(strict=True, reason=unsupported[line]))
        params.append(pytest.param(item, marks=marks, id=f"line{line}"))
    return params


def message_bytes(vector: dict[str, Any]) -> bytes:
    if vector["encoding"] == "hex":
        return bytes.fromhex(vector["message"])
    text: str = vector["message"]
    return text.encode("latin-1")


def expected_rejection(vector: dict[str, Any]) -> str | None:
    """The InvalidFrame reason our REJECT policy demands for this vector, if any."""
    notes = vector.get("annotations") or {}
    if notes.get("length_consistent") is False or notes.get("length_ok") is False:
        return "malformed"
    if notes.get("crc_itu_ok") is False or notes.get("crc16_ibm_ok") is False:
        return "bad_checksum"
    return None


def sane(record: Record) -> None:
    """Traccar's generic location checks, in our units."""
    assert record.device
    assert _MIN_TIME_S < record.time_s < time.time() + 25 * 3600
    assert record.received_s == RECEIVED_S
    if isinstance(record, Position):
        if record.valid:
            assert record.lat is not None and -90 <= record.lat <= 90
            assert record.lon is not None and -180 <= record.lon <= 180
        else:
            assert record.lat is None and record.lon is None
        if record.speed_mps is not None:
            assert 0 <= record.speed_mps <= _MAX_SPEED_MPS
        if record.course_deg is not None:
            assert 0 <= record.course_deg <= 360
        if record.altitude_m is not None:
            assert -12262 <= record.altitude_m <= 18000
    battery = getattr(record, "battery_pct", None)
    if battery is not None:
        assert 0 <= battery <= 100


def check(vector: dict[str, Any], decode: Callable[[], Sequence[Record]]) -> None:
    """Decode a vector and hold the result to its expectations (or our policy)."""
    rejection = expected_rejection(vector)
    if rejection is not None:
        with pytest.raises(InvalidFrame) as caught:
            decode()
        assert caught.value.reason == rejection
        return
    records = list(decode())
    for record in records:
        sane(record)
    positions = [r for r in records if isinstance(r, Position)]
    kinds = {r.kind for r in records if isinstance(r, DeviceEvent)}
    expected = vector["expected"]
    if expected["result"] == "null":
        assert not positions, "a null vector must not yield a position"
        return
    if expected.get("check_location"):
        assert positions, "expected a position"
    first = positions[0] if positions else None
    if "time" in expected:
        assert first is not None and first.time_s == from_iso(expected["time"])
    if "valid" in expected:
        assert first is not None and first.valid is expected["valid"]
    if "latitude" in expected and first is not None and first.valid:
        tolerance = expected.get("tolerance_deg", 1e-5)
        assert first.lat is not None and first.lon is not None
        assert abs(first.lat - expected["latitude"]) <= tolerance
        assert abs(first.lon - expected["longitude"]) <= tolerance
    attribute = expected.get("attribute") or {}
    if attribute.get("key") == "alarm" and attribute.get("value") in ALARMS:
        assert ALARMS[attribute["value"]] in kinds
    if attribute.get("key") == "batteryLevel":
        batteries = [
            r.battery_pct
            for r in records
            if isinstance(r, Position | DeviceEvent) and r.battery_pct is not None
        ]
        assert any(abs(b - attribute["value"]) < 1e-6 for b in batteries)


def frame_vectors(name: str) -> list[Any]:
    return vectors(f"{name}_frames.json")
