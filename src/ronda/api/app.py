"""The REST API (FastAPI; OpenAPI at /docs) and the ASGI wiring of both ports."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException
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
from ronda.api.refusal import reader_language, refusal_text
from ronda.api.secure_headers import SecureHeaders
from ronda.config import SecuritySettings
from ronda.errors import InvalidInput
from ronda.i18n.catalog import N_, gettext
from ronda.i18n.errors import error_message
from ronda.i18n.validation import validation_message
from ronda.pipeline.service import LiveService
from ronda.storage.errors import Conflict, NotFound

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/login (or the service token)")


def _problem(
    request: Request, status: int, error: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    """An error answer: `error` is already in the reader's language (Content-Language)."""
    body: dict[str, Any] = {"error": error, "field": field, **extra}
    return JSONResponse(body, status_code=status, headers={"Content-Language": reader_language(request)})


STARLETTE_REFUSALS = (N_("Not Found"), N_("Method Not Allowed"))
"""Starlette's own refusals (an unknown path, a method the route does not
take), marked so that they reach the catalogs: they are translated too."""


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = reader_language(request)
        errors = exc.errors()
        details = [
            {"field": _loc(e.get("loc", ())), "message": validation_message(e, lang)} for e in errors[:20]
        ]
        if not details:
            return _problem(request, 422, gettext(lang, N_("invalid request")))
        first = details[0]
        return _problem(
            request, 422, f"{first['field']}: {first['message']}", first["field"], details=details
        )

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        field = exc.field
        if field and not field.startswith(("body", "query", "path")):
            field = f"body.{field}"
        message = error_message(exc, reader_language(request))
        return _problem(request, 422, f"{field}: {message}" if field else message, field)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _problem(request, 404, error_message(exc, reader_language(request)))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        message = error_message(exc, reader_language(request))
        return _problem(request, 409, message, f"body.{exc.field}" if exc.field else None)

    @app.exception_handler(TransitionRefused)
    async def refused(request: Request, exc: TransitionRefused) -> JSONResponse:
        return _problem(request, 409, error_message(exc, reader_language(request)), "status")

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        message = N_("conflicts with what is stored (a duplicate or a reference in use)")
        return _problem(request, 409, gettext(reader_language(request), message))

    @app.exception_handler(DataError)
    async def data(request: Request, exc: DataError) -> JSONResponse:
        return _problem(
            request, 422, gettext(reader_language(request), N_("a value the database cannot store"))
        )

    @app.exception_handler(OperationalError)
    async def unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return _problem(
            request, 503, gettext(reader_language(request), N_("database unavailable, try again"))
        )

    @app.exception_handler(HTTPException)
    async def http_refusal(request: Request, exc: HTTPException) -> Response:
        # FastAPI's own shape ({"detail": ...}), with the text in the reader's language.
        lang = reader_language(request)
        text = refusal_text(exc, lang)
        headers = {**(exc.headers or {}), "Content-Language": lang}
        if exc.status_code in {204, 304} or not is_body_allowed_for_status_code(exc.status_code):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse(
            {"detail": text if text is not None else exc.detail}, status_code=exc.status_code, headers=headers
        )


def notifier_status(svc: Any) -> dict[str, Any]:
    """The notifications' side of /api/status (None where the database cannot say)."""
    from ronda.notify.runtime import runtime_of
    from ronda.storage.notify import outbox_health

    runtime = runtime_of(svc) if isinstance(svc, LiveService) else None
    sender = None
    if runtime is not None:
        sender = "this server" if runtime.config.enabled else "ronda notify run"
    try:
        with svc.sessions() as s:
            outbox: dict[str, Any] | None = outbox_health(s, time.time())
    except SQLAlchemyError as exc:
        log.warning("notification status unavailable: %s", exc)
        outbox = None
    return {"sender": sender, "outbox": outbox, **(runtime.status() if runtime is not None else {})}


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
        """Counters: records stored, duplicates, refused unknown devices, engine
        counters; and `notify`: who sends the notifications, messages by status,
        how long the most overdue one has waited, the last delivery."""
        svc = service(request)
        body = svc.status()
        body["notify"] = notifier_status(svc)
        return body

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
