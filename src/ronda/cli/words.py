"""The command line's messages in the operator's language.

The language is `RONDA_LANGUAGE` when set, else the POSIX locale
(`LC_ALL`, `LC_MESSAGES`, `LANG`: `es_CL.UTF-8` → `es`), else English. It is
read at each call, so a test (or a wrapper script) can change it. Messages
are English msgids marked with `_` (an extraction keyword), translated in
src/ronda/locale (docs/translating.md); a message not yet translated is
printed in English.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ronda.i18n.catalog import DEFAULT_LANGUAGE, gettext, normalize
from ronda.i18n.catalog import ngettext as _ngettext


def cli_language(env: Mapping[str, str] | None = None) -> str:
    """The shipped language the command line speaks."""
    env = os.environ if env is None else env
    chosen = env.get("RONDA_LANGUAGE", "").strip()
    if chosen:
        return normalize(chosen)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value:
            # The first locale variable set decides, as in POSIX; C and POSIX mean English.
            tag = value.split(".", 1)[0].split("@", 1)[0]
            return DEFAULT_LANGUAGE if tag in {"C", "POSIX"} else normalize(tag)
    return DEFAULT_LANGUAGE


def _(message: str, **values: object) -> str:
    """`message` in the command line's language, placeholders filled."""
    return gettext(cli_language(), message, **values)


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """The plural form for `n` in the command line's language (`{n}` is filled)."""
    return _ngettext(cli_language(), singular, plural, n, **values)


def number(value: int) -> str:
    """A count grouped the reader's way (`12,345` / `12.345`)."""
    from ronda.i18n.formatting import format_number

    return format_number(value, cli_language())


def error(exc: BaseException) -> str:
    """What went wrong, for the operator: a RondaError in the command line's
    language (its template and values, `ronda.i18n.errors`), anything else as
    its own text."""
    from ronda.i18n.errors import error_text

    return error_text(exc, cli_language())
