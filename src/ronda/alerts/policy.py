"""The site's alert policy: severities, response targets, escalation chains,
operator protocols, reminder and pursuit timings.

Pure data, parsed from a plain mapping (the adapter reads it from a TOML file,
see docs/alerts.md). Every field has a default, so an empty mapping is a
working policy: the issue's severities, NIJ-style response targets, one
chain (operator → supervisor → on-call) with nobody to notify until the site
names its addresses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ronda.alerts.workflow import SEVERITY, Severity
from ronda.errors import RondaError

DEFAULT_TARGETS_S: dict[Severity, float] = {
    # NIJ-1004 asks that an active device's alert reach the centre within 4
    # minutes; a centre answers critical ones faster than that.
    Severity.CRITICAL: 120.0,
    Severity.HIGH: 240.0,
    Severity.MEDIUM: 900.0,
    Severity.LOW: 3600.0,
}

DEFAULT_AGENCY = "default"


class PolicyError(RondaError):
    """The alert policy configuration is wrong (says where)."""


@dataclass(frozen=True, slots=True)
class RuleOverride:
    severity: Severity | None = None
    target_s: float | None = None


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One link of an escalation chain: who hears of an alert that reached it."""

    name: str  # "operator", "supervisor", "on-call"
    notify: tuple[str, ...] = ()  # addresses: "email:x@y", "sms:+34...", "url:json://host/path"
    wait_s: float | None = None  # before the next link; None: the alert's response target
    language: str = "en"  # of the messages this link gets


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    label: str


STEP_LABELS: dict[str, str] = {
    "call_wearer": "Call the wearer",
    "call_victim": "Call the protected person",
    "dispatch_police": "Dispatch the police",
    "notify_officer": "Notify the supervising officer",
    "check_device": "Check the device's last report",
}

DEFAULT_PROTOCOLS: dict[str, tuple[str, ...]] = {
    "proximity": ("call_victim", "dispatch_police", "call_wearer", "notify_officer"),
    "exclusion": ("call_wearer", "dispatch_police", "notify_officer"),
    "inclusion": ("call_wearer", "notify_officer"),
    "tamper": ("call_wearer", "call_victim", "notify_officer"),
    "comms_loss": ("check_device", "call_wearer", "call_victim", "notify_officer"),
    "no_fix": ("check_device", "call_wearer"),
    "low_battery": ("call_wearer",),
}

DEFAULT_CHAIN: tuple[ChainLink, ...] = (
    ChainLink("operator"),
    ChainLink("supervisor"),
    ChainLink("on-call"),
)

# Episode types that leave a protected person unprotected: they are told.
DEVICE_FAILURES: frozenset[str] = frozenset({"tamper", "low_battery", "comms_loss"})
# Episode types that put the wearer's devices in pursuit mode.
PURSUIT_TYPES: frozenset[str] = frozenset({"proximity", "exclusion"})


class StepOutcome:
    """How a protocol step ended (free text is refused: reports count these)."""

    DONE = "done"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"
    NOT_APPLICABLE = "not_applicable"
    ALL: tuple[str, ...] = (DONE, NO_ANSWER, UNREACHABLE, DECLINED, NOT_APPLICABLE)


@dataclass(frozen=True)
class AlertPolicy:
    severities: dict[str, Severity] = field(default_factory=lambda: dict(SEVERITY))
    targets_s: dict[Severity, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS_S))
    rules: dict[str, RuleOverride] = field(default_factory=dict)
    chains: dict[str, tuple[ChainLink, ...]] = field(default_factory=lambda: {DEFAULT_AGENCY: DEFAULT_CHAIN})
    protocols: dict[str, tuple[Step, ...]] = field(
        default_factory=lambda: {t: _steps(ids) for t, ids in DEFAULT_PROTOCOLS.items()}
    )
    reminder_lead_s: float = 1800.0  # wearer told this long before a curfew starts
    pursuit_interval_s: int = 15  # report interval asked of devices in pursuit
    normal_interval_s: int = 60  # restored when the device states none of its own
    max_attempts: int = 8  # a notification is given up after this many tries
    centre_phone: str = ""  # printed in messages to victims and wearers

    def severity(self, episode_type: str, rule: str | None = None) -> Severity:
        override = self.rules.get(rule) if rule is not None else None
        if override is not None and override.severity is not None:
            return override.severity
        return self.severities.get(episode_type, Severity.MEDIUM)

    def target_s(self, severity: Severity, rule: str | None = None) -> float:
        override = self.rules.get(rule) if rule is not None else None
        if override is not None and override.target_s is not None:
            return override.target_s
        return self.targets_s[severity]

    def chain(self, agency: str | None) -> tuple[ChainLink, ...]:
        if agency is not None and agency in self.chains:
            return self.chains[agency]
        return self.chains.get(DEFAULT_AGENCY, DEFAULT_CHAIN)

    def protocol(self, episode_type: str) -> tuple[Step, ...]:
        return self.protocols.get(episode_type, ())


