"""Mutated real frames from ../shared/conformance: only InvalidFrame may escape."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import pytest
from conformance_harness import SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.devices.protocols import gt06, h02, teltonika, watch
from ronda.devices.protocols.base import Decoded
from ronda.errors import InvalidFrame

pytestmark = pytest.mark.shared

Decoder = Callable[[bytes, float], Decoded]
PROTOCOLS: dict[str, tuple[Callable[[bytes], tuple[list[bytes], bytes]], Callable[[], Decoder]]] = {
    "gt06": (gt06.split, lambda: gt06.Gt06Session(device="1").decode),
    "teltonika": (teltonika.split, lambda: teltonika.TeltonikaSession(device="1").decode),
    "h02": (h02.split, lambda: h02.H02Session().decode),
    "watch": (watch.split, lambda: watch.WatchSession().decode),
}


def _messages(name: str) -> list[bytes]:
    path = SHARED / f"{name}.json"
    if not path.exists():
        return []
    items = json.loads(path.read_text(encoding="utf-8"))
    return [
        bytes.fromhex(v["message"]) if v["encoding"] == "hex" else v["message"].encode("latin-1")
        for v in items
    ]


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_shared_frames(name: str, data: st.DataObject) -> None:
    messages = _messages(name)
    if not messages:
        pytest.skip(f"../shared/conformance not present: {SHARED}")
    split, session = PROTOCOLS[name]
    decode = session()
    frame = bytearray(data.draw(st.sampled_from(messages)))
    for _ in range(data.draw(st.integers(0, 8))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    end = data.draw(st.integers(0, len(frame)))
    mutated = bytes(frame[:end]) + data.draw(st.binary(max_size=16))
    for candidate in [mutated, *split(mutated + mutated)[0]]:
        with contextlib.suppress(InvalidFrame):
            decode(candidate, 1_700_000_000.0)
