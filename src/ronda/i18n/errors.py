"""Ronda's errors in the reader's language.

An error carries an English template and its values (`ronda.errors`); here
the template is looked up in the reader's catalog and the values filled in.
Values marked as `Term` (nouns such as "person") are translated too. A
template no catalog knows yet is shown in English, never lost.
"""

from __future__ import annotations

from ronda.errors import InvalidInput, RondaError, Term
from ronda.i18n.catalog import N_, gettext, lookup
from ronda.i18n.catalog import _fill as fill  # the one place placeholders are filled


def _values(exc: RondaError, language: str | None) -> dict[str, object]:
    return {k: (lookup(language, v) if isinstance(v, Term) else v) for k, v in exc.values.items()}


def error_message(exc: BaseException, language: str | None) -> str:
    """What went wrong, in `language`, without where (`InvalidInput.field`...)."""
    if not isinstance(exc, RondaError) or not exc.template:
        return str(exc)
    try:
        return fill(lookup(language, exc.template), _values(exc, language))
    except (KeyError, IndexError, ValueError):
        # A translation naming a placeholder the code does not give (the
        # catalog test catches it) must not hide the error itself.
        return fill(exc.template, exc.values)


def error_text(exc: BaseException, language: str | None) -> str:
    """The whole error for a person reading it: where (file, line, field), then what."""
    message = error_message(exc, language)
    if not isinstance(exc, InvalidInput):
        return message
    where = []
    if exc.source:
        where.append(exc.source)
    if exc.line is not None:
        where.append(gettext(language, N_("line {line}"), line=exc.line))
    if exc.field:
        where.append(gettext(language, N_("field '{field}'"), field=exc.field))
    return f"{', '.join(where)}: {message}" if where else message
