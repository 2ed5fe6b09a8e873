"""Decoders raise nothing but InvalidFrame on any bytes, and splitters always progress.

CI runs ``RONDA_FUZZ_EXAMPLES`` examples per test and protocol (default 300);
the full run is ``RONDA_FUZZ_EXAMPLES=100000 .venv/bin/pytest tests/unit/devices/test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.devices.protocols import gt06, h02, osmand, teltonika, testing, watch
from ronda.devices.protocols.base import Decoded
from ronda.errors import InvalidFrame

T0 = 1_700_000_000.0

Splitter = Callable[[bytes], tuple[list[bytes], bytes]]
Decoder = Callable[[bytes, float], Decoded]


def _sessions() -> dict[str, tuple[Splitter, Decoder, list[bytes]]]:
    record = testing.teltonika_record(T0, 1.0, 2.0, io1={252: 1}, io2={182: 9})
    return {
        "gt06": (
            gt06.split,
            gt06.Gt06Session(device="1").decode,
            [testing.gt06_login("123456789012345"), testing.gt06_alarm(T0, 1, 2, 0x13),
             testing.gt06_location(T0, 3, 4), testing.gt06_heartbeat()],
        ),
        "teltonika": (
            teltonika.split,
            teltonika.TeltonikaSession(device="1").decode,
            [testing.teltonika_imei("123456789012345"), testing.teltonika_avl([record, record])],
        ),
        "h02": (
            h02.split,
            h02.H02Session().decode,
            [testing.h02_v1("1", T0, 1.0, 2.0), b"*HQ,1,HTBT,50#",
             bytes.fromhex("2441060116601245431311165035313006004318210e000000fffffbffff0024")],
        ),
        "watch": (
            watch.split,
            watch.WatchSession().decode,
            [testing.watch_location("1", T0, 1.0, 2.0, kind="AL", status=1 << 16),
             testing.watch_frame("3G", "1", "LK,0,0,50")],
        ),
    }  # fmt: skip


SESSIONS = _sessions()
EXAMPLES = int(os.environ.get("RONDA_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _feed(split: Splitter, decode: Decoder, data: bytes) -> None:
    frames, rest = split(data)
    assert len(rest) <= len(data)
    assert sum(map(len, frames)) + len(rest) <= len(data)  # never invents bytes
    for frame in frames:
        with contextlib.suppress(InvalidFrame):
            decode(frame, T0)
        with contextlib.suppress(InvalidFrame):
            decode(frame[: len(frame) // 2], T0)


@pytest.mark.parametrize("name", sorted(SESSIONS))
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes(name: str, data: bytes) -> None:
    split, decode, _ = SESSIONS[name]
    _feed(split, decode, data)
    with contextlib.suppress(InvalidFrame):
        decode(data, T0)


@pytest.mark.parametrize("name", sorted(SESSIONS))
@FUZZ
@given(data=st.data())
def test_mutated_real_frames(name: str, data: st.DataObject) -> None:
    split, decode, samples = SESSIONS[name]
    frame = bytearray(data.draw(st.sampled_from(samples)))
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(frame) - 1))
        frame[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    mutated = bytes(frame[:cut]) + data.draw(st.binary(max_size=20)) + bytes(frame[cut:])
    _feed(split, decode, mutated)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["id", "lat", "lon", "timestamp", "speed", "hdop", "batt", "valid",
                         "location", "alarm", "accuracy", "bearing", "altitude"]),
        st.text(max_size=30),
    ),
    body=st.one_of(st.none(), st.binary(max_size=200)),
    content_type=st.sampled_from([None, "application/json", "application/x-www-form-urlencoded"]),
)  # fmt: skip
def test_osmand_any_input(
    query: dict[str, str], body: bytes | None, content_type: str | None
) -> None:
    with contextlib.suppress(InvalidFrame):
        osmand.decode_osmand(query, body, content_type, T0)


@FUZZ
@given(
    lat=st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5), st.none()),
    stamp=st.one_of(st.text(max_size=30), st.integers(), st.floats()),
)
def test_osmand_json_any_values(lat: object, stamp: object) -> None:

    body = json.dumps(
        {"device_id": "1", "location": {"timestamp": stamp, "coords": {"latitude": lat}}}
    ).encode()
    with contextlib.suppress(InvalidFrame):
        osmand.decode_osmand(None, body, "application/json", T0)
