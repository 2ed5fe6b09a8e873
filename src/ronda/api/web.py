"""The monitoring centre's web UI: a static single-page app of plain ES modules
(src/ronda/web/static/) that reads only the public API, and the map library
(Leaflet and its drawing plugin) that `scripts/setup` copies from npm into
src/ronda/web/vendor/. No CDN at run time; when the library is missing the
page says what to run."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"
STATIC = WEB / "static"
VENDOR = WEB / "vendor"

MISSING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ronda</title></head>
<body style="font:16px system-ui,sans-serif;margin:2em;color:#111">
<h1>Ronda</h1><p>The web UI's files are missing from this installation
(<code>src/ronda/web/static</code>). Reinstall Ronda, or from a checkout run
<code>scripts/setup</code>.</p><p>The API is documented at <a href="/docs">/docs</a>.</p></body></html>"""


def install(app: FastAPI) -> None:
    """Serve the app at `/` and its files at `/static/` (the libraries at
    `/static/vendor/`, when installed)."""

    @app.get("/", include_in_schema=False, response_model=None)
    def home() -> FileResponse | HTMLResponse:
        index = STATIC / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    if VENDOR.is_dir():
        app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="vendor")
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
