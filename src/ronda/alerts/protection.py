"""Who hears of an alert, and what they are told: pure decisions.

The adapter gathers the facts (the alert, the people, their contacts and
consent) and writes what these functions return to the outbox, in one
transaction. Every message carries an idempotency key made of its cause and
its recipient's address: deciding again after a restart gives the same keys,
so nothing goes out twice.

- proximity opened: the protected person of the rule (with consent) and the
  case's police contact, at once, each in their own language;
- tamper, low battery, comms loss opened: every person the wearer must keep
  away from (with consent) is told they may not be warned; when it closes,
  that protection is back;
- any alert reaching a link of its escalation chain: that link's addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ronda.alerts.messages import Message, duration_text, render, word
from ronda.alerts.policy import DEVICE_FAILURES, AlertPolicy, ChainLink
from ronda.i18n.formatting import format_wall_clock
from ronda.i18n.vocabulary import label


@dataclass(frozen=True, slots=True)
class Recipient:
    contact_id: int | None
    name: str
    language: str
    addresses: tuple[str, ...]
    role: str  # victim, police, officer, wearer, or the chain link's name
    consent: bool = True  # victims and wearers: their latest consent; officials: always


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str
    kind: str
    alert_id: int | None
    recipient: Recipient
    address: str
    message: Message


@dataclass(frozen=True, slots=True)
class AlertFacts:
    alert_id: int
    event: str  # "opened" | "closed"
    type: str
    severity: str
    time_text: str  # when it happened, in local time
    wearer: str  # the monitored person's name (or id)
    protected: str = ""  # the protected person's name, for proximity
    position: str = ""  # last known position, "lat, lon"
    target_s: float = 0.0
    time_s: float | None = None  # when it happened: written in each recipient's language
    timezone: str = "UTC"  # the order's (else the site's) zone, named in the text

    def time_for(self, language: str) -> str:
        """When it happened, the recipient's way, in the order's zone with the zone shown."""
        if self.time_s is None:
            return self.time_text
        try:
            zone = ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        return format_wall_clock(self.time_s, zone, language, seconds=False)


def _words(facts: AlertFacts, language: str) -> dict[str, str]:
    """The alert's time, severity and type in the recipient's language."""
    return {
        "time": facts.time_for(language),
        "severity": label("alert_severity", facts.severity, language),
        "type": label("alert_type", facts.type, language),
    }


def _key(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{parts[0]}/{parts[1]}/{digest}"


def _each_address(kind: str, cause: str, alert_id: int | None, r: Recipient, msg: Message) -> list[Outgoing]:
    if not r.consent:
        return []
    who = r.contact_id if r.contact_id is not None else r.role
    return [Outgoing(_key(cause, kind, who, a), kind, alert_id, r, a, msg) for a in r.addresses]


def protection_messages(
    facts: AlertFacts, victims: Sequence[Recipient], police: Recipient | None, policy: AlertPolicy
) -> list[Outgoing]:
    """What the protected persons and the police are told about this alert event."""
    out: list[Outgoing] = []
    cause = f"alert-{facts.alert_id}"
    base = {
        "alert": str(facts.alert_id),
        "time": facts.time_text,
        "centre_phone": policy.centre_phone,
        "severity": facts.severity,
    }
    if facts.type == "proximity" and facts.event == "opened":
        for v in victims:
            msg = render(
                "victim_proximity", v.language, {**base, **_words(facts, v.language), "name": v.name}
            )
            out += _each_address("victim_proximity", cause, facts.alert_id, v, msg)
        if police is not None:
            position = facts.position or word(police.language, "unknown_position")
            values = {**base, **_words(facts, police.language), "name": police.name}
            values |= {"wearer": facts.wearer, "protected": facts.protected}
            msg = render("police_proximity", police.language, {**values, "position": position})
            out += _each_address("police_proximity", cause, facts.alert_id, police, msg)
    elif facts.type in DEVICE_FAILURES:
        kind = "victim_device_failure" if facts.event == "opened" else "victim_device_restored"
        for v in victims:
            values = {
                **base,
                **_words(facts, v.language),
                "name": v.name,
                "failure": word(v.language, facts.type),
            }
            out += _each_address(kind, cause, facts.alert_id, v, render(kind, v.language, values))
    return out


def link_messages(facts: AlertFacts, link: ChainLink, level: int) -> list[Outgoing]:
    """What a link of the escalation chain is told when the alert reaches it
    (level 0: a new alert; above: an escalation)."""
    kind = "staff_new_alert" if level == 0 else "staff_escalation"
    staff = Recipient(None, link.name, link.language, link.notify, link.name)
    values = {
        "alert": str(facts.alert_id),
        **_words(facts, staff.language),
        "wearer": facts.wearer,
        "target": duration_text(facts.target_s),
        "link": link.name,
    }
    msg = render(kind, staff.language, values)
    return _each_address(kind, f"alert-{facts.alert_id}-L{level}", facts.alert_id, staff, msg)


def reminder_messages(
    rule: str, start_s: float, start_text: str, wearer: Recipient, policy: AlertPolicy
) -> list[Outgoing]:
    """The wearer's reminder that a curfew (rule) starts at `start_s`."""
    values = {"name": wearer.name, "start": start_text, "centre_phone": policy.centre_phone}
    msg = render("wearer_reminder", wearer.language, values)
    return _each_address("wearer_reminder", f"curfew-{rule}-{start_s:.0f}", None, wearer, msg)
