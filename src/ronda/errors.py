"""One error family for everything Ronda refuses.

A message is an English template with `{name}` placeholders plus its values
(`InvalidInput("at most {limit} records per request", field="body",
limit=500)`), so that each reader gets it in their own language: `str()` is
the English text (logs, tests); the API and the command line translate the
template through the catalogs and fill the values in (`ronda.i18n.errors`).
The error classes are extraction keywords (`ronda.i18n.extract.KEYWORDS`):
pass the template as a literal, never an f-string, or it reaches no catalog.
"""

from __future__ import annotations

from collections.abc import Mapping


class Term(str):
    """A value that is itself a word to translate (`NotFound("person", ...)`:
    "person" reaches a Spanish reader as "persona"); mark its literal with `N_`
    where it is written unless the error class is an extraction keyword."""


def fill(template: str, values: Mapping[str, object]) -> str:
    """`template` with its `{name}` placeholders filled (literal braces doubled)."""
    return template.format(**values) if values else template


class RondaError(Exception):
    """Base of every error Ronda raises on purpose."""

    def __init__(self, template: str = "", /, **values: object) -> None:
        self.template = template
        self.values = values
        super().__init__(fill(template, values))


class InvalidInput(RondaError):
    """Input that cannot be accepted; says where (file, line, field) when known."""

    def __init__(
        self,
        message: str,
        /,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        **values: object,
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        super().__init__(message, **values)

    @property
    def message(self) -> str:
        """The English message, without where it happened."""
        return fill(self.template, self.values)

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InvalidFrame(InvalidInput):
    """A device frame that cannot be decoded; `reason` is a short label for counting."""

    def __init__(self, message: str, /, *, reason: str = "malformed", **values: object) -> None:
        self.reason = reason
        self.source, self.line, self.field = None, None, None
        RondaError.__init__(self, message, **values)  # a frame has no file, line or field


class UnknownReference(InvalidInput):
    """A reference to a device, person, zone or rule that does not exist."""
