"""A tiny asyncio HTTP endpoint serving ``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ronda.gateway.metrics import CONTENT_TYPE, GatewayMetrics

log = logging.getLogger(__name__)

_MAX_HEADER_BYTES = 16 * 1024


class MetricsEndpoint:
    def __init__(self, metrics: GatewayMetrics, host: str = "127.0.0.1", port: int = 9108) -> None:
        self.metrics = metrics
        self.host = host
        self.requested_port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("metrics endpoint not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            if len(head) > _MAX_HEADER_BYTES:
                raise ValueError("header too large")
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, body, ctype = "405 Method Not Allowed", b"", "text/plain"
            elif path == "/metrics":
                status, body, ctype = "200 OK", self.metrics.render().encode("utf-8"), CONTENT_TYPE
            else:
                status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
            head_out = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head_out.encode("latin-1") + (body if method == "GET" else b""))
            await writer.drain()
        except Exception as exc:  # a bad client never takes the endpoint down
            log.debug("metrics request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
