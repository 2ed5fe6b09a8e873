"""Pursuit mode: devices report every 15 s while a proximity or exclusion episode is open.

When such an episode opens, the wearer's devices (and, for proximity, the
protected person's phone) are asked to report at the pursuit interval; when
it closes, each goes back to its own interval (the device's
``report_interval_s``, else the policy's normal one), unless another open
episode still pursues it. The request goes through the gateway's command
queue (``gateway/commands.py``): sent at once to a connected device, else at
its next login; a protocol that cannot change its interval marks the command
failed, which is recorded, not retried. Pursuits are rows (``pursuits``), so
a restart knows what to restore.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.policy import PURSUIT_TYPES, AlertPolicy
from ronda.gateway.commands import Command, CommandKind
from ronda.pipeline.ports import EffectEvent
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.storage.models import DeviceRow
from ronda.storage.models_notify import PursuitRow

log = logging.getLogger(__name__)
REPORTING_KINDS = frozenset({"gps_tag", "phone", "wristband"})  # a home unit has no interval to change


class Commander(Protocol):
    async def submit(
        self, device: str, kind: CommandKind, *, interval_s: int | None = None, text: str | None = None
    ) -> Command: ...


class PursuitListener:
    def __init__(
        self,
        db: DbEngine,
        policy: AlertPolicy,
        *,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 5.0,
    ) -> None:
        self.sessions: sessionmaker[Session] = sessions(db)
        self.policy, self.clock, self.timeout_s = policy, clock, timeout_s
        self.commander: Commander | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, commander: Commander, loop: asyncio.AbstractEventLoop) -> None:
        """Commands go to this gateway from now on (None until a gateway runs)."""
        self.commander, self.loop = commander, loop

    async def reconcile(self) -> int:
        """Send what could not be sent while no gateway was attached (effects
        replayed at start-up come before the gateway): pursuits without their
        command, ended pursuits without their restoring one."""
        if self.commander is None:
            return 0
        with self.sessions() as s:
            todo = [
                (p.id, p.ended_s is None)
                for p in store.unsent_pursuit_commands(s)
                if p.ended_s is None or not store.device_in_other_pursuit(s, p.device_id, p.episode_id)
            ]
        for pursuit_id, start in todo:
            with self.sessions() as s:
                row = s.get(PursuitRow, pursuit_id)
                assert row is not None
                device, interval = row.device_id, row.interval_s if start else row.normal_interval_s
            command = await self.commander.submit(device, CommandKind.SET_INTERVAL, interval_s=interval)
            self._record(pursuit_id, command, start=start)
        return len(todo)

    def on_effects(self, events: Sequence[EffectEvent]) -> None:
        for ev in events:
            if ev.type not in PURSUIT_TYPES:
                continue
            try:
                if ev.kind == "opened" and ev.end_s is None:
                    self._start(ev)
                elif ev.kind == "closed":
                    self._end(ev.episode_id)
            except Exception:
                log.exception("pursuit for episode %d failed", ev.episode_id)

    def _devices(self, s: Session, ev: EffectEvent) -> list[DeviceRow]:
        people = [ev.person] if ev.person else []
        if ev.type == "proximity" and ev.person:
            people += store.protected_persons(s, ev.person, ev.rule)
        found = [d for p in people for d in store.devices_of(s, p) if d.kind in REPORTING_KINDS]
        if ev.device and not any(d.id == ev.device for d in found):
            row = s.get(DeviceRow, ev.device)
            if row is not None and row.kind in REPORTING_KINDS:
                found.append(row)
        return found

    def _start(self, ev: EffectEvent) -> None:
        fast = self.policy.pursuit_interval_s
        started: list[int] = []
        with self.sessions.begin() as s:
            for d in self._devices(s, ev):
                normal = int(d.report_interval_s or self.policy.normal_interval_s)
                row = store.start_pursuit(
                    s, ev.episode_id, d.id, interval_s=fast, normal_interval_s=normal, now_s=self.clock()
                )
                if row is not None:
                    started.append(row.id)
        for pursuit_id in started:
            self._command(pursuit_id, start=True)

    def _end(self, episode_id: int) -> None:
        ended: list[int] = []
        with self.sessions.begin() as s:
            for row in store.pursuits_of_episode(s, episode_id):
                if row.ended_s is None:
                    row.ended_s = self.clock()
                    if not store.device_in_other_pursuit(s, row.device_id, episode_id):
                        ended.append(row.id)
        for pursuit_id in ended:
            self._command(pursuit_id, start=False)

    def _command(self, pursuit_id: int, *, start: bool) -> None:
        with self.sessions() as s:
            row = s.get(PursuitRow, pursuit_id)
            assert row is not None
            device, interval = row.device_id, row.interval_s if start else row.normal_interval_s
        command = self._submit(device, interval)
        if command is not None:
            self._record(pursuit_id, command, start=start)

    def _record(self, pursuit_id: int, command: Command, *, start: bool) -> None:
        with self.sessions.begin() as s:
            row = s.get(PursuitRow, pursuit_id)
            if row is not None:
                if start:
                    row.start_command = command.id
                else:
                    row.end_command = command.id
        log.info(
            "pursuit: %s asked to report every %s s (command %d)",
            command.device,
            command.interval_s,
            command.id,
        )

    def _submit(self, device: str, interval_s: int) -> Command | None:
        if self.commander is None or self.loop is None:
            log.info("pursuit: no gateway to ask %s for %d s reports", device, interval_s)
            return None
        coro = self.commander.submit(device, CommandKind.SET_INTERVAL, interval_s=interval_s)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # called on the gateway's own loop: schedule, don't wait
            self.loop.create_task(coro)
            return None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout_s)
