"""Catalog loading and lookup.

Catalogs are read from the `.po` files themselves (compiled in memory once per
process), so a translator's edit shows after a restart with no build step; a
`.mo` produced by `pybabel compile` is used when it is newer than its `.po`.
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "ronda"
LANGUAGES: tuple[str, ...] = ("en", "es", "pt")
"""Languages Ronda ships complete; English is the source language of every msgid."""
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)(?:[:!][^{}]*)?\}(?!\})")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (it is
    translated later, in the reader's language)."""
    return message


def normalize(language: str | None) -> str:
    """`pt-BR`, `es_CL`, `ES` → a shipped language; anything else → the default."""
    if not language:
        return DEFAULT_LANGUAGE
    base = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The best shipped language for an HTTP `Accept-Language` header."""
    return best_accepted(accept_language) or normalize(default)


def best_accepted(accept_language: str | None) -> str | None:
    """The shipped language the header prefers most, or None when it names none."""
    if not accept_language:
        return None
    wanted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            wanted.append((quality, tag))
    for _, tag in sorted(wanted, key=lambda qt: -qt[0]):
        base = re.split(r"[-_]", tag.lower(), maxsplit=1)[0]
        if base in LANGUAGES:
            return base
    return None


UNSET = frozenset({"", "auto"})
"""A user's language that says "not chosen": the agency's, then the browser's, apply."""


def choose_language(user: str | None, agency: str | None, accept_language: str | None) -> tuple[str, str]:
    """The language a person is served in, and why: `(lang, "user")` when they
    chose one Ronda ships, else the agency's default, else the browser's
    (`Accept-Language`), else English."""
    for value, source in ((user, "user"), (agency, "agency")):
        if value and value.strip().lower() not in UNSET:
            base = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
            if base in LANGUAGES:
                return base, source
    browser = best_accepted(accept_language)
    if browser is not None:
        return browser, "browser"
    return DEFAULT_LANGUAGE, "default"


def _catalog_path(language: str, suffix: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.{suffix}"


@cache
def _translations(language: str) -> _gettext.NullTranslations:
    po, mo = _catalog_path(language, "po"), _catalog_path(language, "mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def _fill(text: str, values: dict[str, object]) -> str:
    """Placeholders are `str.format` fields (`{zone}`), named so that a
    translation may reorder them; literal braces are doubled (`{{`)."""
    return text.format(**values) if values else text


def lookup(language: str | None, message: str) -> str:
    """`message` in `language` as the catalog has it, placeholders unfilled
    (for callers that fill them themselves, like the court report's `Words`)."""
    return _translations(normalize(language)).gettext(message)


def gettext(language: str | None, message: str, **values: object) -> str:
    """`message` in `language`, with `{name}` placeholders filled from `values`."""
    return _fill(_translations(normalize(language)).gettext(message), values)


def ngettext(language: str | None, singular: str, plural: str, n: int, **values: object) -> str:
    """The plural form for `n` (placeholders may use `{n}`)."""
    text = _translations(normalize(language)).ngettext(singular, plural, n)
    return _fill(text, {"n": n, **values})


@dataclass(frozen=True, slots=True)
class Translator:
    """Strings in one reader's language: `tr = translator("es"); tr("Curfew")` (name it
    `tr`: `tr` is an extraction keyword, so the literal reaches the catalogs)."""

    language: str

    def __call__(self, message: str, **values: object) -> str:
        return gettext(self.language, message, **values)

    def gettext(self, message: str, **values: object) -> str:
        return gettext(self.language, message, **values)

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        return ngettext(self.language, singular, plural, n, **values)

    @property
    def locale(self) -> Locale:
        try:
            return Locale.parse(self.language)
        except (UnknownLocaleError, ValueError):
            return Locale.parse(DEFAULT_LANGUAGE)


def translator(language: str | None) -> Translator:
    return Translator(normalize(language))


def messages_for(language: str | None) -> dict[str, str]:
    """Every translated message of a language (msgid → text), for the web app.
    Untranslated and fuzzy entries are left out: the app falls back to the msgid."""
    lang = normalize(language)
    po = _catalog_path(lang, "po")
    if not po.exists():
        return {}
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out: dict[str, str] = {}
    for message in catalog:
        translated = isinstance(message.string, str) and message.string and not message.fuzzy
        if message.id and isinstance(message.id, str) and translated:
            out[message.id] = str(message.string)
    return out


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a message (a translation must keep the same set)."""
    return set(_PLACEHOLDER.findall(text))
