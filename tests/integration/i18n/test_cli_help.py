"""The whole command line in the operator's language: the descriptions of
every command and option, typer's own words around them (Usage, Options,
Commands, the --help option, its usage errors) and Ronda's errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ronda.cli.main import app
from ronda.i18n.catalog import gettext, messages_for

RONDA = str(Path(sys.executable).parent / "ronda")
UNSET = {"RONDA_LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}


def _run(args: list[str], **env: str) -> str:
    """`ronda ARGS` in a process of its own (help is read when the command
    line starts), its output with rich's borders and line wrapping undone."""
    full = {**os.environ, **UNSET, "COLUMNS": "200", "TERM": "dumb", **env}
    r = subprocess.run([RONDA, *args], env=full, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return _flat(r.stdout)


def _flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _said(lang: str, english: str) -> str:
    """The catalog's translation, checked to be one (not the English)."""
    text = gettext(lang, english)
    assert text != english, f"no {lang} translation of {english!r}"
    return " ".join(text.split())


def test_ronda_help_in_spanish() -> None:
    out = _run(["--help"], RONDA_LANGUAGE="es")
    for english in ("Usage:", "Options", "Commands", "Show this message and exit."):
        assert _said("es", english) in out
    assert _said("es", "Ronda: open electronic monitoring.") in out
    for command_help in (
        "Notifications: the outbox worker, the outbox, the alert policy.",
        "People who sign in: add, list, passwords, disable, TOTP.",
        "The audit trail: verify the chain, show entries.",
        "Investigation: crime-scene correlation, compliance.",
        "Reports for courts and officers.",
    ):
        assert _said("es", command_help) in out
    for english in ("Usage:", "Options", "Show this message", "Notifications:", "People who sign in"):
        assert english not in out


def test_serve_help_in_portuguese_from_the_locale() -> None:
    out = _run(["serve", "--help"], LANG="pt_PT.UTF-8")
    for english in (
        "Usage:",
        "Options",
        "Show this message and exit.",
        "API port [RONDA_PORT, 8080]",
        "address to listen on [RONDA_HOST, 127.0.0.1]",
        "device gateway: TCP protocols and MQTT [RONDA_GATEWAY, on]",
        "Run the server: REST API, live stream and /docs on one port, device ingest (OsmAnd, native) on "
        "another, the device gateway (GT06 5023, Teltonika 5027, H02 5013, Watch 5093, MQTT), the live "
        "engine, the database.",
    ):
        assert _said("pt", english) in out
    for english in ("Usage:", "Options", "Show this message", "API port", "Run the server"):
        assert english not in out


@pytest.mark.parametrize(
    ("args", "english"),
    [
        (["users", "--help"], ["Add a user (password at least 10 characters).", "Commands"]),
        (["notify", "--help"], ["The latest notifications and their delivery outcome.", "Commands"]),
        (
            ["holds", "add", "--help"],
            ["from (ISO 8601)", "why (a case number, a court's order)", "Arguments"],
        ),
        (["gateway", "--help"], ["MQTT broker port", "[default: {}]"]),
    ],
)
def test_other_commands_help_in_spanish(args: list[str], english: list[str]) -> None:
    out = _run(args, RONDA_LANGUAGE="es")
    for text in english:
        said = _said("es", text)
        assert (said.split("{}")[0] if "{}" in said else said) in out
    assert "Usage:" not in out and "Options" not in out


def test_an_unknown_option_in_spanish_then_english_again() -> None:
    # typer's words follow the language of each run, in one process too
    es = CliRunner().invoke(app, ["serve", "--hots", "x"], env={**UNSET, "RONDA_LANGUAGE": "es"})
    assert es.exit_code == 2
    text = _flat(es.output)
    assert gettext("es", "No such option: {option}").format(option="--hots") in text
    assert "No existe la opción: --hots" in text  # the catalog says so today
    assert _said("es", "Usage:") in text and "Pruebe" in text
    assert "No such option" not in text and "Try '" not in text
    en = CliRunner().invoke(app, ["serve", "--hots", "x"], env={**UNSET, "RONDA_LANGUAGE": "en"})
    assert "No such option: --hots" in _flat(en.output) and "Usage:" in en.output


def test_a_missing_argument_and_a_bad_number_in_portuguese() -> None:
    pt = {**UNSET, "LANG": "pt_PT.UTF-8"}
    r = CliRunner().invoke(app, ["investigate", "compliance"], env=pt)
    assert r.exit_code == 2
    assert gettext("pt", "Missing argument {param}.").format(param="'person'") in _flat(r.output)
    r = CliRunner().invoke(app, ["holds", "release", "seven"], env=pt)
    assert r.exit_code == 2
    text = _flat(r.output)
    assert "Valor inválido para" in text and "Deve ser um número inteiro" in text
    assert "Invalid value" not in text and "Input should be" not in text


def test_a_ronda_error_in_portuguese(tmp_path: Path) -> None:
    from ronda.errors import RondaError
    from ronda.i18n.errors import error_text
    from ronda.scenarios.loader import load_scenario

    missing = tmp_path / "no-such-scenario"
    with pytest.raises(RondaError) as raised:
        load_scenario(missing)
    english = str(raised.value)
    portuguese = error_text(raised.value, "pt")
    assert portuguese != english  # the error's template has a Portuguese translation
    r = CliRunner().invoke(app, ["replay", str(missing), "-q"], env={**UNSET, "LANG": "pt_PT.UTF-8"})
    assert r.exit_code == 2
    # rich wraps the long path: compare without spaces
    said = "".join(f"{gettext('pt', 'error:')} {portuguese}".split())
    assert said in "".join(r.output.split())
    assert english.split(": ")[-1] not in r.output


def test_every_command_and_option_help_is_a_catalog_message() -> None:
    """A help text not marked with `_` (a docstring, a bare `help="..."`) would
    stay English whatever the language: every one must be a translated msgid."""
    from typer.main import get_command

    from ronda.cli.words import cli_language

    if cli_language() != "en":
        pytest.skip("the help was read in another language when the CLI was imported")
    spanish, portuguese = messages_for("es"), messages_for("pt")
    untranslated = []

    def walk(command: Any, path: str) -> None:
        texts = [command.help] + [getattr(p, "help", None) for p in command.params]
        for text in texts:
            if text and not (text in spanish and text in portuguese):
                untranslated.append(f"{path}: {text[:70]}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(get_command(app), "ronda")
    assert not untranslated, "\n".join(untranslated)
