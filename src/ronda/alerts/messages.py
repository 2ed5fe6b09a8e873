"""Messages to people (victims, wearers, the police, staff) in their language.

Each message kind is a subject and a body written in English with `{field}`
placeholders and translated through the same gettext catalogs as the rest of
Ronda (`src/ronda/locale/<lang>/LC_MESSAGES/ronda.po`): a translator or a
monitoring centre rewords them in a PO editor, without touching code, and the
catalog test checks every language keeps the fields. The English catalog
repeats each text, so English wording can be changed there too.

A person's language tag (`es-MX`, `pt_BR`) uses its base language; a language
Ronda does not ship is written to in English. A warning must go out even when
a translation is broken: a translation that names a field the code does not
give is replaced by the English text, never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ronda.errors import RondaError, fill
from ronda.i18n.catalog import LANGUAGES, N_, lookup, normalize

log = logging.getLogger(__name__)

FALLBACK = "en"

TEMPLATES: dict[str, tuple[str, str]] = {
    # kind: (subject, body). Keep them short: many go out as SMS.
    "victim_proximity": (
        N_("Ronda: safety alert"),
        N_(
            "{name}, the person your protection order covers is close to you ({time}). Go to a safe "
            "place now. The police have been told. If you are in danger, call the emergency number. "
            "Monitoring centre: {centre_phone}. Ref. {alert}"
        ),
    ),
    "police_proximity": (
        N_("Ronda: proximity alert #{alert}, protection order breached"),
        N_(
            "Proximity alert #{alert} at {time}: {wearer} is within the exclusion distance of "
            "{protected}. Last position: {position}. Severity: {severity}. Please dispatch. "
            "Monitoring centre: {centre_phone}."
        ),
    ),
    "victim_device_failure": (
        N_("Ronda: you may not be warned"),
        N_(
            "{name}, since {time} {failure}, so Ronda may not warn you if the person your order "
            "covers comes close. Take extra care until we tell you it works again. "
            "Monitoring centre: {centre_phone}. Ref. {alert}"
        ),
    ),
    "victim_device_restored": (
        N_("Ronda: monitoring restored"),
        N_(
            "{name}, the device of the person your order covers works again ({time}). Ronda will "
            "warn you again of any approach. Ref. {alert}"
        ),
    ),
    "staff_new_alert": (
        N_("Ronda: new {severity} {type} alert #{alert}"),
        N_(
            "New {severity} alert #{alert} ({type}) for {wearer} at {time}. Respond within {target}. "
            "Link: {link}."
        ),
    ),
    "staff_escalation": (
        N_("Ronda: ESCALATED {severity} {type} alert #{alert}"),
        N_(
            "Alert #{alert} ({type}, {severity}) for {wearer} raised at {time} has not been "
            "acknowledged within its target of {target}. It is escalated to you ({link})."
        ),
    ),
    "wearer_reminder": (
        N_("Ronda: your curfew starts at {start}"),
        N_(
            "{name}, reminder: your curfew starts at {start}. Be at home by then. "
            "Monitoring centre: {centre_phone}."
        ),
    ),
}
KINDS: tuple[str, ...] = tuple(TEMPLATES)

WORDS: dict[str, str] = {
    # What went wrong with a device, as `{failure}` in a victim's message.
    "tamper": N_("the device was tampered with"),
    "low_battery": N_("the device's battery is running out"),
    "comms_loss": N_("the device stopped reporting"),
    "no_fix": N_("the device cannot find its position"),
    # `{position}` when the wearer's last position is not known.
    "unknown_position": N_("not known"),
}

FIELDS: tuple[str, ...] = (
    "name",  # the recipient
    "wearer",  # the monitored person
    "protected",  # the protected person
    "time",  # local time of the event
    "start",  # local time of a curfew's start
    "alert",  # alert number
    "type",
    "severity",
    "target",  # response target, e.g. "2 min"
    "link",  # escalation link name
    "position",
    "failure",  # what went wrong with the device (one of WORDS)
    "centre_phone",
)


class UnknownMessage(RondaError):
    pass


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    language: str
    subject: str
    body: str


def language_of(tag: str | None) -> str:
    """The language a person with this tag is written to."""
    return normalize(tag) if tag else FALLBACK


def word(language: str, key: str) -> str:
    return lookup(language_of(language), WORDS[key]) if key in WORDS else key


def _text(language: str, template: str, values: dict[str, str]) -> str:
    try:
        return fill(lookup(language, template), values).strip()
    except (KeyError, IndexError, ValueError):
        log.error("the %s translation of %r is broken; sent in English", language, template[:60])
        return fill(template, values).strip()


def render(kind: str, language: str | None, values: dict[str, str]) -> Message:
    """The message `kind` in `language` (or English), with `values` filled in."""
    if kind not in TEMPLATES:
        raise UnknownMessage("no message template {kind}", kind=repr(kind))
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise UnknownMessage("unknown template fields {fields}", fields=sorted(unknown))
    lang = language_of(language)
    full = dict.fromkeys(FIELDS, "") | values
    subject, body = TEMPLATES[kind]
    return Message(kind, lang, _text(lang, subject, full), _text(lang, body, full))


def duration_text(seconds: float) -> str:
    """A response target as people say it: 45 s, 2 min, 1 h 30 min."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s // 3600} h" + (f" {(s % 3600) // 60} min" if s % 3600 >= 60 else "")


__all__ = ["FIELDS", "KINDS", "LANGUAGES", "TEMPLATES", "WORDS", "Message", "language_of", "render", "word"]
