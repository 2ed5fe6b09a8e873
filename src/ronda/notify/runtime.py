"""Alerts inside `ronda serve`: the listeners on the engine's effects, the
outbox worker, the escalation and reminder loops, pursuit through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine as DbEngine

from ronda.notify.config import NotifyConfig, load_config
from ronda.notify.effects import AlertsListener
from ronda.notify.escalation import EscalationLoop
from ronda.notify.pursuit import Commander, PursuitListener
from ronda.notify.reminders import ReminderLoop
from ronda.notify.worker import OutboxWorker
from ronda.pipeline.service import LiveService, alert_message
from ronda.storage import alerts
from ronda.storage.db import sessions

log = logging.getLogger(__name__)
__all__ = ["AlertsRuntime", "load_config", "runtime_of"]
_RUNTIMES: weakref.WeakKeyDictionary[LiveService, AlertsRuntime] = weakref.WeakKeyDictionary()


def runtime_of(svc: LiveService) -> AlertsRuntime | None:
    """The alerts runtime serving beside `svc` (None in tests that build the app alone)."""
    return _RUNTIMES.get(svc)


class AlertsRuntime:
    def __init__(
        self, db: DbEngine, svc: LiveService, config: NotifyConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.db, self.svc, self.config = db, svc, config
        policy = config.policy
        self.worker = OutboxWorker(
            db, config.channels, lease_s=config.lease_s, batch=config.batch, poll_s=config.poll_s, clock=clock
        )
        self.listener = AlertsListener(db, policy, clock=clock, on_queued=self.worker.wake)
        self.pursuit = PursuitListener(db, policy, clock=clock)
        self.escalation = EscalationLoop(
            db, policy, every_s=config.escalation_every_s, clock=clock, on_escalated=self.publish
        )
        self.reminders = ReminderLoop(
            db, policy, every_s=config.reminders_every_s, clock=clock, on_queued=self.worker.wake
        )
        self._tasks: list[asyncio.Task[None]] = []
        # Registered before the service starts, so effects replayed at recovery are heard too.
        svc.listeners += [self.listener, self.pursuit]
        svc.severity = lambda kind, rule: policy.severity(kind, rule).value
        _RUNTIMES[svc] = self

    def attach_gateway(self, commander: Commander) -> None:
        self.pursuit.attach(commander, asyncio.get_running_loop())

    def publish(self, alert_id: int) -> None:
        """An alert changed outside the API (escalated): tell the live stream."""
        with sessions(self.db)() as s:
            e, a = alerts.get_alert(s, alert_id)
            message = alert_message(alerts.Stored(e, a, False))
        self.svc.bus.publish_threadsafe("alert", message)

    async def start(self) -> None:
        try:
            sent = await self.pursuit.reconcile()
            if sent:
                log.info("pursuit: %d device commands sent that waited for the gateway", sent)
        except Exception:
            log.exception("pursuit commands could not be reconciled")
        self._tasks = [
            asyncio.create_task(self.escalation.run(), name="alerts-escalation"),
            asyncio.create_task(self.reminders.run(), name="alerts-reminders"),
        ]
        if self.config.enabled:
            self._tasks.append(asyncio.create_task(self.worker.run(), name="notify-worker"))
        log.info(
            "alerts: policy from %s; notifications %s",
            self.config.source,
            "sent by this server" if self.config.enabled else "left to `ronda notify run`",
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def status(self) -> dict[str, Any]:
        return {"worker": dict(self.worker.counters), "listener_failures": self.listener.failures}
