"""The effects listener: stored episodes become timers and messages.

Called after the engine's effects are committed (``EffectListener``), once
per batch, which it handles in one transaction; if that fails, event by
event, so one bad event cannot hold back the others. Everything it writes is idempotent (a
timer per alert, outbox keys per cause and recipient), so being told again
after a restart changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.policy import DEVICE_FAILURES, AlertPolicy
from ronda.alerts.protection import AlertFacts, Outgoing, Recipient, link_messages, protection_messages
from ronda.alerts.workflow import Severity
from ronda.pipeline.ports import EffectEvent
from ronda.storage import notify as store
from ronda.storage.caseload import DEFAULT_SITE, SITE
from ronda.storage.cases import get_setting
from ronda.storage.db import sessions
from ronda.storage.models_notify import ContactRow

log = logging.getLogger(__name__)


def site_zone(s: Session) -> ZoneInfo:
    try:
        return ZoneInfo(str(get_setting(s, SITE, DEFAULT_SITE).get("timezone", "UTC")))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_text(t_s: float, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(t_s, zone).strftime("%Y-%m-%d %H:%M %Z")


def write(s: Session, out: Sequence[Outgoing], *, now_s: float, max_attempts: int) -> int:
    queued = 0
    for o in out:
        msg = store.NewMessage(
            key=o.key,
            kind=o.kind,
            target=o.address,
            language=o.message.language,
            subject=o.message.subject,
            body=o.message.body,
            alert_id=o.alert_id,
            contact_id=o.recipient.contact_id,
            recipient=f"{o.recipient.role}: {o.recipient.name}",
        )
        queued += store.enqueue(s, msg, now_s=now_s, max_attempts=max_attempts)
    return queued


def recipients(s: Session, person_id: str, kind: str) -> list[Recipient]:
    return [
        Recipient(c.id, c.name, c.language, tuple(c.addresses), kind, consent)
        for c, consent in store.person_contacts(s, person_id, kind)
    ]


def official(s: Session, contact_id: int | None, role: str) -> Recipient | None:
    if contact_id is None:
        return None
    c = s.get(ContactRow, contact_id)
    if c is None or not c.active:
        return None
    return Recipient(c.id, c.name, c.language, tuple(c.addresses), role)


def order_zone(s: Session, person: str | None) -> str | None:
    """The time zone of the person's active order: messages give times in it."""
    if not person:
        return None
    from ronda.storage.orders import list_orders

    active = [o for o in list_orders(s, person=person, limit=50) if o.active]
    return active[0].timezone if active else None


def facts_of(s: Session, ev: EffectEvent, target_s: float, protected: Sequence[str] = ()) -> AlertFacts:
    zone = site_zone(s)
    zone_name = order_zone(s, ev.person) or zone.key
    happened_s = ev.start_s if ev.kind == "opened" else (ev.end_s or ev.start_s)
    pos = store.last_position(s, ev.person) if ev.type == "proximity" else None
    return AlertFacts(
        alert_id=ev.alert_id,
        event=ev.kind,
        type=ev.type,
        severity=ev.severity,
        time_text=local_text(happened_s, zone),
        wearer=store.person_name(s, ev.person) or (ev.device or ""),
        protected=", ".join(store.person_name(s, p) for p in protected),
        position="" if pos is None else f"{pos[0]:.5f}, {pos[1]:.5f}",
        target_s=target_s,
        time_s=happened_s,
        timezone=zone_name,
    )


class AlertsListener:
    """Timers and link-0 messages for every new alert; victim and police
    messages for proximity and device failures."""

    def __init__(
        self,
        db: DbEngine,
        policy: AlertPolicy,
        *,
        clock: Callable[[], float] = time.time,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.sessions: sessionmaker[Session] = sessions(db)
        self.policy = policy
        self.clock = clock
        self.on_queued = on_queued
        self.failures = 0

    def on_effects(self, events: Sequence[EffectEvent]) -> None:
        try:  # the whole batch in one transaction: one commit however many alerts
            with self.sessions.begin() as s:
                queued = sum(self.handle(s, ev) for ev in events)
        except Exception:  # then event by event, so one bad event holds back no other
            log.warning("alert batch of %d failed; retrying event by event", len(events), exc_info=True)
            queued = 0
            for ev in events:
                try:
                    with self.sessions.begin() as s:
                        queued += self.handle(s, ev)
                except Exception:
                    self.failures += 1
                    log.exception(
                        "alert %d (%s %s): notifications could not be queued", ev.alert_id, ev.type, ev.kind
                    )
        if queued and self.on_queued is not None:
            self.on_queued()

    def handle(self, s: Session, ev: EffectEvent) -> int:
        now = self.clock()
        policy = self.policy
        target = policy.target_s(Severity(ev.severity), ev.rule)
        out: list[Outgoing] = []
        victim_side = ev.person is not None and (ev.type == "proximity" or ev.type in DEVICE_FAILURES)
        protected: list[str] = []
        if victim_side and ev.person is not None:
            protected = store.protected_persons(s, ev.person, ev.rule if ev.type == "proximity" else None)
        facts: AlertFacts | None = None
        if ev.kind == "opened":
            agency = store.person_agency(s, ev.person)
            _, created = store.ensure_timer(s, ev.alert_id, agency_id=agency, target_s=target, created_s=now)
            chain = policy.chain(agency)
            if created and chain:
                facts = facts_of(s, ev, target, protected)
                out += link_messages(facts, chain[0], 0)
        if victim_side and ev.person is not None and (protected or ev.type == "proximity"):
            victims = [r for p in protected for r in recipients(s, p, "victim")]
            case = store.case_contacts(s, ev.person)
            police = official(s, case.police_contact_id if case else None, "police")
            out += protection_messages(facts or facts_of(s, ev, target, protected), victims, police, policy)
        return write(s, out, now_s=now, max_attempts=policy.max_attempts)
