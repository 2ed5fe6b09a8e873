"""Sinks and a device-side TCP client for the gateway's socket tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress

from ronda.gateway.service import Gateway, GatewayConfig
from ronda.gateway.tcp import TcpLimits
from ronda.pipeline.memory import MemorySink
from ronda.pipeline.ports import Accepted, RecordSink
from ronda.tracking.records import Record

T0 = 1_700_000_000.0
NOW = T0 + 30.0
"""The gateway's clock in these tests: replies that carry the time are exact."""
WAIT_S = 10.0
"""Only to avoid hangs: every wait is on an event or on bytes."""


class RecordingSink:
    """A MemorySink that wakes waiters whenever records arrive."""

    def __init__(self) -> None:
        self.memory = MemorySink()
        self.changed = asyncio.Condition()
        self.calls = 0

    @property
    def records(self) -> list[Record]:
        return self.memory.records

    async def accept(self, records: Sequence[Record]) -> Accepted:
        result = await self.memory.accept(records)
        self.calls += 1
        async with self.changed:
            self.changed.notify_all()
        return result

    async def wait_for(self, count: int) -> list[Record]:
        async def reached() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.memory.records) >= count)

        await asyncio.wait_for(reached(), WAIT_S)
        return self.records


class BlockingSink:
    """Holds every accept until released: proves that no ack precedes the hand-off."""

    def __init__(self) -> None:
        self.inner = MemorySink()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.returned = 0

    async def accept(self, records: Sequence[Record]) -> Accepted:
        self.entered.set()
        await self.release.wait()
        result = await self.inner.accept(records)
        self.returned += 1
        return result


class FailingSink:
    """Fails the first ``failures`` hand-offs, then stores."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.inner = RecordingSink()

    async def accept(self, records: Sequence[Record]) -> Accepted:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("database unavailable")
        return await self.inner.accept(records)


@asynccontextmanager
async def running(
    sink: RecordSink,
    *,
    protocols: Sequence[str] = ("gt06", "teltonika", "h02", "watch"),
    limits: TcpLimits | None = None,
    clock: Callable[[], float] = lambda: NOW,
    metrics_port: int | None = None,
) -> AsyncIterator[Gateway]:
    config = GatewayConfig(
        host="127.0.0.1",
        ports=dict.fromkeys(protocols, 0),
        limits=limits or TcpLimits(),
        metrics_port=metrics_port,
    )
    gateway = Gateway(sink, config, clock=clock)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


class Device:
    """The device side of one TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Device:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT_S)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_slowly(self, data: bytes) -> None:
        """One byte per write."""
        for index in range(len(data)):
            self.writer.write(data[index : index + 1])
            await self.writer.drain()
            await asyncio.sleep(0)

    async def read(self, size: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(size), WAIT_S)

    async def read_until(self, end: bytes) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(end), WAIT_S)

    async def closed_by_server(self) -> bool:
        """True when the server closes the connection (EOF or reset), without sending more."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), WAIT_S)
        except ConnectionError:
            return True
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate`` holds (state changed by the server task); fail after WAIT_S."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), WAIT_S)
