"""The live stream: positions and alerts as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ronda.api.auth import live_view
from ronda.api.deps import service
from ronda.api.policy import ALERTS, CASES_READ, authenticator, current_caller

router = APIRouter(prefix="/api", tags=["stream"])
HEARTBEAT_S = 15.0
VIEW_REFRESH_S = 5.0


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "events `position` and `alert`"}},
)
async def stream(
    request: Request,
    topics: Annotated[str, Query(pattern=r"^(position|alert)(,(position|alert))?$")] = "position,alert",
) -> StreamingResponse:
    """Server-sent events: `event: position` (device, time, lat, lon, accuracy)
    and `event: alert` (a new alert, a closed episode or an action on an alert).
    Browsers' EventSource cannot send headers: pass the API token as `?token=`."""
    sub = service(request).bus.subscribe(frozenset(topics.split(",")))
    caller, auth = current_caller(request), authenticator(request)

    def load() -> Any:  # what this caller may see, refreshed every few seconds
        with auth.sessions() as s:
            return live_view(
                s,
                caller,
                CASES_READ.get(caller.role),
                ALERTS.get(caller.role),
                auth.settings.protected_margin_s,
                auth.clock(),
            )

    async def events() -> AsyncIterator[str]:
        view = await asyncio.to_thread(load)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    msg = await asyncio.wait_for(sub.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if auth.clock() - view.loaded_s > VIEW_REFRESH_S:
                    view = await asyncio.to_thread(load)
                if not (view.position(msg.data) if msg.topic == "position" else view.alert(msg.data)):
                    continue
                yield f"event: {msg.topic}\ndata: {json.dumps(msg.data, separators=(',', ':'))}\n\n"
        finally:
            sub.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
