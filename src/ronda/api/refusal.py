"""API refusals in the caller's language.

Every error the API answers with is written in the language of whoever asked:
their own choice when signed in, else their agency's default, else what their
client asks for (`Accept-Language`; the web app sends the language it shows),
else English.
The answer says which (`Content-Language`). Messages are English templates
translated through the catalogs (`ronda.i18n.errors`); `Refusal` is an
`HTTPException` that carries one with its values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ronda.errors import Term, fill
from ronda.i18n.catalog import choose_language, gettext, lookup
from ronda.storage.languages import agency_language

log = logging.getLogger(__name__)


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
    """The language an answer to `request` is written in, as for the web app's
    screens: the signed-in user's own choice, else (their language `auto`)
    their agency's default, else the best of `Accept-Language`, else English.
    Decided once per request."""
    decided: str | None = getattr(request.state, "reader_language", None)
    if decided is not None:
        return decided
    caller = getattr(request.state, "caller", None)
    chosen = getattr(caller, "language", None)
    agency = None
    own_choice = choose_language(chosen, None, None)[1] == "user"
    if caller is not None and caller.user_id not in MACHINES and not own_choice:
        agency = _agency_default(request, caller.agency_id)
    language = choose_language(chosen, agency, request.headers.get("accept-language"))[0]
    request.state.reader_language = language
    return language


MACHINES = frozenset({"anonymous", "service"})
"""Callers with no account: their client's `Accept-Language` decides."""


def _agency_default(request: Request, agency_id: str | None) -> str | None:
    # An error must still be answered when the database is what failed: then
    # the agency's default is simply not known.
    try:
        with request.app.state.service.sessions() as s:
            return agency_language(s, agency_id)
    except (SQLAlchemyError, AttributeError) as exc:
        log.debug("agency language unavailable for an error answer: %s", exc)
        return None


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
