"""GT06 decoder against ../shared/conformance/gt06.json (Traccar's captured frames)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conformance_harness import DEVICE, RECEIVED_S, check, frame_vectors, message_bytes, vectors

from ronda.devices.protocols import gt06

pytestmark = pytest.mark.shared

UNSUPPORTED: dict[int, str] = {}
_MODEL = re.compile(r'setModelOverride\("([^"]+)"\)')


def _model(vector: dict[str, Any]) -> str | None:
    """The model override in force for this vector (Traccar test state), if any."""
    found = [m.group(1) for line in vector["source"]["setup"] if (m := _MODEL.search(line))]
    return found[-1] if found else None


@pytest.mark.parametrize("vector", vectors("gt06.json", UNSUPPORTED))
def test_vector(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    session = gt06.Gt06Session(device=DEVICE, model=_model(vector))
    check(vector, lambda: session.decode(message_bytes(vector), RECEIVED_S).records)


@pytest.mark.parametrize("vector", frame_vectors("gt06"))
def test_first_frame(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    frames, _ = gt06.split(bytes.fromhex(vector["input"]))
    assert frames[0].hex() == vector["expected_frame"]