def _steps(ids: tuple[str, ...] | list[str]) -> tuple[Step, ...]:
    return tuple(Step(i, STEP_LABELS.get(i, i.replace("_", " ").capitalize())) for i in ids)


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise PolicyError(
            "{where}: {value} is not a severity ({allowed})", where=where, value=repr(value), allowed=allowed
        ) from None


def _seconds(value: Any, where: str) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise PolicyError(
            "{where}: expected a positive number of seconds, got {value}", where=where, value=repr(value)
        )
    return float(value)


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError("{where}: expected a table", where=where)
    return value


KNOWN_KEYS = frozenset(
    {
        "severity",
        "targets_s",
        "rules",
        "chains",
        "protocols",
        "reminder_lead_s",
        "pursuit_interval_s",
        "normal_interval_s",
        "max_attempts",
        "centre_phone",
    }
)


def parse_policy(raw: Mapping[str, Any]) -> AlertPolicy:
    """The policy from the ``[alerts]`` table of the configuration; unknown keys are refused."""
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise PolicyError(
            "alerts: unknown keys {keys} (known: {known})",
            keys=str(sorted(unknown)),
            known=str(sorted(KNOWN_KEYS)),
        )
    base = AlertPolicy()
    severities = dict(base.severities)
    for kind, v in _table(raw.get("severity", {}), "alerts.severity").items():
        severities[kind] = _severity(v, f"alerts.severity.{kind}")
    targets = dict(base.targets_s)
    for k, v in _table(raw.get("targets_s", {}), "alerts.targets_s").items():
        targets[_severity(k, "alerts.targets_s")] = _seconds(v, f"alerts.targets_s.{k}")
    rules: dict[str, RuleOverride] = {}
    for rule, v in _table(raw.get("rules", {}), "alerts.rules").items():
        t = _table(v, f"alerts.rules.{rule}")
        bad = set(t) - {"severity", "target_s"}
        if bad:
            raise PolicyError(
                "{where}: unknown keys {keys}", where=f"alerts.rules.{rule}", keys=str(sorted(bad))
            )
        rules[rule] = RuleOverride(
            _severity(t["severity"], f"alerts.rules.{rule}.severity") if "severity" in t else None,
            _seconds(t["target_s"], f"alerts.rules.{rule}.target_s") if "target_s" in t else None,
        )
    chains = dict(base.chains)
    for agency, links in _table(raw.get("chains", {}), "alerts.chains").items():
        if not isinstance(links, list) or not links:
            raise PolicyError("{where}: expected a non-empty list of links", where=f"alerts.chains.{agency}")
        parsed: list[ChainLink] = []
        for i, link in enumerate(links):
            t = _table(link, f"alerts.chains.{agency}[{i}]")
            notify = t.get("notify", [])
            if not isinstance(notify, list) or not all(isinstance(a, str) and ":" in a for a in notify):
                raise PolicyError(
                    "{where}: expected addresses like 'email:x@y'",
                    where=f"alerts.chains.{agency}[{i}].notify",
                )
            bad = set(t) - {"name", "notify", "wait_s", "language"}
            if bad:
                raise PolicyError(
                    "{where}: unknown keys {keys}",
                    where=f"alerts.chains.{agency}[{i}]",
                    keys=str(sorted(bad)),
                )
            wait = t.get("wait_s")
            parsed.append(
                ChainLink(
                    str(t.get("name", f"link {i + 1}")),
                    tuple(notify),
                    None if wait is None else _seconds(wait, f"alerts.chains.{agency}[{i}].wait_s"),
                    str(t.get("language", "en")),
                )
            )
        chains[agency] = tuple(parsed)
    protocols = dict(base.protocols)
    for kind, ids in _table(raw.get("protocols", {}), "alerts.protocols").items():
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise PolicyError("{where}: expected a list of step names", where=f"alerts.protocols.{kind}")
        protocols[kind] = _steps(ids)
    attempts = raw.get("max_attempts", base.max_attempts)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise PolicyError(
            "{where}: expected a positive integer, got {value}",
            where="alerts.max_attempts",
            value=repr(attempts),
        )
    return AlertPolicy(
        severities=severities,
        targets_s=targets,
        rules=rules,
        chains=chains,
        protocols=protocols,
        reminder_lead_s=_seconds(raw.get("reminder_lead_s", base.reminder_lead_s), "alerts.reminder_lead_s"),
        pursuit_interval_s=int(
            _seconds(raw.get("pursuit_interval_s", base.pursuit_interval_s), "alerts.pursuit_interval_s")
        ),
        normal_interval_s=int(
            _seconds(raw.get("normal_interval_s", base.normal_interval_s), "alerts.normal_interval_s")
        ),
        max_attempts=attempts,
        centre_phone=str(raw.get("centre_phone", "")),
    )


def retry_delay_s(attempts: int, base_s: float = 5.0, cap_s: float = 900.0) -> float:
    """Backoff before the next try of a notification that failed `attempts`
    times: 5 s, 10 s, 20 s ... up to 15 min."""
    return float(min(cap_s, base_s * 2 ** max(0, attempts - 1)))
