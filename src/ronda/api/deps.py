"""What every route needs: the service, a transaction, instants (the caller: api/policy.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session

from ronda.config import Settings
from ronda.errors import InvalidInput
from ronda.pipeline.service import LiveService


def service(request: Request) -> LiveService:
    svc: LiveService = request.app.state.service
    return svc


@contextmanager
def tx(request: Request) -> Iterator[Session]:
    """One transaction: committed when the block ends without error."""
    with service(request).sessions.begin() as s:
        yield s


def epoch(value: dt.datetime | None, field: str) -> float | None:
    """An instant from the API (naive means UTC) in epoch seconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.timestamp()
    except (OverflowError, ValueError, OSError) as exc:
        raise InvalidInput("instant out of range", field=field) from exc


def when(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def settings(request: Request) -> Settings:
    """The server's settings (`ronda serve` sets them on the app); an app made
    without them (tests, embedding) reads the environment and RONDA_CONFIG."""
    got: Settings | None = getattr(request.app.state, "settings", None)
    if got is None:
        got = Settings.from_env()
        request.app.state.settings = got
    return got
