"""Message templates: every kind in every language renders with no field
left unfilled; the language falls back sensibly; protection decisions
respect consent and give stable idempotency keys."""

from __future__ import annotations

import re

import pytest

from ronda.alerts.messages import FIELDS, KINDS, LANGUAGES, TEMPLATES, language_of, render
from ronda.alerts.policy import AlertPolicy, ChainLink
from ronda.alerts.protection import AlertFacts, Recipient, link_messages, protection_messages


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_template_renders_fully(language: str, kind: str) -> None:
    msg = render(kind, language, {f: f"<{f}>" for f in FIELDS})
    assert msg.language == language and msg.subject and msg.body
    assert not re.search(r"\{\w+\}", msg.subject + msg.body)  # nothing left as {field}
    used = {f for f in FIELDS if f"<{f}>" in msg.subject + msg.body}
    english = "".join(TEMPLATES[kind])
    assert used == {f for f in FIELDS if "{" + f + "}" in english}  # every field the English uses, no fewer
    assert len(msg.subject) <= 300


def test_a_broken_translation_still_warns_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """A translator's slip (a renamed field) must not stop a victim's warning."""
    import ronda.alerts.messages as messages

    real = messages.lookup
    monkeypatch.setattr(
        messages,
        "lookup",
        lambda lang, text: (
            "{nombre}, peligro" if text == TEMPLATES["victim_proximity"][1] else real(lang, text)
        ),
    )
    msg = render("victim_proximity", "es", {"name": "Ana", "time": "22:10", "alert": "7"})
    assert msg.body.startswith("Ana, the person your protection order covers is close to you (22:10)")


def test_languages_fall_back_to_their_base_then_english() -> None:
    assert [language_of(t) for t in ("es-MX", "pt_BR", "PT", "fr", None, "")] == [
        "es",
        "pt",
        "pt",
        "en",
        "en",
        "en",
    ]


FACTS = AlertFacts(
    7, "opened", "proximity", "critical", "2026-11-29 22:10 CET", "Bruno", "Ana", "40.41680, -3.70380"
)
ANA = Recipient(1, "Ana", "es", ("sms:+34600000001", "email:ana@example.org"), "victim", consent=True)
POLICE = Recipient(2, "Comisaría Centro", "pt", ("url:json://127.0.0.1/hook",), "police")


def test_a_proximity_warns_the_victim_and_the_police_in_their_languages() -> None:
    out = protection_messages(FACTS, [ANA], POLICE, AlertPolicy(centre_phone="112"))
    by_kind = {(o.kind, o.address): o for o in out}
    assert set(by_kind) == {
        ("victim_proximity", "sms:+34600000001"),
        ("victim_proximity", "email:ana@example.org"),
        ("police_proximity", "url:json://127.0.0.1/hook"),
    }
    victim = by_kind[("victim_proximity", "sms:+34600000001")].message
    assert victim.language == "es" and "Ana" in victim.body and "lugar seguro" in victim.body
    assert "Bruno" not in victim.body  # the victim's message names nobody else
    police = by_kind[("police_proximity", "url:json://127.0.0.1/hook")].message
    assert police.language == "pt" and "Bruno" in police.body and "Ana" in police.body
    assert "40.41680, -3.70380" in police.body and "#7" in police.subject
    # deciding again gives the same keys (a replay queues nothing twice); keys differ per address
    again = protection_messages(FACTS, [ANA], POLICE, AlertPolicy(centre_phone="112"))
    assert [o.key for o in again] == [o.key for o in out] and len({o.key for o in out}) == 3


def test_no_consent_no_message_and_device_failures_warn_victims_only() -> None:
    withdrawn = Recipient(1, "Ana", "es", ("sms:+34600000001",), "victim", consent=False)
    assert all(
        o.recipient.role == "police" for o in protection_messages(FACTS, [withdrawn], POLICE, AlertPolicy())
    )
    tamper = AlertFacts(8, "opened", "tamper", "critical", "22:10", "Bruno")
    out = protection_messages(tamper, [ANA], POLICE, AlertPolicy())
    assert {o.kind for o in out} == {"victim_device_failure"}
    assert "manipulado" in out[0].message.body
    back = protection_messages(
        AlertFacts(8, "closed", "tamper", "critical", "23:00", "Bruno"), [ANA], POLICE, AlertPolicy()
    )
    assert {o.kind for o in back} == {"victim_device_restored"}
    assert not protection_messages(
        AlertFacts(9, "opened", "exclusion", "high", "x", "Bruno"), [ANA], POLICE, AlertPolicy()
    )


def test_each_link_of_a_chain_is_told_once_per_level() -> None:
    link = ChainLink("supervisor", ("email:sup@centre.example",))
    first = link_messages(FACTS, link, 1)
    assert [o.kind for o in first] == ["staff_escalation"] and "ESCALATED" in first[0].message.subject
    assert first[0].key != link_messages(FACTS, link, 2)[0].key
    assert link_messages(FACTS, link, 1)[0].key == first[0].key
