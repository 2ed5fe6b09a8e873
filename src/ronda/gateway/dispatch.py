"""Sending queued commands to connected devices and recording their outcome.

Connections attach themselves under their device id once the device is
identified (login, IMEI handshake or first frame) and detach when they close.
``submit`` queues a command and, if the device is connected, sends it at
once; ``flush`` sends whatever is queued (called by a connection right after
it acknowledged the device's login). A write that fails leaves the command
queued: it goes out on the next connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from ronda.gateway.commands import Command, CommandKind, CommandStatus, CommandStore
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.protocols import Answer, Link, StreamProtocol

log = logging.getLogger(__name__)


class Outlet(Protocol):
    """A live device connection able to carry commands."""

    protocol: StreamProtocol
    link: Link

    async def write(self, data: bytes) -> None: ...


class CommandDispatcher:
    def __init__(
        self,
        store: CommandStore,
        metrics: GatewayMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self._outlets: dict[str, Outlet] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- connections ------------------------------------------------------
    def attach(self, device: str, outlet: Outlet) -> None:
        """``outlet`` now carries commands for ``device`` (the newest connection wins)."""
        self._outlets[device] = outlet

    def detach(self, device: str, outlet: Outlet) -> None:
        if self._outlets.get(device) is outlet:
            del self._outlets[device]
            self._locks.pop(device, None)

    def connected(self, device: str) -> bool:
        return device in self._outlets

    # -- commands ---------------------------------------------------------
    async def submit(
        self,
        device: str,
        kind: CommandKind,
        *,
        interval_s: int | None = None,
        text: str | None = None,
    ) -> Command:
        """Queue a command for ``device``; send it now if the device is connected."""
        if kind is CommandKind.SET_INTERVAL and (interval_s is None or interval_s <= 0):
            raise ValueError("set_interval needs a positive interval_s")
        if kind is CommandKind.CUSTOM and not text:
            raise ValueError("a custom command needs its text")
        command = await self.store.add(device, kind, self.clock(), interval_s=interval_s, text=text)
        self.metrics.commands.labels("queued").inc()
        if device in self._outlets:
            await self.flush(device)
        return await self.store.get(command.id) or command

    async def flush(self, device: str) -> None:
        """Send every queued command of ``device`` through its connection, oldest first."""
        lock = self._locks.setdefault(device, asyncio.Lock())
        async with lock:
            for command in await self.store.queued(device):
                outlet = self._outlets.get(device)
                if outlet is None:
                    return
                await self._send(command, outlet)

    async def _send(self, command: Command, outlet: Outlet) -> None:
        now_s = self.clock()
        try:
            encoded = outlet.protocol.encode(command, outlet.link, now_s)
        except ValueError as exc:  # UnsupportedCommand included
            await self.store.mark_failed(command.id, now_s, f"cannot encode: {exc}")
            self.metrics.commands.labels("failed").inc()
            log.warning("command %s to %s failed: %s", command.id, command.device, exc)
            return
        try:
            await outlet.write(encoded.data)
        except (ConnectionError, OSError) as exc:
            log.info("command %s to %s not sent (%s); stays queued", command.id, command.device, exc)
            return
        await self.store.mark_sent(command.id, outlet.protocol.name, encoded.match_key, now_s)
        self.metrics.commands.labels("sent").inc()
        log.info("command %s sent to %s", command.id, command.device)

    async def answered(self, device: str, answer: Answer) -> Command | None:
        """Record the device's answer against the command it answers, if any is outstanding."""
        waiting = list(await self.store.awaiting_answer(device))
        command = _match(waiting, answer)
        if command is None:
            return None
        now_s = self.clock()
        if answer.ok:
            updated = await self.store.mark_acknowledged(command.id, now_s, answer.text)
            self.metrics.commands.labels("acknowledged").inc()
        else:
            updated = await self.store.mark_failed(command.id, now_s, f"device answered: {answer.text}")
            self.metrics.commands.labels("failed").inc()
        log.info("command %s of %s: %s (%s)", command.id, device, updated.status.value, answer.text)
        return updated


def _match(waiting: list[Command], answer: Answer) -> Command | None:
    waiting = [c for c in waiting if c.status is CommandStatus.SENT]
    if answer.command_id is not None:
        for command in waiting:
            if command.id == answer.command_id:
                return command
    if answer.match_key is not None:
        for command in waiting:
            if command.match_key == answer.match_key:
                return command
    if answer.strict:
        return None
    return waiting[0] if waiting else None
