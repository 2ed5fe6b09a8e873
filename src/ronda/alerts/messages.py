"""Messages to people, in their language, from template files.

Templates live in ``alerts/templates/<language>.toml`` (one table per message
kind, plus ``[words]``), so they can move to a translation catalogue later
without touching code. A language Ronda has no templates for falls back to
English; a regional tag (``es-MX``, ``pt_BR``) uses its base language.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from ronda.errors import RondaError

# Every language with a template file: a translator adds `fr.toml`, no code.
LANGUAGES: tuple[str, ...] = tuple(
    sorted(
        p.name.removesuffix(".toml")
        for p in resources.files("ronda.alerts").joinpath("templates").iterdir()
        if p.name.endswith(".toml")
    )
)
FALLBACK = "en"

KINDS: tuple[str, ...] = (
    "victim_proximity",
    "police_proximity",
    "victim_device_failure",
    "victim_device_restored",
    "staff_new_alert",
    "staff_escalation",
    "wearer_reminder",
)

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
    "failure",  # what went wrong with the device (a [words] entry)
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
    """The template language for a person's language tag."""
    base = (tag or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else FALLBACK


@functools.cache
def templates(language: str) -> dict[str, Any]:
    text = resources.files("ronda.alerts").joinpath("templates", f"{language}.toml").read_text("utf-8")
    return tomllib.loads(text)


def word(language: str, key: str) -> str:
    words: dict[str, str] = templates(language_of(language)).get("words", {})
    return words.get(key) or templates(FALLBACK)["words"].get(key, key)


def render(kind: str, language: str | None, values: dict[str, str]) -> Message:
    """The message `kind` in `language` (or English), with `values` filled in."""
    lang = language_of(language)
    table = templates(lang).get(kind) or templates(FALLBACK).get(kind)
    if table is None:
        raise UnknownMessage(f"no message template {kind!r}")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise UnknownMessage(f"unknown template fields {sorted(unknown)}")
    full = dict.fromkeys(FIELDS, "") | values
    subject = Template(str(table["subject"])).substitute(full).strip()
    body = Template(str(table["body"])).substitute(full).strip()
    return Message(kind, lang, subject, body)


def duration_text(seconds: float) -> str:
    """A response target as people say it: 45 s, 2 min, 1 h 30 min."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s // 3600} h" + (f" {(s % 3600) // 60} min" if s % 3600 >= 60 else "")
