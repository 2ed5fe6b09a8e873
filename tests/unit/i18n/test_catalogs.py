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
def test_notification_templates_are_complete_with_the_same_placeholders(language: str) -> None:
    """Messages to people live in alerts/templates/<lang>.toml: every message
    and word of the English file, with the same `$fields`, in each language."""
    import string

    from ronda.alerts.messages import templates

    def fields(text: str) -> set[str]:
        return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)} - {
            None
        }

    english, other = templates("en"), templates(language)
    assert set(other) == set(english), f"{language}.toml: messages differ from en.toml"
    for kind, table in english.items():
        assert set(other[kind]) == set(table), f"{language}.toml [{kind}]: keys differ"
        for key, text in table.items():
            assert other[kind][key].strip(), f"{language}.toml [{kind}] {key} is empty"
            assert fields(other[kind][key]) == fields(text), (
                f"{language}.toml [{kind}] {key}: placeholders differ"
            )
            if kind != "words" and not text.strip().startswith("Ronda:"):
                assert other[kind][key] != text, f"{language}.toml [{kind}] {key} is still English"
