"""The web app's message catalog (`GET /api/i18n/{lang}`) and the default
languages of the site and its agencies (`PUT /api/i18n/default`).

The catalog is public (the sign-in page needs it before anyone signs in) and
cacheable: a strong ETag, `Cache-Control: public` when no token is sent. With
a token, the answer also says which language the user is served in: their own
choice, else their agency's default, else the browser's (`Accept-Language`);
`GET /api/i18n/auto` returns the catalog of that language directly."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from ronda.api.auth import Caller, source_of
from ronda.api.deps import tx
from ronda.api.policy import CallerDep, authenticator
from ronda.api.refusal import Refusal
from ronda.i18n.catalog import LANGUAGES, choose_language
from ronda.i18n.vocabulary import LABELS
from ronda.i18n.web import languages, web_catalog
from ronda.storage import cases
from ronda.storage.caseload import DEFAULT_SITE, SITE
from ronda.storage.errors import NotFound
from ronda.storage.languages import agency_language, set_agency_language
from ronda.storage.models_security import UserRow

router = APIRouter(prefix="/api/i18n", tags=["i18n"])
LangPath = Annotated[str, Path(pattern=r"^([A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*|auto)$", max_length=35)]


def _signed_in(request: Request) -> Caller | None:
    """The caller when a valid token is sent; a public route ignores a stale one."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        return authenticator(request).authenticate(header[7:].strip(), source_of(request), None)
    except HTTPException:
        return None


def _shipped(lang: str) -> str:
    base = re.split(r"[-_]", lang.lower(), maxsplit=1)[0]
    if base not in LANGUAGES:
        raise Refusal(
            404,
            "no catalog for {lang}; Ronda ships {languages}",
            lang=repr(lang),
            languages=", ".join(LANGUAGES),
        )
    return base


@router.get("/{lang}")
def catalog(lang: LangPath, request: Request, response: Response) -> Any:
    """The web app's messages in `lang` (msgid → text; a missing message shows
    its English msgid), the languages shipped, and the language this caller is
    served in (`language_for_user`, with `language_source`: user, agency,
    browser or default). `auto` picks that language. Also the vocabulary
    (kind → code → msgid: rule types, statuses ...) and the site's time zone."""
    caller = _signed_in(request)
    agency_default = None
    with tx(request) as s:
        site_zone = str(cases.get_setting(s, SITE, DEFAULT_SITE).get("timezone") or "UTC")
        if caller is not None:
            agency_default = agency_language(s, caller.agency_id)
    user_lang, source = choose_language(
        caller.language if caller else None, agency_default, request.headers.get("accept-language")
    )
    served = user_lang if lang == "auto" else _shipped(lang)
    messages, tag = web_catalog(served)
    personal = caller is not None or lang == "auto"
    version = f"{tag}-{site_zone}"
    etag = f'"{version}-{user_lang}-{source}"' if personal else f'"{version}"'
    headers = {
        "ETag": etag,
        "Vary": "Accept-Language, Authorization",
        "Cache-Control": "private, no-cache" if personal else "public, max-age=3600",
        "Content-Language": served,
    }
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return {
        "language": served,
        "language_for_user": user_lang,
        "language_source": source,
        "languages": languages(),
        "messages": messages,
        "vocabulary": LABELS,
        "timezone": site_zone,
    }


class DefaultIn(BaseModel):
    language: str | None = Field(default=None, max_length=16)
    """A shipped language (en, es, pt), or null to clear the default."""
    agency_id: str | None = Field(default=None, max_length=64)
    """The agency (yours when omitted); an install-wide administrator may omit it for the site."""


@router.put("/default")
def set_default(body: DefaultIn, request: Request, caller: CallerDep) -> dict[str, str | None]:
    """Set the default language of an agency (or, for an install-wide
    administrator, of the site): it applies to users whose language is `auto`."""
    lang = _shipped(body.language) if body.language else None
    agency = body.agency_id if body.agency_id is not None else caller.agency_id
    if not caller.in_agency(agency):
        raise NotFound("agency", agency)
    with tx(request) as s:
        set_agency_language(s, agency, lang)
    return {"agency_id": agency, "language": lang}


class MineIn(BaseModel):
    language: str = Field(max_length=16)
    """A shipped language (en, es, pt), or "auto": the agency's default, then the browser's."""


@router.put("/me")
def set_mine(body: MineIn, request: Request, caller: CallerDep) -> dict[str, str]:
    """The caller picks their own language (kept on their account)."""
    lang = "auto" if body.language.strip().lower() == "auto" else _shipped(body.language)
    if caller.user_id in {"service", "anonymous"}:
        raise HTTPException(409, "the service token has no account to keep a language on")
    with tx(request) as s:
        user = s.get(UserRow, caller.user_id)
        if user is None:
            raise HTTPException(404, "no such user")
        user.language = lang
    return {"language": lang}
