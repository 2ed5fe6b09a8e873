"""The connection handler under fuzzed streams, without sockets.

Each example feeds one connection's bytes through ``StreamServer.serve_connection``
with an in-memory reader and writer. Properties:

- however a valid stream is cut into reads, the records stored and the reply
  bytes are those of the stream delivered in one read;
- random bytes and mutated frames never break the handler (no internal error,
  no unexpected close), and a valid frame after garbage is stored and acked;
- nothing is stored from a frame the decoder rejects.

CI runs ``RONDA_FUZZ_EXAMPLES`` examples per test and protocol (default 200);
the full run is ``RONDA_FUZZ_EXAMPLES=100000 .venv/bin/pytest tests/unit/gateway/test_fuzz_connection.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Sequence
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronda.devices.protocols import testing
from ronda.devices.protocols.base import Decoded, Session
from ronda.errors import InvalidFrame
from ronda.gateway.commands import Command
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.protocols import PROTOCOLS, Answer, Encoded, Link, StreamProtocol
from ronda.gateway.tcp import StreamServer
from ronda.pipeline.ports import Accepted
from ronda.tracking.records import Record

T0 = 1_700_000_000.0
END_S = T0 + 86_400.0
"""Time of the valid frame that closes every garbage stream."""
EXAMPLES = int(os.environ.get("RONDA_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

GT06_IMEI = "864717003283581"
TELTONIKA_IMEI = "352093081452251"


def _login(name: str) -> bytes:
    return {
        "gt06": testing.gt06_login(GT06_IMEI, serial=1),
        "teltonika": testing.teltonika_imei(TELTONIKA_IMEI),
    }.get(name, b"")


def _frames(name: str, time_s: float) -> list[bytes]:
    """Valid data frames of ``name`` (after its login)."""
    if name == "gt06":
        return [
            testing.gt06_location(time_s, 41.39, -2.17, serial=2),
            testing.gt06_alarm(time_s + 1, 41.39, -2.17, alarm=0x18, serial=3),
            testing.gt06_heartbeat(serial=4),
        ]
    if name == "teltonika":
        record = testing.teltonika_record
        return [testing.teltonika_avl([record(time_s, 54.9, 24.0), record(time_s + 1, 54.9, 24.0)])]
    if name == "h02":
        return [testing.h02_v1("4210051415", time_s, 9.9, -84.1), b"*HQ,4210051415,HTBT,87#"]
    return [
        testing.watch_location("8800000015", time_s, 22.5, 113.8, kind="AL", status=1 << 20),
        testing.watch_frame("3G", "8800000015", "LK,0,10,100"),
    ]


def _final(name: str) -> bytes:
    return _frames(name, END_S)[0]


_START_MARKERS = {"gt06": b"\x78\x79", "teltonika": b"\x00", "h02": b"*$X", "watch": b"["}


class MemoryWriter:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def get_extra_info(self, name: str) -> object:
        return ("fuzz", 0) if name == "peername" else None

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


class ListSink:
    """Keeps every record handed over (no de-duplication)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def accept(self, records: Sequence[Record]) -> Accepted:
        self.records.extend(records)
        return Accepted(len(records), 0)


class SpySession:
    """Delegates to the real session and notes what each successful decode returned."""

    def __init__(self, inner: Session, decoded: list[Record]) -> None:
        self.inner = inner
        self.decoded = decoded

    @property
    def device(self) -> str | None:
        return self.inner.device

    def decode(self, frame: bytes, received_s: float) -> Decoded:
        result = self.inner.decode(frame, received_s)
        self.decoded.extend(result.records)
        return result


class SpyProtocol:
    def __init__(self, inner: StreamProtocol) -> None:
        self.inner = inner
        self.name = inner.name
        self.default_port = inner.default_port
        self.decoded: list[Record] = []

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        return self.inner.split(buffer)

    def new_session(self) -> Session:
        return SpySession(self.inner.new_session(), self.decoded)

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        return self.inner.encode(command, link, now_s)

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        return self.inner.observe(frame, link)


def feed(name: str, reads: Sequence[bytes]) -> tuple[list[Record], bytes, GatewayMetrics]:
    """One connection receiving ``reads``, then the device closes it."""
    sink = ListSink()
    metrics = GatewayMetrics()
    protocol = SpyProtocol(PROTOCOLS[name])
    server = StreamServer(protocol, sink, metrics, clock=lambda: T0 + 100)
    writer = MemoryWriter()

    async def run() -> None:
        reader = asyncio.StreamReader()
        for chunk in reads:
            reader.feed_data(chunk)
        reader.feed_eof()
        await server.serve_connection(reader, cast(asyncio.StreamWriter, writer))

    asyncio.run(run())
    assert writer.closed
    text = metrics.render()
    assert 'reason="internal"' not in text and 'cause="internal_error"' not in text
    # Stored is exactly what successful decodes returned: a rejected frame stores nothing.
    assert sink.records == protocol.decoded
    return sink.records, bytes(writer.data), metrics


def _final_reply(name: str) -> bytes:
    session = PROTOCOLS[name].new_session()
    with contextlib.suppress(InvalidFrame):
        session.decode(_login(name), T0)
    reply = session.decode(_final(name), T0 + 100).reply
    assert reply is not None
    return reply


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


NAMES = sorted(PROTOCOLS)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(cuts=st.lists(st.integers(0, 10_000), max_size=40), repeat=st.integers(1, 3))
def test_any_cutting_of_a_valid_stream_gives_the_same_records_and_replies(
    name: str, cuts: list[int], repeat: int
) -> None:
    stream = _login(name) + b"".join(b"".join(_frames(name, T0 + 10 * i)) for i in range(repeat))
    whole_records, whole_replies, _ = feed(name, [stream])
    records, replies, _ = feed(name, _cut(stream, cuts))
    assert records == whole_records and replies == whole_replies
    assert len(records) >= repeat


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_garbage_and_mutated_frames_never_break_the_connection(name: str, data: st.DataObject) -> None:
    pieces: list[bytes] = [_login(name)]
    for _ in range(data.draw(st.integers(1, 6), label="pieces")):
        if data.draw(st.booleans(), label="mutate a frame"):
            frame = bytearray(data.draw(st.sampled_from(_frames(name, T0)), label="frame"))
            for _ in range(data.draw(st.integers(1, 4))):
                frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
            piece = bytes(frame[: data.draw(st.integers(1, len(frame)))])
        else:
            piece = data.draw(st.binary(min_size=1, max_size=300), label="garbage")
        # Bytes that cannot start a frame: the stream must resynchronise on the next frame.
        pieces.append(bytes(b for b in piece if b not in _START_MARKERS[name]) or b"?")
    stream = b"".join(pieces) + _final(name)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts")
    records, replies, _ = feed(name, _cut(stream, cuts))
    assert any(r.time_s == END_S for r in records), "the valid frame after the garbage was not stored"
    assert replies.endswith(_final_reply(name)), "the valid frame after the garbage was not acked"


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(reads=st.lists(st.binary(max_size=512), max_size=8))
def test_random_bytes_from_an_unknown_peer(name: str, reads: list[bytes]) -> None:
    feed(name, reads)  # never raises; stores only what decoded (checked in feed)
