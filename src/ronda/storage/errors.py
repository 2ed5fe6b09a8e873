"""What repositories refuse: missing rows and conflicting writes."""

from __future__ import annotations

from ronda.errors import RondaError, Term
from ronda.i18n.catalog import N_


class NotFound(RondaError):
    """No `what` (a noun: "person", "rule"; an extraction keyword, so the
    noun reaches the catalogs) with this key."""

    def __init__(self, what: str, key: object) -> None:
        self.what, self.key = what, key
        super().__init__(N_("no {what} {key}"), what=Term(what), key=repr(key))


class Conflict(RondaError):
    """The write contradicts what is stored (a duplicate id, a row still in use)."""

    def __init__(self, message: str, /, field: str | None = None, **values: object) -> None:
        self.field = field
        super().__init__(message, **values)
