"""What the code asks to be translated: the msgids found by Babel's extractors
under the mapping in `babel.cfg`. scripts/i18n writes them to `ronda.pot`; the
catalog test compares them with every shipped language."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

# Function names that mark a translatable string, in Python and in the web
# app's JavaScript alike: `_` translates now, `N_` marks for later. `tr` and
# `msg` are the court report's and evidence bundle's own pair
# (`ronda.evidence.text.Words` called as `tr(...)`, `msg(...)` in tables).
# Only a literal first argument is taken, so `tr(table[key])` is not.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "tr": None,
    "msg": None,
    # Errors a person reads (the API's answers, the command line): the class
    # is the marker, its template the message (ronda.errors). Device-frame
    # errors (InvalidFrame) are counted by reason, not read, so not listed.
    "RondaError": (1,),
    "InvalidInput": (1,),
    "UnknownReference": (1,),
    "Conflict": (1,),
    "NotFound": (1,),
    "PolicyError": (1,),
    "HTTPException": (2,),
    "Refusal": (2,),  # ronda.api.refusal: an HTTP refusal with values
    "LoginRefused": (2,),
    "refuse": (2,),
    "unauthorized": (1,),
}
ERROR_KEYWORDS = frozenset(
    {"RondaError", "InvalidInput", "UnknownReference", "Conflict", "NotFound", "PolicyError"}
    | {"HTTPException", "Refusal", "LoginRefused", "refuse", "unauthorized"}
)
"""The error classes among the keywords: their template must be a literal."""


def pybabel_keyword_flags() -> list[str]:
    """The same keywords as `pybabel extract -k` flags."""
    flags: list[str] = []
    for name, spec in KEYWORDS.items():
        flags += ["-k", name if spec is None else f"{name}:{','.join(map(str, spec))}"]
    return flags


HTML_ATTRIBUTE = "data-i18n"
"""`<h2 data-i18n="Alert queue">Alert queue</h2>` marks an element's text;
`data-i18n-title="Sign out"` (and `-placeholder`, `-aria-label` ...) one of its
attributes. The web app translates them when a page loads (static/js/i18n.js)."""


class _MarkedHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value and (name == HTML_ATTRIBUTE or name.startswith(HTML_ATTRIBUTE + "-")):
                self.found.append((line, value))


def extract_html(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extraction method (babel.cfg: `[ronda.i18n.extract.extract_html: ...]`)
    for the web app's HTML: every `data-i18n` and `data-i18n-<attribute>` value."""
    parser = _MarkedHTML()
    parser.feed(fileobj.read().decode(str(options.get("encoding", "utf-8"))))
    parser.close()
    for line, message in parser.found:
        yield line, "_", message, []


def extract_messages(root: Path) -> dict[str, list[str]]:
    """msgid → where it is used (`path:line`), for every marked string under `root`.
    A plural message is keyed by its singular."""
    with (root / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)  # type: ignore[no-untyped-call]
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def fill_source_language(po_path: Path) -> int:
    """English is the source language: its catalog repeats each msgid, so that
    wording can be changed by a writer without touching code. Returns how many
    entries were filled."""
    from babel.messages.pofile import read_po, write_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            if not any(message.string or ()):
                message.string = tuple(message.id)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=100)
    return filled


if __name__ == "__main__":  # scripts/i18n: python -m ronda.i18n.extract fill-en PO
    import sys

    if sys.argv[1:2] == ["fill-en"]:
        print(f"en: {fill_source_language(Path(sys.argv[2]))} entries copied from their msgid")
