"""The configuration example of docs/alerts.md is a configuration Ronda accepts
and means what the page says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ronda.alerts.workflow import TRANSITIONS, AlertAction, AlertStatus, Severity
from ronda.notify.channels import apprise_url
from ronda.notify.config import parse_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerts.md"


def test_the_documented_configuration_parses_and_applies() -> None:
    text = DOC.read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    cfg = parse_config(tomllib.loads(block), "docs/alerts.md")
    p = cfg.policy
    assert p.severity("no_fix") is Severity.LOW and p.target_s(Severity.CRITICAL) == 90.0
    assert (
        p.severity("exclusion", "r-home-ana") is Severity.CRITICAL
        and p.target_s(Severity.HIGH, "r-home-ana") == 60
    )
    assert [link.name for link in p.chain("north")] == ["operator", "duty officer"]
    assert [link.language for link in p.chain("north")] == ["en", "es"]
    assert [link.name for link in p.chain("south")] == ["operator", "supervisor", "on-call"]
    assert p.chain("default")[2].wait_s == 600.0
    assert [s.id for s in p.protocol("tamper")] == [
        "call_wearer",
        "call_victim",
        "dispatch_police",
        "notify_officer",
    ]
    url = apprise_url("email:ana@example.org", cfg.channels, "k/1")
    assert url.startswith("mailtos://ronda:SECRET@smtp.centre.example:465?") and "to=ana@example.org" in url
    assert url.endswith("+X-Ronda-Idempotency-Key=k%2F1")
    assert (
        apprise_url("sms:+34600000009", cfg.channels)
        == "twilio://ACCOUNT_SID:AUTH_TOKEN@+34900000000/+34600000009"
    )
    assert (cfg.lease_s, cfg.batch, cfg.enabled) == (60.0, 20, True)


def test_the_documented_transition_table_is_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| status \\ action"))
    actions = [AlertAction(c.strip()) for c in header.strip("|").split("|")[1:]]
    rows = [line for line in text.splitlines() if re.match(r"\| \*\*\w+\*\*", line)]
    seen = 0
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        status = AlertStatus(cells[0].split("**")[1])
        for action, cell in zip(actions, cells[1:], strict=True):
            expected = TRANSITIONS.get((status, action))
            assert (cell == "—") == (expected is None), (status, action)
            if expected is not None:
                assert cell == expected.value, (status, action)
                seen += 1
    assert seen == len(TRANSITIONS)
