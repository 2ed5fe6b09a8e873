"""Teltonika decoder against ../shared/conformance/teltonika.json."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import DEVICE, RECEIVED_S, check, frame_vectors, message_bytes, vectors

from ronda.devices.protocols import teltonika
from ronda.tracking.records import Record

pytestmark = pytest.mark.shared

UNSUPPORTED: dict[int, str] = {}


def _decode(vector: dict[str, Any]) -> list[Record]:
    frame = message_bytes(vector)
    if vector["source"].get("disabled_test"):  # the UDP vector
        return teltonika.decode_udp(frame, RECEIVED_S).records
    extended = any("setExtended(true)" in step for step in vector["source"].get("setup", []))
    session = teltonika.TeltonikaSession(device=DEVICE, extended=extended)
    return session.decode(frame, RECEIVED_S).records


@pytest.mark.parametrize("vector", vectors("teltonika.json", UNSUPPORTED))
def test_vector(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    check(vector, lambda: _decode(vector))


@pytest.mark.parametrize("vector", frame_vectors("teltonika"))
def test_first_frame(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    frames, _ = teltonika.split(bytes.fromhex(vector["input"]))
    assert frames[0].hex() == vector["expected_frame"]


@pytest.mark.parametrize("vector", vectors("teltonika.json"))
def test_acks(vector: dict[str, Any] | None) -> None:
    """The IMEI handshake is accepted with 01 and AVL packets with their record count."""
    assert vector is not None
    notes = vector.get("annotations") or {}
    if vector["source"].get("setup"):
        pytest.skip("vector needs model-specific decoder setup")
    session = teltonika.TeltonikaSession(device=DEVICE)
    if notes.get("kind") == "imei_handshake":
        decoded = session.decode(message_bytes(vector), RECEIVED_S)
        assert decoded.reply == b"\x01" and decoded.device == notes["imei"]
    elif notes.get("kind") == "avl" and notes.get("crc16_ibm_ok") and notes["codec"] == "0x08":
        decoded = session.decode(message_bytes(vector), RECEIVED_S)
        assert decoded.reply == notes["records"].to_bytes(4, "big")
