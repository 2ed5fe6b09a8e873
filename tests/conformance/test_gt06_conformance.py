"""GT06 decoder against ../shared/conformance/gt06.json (Traccar's captured frames)."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import DEVICE, RECEIVED_S, check, frame_vectors, message_bytes, vectors

from ronda.devices.protocols import gt06

pytestmark = pytest.mark.shared

UNSUPPORTED = {
    40: "0x38 extended-type location layout is not implemented",
    213: "long 0x13 heartbeat variant: battery level sits at another offset",
    274: "0x70 module-data (TLV) frame is not implemented",
    623: "QH302R model variant prefixes the GPS block with the IMEI",
}


@pytest.mark.parametrize("vector", vectors("gt06.json", UNSUPPORTED))
def test_vector(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    session = gt06.Gt06Session(device=DEVICE)
    check(vector, lambda: session.decode(message_bytes(vector), RECEIVED_S).records)


@pytest.mark.parametrize("vector", frame_vectors("gt06"))
def test_first_frame(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    frames, _ = gt06.split(bytes.fromhex(vector["input"]))
    assert frames[0].hex() == vector["expected_frame"]
