"""One asyncio TCP server per stream protocol: it only moves bytes.

Per connection: bytes are appended to a buffer, the protocol's splitter cuts
complete frames (several per read, or one across many reads), the session
decodes each frame, the records go to ``sink.accept`` and the protocol's
reply is written **only after accept returned** (the records are durable).

- A frame that fails (bad CRC, malformed, before login...) is rejected,
  counted by protocol, reason and device, logged; the next frame is read.
- A sink failure sends no reply and closes the connection: the device
  resends what was not acknowledged (the sink is idempotent).
- No exception escapes a connection handler; an idle connection and one
  whose buffer outgrows ``max_buffer_bytes`` are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ronda.devices.protocols.base import Decoded, Session
from ronda.errors import InvalidFrame
from ronda.gateway.dispatch import CommandDispatcher
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.protocols import Answer, Link, StreamProtocol
from ronda.pipeline.ports import RecordSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TcpLimits:
    idle_timeout_s: float = 600.0
    """Close a connection that sent nothing for this long (devices heartbeat every few minutes)."""
    max_buffer_bytes: int = 512 * 1024
    """Close a connection whose unframed bytes outgrow this (watch images are the largest frames)."""
    read_size: int = 64 * 1024


class Connection:
    """One device connection: decoder session, link state and a serialised writer."""

    def __init__(self, protocol: StreamProtocol, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.session: Session = protocol.new_session()
        self.link = Link()
        self.peer = str(writer.get_extra_info("peername"))
        self._writer = writer
        self._lock = asyncio.Lock()

    async def write(self, data: bytes) -> None:
        async with self._lock:
            self._writer.write(data)
            await self._writer.drain()


class StreamServer:
    """The asyncio server of one protocol."""

    def __init__(
        self,
        protocol: StreamProtocol,
        sink: RecordSink,
        metrics: GatewayMetrics,
        dispatcher: CommandDispatcher | None = None,
        *,
        host: str = "0.0.0.0",
        port: int | None = None,
        limits: TcpLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.protocol = protocol
        self.sink = sink
        self.metrics = metrics
        self.dispatcher = dispatcher
        self.host = host
        self.requested_port = protocol.default_port if port is None else port
        self.limits = limits or TcpLimits()
        self.clock = clock
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self.protocol.name

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self.serve_connection, self.host, self.requested_port)
        log.info("%s gateway listening on %s:%d", self.name, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- one connection ---------------------------------------------------
    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Handle one device connection to its end; never raises."""
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        conn = Connection(self.protocol, writer)
        self.metrics.connections_total.labels(self.name).inc()
        self.metrics.connections.labels(self.name).inc()
        try:
            await self._read_loop(conn, reader)
        except asyncio.CancelledError:
            pass
        except Exception:  # the last line of defence: never let a handler die noisily
            log.exception("%s connection %s failed", self.name, conn.peer)
            self.metrics.dropped.labels(self.name, "internal_error").inc()
        finally:
            self.metrics.connections.labels(self.name).dec()
            if self.dispatcher is not None and conn.link.device is not None:
                self.dispatcher.detach(conn.link.device, conn)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _read_loop(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while True:
            try:
                data = await asyncio.wait_for(reader.read(self.limits.read_size), self.limits.idle_timeout_s)
            except TimeoutError:
                log.info("%s connection %s idle, closing", self.name, conn.peer)
                self.metrics.dropped.labels(self.name, "idle").inc()
                return
            except (ConnectionError, OSError):
                return
            if not data:
                return
            buffer += data
            try:
                frames, buffer = self.protocol.split(buffer)
            except Exception:
                log.exception("%s splitter failed on %d bytes from %s", self.name, len(buffer), conn.peer)
                self.metrics.reject(self.name, conn.link.device, "malformed")
                frames, buffer = [], b""
            for frame in frames:
                if not await self._frame(conn, frame):
                    return
            if len(buffer) > self.limits.max_buffer_bytes:
                log.warning("%s connection %s: %d unframed bytes, closing", self.name, conn.peer, len(buffer))
                self.metrics.reject(self.name, conn.link.device, "too_large")
                self.metrics.dropped.labels(self.name, "buffer_overflow").inc()
                return

    async def _frame(self, conn: Connection, frame: bytes) -> bool:
        """Handle one frame; False when the connection must close."""
        name = self.name
        self.metrics.frames.labels(name).inc()
        received_s = self.clock()
        try:
            decoded = conn.session.decode(frame, received_s)
        except InvalidFrame as exc:
            self._rejected(conn, frame, exc.reason, str(exc))
            return True
        except Exception as exc:
            log.exception("%s decoder raised on %s", name, frame[:64].hex())
            self._rejected(conn, frame, "internal", repr(exc))
            return True
        identified = self._identify(conn, decoded)
        answer = self._observe(conn, frame)
        if decoded.records:
            try:
                accepted = await self.sink.accept(decoded.records)
            except Exception:
                log.exception("%s: sink failed for %s; no ack, closing", name, conn.link.device)
                self.metrics.sink_failures.labels(name).inc()
                self.metrics.dropped.labels(name, "sink_failure").inc()
                return False
            records = self.metrics.records
            records.labels(name, "stored").inc(accepted.stored)
            records.labels(name, "duplicate").inc(accepted.duplicates)
            records.labels(name, "unknown_device").inc(accepted.unknown_device)
        if decoded.reply is not None:
            try:
                await conn.write(decoded.reply)
            except (ConnectionError, OSError):
                return False
            self.metrics.acks.labels(name).inc()
        if self.dispatcher is not None and conn.link.device is not None:
            try:
                if answer is not None:
                    await self.dispatcher.answered(conn.link.device, answer)
                if identified:
                    await self.dispatcher.flush(conn.link.device)
            except Exception:
                log.exception("%s: commands of %s could not be handled", name, conn.link.device)
        return True

    def _rejected(self, conn: Connection, frame: bytes, reason: str, message: str) -> None:
        device = conn.session.device or conn.link.device
        self.metrics.reject(self.name, device, reason)
        log.warning(
            "%s frame rejected (%s) from %s %s: %s; %s",
            self.name, reason, device or "unidentified", conn.peer, message, frame[:64].hex(),
        )  # fmt: skip

    def _identify(self, conn: Connection, decoded: Decoded) -> bool:
        """Remember the device; True when it is newly identified on this connection."""
        device = decoded.device
        if device is None or device == conn.link.device:
            return False
        if self.dispatcher is not None:
            if conn.link.device is not None:
                self.dispatcher.detach(conn.link.device, conn)
            self.dispatcher.attach(device, conn)
        conn.link.device = device
        log.info("%s device %s on %s", self.name, device, conn.peer)
        return True

    def _observe(self, conn: Connection, frame: bytes) -> Answer | None:
        try:
            return conn.protocol.observe(frame, conn.link)
        except Exception:
            log.exception("%s: could not read a command answer in %s", self.name, frame[:64].hex())
            return None
