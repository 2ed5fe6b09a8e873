"""Default languages: the site's and each agency's (one settings row,
`languages`: `{"default": "es", "agencies": {"ag-lisboa": "pt"}}`). A user's
own choice (users.language) comes first; these apply when it is "auto"."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ronda.storage.cases import get_setting, put_setting

SETTING = "languages"


def agency_language(s: Session, agency_id: str | None) -> str | None:
    """The agency's default language, else the site's, else None."""
    doc = get_setting(s, SETTING, {})
    agencies: dict[str, Any] = doc.get("agencies") or {}
    value = agencies.get(agency_id) if agency_id else None
    value = value or doc.get("default")
    return str(value) if value else None


def set_agency_language(s: Session, agency_id: str | None, language: str | None) -> None:
    """Set (or, with None, clear) an agency's default; agency None is the site's."""
    doc = get_setting(s, SETTING, {})
    agencies: dict[str, Any] = dict(doc.get("agencies") or {})
    if agency_id is None:
        if language:
            doc["default"] = language
        else:
            doc.pop("default", None)
    elif language:
        agencies[agency_id] = language
    else:
        agencies.pop(agency_id, None)
    doc["agencies"] = agencies
    put_setting(s, SETTING, doc)
