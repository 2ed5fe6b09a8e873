"""Commands to devices: what was asked, and what became of it.

A command is queued for a device, sent as soon as the device is connected
(at once if it is, else right after its next login), and then acknowledged
when the device answers it (protocols with a command response: GT06 0x15/0x21
echoing the server flag, H02 ``V4,<cmd>``, the watch echoing the command
word, Teltonika codec 12 responses) or marked failed (it could not be encoded
or written). A command that was sent but never answered stays ``sent``.

The store is a port (``CommandStore``): ``MemoryCommandStore`` here, a
database table in the server later. Its methods are async because a real
store does I/O.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ronda.types import to_iso


class CommandStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"


class CommandKind(StrEnum):
    SET_INTERVAL = "set_interval"
    """Change the reporting interval to ``interval_s``."""
    CUSTOM = "custom"
    """A protocol's own command text (``text``), e.g. ``"Relay,1#"`` (GT06)."""


@dataclass(frozen=True, slots=True)
class Command:
    id: int
    device: str
    kind: CommandKind
    created_s: float
    interval_s: int | None = None
    text: str | None = None
    status: CommandStatus = CommandStatus.QUEUED
    protocol: str | None = None
    match_key: str | None = None
    """What the device's answer will carry to name this command (protocol-specific)."""
    sent_s: float | None = None
    answered_s: float | None = None
    """When it was acknowledged or failed."""
    response: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        def iso(value: float | None) -> str | None:
            return to_iso(value) if value is not None else None

        return {
            "id": self.id,
            "device": self.device,
            "kind": self.kind.value,
            "interval_s": self.interval_s,
            "text": self.text,
            "status": self.status.value,
            "protocol": self.protocol,
            "created": iso(self.created_s),
            "sent": iso(self.sent_s),
            "answered": iso(self.answered_s),
            "response": self.response,
            "error": self.error,
        }


class CommandStore(Protocol):
    """Where commands and their outcomes live."""

    async def add(
        self,
        device: str,
        kind: CommandKind,
        now_s: float,
        *,
        interval_s: int | None = None,
        text: str | None = None,
    ) -> Command: ...

    async def get(self, command_id: int) -> Command | None: ...

    async def for_device(self, device: str) -> Sequence[Command]:
        """Every command of ``device``, oldest first."""
        ...

    async def queued(self, device: str) -> Sequence[Command]:
        """Commands of ``device`` still to send, oldest first."""
        ...

    async def awaiting_answer(self, device: str) -> Sequence[Command]:
        """Commands of ``device`` sent and not yet answered, oldest first."""
        ...

    async def mark_sent(
        self, command_id: int, protocol: str, match_key: str | None, now_s: float
    ) -> Command: ...

    async def mark_acknowledged(self, command_id: int, now_s: float, response: str | None) -> Command: ...

    async def mark_failed(self, command_id: int, now_s: float, error: str) -> Command: ...


class MemoryCommandStore:
    """Commands in a dict: for tests, tools and a gateway without a database."""

    def __init__(self) -> None:
        self._commands: dict[int, Command] = {}
        self._by_device: dict[str, list[int]] = {}
        self._ids = itertools.count(1)

    async def add(
        self,
        device: str,
        kind: CommandKind,
        now_s: float,
        *,
        interval_s: int | None = None,
        text: str | None = None,
    ) -> Command:
        command = Command(next(self._ids), device, kind, now_s, interval_s, text)
        self._commands[command.id] = command
        self._by_device.setdefault(device, []).append(command.id)
        return command

    async def get(self, command_id: int) -> Command | None:
        return self._commands.get(command_id)

    async def for_device(self, device: str) -> list[Command]:
        return [self._commands[i] for i in self._by_device.get(device, ())]

    def _with_status(self, device: str, status: CommandStatus) -> list[Command]:
        commands = (self._commands[i] for i in self._by_device.get(device, ()))
        return [c for c in commands if c.status is status]

    async def queued(self, device: str) -> list[Command]:
        return self._with_status(device, CommandStatus.QUEUED)

    async def awaiting_answer(self, device: str) -> list[Command]:
        return self._with_status(device, CommandStatus.SENT)

    def _update(self, command_id: int, **changes: object) -> Command:
        command = dataclasses.replace(self._commands[command_id], **changes)  # type: ignore[arg-type]
        self._commands[command_id] = command
        return command

    async def mark_sent(self, command_id: int, protocol: str, match_key: str | None, now_s: float) -> Command:
        return self._update(
            command_id, status=CommandStatus.SENT, protocol=protocol, match_key=match_key, sent_s=now_s
        )

    async def mark_acknowledged(self, command_id: int, now_s: float, response: str | None) -> Command:
        return self._update(
            command_id, status=CommandStatus.ACKNOWLEDGED, answered_s=now_s, response=response
        )

    async def mark_failed(self, command_id: int, now_s: float, error: str) -> Command:
        return self._update(command_id, status=CommandStatus.FAILED, answered_s=now_s, error=error)
