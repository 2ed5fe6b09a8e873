"""The REST API (FastAPI; OpenAPI at /docs) and the ASGI wiring of both ports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from ronda.alerts.workflow import TransitionRefused
from ronda.api import routes_alerts, routes_cases, routes_positions, stream
from ronda.api.deps import require_token, service
from ronda.api.web import PAGE
from ronda.errors import InvalidInput
from ronda.pipeline.service import LiveService
from ronda.storage.errors import Conflict, NotFound

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="the server's API token (RONDA_API_TOKEN)")


def _problem(status: int, error: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "field": field, **extra}
    return JSONResponse(body, status_code=status)


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _loc(first.get("loc", ()))
        details = [{"field": _loc(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors[:20]]
        return _problem(422, f"{field}: {first.get('msg', 'invalid')}", field, details=details)

    @app.exception_handler(InvalidInput)
    async def invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        field = exc.field
        if field and not field.startswith(("body", "query", "path")):
            field = f"body.{field}"
        return _problem(422, f"{field}: {exc.message}" if field else exc.message, field)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _problem(404, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _problem(409, str(exc), f"body.{exc.field}" if exc.field else None)

    @app.exception_handler(TransitionRefused)
    async def refused(_: Request, exc: TransitionRefused) -> JSONResponse:
        return _problem(409, str(exc), "status")

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return _problem(409, "conflicts with what is stored (a duplicate or a reference in use)")

    @app.exception_handler(DataError)
    async def data(_: Request, exc: DataError) -> JSONResponse:
        return _problem(422, "a value the database cannot store")

    @app.exception_handler(OperationalError)
    async def unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return _problem(503, "database unavailable, try again")


def create_app(svc: LiveService, api_token: str | None, *, manage_service: bool = True) -> FastAPI:
    """The API over a live service; `manage_service` starts and stops it with the app."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        mine = manage_service and not svc.started  # stop only what this lifespan started
        if mine:
            await svc.start()
        try:
            yield
        finally:
            if mine:
                await svc.stop()

    app = FastAPI(
        title="Ronda",
        version="0.1.0",
        description=(
            "Open electronic monitoring: persons, devices, zones, orders, positions, episodes and alerts."
        ),
        lifespan=lifespan,
    )
    app.state.service = svc
    app.state.api_token = api_token
    install_handlers(app)
    guarded = [Depends(bearer), Depends(require_token)]
    for r in (routes_cases.router, routes_alerts.router, routes_positions.router, stream.router):
        app.include_router(r, dependencies=guarded)

    @app.get("/api/status", tags=["status"], dependencies=guarded)
    def status(request: Request) -> dict[str, Any]:
        """Counters: records stored, duplicates, refused unknown devices, engine counters."""
        return service(request).status()

    @app.get("/health", tags=["status"])
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(PAGE)

    return app


class PortRouter:
    """One ASGI app for a server listening on two ports: requests to the
    ingest port go to the ingest app, everything else (and lifespan) to the API."""

    def __init__(self, api: ASGIApp, ingest: ASGIApp, ingest_port: int) -> None:
        self.api, self.ingest, self.ingest_port = api, ingest, ingest_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == self.ingest_port:
            await self.ingest(scope, receive, send)
        else:
            await self.api(scope, receive, send)
