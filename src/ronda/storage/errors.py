"""What repositories refuse: missing rows and conflicting writes."""

from __future__ import annotations

from ronda.errors import RondaError


class NotFound(RondaError):
    def __init__(self, what: str, key: object) -> None:
        self.what, self.key = what, key
        super().__init__(f"no {what} {key!r}")


class Conflict(RondaError):
    """The write contradicts what is stored (a duplicate id, a row still in use)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
