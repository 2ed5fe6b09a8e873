"""The gateway assembled: TCP servers, MQTT consumer, commands and metrics.

``Gateway(sink, config)`` is what ``ronda gateway`` runs and what the server
can embed: one sink (the durable hand-off), one command store, one metrics
registry shared by every transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from ronda.gateway.commands import Command, CommandKind, CommandStore, MemoryCommandStore
from ronda.gateway.dispatch import CommandDispatcher
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.mqtt import MqttGateway, MqttSettings
from ronda.gateway.protocols import PROTOCOLS
from ronda.gateway.tcp import StreamServer, TcpLimits
from ronda.pipeline.ops import OpsEndpoint
from ronda.pipeline.ports import RecordSink

log = logging.getLogger(__name__)


def default_ports() -> dict[str, int]:
    return {name: p.default_port for name, p in PROTOCOLS.items()}


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "0.0.0.0"
    ports: Mapping[str, int] = field(default_factory=default_ports)
    """Protocol name -> TCP port (0: any free port); protocols left out are not served."""
    limits: TcpLimits = field(default_factory=TcpLimits)
    mqtt: MqttSettings | None = None
    """None: no MQTT consumer."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    """None: no HTTP endpoint (the text is still available from ``metrics_text``)."""


class Gateway:
    def __init__(
        self,
        sink: RecordSink,
        config: GatewayConfig | None = None,
        *,
        commands: CommandStore | None = None,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or GatewayConfig()
        unknown = set(self.config.ports) - set(PROTOCOLS)
        if unknown:
            raise ValueError(f"unknown protocols: {', '.join(sorted(unknown))}")
        self.sink = sink
        self.metrics = metrics or GatewayMetrics()
        self.commands = commands or MemoryCommandStore()
        self.dispatcher = CommandDispatcher(self.commands, self.metrics, clock)
        self.servers = {
            name: StreamServer(
                PROTOCOLS[name],
                sink,
                self.metrics,
                self.dispatcher,
                host=self.config.host,
                port=port,
                limits=self.config.limits,
                clock=clock,
            )
            for name, port in self.config.ports.items()
        }
        self.mqtt = MqttGateway(sink, self.metrics, self.config.mqtt, clock) if self.config.mqtt else None
        # /metrics, plus /healthz and /readyz (a listening gateway is ready)
        ops_port = self.config.metrics_port
        self.endpoint = (
            OpsEndpoint([self.metrics.registry], lambda: None, self.config.metrics_host, ops_port)
            if ops_port is not None
            else None
        )
        self._mqtt_task: asyncio.Task[None] | None = None

    def port(self, protocol: str) -> int:
        return self.servers[protocol].port

    async def start(self) -> None:
        try:
            for server in self.servers.values():
                await server.start()
            if self.endpoint is not None:
                await self.endpoint.start()
        except BaseException:
            await self.stop()
            raise
        if self.mqtt is not None:
            self._mqtt_task = asyncio.create_task(self.mqtt.run(), name="ronda-mqtt")

    async def stop(self) -> None:
        if self._mqtt_task is not None:
            self._mqtt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mqtt_task
            self._mqtt_task = None
        for server in self.servers.values():
            await server.stop()
        if self.endpoint is not None:
            await self.endpoint.stop()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def submit(
        self, device: str, kind: CommandKind, *, interval_s: int | None = None, text: str | None = None
    ) -> Command:
        """Queue a command for a device (sent now if it is connected)."""
        return await self.dispatcher.submit(device, kind, interval_s=interval_s, text=text)

    def metrics_text(self) -> str:
        return self.metrics.render()
