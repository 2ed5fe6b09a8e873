"""Ronda in the languages of its users: message catalogs (gettext, Babel) and
locale-aware formatting of instants, numbers and distances.

Strings are marked where they are written (`_`, `N_`, `gettext`, `ngettext`
in Python, `t` in the web app) and translated where they meet a reader: the
operator's screen, the victim's message, the court's report. Catalogs live in
`ronda/locale/<lang>/LC_MESSAGES/ronda.po`; docs/translating.md explains the
workflow."""

from ronda.i18n.catalog import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    Translator,
    gettext,
    messages_for,
    negotiate,
    ngettext,
    normalize,
    translator,
)
from ronda.i18n.formatting import format_distance, format_duration, format_instant, format_number

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Translator",
    "format_distance",
    "format_duration",
    "format_instant",
    "format_number",
    "gettext",
    "messages_for",
    "negotiate",
    "ngettext",
    "normalize",
    "translator",
]
