"""The REST API (FastAPI; OpenAPI at /docs) and the ASGI wiring of both ports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from ronda.alerts.workflow import TransitionRefused
from ronda.api import (
    routes_alerts,
    routes_audit,
    routes_auth,
    routes_cases,
    routes_evidence,
    routes_i18n,
    routes_investigation,
    routes_map,
    routes_notify,
    routes_positions,
    routes_prison,
    routes_privacy,
    stream,
    web,
)
from ronda.api.auth import Authenticator, retention_loop
from ronda.api.deps import service
from ronda.api.policy import guard
from ronda.api.secure_headers import SecureHeaders
from ronda.config import SecuritySettings
from ronda.errors import InvalidInput
from ronda.pipeline.service import LiveService
from ronda.storage.errors import Conflict, NotFound

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/login (or the service token)")


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


def create_app(
    svc: LiveService,
    api_token: str | None,
    *,
    manage_service: bool = True,
    security: SecuritySettings | None = None,
    retention: bool = False,
) -> FastAPI:
    """The API over a live service; `manage_service` starts and stops it with the app.
    `api_token`: the service token for machine clients (docs/security.md);
    `retention`: purge old positions and events on a schedule (`ronda serve`)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        mine = manage_service and not svc.started  # stop only what this lifespan started
        if mine:
            await svc.start()
        purger = asyncio.create_task(retention_loop(app.state.auth)) if retention else None
        try:
            yield
        finally:
            if purger is not None:
                purger.cancel()
            if mine:
                await svc.stop()

    app = FastAPI(
        title="Ronda",
        version="0.1.0",
        description=(
            "Open electronic monitoring: persons, devices, zones, orders, positions, episodes and alerts."
        ),
        lifespan=lifespan,
        dependencies=[Depends(guard)],  # every route: the access policy (api/policy.py)
    )
    app.state.service = svc
    app.state.api_token = api_token
    # (an app built without a service, e.g. to print the OpenAPI schema, has no sessions)
    sessions: Any = getattr(svc, "sessions", None)
    app.state.auth = Authenticator(sessions, security or SecuritySettings(), api_token)
    app.state.route_paths = {}
    app.add_middleware(SecureHeaders)
    install_handlers(app)
    guarded = [Depends(bearer)]  # the policy runs for every route; this documents the bearer scheme
    for m in (routes_auth, routes_audit, routes_privacy):
        app.include_router(m.router, dependencies=guarded)
    routers = (routes_cases, routes_alerts, routes_positions, stream, routes_map, routes_evidence)
    for r in (m.router for m in routers):
        app.include_router(r, dependencies=guarded)
    app.include_router(routes_notify.router, dependencies=guarded)  # issue 7
    app.include_router(routes_investigation.router, dependencies=guarded)  # issue 9: investigation
    app.include_router(routes_prison.router, dependencies=guarded)  # issue 10: prison
    app.include_router(routes_i18n.router, dependencies=guarded)  # issue 11: languages

    @app.get("/api/status", tags=["status"], dependencies=guarded)
    def status(request: Request) -> dict[str, Any]:
        """Counters: records stored, duplicates, refused unknown devices, engine counters."""
        return service(request).status()

    @app.get("/health", tags=["status"])
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz", tags=["status"])
    def healthz() -> dict[str, bool]:
        """Liveness: the process answers."""
        return {"ok": True}

    @app.get("/readyz", tags=["status"], response_model=None)
    def readyz(request: Request) -> dict[str, bool] | JSONResponse:
        """Readiness: the database answers (and, distributed, NATS is connected)."""
        svc = service(request)
        try:
            with svc.sessions() as s:
                s.execute(text("SELECT 1"))
            why = svc.readiness() if hasattr(svc, "readiness") else None
        except Exception as exc:  # not ready, with the reason; never a 500
            why = f"database unavailable: {type(exc).__name__}"
        if why is not None:
            return JSONResponse({"ok": False, "reason": why}, status_code=503)
        return {"ok": True}

    web.install(app)  # the web UI at / and its files at /static/

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
