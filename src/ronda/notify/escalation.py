"""Escalation: an alert nobody acknowledged within its target goes up its chain.

Each alert has a timer (``alert_timers``): the link it has reached and when
it is next due. At that instant, if the alert is still unacknowledged (new,
assigned or escalated), it moves to the next link: status ``escalated``, an
``escalate`` action by ``system:escalation`` in its trail, and that link's
addresses queued in the outbox, all in one transaction. The last link keeps
it. The clock is passed in, so tests drive time without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.messages import duration_text
from ronda.alerts.policy import AlertPolicy
from ronda.alerts.protection import link_messages
from ronda.alerts.workflow import UNACKNOWLEDGED, AlertAction, AlertStatus, Severity
from ronda.notify.effects import facts_of, write
from ronda.pipeline.ports import EffectEvent
from ronda.storage import alerts
from ronda.storage.db import sessions
from ronda.storage.models_notify import AlertTimerRow

log = logging.getLogger(__name__)
SYSTEM = "system:escalation"


def _event(s: Session, alert_id: int) -> EffectEvent:
    e, a = alerts.get_alert(s, alert_id)
    return EffectEvent(
        "opened", e.id, a.id, e.type, e.person_id, e.rule_id, e.device_id, e.start_s, e.raised_s, e.end_s,
        a.severity, False,
    )  # fmt: skip


def escalate(
    s: Session, alert_id: int, policy: AlertPolicy, *, now_s: float, actor: str = SYSTEM, reason: str = ""
) -> str | None:
    """Move the alert to the next link of its chain and queue that link's
    messages; returns the link's name (None at the end of the chain)."""
    timer = s.get(AlertTimerRow, alert_id)
    if timer is None:
        _, a = alerts.get_alert(s, alert_id)
        timer = AlertTimerRow(
            alert_id=alert_id,
            agency_id=None,
            target_s=policy.target_s(Severity(a.severity)),
            level=0,
            due_s=None,
            created_s=a.created_s,
            updated_s=now_s,
        )
        s.add(timer)
    chain = policy.chain(timer.agency_id)
    level = timer.level + 1
    if level >= len(chain):
        timer.due_s = None  # the last link keeps it
        return None
    link = chain[level]
    text = reason or f"to {link.name}: not acknowledged within {duration_text(timer.target_s)}"
    alerts.act(s, alert_id, AlertAction.ESCALATE, actor, text=text)
    timer.level = level
    timer.due_s = now_s + (link.wait_s or timer.target_s) if level + 1 < len(chain) else None
    timer.updated_s = now_s
    ev = _event(s, alert_id)
    write(
        s,
        link_messages(facts_of(s, ev, timer.target_s), link, level),
        now_s=now_s,
        max_attempts=policy.max_attempts,
    )
    return link.name


def escalate_due(
    db: sessionmaker[Session],
    policy: AlertPolicy,
    now_s: float,
    on_escalated: Callable[[int], None] | None = None,
) -> int:
    """Escalate every alert whose timer is due at `now_s`; returns how many moved."""
    with db() as s:
        due = list(s.execute(select(AlertTimerRow.alert_id).where(AlertTimerRow.due_s <= now_s)).scalars())
    moved = 0
    for alert_id in due:
        try:
            with db.begin() as s:
                # Take the timer with a compare-and-set write, the transaction's first
                # statement: of two servers (or two loops) only one sees it due, on
                # SQLite (the write lock) as on PostgreSQL (the row lock).
                taken = s.execute(
                    update(AlertTimerRow)
                    .where(AlertTimerRow.alert_id == alert_id, AlertTimerRow.due_s <= now_s)
                    .values(due_s=None)
                    .execution_options(synchronize_session=False)
                )
                if not taken.rowcount:  # type: ignore[attr-defined]
                    continue
                _, a = alerts.get_alert(s, alert_id)
                if AlertStatus(a.status) not in UNACKNOWLEDGED:
                    continue  # taken on in time: no more escalation (due stays cleared)
                if escalate(s, alert_id, policy, now_s=now_s) is None:
                    continue
            moved += 1
            if on_escalated is not None:
                on_escalated(alert_id)
        except Exception:  # one alert's failure never stops the others
            log.exception("alert %d could not be escalated", alert_id)
    return moved


class EscalationLoop:
    def __init__(
        self,
        db: DbEngine,
        policy: AlertPolicy,
        *,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        on_escalated: Callable[[int], None] | None = None,
    ) -> None:
        self.sessions: sessionmaker[Session] = sessions(db)
        self.policy, self.every_s, self.clock = policy, every_s, clock
        self.on_escalated = on_escalated

    def run_once(self, now_s: float | None = None) -> int:
        return escalate_due(
            self.sessions, self.policy, self.clock() if now_s is None else now_s, self.on_escalated
        )

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("escalation round failed")
            await asyncio.sleep(self.every_s)
