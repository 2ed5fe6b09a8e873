"""An alert's life: one transition table, severities, outcomes.

An alert is the monitoring centre's work item about one episode. Its status
moves only along `TRANSITIONS`; anything else is refused (and says why).

    new ──assign──▶ assigned ──acknowledge──▶ acknowledged ──resolve──▶ resolved
     │                 │                          ▲   │                   │
     └──escalate──▶ escalated ──acknowledge───────┘   └──escalate─▶ …     └─reopen─▶ acknowledged

`new` is what the issue calls "open". An alert nobody acknowledged within its
response target is escalated by the system (actor ``system:escalation``);
an operator may also escalate one by hand (to hand it up). Notes and protocol
steps never change the status, and every move, including those that keep the
status, is recorded with who and when by the storage layer.
"""

from __future__ import annotations

from enum import StrEnum

from ronda.errors import RondaError, Term
from ronda.i18n.catalog import N_


class AlertStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    ESCALATE = "escalate"
    NOTE = "note"
    STEP = "step"  # a protocol step ticked off with its outcome
    RESOLVE = "resolve"
    REOPEN = "reopen"


class Outcome(StrEnum):
    VIOLATION_CONFIRMED = "violation_confirmed"
    FALSE_ALARM = "false_alarm"
    TECHNICAL_ISSUE = "technical_issue"
    AUTHORISED = "authorised"
    OTHER = "other"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


S, A = AlertStatus, AlertAction

# Statuses in which nobody has taken the alert on yet: its response clock runs.
UNACKNOWLEDGED: frozenset[AlertStatus] = frozenset({S.NEW, S.ASSIGNED, S.ESCALATED})

TRANSITIONS: dict[tuple[AlertStatus, AlertAction], AlertStatus] = {
    (S.NEW, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.NEW, A.ASSIGN): S.ASSIGNED,
    (S.NEW, A.ESCALATE): S.ESCALATED,
    (S.NEW, A.NOTE): S.NEW,
    (S.NEW, A.STEP): S.NEW,
    (S.NEW, A.RESOLVE): S.RESOLVED,
    (S.ASSIGNED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ASSIGNED, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.ESCALATE): S.ESCALATED,
    (S.ASSIGNED, A.NOTE): S.ASSIGNED,
    (S.ASSIGNED, A.STEP): S.ASSIGNED,
    (S.ASSIGNED, A.RESOLVE): S.RESOLVED,
    (S.ESCALATED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ESCALATED, A.ASSIGN): S.ESCALATED,  # handed to someone, still escalated until taken on
    (S.ESCALATED, A.ESCALATE): S.ESCALATED,  # the next link of the chain
    (S.ESCALATED, A.NOTE): S.ESCALATED,
    (S.ESCALATED, A.STEP): S.ESCALATED,
    (S.ESCALATED, A.RESOLVE): S.RESOLVED,
    (S.ACKNOWLEDGED, A.ASSIGN): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.ESCALATE): S.ESCALATED,  # an operator hands it up by hand
    (S.ACKNOWLEDGED, A.NOTE): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.STEP): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.NOTE): S.RESOLVED,
    (S.RESOLVED, A.REOPEN): S.ACKNOWLEDGED,
}
"""(status, action) -> new status. A pair not in the table is refused."""

SEVERITY: dict[str, Severity] = {
    "proximity": Severity.CRITICAL,
    "tamper": Severity.CRITICAL,
    "exclusion": Severity.HIGH,
    "inclusion": Severity.HIGH,  # curfew: the wearer must be at home
    "comms_loss": Severity.MEDIUM,
    "no_fix": Severity.MEDIUM,
    "low_battery": Severity.LOW,
    # prisons (ronda.facility)
    "duress": Severity.CRITICAL,  # an officer's or inmate's alarm
    "keep_separate": Severity.CRITICAL,  # rivals in the same place
    "no_sighting": Severity.HIGH,
    "out_of_bounds": Severity.HIGH,
    "band_removed": Severity.HIGH,
    "band_tamper": Severity.HIGH,
    "feed_loss": Severity.HIGH,
    "reader_offline": Severity.MEDIUM,
}
"""Default severity per episode type (the site's policy may override it per type
and per rule, `[alerts.severity]` in alerts.toml)."""


class TransitionRefused(RondaError):
    def __init__(self, status: AlertStatus, action: AlertAction) -> None:
        self.status, self.action = status, action
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == status)
        # The action is an API code (`acknowledge`), shown as it is; the status
        # is a word of the vocabulary (`alert_status`), said in the reader's language.
        super().__init__(
            N_("cannot {action} an alert that is {status} (allowed: {allowed})"),
            action=action.value,
            status=Term(status.value),
            allowed=", ".join(allowed) or Term(N_("nothing")),
        )


def next_status(status: AlertStatus, action: AlertAction) -> AlertStatus:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise TransitionRefused(status, action) from None


def allowed_actions(status: AlertStatus) -> list[AlertAction]:
    """What may be done to an alert in `status` (for the UI's buttons)."""
    return [a for a in AlertAction if (status, a) in TRANSITIONS]


def severity_of(episode_type: str) -> Severity:
    return SEVERITY.get(episode_type, Severity.MEDIUM)
