"""Typer's own words ("Usage:", "Options", "No such option" ...) in the
command line's language.

Why this module exists: the typer in use (0.2x) vendors click as
`typer._click`, with its English strings written into the code (no gettext
at all), while `typer.core` looks a few up through `gettext.gettext` bound at
import (`from gettext import gettext as _`) and `typer.rich_utils`, which draws
the help and error panels, keeps its titles in module constants
(`OPTIONS_PANEL_TITLE = _("Options")`). None of them reads our catalogs. So,
when the `ronda` command starts (`RondaGroup.main`, which a real run and
typer's `CliRunner` both go through), `speak(language)`:

- rebinds `typer.core._` to a lookup in our catalogs;
- sets `typer.rich_utils`' title and label constants to their translations;
- makes the usage line's prefix ("Usage:") and the `--help` option's own help
  ("Show this message and exit.") translated ones (two small wrappers);
- translates a usage error's message just before typer shows it, by matching
  it against the English templates of the errors below (`ERRORS`) and filling
  the translation with the parts it matched.

In English nothing is changed (the originals are put back). Each English
string is marked here with `N_` so that extraction puts it in the catalogs;
only the ones a person realistically meets are listed. After a typer upgrade,
compare these with `typer/_click/*.py`, `typer/core.py` and
`typer/rich_utils.py`: a string typer rewords is simply shown in English
again (the test tests/integration/i18n/test_cli_help.py notices the common ones).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from ronda.i18n.catalog import DEFAULT_LANGUAGE, N_, lookup

# typer.rich_utils' constants: the name of the constant → its English text.
RICH_CONSTANTS: dict[str, str] = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    # rich markup: keep `[blue]` and `[/]` around the command in a translation
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
}

USAGE = N_("Usage:")
HELP_OPTION = N_("Show this message and exit.")

# What typer.core asks `gettext` for (it fills the `{name!r}` fields itself).
CORE_WORDS = (
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("Arguments"),
    N_("Options"),
    N_("Commands"),
)

# Usage errors as typer words them, `{name}` standing for a part that varies.
# The first that matches the whole message wins: longer forms come first.
# A part named `message` is itself translated (an error inside an error).
ERRORS = (
    N_("{message} (Possible options: {options})"),
    N_("No such option: {option}"),
    N_("Invalid value for {param}: {message}"),
    N_("Invalid value: {message}"),
    N_("Missing argument {param}. {message}"),
    N_("Missing option {param}. {message}"),
    N_("Missing argument {param}."),
    N_("Missing option {param}."),
    N_("Missing parameter {param}."),
    N_("Missing parameter: {param}"),
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Option {option} does not take a value."),
    N_("Option {option} requires an argument."),
    N_("Option {option} requires {n} arguments."),
    N_("Value {value} is not a valid {type}."),
    # typer converts values with pydantic, whose own words these are
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Input should be a valid boolean, unable to interpret input"),
    N_("file {path} does not exist."),
    N_("dir {path} does not exist."),
    N_("path {path} does not exist."),
    N_("dir {path} is a file."),
    N_("file {path} is a directory."),
    N_("Could not open file {file}: {message}"),
)

_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _FIELD.split(template)
    body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(body + r"\Z", re.DOTALL)


def translate_error(language: str, message: str) -> str:
    """A usage error typer built in English, in `language` (unchanged when no
    template matches: our own errors arrive translated already)."""
    for template in ERRORS:
        found = _pattern(template).match(message)
        if found is None:
            continue
        values = {
            k: translate_error(language, v) if k == "message" else v for k, v in found.groupdict().items()
        }
        try:
            return lookup(language, template).format(**values)
        except (KeyError, IndexError, ValueError):
            return message
    return message


# ------------------------------------------------------------ the switch

_language = DEFAULT_LANGUAGE
_originals: dict[str, Any] = {}


def _say(msgid: str) -> str:
    return lookup(_language, msgid)


def _install() -> None:
    """Put the wrappers in place once; they follow `_language` from then on."""
    if _originals:
        return
    import typer.core
    from typer._click.core import Command
    from typer._click.formatting import HelpFormatter

    _originals["core._"] = vars(typer.core)["_"]
    write_usage = HelpFormatter.write_usage
    get_help_option = Command.get_help_option
    _originals["write_usage"] = write_usage
    _originals["get_help_option"] = get_help_option

    def usage(self: HelpFormatter, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None and _language != DEFAULT_LANGUAGE:
            prefix = _say(USAGE) + " "
        write_usage(self, prog, args, prefix)

    def help_option(self: Command, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _say(HELP_OPTION)
        return option

    HelpFormatter.write_usage = usage  # type: ignore[method-assign]
    Command.get_help_option = help_option  # type: ignore[method-assign]
    try:
        import typer.rich_utils as rich_utils
    except ImportError:  # typer without rich: plain help, same words otherwise
        return
    _originals["rich"] = {name: getattr(rich_utils, name) for name in RICH_CONSTANTS}
    show_error: Callable[[Any], None] = rich_utils.rich_format_error
    _originals["rich_format_error"] = show_error

    def rich_format_error(error: Any) -> None:
        if _language != DEFAULT_LANGUAGE and hasattr(error, "format_message"):
            text = translate_error(_language, error.format_message())
            error.format_message = lambda: text  # this instance only
        show_error(error)

    vars(rich_utils)["rich_format_error"] = rich_format_error


def speak(language: str) -> None:
    """Typer's own words in `language` from now on (English: typer's own)."""
    global _language
    _install()
    _language = language
    import typer.core

    english = language == DEFAULT_LANGUAGE
    vars(typer.core)["_"] = _originals["core._"] if english else _say
    if "rich" in _originals:
        import typer.rich_utils as rich_utils

        for name, msgid in RICH_CONSTANTS.items():
            setattr(rich_utils, name, _originals["rich"][name] if english else _say(msgid))
