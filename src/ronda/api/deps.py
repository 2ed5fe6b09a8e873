"""What every route needs: the service, a transaction, the caller's token."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

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


def require_token(request: Request) -> None:
    """`Authorization: Bearer TOKEN` (or `?token=` for EventSource clients)."""
    expected: str | None = request.app.state.api_token
    if expected is None:
        return
    header = request.headers.get("authorization", "")
    given = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"})


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
