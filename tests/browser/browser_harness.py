"""The harness of the browser tests: a real `ronda serve` process, its HTTP ingest
fed by simulated devices, and Debian's Chromium driven by Playwright.

Screenshots of each step are saved under test-artifacts/browser/<test>/."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
RONDA = str(Path(sys.executable).parent / "ronda")
READY = re.compile(r"API on http://[^:]+:(\d+) ingest on :(\d+)")
SERVICE_TOKEN = "browser-test-service-token"
PASSWORD = "correct horse battery staple 42"

# The exclusion zone the walker enters: a 1 km square around the Retiro park.
PARK = [[-3.692, 40.411], [-3.680, 40.411], [-3.680, 40.420], [-3.692, 40.420], [-3.692, 40.411]]
PARK_CENTRE = (40.4155, -3.686)  # lat, lon
START = (40.4155, -3.705)  # 1.6 km west of the park, outside it


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Server:
    api: str
    ingest: str
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    device_tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role -> username

    def client(self, token: str = SERVICE_TOKEN) -> httpx.Client:
        return httpx.Client(
            base_url=self.api + "/api", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kw: Any) -> Any:
        with self.client() as c:
            r = c.request(method, path, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def report(self, device: str, fixes: list[dict[str, Any]]) -> None:
        """Send fixes as the device would: the native batch endpoint of the ingest port."""
        r = httpx.post(
            self.ingest + "/api/v1/records",
            json=fixes,
            headers={"Authorization": f"Bearer {self.device_tokens[device]}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text

    @property
    def has_users(self) -> bool:
        with self.client() as c:
            return c.post("/auth/login", json={"username": "-", "password": "-"}).status_code != 404


def walk(
    start: tuple[float, float],
    end: tuple[float, float],
    n: int,
    t0: dt.datetime,
    step_s: float,
    speed_mps: float = 5.0,
) -> list[dict[str, Any]]:
    """n fixes on a straight line from start to end, step_s apart, accuracy 8 m."""
    out = []
    for i in range(n):
        f = i / (n - 1)
        out.append(
            {
                "time": iso(t0 + dt.timedelta(seconds=i * step_s)),
                "lat": round(start[0] + (end[0] - start[0]) * f, 6),
                "lon": round(start[1] + (end[1] - start[1]) * f, 6),
                "accuracy": 8,
                "speed": speed_mps,
                "battery": 80 - i,
            }
        )
    return out


def _start(tmp: Path) -> Server:
    env = {
        **os.environ,
        "RONDA_API_TOKEN": SERVICE_TOKEN,
        "RONDA_MAP_TILES": "",  # no base map: the tests reach no network
        "RONDA_GATEWAY": "false",
        "RONDA_ENGINE_REORDER_HOLD_S": "0.5",
        "RONDA_DATA_DIR": str(tmp),
    }
    cmd = [RONDA, "serve", "--port", "0", "--ingest-port", "0", "--database", f"sqlite:///{tmp / 'ronda.db'}"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    output: list[str] = []
    for line in proc.stdout:
        output.append(line)
        m = READY.search(line)
        if m:
            break
    else:
        raise AssertionError("server did not start:\n" + "".join(output))
    stream = proc.stdout
    threading.Thread(target=lambda: output.extend(stream), daemon=True).start()
    return Server(f"http://127.0.0.1:{m.group(1)}", f"http://127.0.0.1:{m.group(2)}", proc, output)


def _caseload(s: Server) -> None:
    """A walker under an exclusion order (the park) and a proximity rule to a
    protected person, who carries a phone; both devices with ingest tokens."""
    s.call("POST", "/persons", json={"id": "p-walker", "role": "monitored", "name": "Walker"})
    s.call("POST", "/persons", json={"id": "v-ana", "role": "protected", "name": "Ana (protected)"})
    for dev, kind, person in (("tag-walker", "gps_tag", "p-walker"), ("phone-ana", "phone", "v-ana")):
        s.call("POST", "/devices", json={"id": dev, "kind": kind, "comms_timeout_s": 3600})
        s.call("POST", f"/devices/{dev}/assign", json={"person": person})
        s.device_tokens[dev] = s.call("POST", f"/devices/{dev}/token")["token"]
    s.call("POST", "/devices", json={"id": "tag-spare", "kind": "gps_tag", "serial": "SN-SPARE"})
    s.call(
        "POST",
        "/zones",
        json={
            "type": "Feature",
            "id": "z-park",
            "geometry": {"type": "Polygon", "coordinates": [PARK]},
            "properties": {"name": "Retiro park"},
        },
    )
    s.call(
        "POST",
        "/orders",
        json={
            "id": "o-walker",
            "person": "p-walker",
            "timezone": "Europe/Madrid",
            "rules": [
                {"id": "r-park", "type": "exclusion", "zone": "z-park"},
                {"id": "r-ana", "type": "proximity", "person": "v-ana", "distance_m": 300},
            ],
        },
    )


def _users(s: Server) -> None:
    """One user per role that the tests sign in as (when the server has user accounts)."""
    if not s.has_users:
        return
    for role in ("operator", "admin"):
        name = f"{role}-1"
        body = {"username": name, "password": PASSWORD, "role": role, "display_name": f"{role.title()} One"}
        with s.client() as c:
            agency = c.get("/agencies").json()[0]["id"]  # the one agency every record belongs to
            r = c.post("/users", json={**body, "agency_id": agency})
        assert r.status_code < 300, r.text
        s.users[role] = name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (scripts/setup dev installs it as root: apt-get install chromium)")
    leaflet = ROOT / "src" / "ronda" / "web" / "vendor" / "leaflet" / "leaflet.js"
    assert leaflet.is_file(), "the web UI's map library is not installed: run scripts/setup (npm ci)"
    s = _start(tmp_path_factory.mktemp("ronda-browser"))
    try:
        _caseload(s)
        _users(s)
        yield s
    finally:
        s.proc.send_signal(signal.SIGTERM)
        try:
            s.proc.wait(30)
        except subprocess.TimeoutExpired:
            s.proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (scripts/setup dev installs it as root: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", timezone_id="Europe/Madrid"
    )
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Callable[..., None]:
    """shot("step"): a screenshot of the page (or of `other`) as a test artefact."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    count = [0]

    def take(step: str, other: Any = None) -> None:
        count[0] += 1
        (other or page).screenshot(path=str(folder / f"{count[0]:02d}-{step}.png"))

    return take


def sign_in(page: Any, server: Server, role: str = "operator") -> None:
    """Sign in through the login page as the role's user; on a server without
    user accounts, with the service token the server was started with."""
    if server.users:
        page.goto(server.api + "/")
        page.fill("#username", server.users[role])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
    else:
        page.goto(server.api + f"/?token={SERVICE_TOKEN}")
    page.wait_for_selector("header#top:not([hidden])")
