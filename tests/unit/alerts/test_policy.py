"""The alert policy: the issue's defaults, per-type and per-rule overrides,
chains per agency, protocols, and clear errors for a wrong configuration."""

from __future__ import annotations

import tomllib

import pytest

from ronda.alerts.policy import DEFAULT_AGENCY, AlertPolicy, PolicyError, parse_policy, retry_delay_s
from ronda.alerts.workflow import Severity


def test_defaults_are_the_issues() -> None:
    p = AlertPolicy()
    expected = {
        "proximity": "critical",
        "tamper": "critical",
        "exclusion": "high",
        "inclusion": "high",  # curfew
        "comms_loss": "medium",
        "no_fix": "medium",
        "low_battery": "low",
    }
    assert {k: p.severity(k).value for k in expected} == expected
    assert p.target_s(Severity.HIGH) == 240.0  # NIJ-1004: four minutes
    assert p.target_s(Severity.CRITICAL) < p.target_s(Severity.HIGH) < p.target_s(Severity.LOW)
    assert [link.name for link in p.chain("any agency")] == ["operator", "supervisor", "on-call"]
    assert [s.id for s in p.protocol("proximity")] == [
        "call_victim",
        "dispatch_police",
        "call_wearer",
        "notify_officer",
    ]


EXAMPLE = """
[alerts]
centre_phone = "+34 900 000 000"
reminder_lead_s = 900
[alerts.severity]
no_fix = "low"
[alerts.targets_s]
critical = 60
[alerts.rules.r-home]
severity = "critical"
target_s = 30
[[alerts.chains.north]]
name = "operator"
notify = ["email:desk@north.example"]
[[alerts.chains.north]]
name = "supervisor"
notify = ["email:sup@north.example", "sms:+34600000001"]
wait_s = 300
[alerts.protocols]
low_battery = ["call_wearer", "check_device"]
"""


def test_a_configuration_overrides_per_type_rule_and_agency() -> None:
    p = parse_policy(tomllib.loads(EXAMPLE)["alerts"])
    assert p.severity("no_fix") is Severity.LOW
    assert p.severity("exclusion", "r-home") is Severity.CRITICAL  # the rule wins over its type
    assert p.severity("exclusion", "r-other") is Severity.HIGH
    assert p.target_s(Severity.CRITICAL) == 60.0 and p.target_s(Severity.HIGH, "r-home") == 30.0
    north = p.chain("north")
    assert [(link.name, link.notify, link.wait_s) for link in north] == [
        ("operator", ("email:desk@north.example",), None),
        ("supervisor", ("email:sup@north.example", "sms:+34600000001"), 300.0),
    ]
    assert p.chain("south") == p.chain(DEFAULT_AGENCY)  # agencies without a chain use the default
    assert [s.id for s in p.protocol("low_battery")] == ["call_wearer", "check_device"]
    assert p.reminder_lead_s == 900.0 and p.centre_phone == "+34 900 000 000"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"severity": {"tamper": "urgent"}}, "alerts.severity.tamper: 'urgent' is not a severity"),
        ({"targets_s": {"high": -5}}, "alerts.targets_s.high: expected a positive number"),
        ({"targets_s": {"high": True}}, "alerts.targets_s.high: expected a positive number"),
        ({"rules": {"r1": {"colour": "red"}}}, "alerts.rules.r1: unknown keys ['colour']"),
        ({"chains": {"a": []}}, "alerts.chains.a: expected a non-empty list"),
        ({"chains": {"a": [{"notify": ["desk@x"]}]}}, "alerts.chains.a[0].notify"),
        ({"protocols": {"tamper": "call"}}, "alerts.protocols.tamper: expected a list"),
        ({"max_attempts": 0}, "alerts.max_attempts"),
        ({"sevrity": {}}, "unknown keys ['sevrity']"),
    ],
)
def test_a_wrong_configuration_says_where(raw: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(raw)


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay_s(n) for n in range(1, 12)]
    assert delays[:4] == [5.0, 10.0, 20.0, 40.0]
    assert delays == sorted(delays) and delays[-1] == 900.0


def test_prison_alerts_take_their_severity_from_the_same_policy() -> None:
    """Duress and keep-separate are critical by default; a site may raise a
    silent reader to high in alerts.toml like any other alert type."""
    from ronda.pipeline.prison import _severity

    default = AlertPolicy()
    assert default.severity("duress") == default.severity("keep_separate") == Severity.CRITICAL
    assert default.severity("reader_offline") == Severity.MEDIUM
    site = parse_policy(tomllib.loads('[alerts.severity]\nreader_offline = "high"\n')["alerts"])
    assert site.severity("reader_offline") == Severity.HIGH
    assert _severity("reader_offline", None, lambda kind, rule: site.severity(kind, rule).value) == "high"
    assert _severity("no_sighting", None, None) == "high"  # no policy loaded: the defaults
