"""API refusals in the caller's language.

Every error the API answers with is written in the language of whoever asked:
their own choice when signed in, else what their client asks for
(`Accept-Language`; the web app sends the language it shows), else English.
The answer says which (`Content-Language`). Messages are English templates
translated through the catalogs (`ronda.i18n.errors`); `Refusal` is an
`HTTPException` that carries one with its values.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException, Request

from ronda.errors import fill
from ronda.i18n.catalog import UNSET, best_accepted, gettext, lookup, normalize


class Refusal(HTTPException):
    """`Refusal(403, "the {role} role may not use {route}", role=..., route=...)`:
    the English text as `detail`, the template and values for translation.
    (`Refusal` is an extraction keyword: pass the template as a literal.)"""

    def __init__(
        self, status: int, template: str, /, *, headers: Mapping[str, str] | None = None, **values: object
    ) -> None:
        super().__init__(status, fill(template, values), headers=dict(headers) if headers else None)
        self.template, self.values = template, values


def reader_language(request: Request) -> str:
    """The language an answer to `request` is written in."""
    caller = getattr(request.state, "caller", None)
    chosen = getattr(caller, "language", None)
    if chosen and chosen.strip().lower() not in UNSET:
        return normalize(chosen)
    return best_accepted(request.headers.get("accept-language")) or normalize(None)


def refusal_text(exc: HTTPException, language: str) -> str | None:
    """The detail of an HTTP refusal in `language` (None when it is not text)."""
    if isinstance(exc, Refusal):
        try:
            return fill(lookup(language, exc.template), exc.values)
        except (KeyError, IndexError, ValueError):
            return str(exc.detail)
    if isinstance(exc.detail, str):
        return gettext(language, exc.detail)
    return None
