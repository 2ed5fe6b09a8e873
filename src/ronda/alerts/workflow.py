"""An alert's life: one transition table, severities, outcomes.

An alert is the monitoring centre's work item about one episode. Its status
moves only along `TRANSITIONS`; anything else is refused (and says why).
"""

from __future__ import annotations

from enum import StrEnum

from ronda.errors import RondaError


class AlertStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    NOTE = "note"
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

TRANSITIONS: dict[tuple[AlertStatus, AlertAction], AlertStatus] = {
    (S.NEW, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.NEW, A.ASSIGN): S.NEW,
    (S.NEW, A.NOTE): S.NEW,
    (S.NEW, A.RESOLVE): S.RESOLVED,
    (S.ACKNOWLEDGED, A.ASSIGN): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.NOTE): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.NOTE): S.RESOLVED,
    (S.RESOLVED, A.REOPEN): S.ACKNOWLEDGED,
}
"""(status, action) -> new status. A pair not in the table is refused."""

SEVERITY: dict[str, Severity] = {
    "proximity": Severity.CRITICAL,
    "exclusion": Severity.HIGH,
    "tamper": Severity.HIGH,
    "inclusion": Severity.HIGH,
    "comms_loss": Severity.MEDIUM,
    "no_fix": Severity.LOW,
    "low_battery": Severity.LOW,
}


class TransitionRefused(RondaError):
    def __init__(self, status: AlertStatus, action: AlertAction) -> None:
        self.status, self.action = status, action
        super().__init__(f"cannot {action.value} an alert that is {status.value}")


def next_status(status: AlertStatus, action: AlertAction) -> AlertStatus:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise TransitionRefused(status, action) from None


def severity_of(episode_type: str) -> Severity:
    return SEVERITY.get(episode_type, Severity.MEDIUM)
