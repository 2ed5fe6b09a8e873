"""H02 decoder against ../shared/conformance/h02.json."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import RECEIVED_S, check, frame_vectors, message_bytes, vectors

from ronda.devices.protocols import h02

pytestmark = pytest.mark.shared


@pytest.mark.parametrize("vector", vectors("h02.json"))
def test_vector(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    session = h02.H02Session()
    check(vector, lambda: session.decode(message_bytes(vector), RECEIVED_S).records)


@pytest.mark.parametrize("vector", frame_vectors("h02"))
def test_first_frame(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    frames, _ = h02.split(bytes.fromhex(vector["input"]))
    assert frames[0].hex() == vector["expected_frame"]
