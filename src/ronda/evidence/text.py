"""Every user-facing string of reports and bundles goes through one function.

The message id *is* the English text (the gettext convention of
docs/translating.md), written in the code where it is used: `tr("Must not
enter {zone}", zone=...)`. A `Words` object carries the language; for `en`
it returns the text as written, for another language it asks the translator
registered for it with `register`, else Ronda's gettext catalogs
(`ronda.i18n`, src/ronda/locale), falling back to English for anything not
translated. Strings held in tables are marked with `msg`; `tr` and `msg` are
extraction keywords (`ronda.i18n.extract.KEYWORDS`), so `scripts/i18n`
brings every one of them into the catalogs. Values are named
`str.format` fields, so translators can reorder them. Dates are formatted
here too, always with their time zone shown.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from ronda.types import EpochS

_TRANSLATORS: dict[str, Callable[[str], str]] = {}


def register(lang: str, gettext: Callable[[str], str]) -> None:
    """Use `gettext` (message id -> translated text) for `lang`."""
    _TRANSLATORS[lang] = gettext


def msg(message: str) -> str:
    """Mark a string held in a table as a message, translated where it is shown."""
    return message


class Words:
    """Translates and fills in messages for one language."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self._gettext = _TRANSLATORS.get(lang) or _catalog(lang)

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._gettext(message) if self._gettext is not None else message
        if not text:
            text = message
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation: never lose the English
            return message.format(**values)


def _catalog(lang: str) -> Callable[[str], str] | None:
    """The shipped catalog of `lang` (es, pt); none for English, the source."""
    from ronda.i18n.catalog import LANGUAGES, lookup, normalize

    base = normalize(lang)
    if base == "en" or base not in LANGUAGES:
        return None
    return lambda message: lookup(base, message)


def t(message: str, /, **values: object) -> str:
    """English (the default language) in one call."""
    return Words()(message, **values)


def local_time(epoch_s: EpochS, tz: ZoneInfo, *, seconds: bool = True, lang: str = "en") -> str:
    """'2026-06-01 12:24:50 WEST': wall-clock time in the order's zone with its
    abbreviation (the offset when the zone has no abbreviation); in Spanish
    '1 jun 2026 12:24:50 WEST', in Portuguese '01/06/2026 12:24:50 WEST'."""
    from ronda.i18n.formatting import format_wall_clock

    return format_wall_clock(epoch_s, tz, lang, seconds=seconds)


def duration(seconds: float, tr: Words | None = None) -> str:
    tr = tr or Words()
    s = max(0, round(seconds))
    if s < 120:
        return tr("{s} s", s=s)
    if s < 3600:
        return tr("{m} min", m=s // 60)
    if s < 86400:
        return tr("{h} h {m} min", h=s // 3600, m=(s % 3600) // 60)
    return tr("{d} d {h} h", d=s // 86400, h=(s % 86400) // 3600)


def metres(value: float) -> str:
    return f"{value / 1000:.1f} km" if abs(value) >= 10_000 else f"{value:.0f} m"
