"""Device ingest over HTTP, on its own port.

- OsmAnd (Traccar Client and many trackers): `GET` or `POST /` with the
  query string, a form body or the JSON body; the device is named by `id`.
- Native: `POST /api/v1/records` with `Authorization: Bearer DEVICE_TOKEN` and
  a JSON array of records in the scenario format (FORMAT.md) without
  `received`: the server stamps it. `device` may be left out (it is the
  token's); naming another device is refused.

Every answer 200 comes after the records are committed; a resent batch stores
nothing twice. Unknown devices are refused (404) and counted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ronda.api.auth import RateLimiter
from ronda.devices.protocols.osmand import decode_osmand
from ronda.errors import InvalidFrame, InvalidInput
from ronda.pipeline.service import LiveService
from ronda.scenarios.loader import record_from_json
from ronda.storage.cases import hash_token
from ronda.tracking.records import Record

MAX_BODY = 8 * 1024 * 1024
MAX_RECORDS = 10_000


def _problem(status: int, error: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


async def _body(request: Request) -> bytes | None:
    size = request.headers.get("content-length")
    if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
        return None
    chunks = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_ingest_app(svc: LiveService, *, rate_per_s: float = 20.0) -> Starlette:
    """`rate_per_s`: requests a second one device may make (bursts of 10 s
    worth); beyond it 429 with Retry-After, counted. Requests with a bad token
    are limited per address, so device tokens cannot be guessed at speed."""
    counters: Counter[str] = Counter()
    per_device = RateLimiter(rate_per_s, max(1.0, rate_per_s * 10))
    bad_tokens = RateLimiter(1.0, 20.0)

    def limited(key: str) -> Response | None:
        if per_device.allow(key):
            return None
        counters["rate_limited"] += 1
        return JSONResponse({"error": "too many requests for this device"}, 429, {"Retry-After": "1"})

    async def store(records: list[Record]) -> Response | None:
        accepted = await svc.sink.accept(records)
        if accepted.unknown_device and not accepted.stored and not accepted.duplicates:
            counters["unknown_device"] += 1
            return _problem(404, "unknown device", "device")
        counters["accepted_requests"] += 1
        return None

    async def osmand(request: Request) -> Response:
        received_s = time.time()
        refused = limited(f"osmand:{request.query_params.get('id') or request.query_params.get('deviceid')}")
        if refused is not None:
            return refused
        body = await _body(request) if request.method == "POST" else b""
        if body is None:
            return _problem(413, "body too large")
        try:
            recs = decode_osmand(
                dict(request.query_params), body or None, request.headers.get("content-type"), received_s
            )
        except InvalidFrame as exc:
            counters[f"osmand_{exc.reason}"] += 1
            return _problem(400, exc.message)
        refused = await store(recs)
        return refused or PlainTextResponse("")

    async def native(request: Request) -> Response:
        received_s = time.time()
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        device = svc.tokens.get(hash_token(token)) if token else None
        if device is None:
            counters["bad_token"] += 1
            if not bad_tokens.allow(request.client.host if request.client else ""):
                counters["rate_limited"] += 1
                msg = {"error": "too many bad tokens from this address"}
                return JSONResponse(msg, 429, {"Retry-After": "5"})
            return JSONResponse(
                {"error": "missing or unknown device token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        refused = limited(f"native:{device}")
        if refused is not None:
            return refused
        body = await _body(request)
        if body is None:
            return _problem(413, "body too large")
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return _problem(400, "body is not JSON")
        items = doc.get("records") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            return _problem(400, 'expected a JSON array of records (or {"records": [...]})', "records")
        if len(items) > MAX_RECORDS:
            return _problem(413, f"at most {MAX_RECORDS} records a batch", "records")
        recs: list[Record] = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                named = item.get("device", device)
                if named != device:
                    return _problem(403, f"this token is for device {device!r}", f"records[{i}].device")
                item["device"] = device  # our own parsed copy: no need to copy it again
            try:
                recs.append(record_from_json(item, received_s=received_s))
            except InvalidInput as exc:
                where = f"records[{i}].{exc.field}" if exc.field else f"records[{i}]"
                return _problem(400, exc.message, where)
        if not recs:
            return JSONResponse({"stored": 0, "duplicates": 0})
        accepted = await svc.sink.accept(recs)
        return JSONResponse({"stored": accepted.stored, "duplicates": accepted.duplicates})

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True, **{k: v for k, v in counters.items()}})

    app = Starlette(
        routes=[
            Route("/", osmand, methods=["GET", "POST"]),
            Route("/api/v1/records", native, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    app.state.counters = counters
    return app
