"""/healthz, /readyz and /metrics of a process that has no HTTP server of
its own (worker, device gateway): a tiny asyncio HTTP endpoint, no framework.

- ``/healthz``: the process is alive and its event loop answers (200);
- ``/readyz``: it can do its work now (200), or why not (503): e.g. NATS
  disconnected, the database unreachable, the stream missing;
- ``/metrics``: Prometheus text of the given registries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)
_MAX_HEADER_BYTES = 16 * 1024

Readiness = Callable[[], str | None]
"""None when ready, else the reason it is not."""


class OpsEndpoint:
    def __init__(
        self,
        registries: Sequence[CollectorRegistry],
        ready: Readiness,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registries = list(registries)
        self.ready = ready
        self.host = host
        self.requested_port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("ops endpoint not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        log.info("health and metrics on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _answer(self, path: str) -> tuple[str, bytes, str]:
        if path == "/healthz":
            return "200 OK", b"ok\n", "text/plain"
        if path == "/readyz":
            try:
                why = self.ready()
            except Exception as exc:  # a failing check is "not ready", never a crash
                why = f"readiness check failed: {exc}"
            if why is None:
                return "200 OK", b"ready\n", "text/plain"
            return "503 Service Unavailable", f"not ready: {why}\n".encode(), "text/plain"
        if path == "/metrics":
            body = b"".join(generate_latest(r) for r in self.registries)
            return "200 OK", body, CONTENT_TYPE_LATEST
        return "404 Not Found", b"not found\n", "text/plain"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            if len(head) > _MAX_HEADER_BYTES:
                raise ValueError("header too large")
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, body, ctype = "405 Method Not Allowed", b"", "text/plain"
            else:
                status, body, ctype = self._answer(path)
            head_out = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head_out.encode("latin-1") + (body if method == "GET" else b""))
            await writer.drain()
        except Exception as exc:  # a bad client never takes the endpoint down
            log.debug("ops request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
