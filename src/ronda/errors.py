"""One error family for everything Ronda refuses."""

from __future__ import annotations


class RondaError(Exception):
    """Base of every error Ronda raises on purpose."""


class InvalidInput(RondaError):
    """Input that cannot be accepted; says where (file, line, field) when known."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(str(self))

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

    def __init__(self, message: str, *, reason: str = "malformed") -> None:
        self.reason = reason
        super().__init__(message)


class UnknownReference(InvalidInput):
    """A reference to a device, person, zone or rule that does not exist."""
