"""Wearer reminders: a message before each curfew starts.

A curfew is an inclusion rule with a schedule. Every round, for each wearer
with a ``wearer`` contact that consented, the next start of each of their
curfews is found (``Schedule.state_at``, in the order's time zone); when it
is within the policy's lead time, a reminder is queued with the key
``curfew-<rule>-<start>``, so each start is reminded once whatever the
number of rounds, servers or restarts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.policy import AlertPolicy
from ronda.alerts.protection import reminder_messages
from ronda.notify.effects import recipients, write
from ronda.rules.models import RuleType
from ronda.storage.caseload import load_caseload
from ronda.storage.db import sessions

log = logging.getLogger(__name__)


def queue_reminders(s: Session, policy: AlertPolicy, now_s: float) -> int:
    caseload = load_caseload(s)
    queued = 0
    for order in caseload.orders:
        wearers = recipients(s, order.person, "wearer")
        if not wearers:
            continue
        for rule in order.rules:
            if rule.type is not RuleType.INCLUSION or rule.schedule is None:
                continue
            active, change_s = rule.schedule.state_at(now_s)
            if active or not (now_s < change_s <= now_s + policy.reminder_lead_s):
                continue
            start_text = dt.datetime.fromtimestamp(change_s, rule.schedule.timezone).strftime("%H:%M")
            for w in wearers:
                out = reminder_messages(rule.id, change_s, start_text, w, policy)
                queued += write(s, out, now_s=now_s, max_attempts=policy.max_attempts)
    return queued


class ReminderLoop:
    def __init__(
        self,
        db: DbEngine,
        policy: AlertPolicy,
        *,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.sessions: sessionmaker[Session] = sessions(db)
        self.policy, self.every_s, self.clock, self.on_queued = policy, every_s, clock, on_queued

    def run_once(self, now_s: float | None = None) -> int:
        with self.sessions.begin() as s:
            n = queue_reminders(s, self.policy, self.clock() if now_s is None else now_s)
        if n and self.on_queued is not None:
            self.on_queued()
        return n

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("reminder round failed")
            await asyncio.sleep(self.every_s)
