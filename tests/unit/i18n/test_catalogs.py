"""Every string the code marks for translation is translated in every shipped
language, with the same placeholders; a translator's slip fails here, naming
the message and where the code uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from ronda.i18n import LANGUAGES
from ronda.i18n.catalog import LOCALE_DIR, placeholders
from ronda.i18n.extract import extract_messages

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def used() -> dict[str, list[str]]:
    messages = extract_messages(ROOT)
    assert messages, "no marked strings found: is babel.cfg's mapping right?"
    return messages


def load(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "ronda.po").open("rb") as fh:
        return read_po(fh, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_used_string_is_translated(language: str, used: dict[str, list[str]]) -> None:
    catalog = load(language)
    missing = []
    for msgid, where in sorted(used.items()):
        message = catalog.get(msgid)
        if message is None:
            # A plural entry is keyed by (singular, plural) in the catalog.
            message = next((m for m in catalog if isinstance(m.id, tuple) and m.id[0] == msgid), None)
        strings = message.string if message is not None else ""
        texts = list(strings) if isinstance(strings, tuple | list) else [strings]
        if message is None or message.fuzzy or not all(texts):
            missing.append(f"{msgid!r} (used at {where[0]})")
    assert not missing, (
        f"{len(missing)} strings lack a {language} translation; run scripts/i18n and translate:\n"
        + "\n".join(missing[:40])
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    wrong = []
    for message in load(language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            # A plural form may leave the count implicit ("one alert"), never add a name.
            got = placeholders(text)
            if got - wanted or (wanted - got - {"n"}):
                wrong.append(f"{ids[0]!r}: expects {sorted(wanted)}, has {sorted(got)} in {text!r}")
    assert not wrong, f"{language}: placeholders differ:\n" + "\n".join(wrong)


def test_placeholder_check_catches_a_renamed_name() -> None:
    assert placeholders("{person} entered {zone} at {time:%H:%M}") == {"person", "zone", "time"}
    assert placeholders("{persona} entró en {zone}") != placeholders("{person} entered {zone}")
    assert placeholders("literal {{braces}} are not names") == set()


def _calls_hidden_in_fstrings(path: Path) -> list[str]:
    """`f"{_('Error')}: ..."`: a marked call inside an f-string, which Babel's
    extractor does not look into, so its string never reaches the catalogs."""
    import ast

    from ronda.i18n.extract import KEYWORDS

    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Call) or not inner.args:
                continue
            func = inner.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            first = inner.args[0]
            if name in KEYWORDS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {name}({first.value!r})")
    return found


def _errors_built_from_fstrings(path: Path) -> list[str]:
    """`InvalidInput(f"no zone {zone_id}")`: an error whose message is built
    before translation, so no catalog can hold it; pass a template and its
    values instead (`InvalidInput("no zone {zone}", zone=zone_id)`)."""
    import ast

    from ronda.i18n.extract import ERROR_KEYWORDS, KEYWORDS

    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in ERROR_KEYWORDS:
            continue
        index = (KEYWORDS[name] or (1,))[0] - 1
        if len(node.args) > index and not (
            isinstance(node.args[index], ast.Constant) or _is_forwarded_template(node.args[index])
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:100]}")
    return found


def _is_forwarded_template(arg: object) -> bool:
    """`InvalidInput(exc.template, **exc.values)`: re-raising another error's template
    (already a catalog entry where it was first raised), or a variable holding one."""
    import ast

    return isinstance(arg, ast.Attribute) and arg.attr == "template"


def test_errors_a_person_reads_are_templates_not_fstrings() -> None:
    built = [
        hit
        for path in sorted((ROOT / "src" / "ronda").rglob("*.py"))
        for hit in _errors_built_from_fstrings(path)
    ]
    assert not built, (
        "errors whose message is built before translation cannot be translated; pass a literal "
        "template and its values:\n" + "\n".join(built)
    )


def test_no_marked_string_hides_inside_an_f_string() -> None:
    hidden = [
        hit
        for path in sorted((ROOT / "src" / "ronda").rglob("*.py"))
        for hit in _calls_hidden_in_fstrings(path)
    ]
    assert not hidden, "marked strings inside f-strings are never extracted; take them out:\n" + "\n".join(
        hidden
    )


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_messages_to_people_are_written_in_each_language(language: str) -> None:
    """A victim's warning must never go out as an English copy with a foreign
    language tag: every message to people and every device-failure word has its
    own translation, with exactly the fields of the English text."""
    from ronda.alerts.messages import TEMPLATES, WORDS

    catalog = load(language)
    texts = [t for pair in TEMPLATES.values() for t in pair] + list(WORDS.values())
    for english in texts:
        entry = catalog.get(english)
        assert entry is not None and entry.string, f"{language}: no translation of {english[:60]!r}"
        assert placeholders(str(entry.string)) == placeholders(english), (
            f"{language}: fields of {english[:60]!r}"
        )
        if not english.startswith("Ronda:") or "{" in english:
            assert entry.string != english, f"{language}: {english[:60]!r} is still English"
