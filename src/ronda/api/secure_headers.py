"""Security headers on every API and UI answer (OWASP secure-headers set).

No cookies are used for sign-in (bearer tokens only), so cross-site request
forgery has nothing to ride on; the CSP keeps the UI to its own files (map
tiles may come from an https tile server); /docs loads its pages from a CDN
and gets no CSP (turn /docs off at the proxy in an offline centre)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000"),  # browsers heed it over https only
]
DOCS = ("/docs", "/redoc", "/openapi.json")


class SecureHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(HEADERS)
        if not path.startswith(DOCS):
            extra.append((b"content-security-policy", CSP.encode()))
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))  # personal data stays out of caches

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
