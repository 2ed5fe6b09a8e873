"""The web app's share of the catalogs: the messages its pages and scripts
mark (`_("...")` in src/ronda/web/**.js, `data-i18n` in its HTML) and the
shared vocabulary (rule types, statuses, severities ...), in one language,
as the JSON the browser loads once per language."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from ronda.i18n.catalog import LANGUAGES, _catalog_path, messages_for, normalize

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

NATIVE_NAMES: dict[str, str] = {"en": "English", "es": "Español", "pt": "Português"}
"""Each language in its own words, for the language picker."""


def _web_sources() -> list[Path]:
    files = [p for p in WEB_DIR.rglob("*.js") if "vendor" not in p.relative_to(WEB_DIR).parts]
    files += [p for p in WEB_DIR.rglob("*.html") if "vendor" not in p.relative_to(WEB_DIR).parts]
    return sorted(files)


@cache
def _web_msgids(stamp: tuple[tuple[str, float], ...]) -> frozenset[str]:
    from babel.messages.extract import extract_from_file

    from ronda.i18n.extract import KEYWORDS, extract_html
    from ronda.i18n.vocabulary import LABELS

    found: set[str] = {msgid for codes in LABELS.values() for msgid in codes.values()}
    for name, _mtime in stamp:
        path = Path(name)
        if path.suffix == ".html":
            with path.open("rb") as fh:
                found.update(str(m[2]) for m in extract_html(fh, list(KEYWORDS), [], {}))
            continue
        for _line, message, _comments, _context in extract_from_file(
            "javascript", str(path), keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return frozenset(found)


def web_msgids() -> frozenset[str]:
    """Every msgid the web app uses (re-read when a page or script changes)."""
    return _web_msgids(tuple((str(p), p.stat().st_mtime) for p in _web_sources()))


@cache
def _web_catalog(language: str, po_mtime: float, ids: frozenset[str]) -> tuple[str, str]:
    messages = {k: v for k, v in messages_for(language).items() if k in ids}
    body = json.dumps(messages, ensure_ascii=False, sort_keys=True)
    return body, hashlib.sha256(f"{language}\n{body}".encode()).hexdigest()[:32]


def web_catalog(language: str | None) -> tuple[dict[str, str], str]:
    """(msgid → translation, a version tag for HTTP caching) of the web app in
    `language`; untranslated messages are left out (the app shows the msgid)."""
    lang = normalize(language)
    po = _catalog_path(lang, "po")
    body, tag = _web_catalog(lang, po.stat().st_mtime if po.exists() else 0.0, web_msgids())
    messages: dict[str, str] = json.loads(body)
    return messages, tag


def languages() -> list[dict[str, str]]:
    """The shipped languages for a picker: code and native name."""
    return [{"code": code, "name": NATIVE_NAMES.get(code, code)} for code in LANGUAGES]
