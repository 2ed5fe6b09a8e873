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
from starlette.exceptions import HTTPException as StarletteHTTPException

from ronda.errors import Term, fill
from ronda.i18n.catalog import choose_language, gettext, lookup


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
    """The language an answer to `request` is written in: the caller's own
    choice when it is a shipped language (not `auto`), else the best of
    `Accept-Language`, else English. (The agency's default is not looked up
    here: an error must not need the database; the web app sends the
    language it shows as `Accept-Language`, agency default included.)"""
    caller = getattr(request.state, "caller", None)
    chosen = getattr(caller, "language", None)
    return choose_language(chosen, None, request.headers.get("accept-language"))[0]


def refusal_text(exc: StarletteHTTPException, language: str) -> str | None:
    """The detail of an HTTP refusal in `language` (None when it is not text)."""
    if isinstance(exc, Refusal):
        values = {k: (lookup(language, v) if isinstance(v, Term) else v) for k, v in exc.values.items()}
        try:
            return fill(lookup(language, exc.template), values)
        except (KeyError, IndexError, ValueError):  # a broken translation: never lose the refusal
            return str(exc.detail)
    if isinstance(exc.detail, str):
        return gettext(language, exc.detail)
    return None
