"""The facility page in Debian's Chromium (Playwright) over a real `ronda serve`:
zone occupancy on the plan, the open alert, a headcount with its
reconciliation, an inmate's movement history."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.unit.facility.builders import document, local

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "prison-page-test-token"
READY = re.compile(r"API on http://[^:]+:(\d+)")
READERS = ["R-A-01", "R-A-02", "R-land", "R-corr", "R-yard-1", "R-yard-2", "R-shop", "D-gate"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "RONDA_API_TOKEN": TOKEN,
        "RONDA_GATEWAY": "false",
        "RONDA_PRISON_WALL_CLOCK": "0",  # the facility's clock is its readers' (a day in 2026)
        "RONDA_PRISON_MAX_FUTURE_S": str(10**10),
    }
    cmd = [
        str(Path(sys.executable).parent / "ronda"),
        "serve",
        "--port",
        "0",
        "--ingest-port",
        "0",
        "--database",
        f"sqlite:///{tmp_path / 'ronda.db'}",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    port = None
    for line in proc.stdout:
        m = READY.search(line)
        if m:
            port = m.group(1)
            break
    assert port, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def minutes(start: float, n: int, places: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k in range(n * 30):
        t = start + 2 * k
        out += [{"type": "heartbeat", "reader": r, "time": t} for r in READERS]
        out += [
            {"type": "sighting", "band": b, "reader": r, "time": t, "rssi": -55} for b, r in places.items()
        ]
    return out


def test_facility_page(api: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        assert c.put("/api/prison/facilities/test", json=document()).status_code == 200
        url = "/api/prison/facilities/test/sightings"
        assert c.post(url, json=minutes(local(8), 1, {"W1": "R-A-01", "W2": "R-A-02"})).status_code == 200
        assert c.post(url, json=minutes(local(8, 1), 2, {"W1": "R-shop", "W2": "R-A-02"})).status_code == 200
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{api}/prison#token={TOKEN}")
        page.wait_for_selector("#open-episodes li")
        assert "out of bounds · P1 · workshop" in page.inner_text("#open-episodes")
        occupancy = page.inner_text("#occupancy")
        assert re.search(r"workshop\s+workshop\s+1\b", occupancy), occupancy
        page.click("nav >> text=Headcounts")
        page.click("#count-now")
        page.wait_for_selector("#count-detail h2")
        detail = page.inner_text("#count-detail")
        assert "Roll 3: counted 1" in detail and "missing 1" in detail and "out of place 1" in detail
        page.locator("form.reconcile").first.locator("select").select_option("in_medical")
        page.locator("form.reconcile").first.locator("button").click()
        page.wait_for_timeout(800)
        assert "in medical by service" in page.inner_text("#count-detail")
        page.click("nav >> text=Movement history")
        page.fill("#history-inmate", "P1")
        page.click("#history-form button")
        page.wait_for_selector("#history table")
        history = page.inner_text("#history")
        assert "A-01" in history and "workshop" in history and "Now in workshop" in history
        browser.close()
