"""The compliance page in a real browser (Debian's Chromium through
Playwright): the programme charts are drawn from the API, a person's record
shows their step-down, and an officer's rejection is recorded. A screenshot
is saved under test-artifacts/investigation/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from ronda.api.app import create_app
from ronda.api.auth import hasher
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import cases, records
from ronda.storage import security as users
from ronda.storage.db import connect, migrate
from ronda.storage.models import AlertActionRow, AlertRow, EpisodeRow
from ronda.storage.models_evidence import ComplianceDecisionRow, CorrelationRunRow
from ronda.tracking.records import Position
from ronda.types import DeviceId

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "investigation"
PASSWORD = "correct horse battery staple"
DAY = 86400.0

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, LiveService]]:
    db = connect(f"sqlite:///{tmp_path / 'ronda.db'}")
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.5))
    now = time.time()
    with svc.sessions.begin() as s:
        users.create_user(
            s, "u-sup", "sup", "supervisor", "main", hasher.hash(PASSWORD), display_name="Sam Sup"
        )
        cases.create_person(s, "p7", "monitored", "P Seven")
        cases.create_device(s, "tag-7", "gps_tag")
        cases.assign_device(s, "tag-7", "p7", "setup", at_s=now - 150 * DAY)
        for i, (day, kind, outcome) in enumerate(
            [
                (140, "inclusion", "violation_confirmed"),
                (100, "exclusion", "violation_confirmed"),
                (20, "exclusion", "false_alarm"),
                (2, "comms_loss", None),
            ]
        ):
            t = now - day * DAY
            ep = EpisodeRow(
                type=kind,
                subject=f"s{i}",
                person_id="p7",
                rule_id="r1",
                device_id="tag-7",
                start_s=t,
                raised_s=t,
                end_s=t + 600,
            )
            s.add(ep)
            s.flush()
            a = AlertRow(
                episode_id=ep.id,
                status="resolved" if outcome else "new",
                severity="high",
                outcome=outcome,
                created_s=t,
                updated_s=t,
            )
            s.add(a)
            s.flush()
            if outcome:
                s.add(
                    AlertActionRow(
                        alert_id=a.id,
                        action="resolve",
                        actor="op",
                        from_status="new",
                        to_status="resolved",
                        text="",
                        at_s=t + 200,
                    )
                )
    # p7's tag crossed a scene two days ago (a fix a minute, east-west through it)
    scene_t = now - 2 * DAY
    fixes = [
        Position(
            DeviceId("tag-7"),
            scene_t + i * 60,
            scene_t + i * 60,
            lat=40.4168,
            lon=-3.7038 + i * 5e-4,
            accuracy_m=8.0,
        )
        for i in range(-30, 31)
    ]
    with db.begin() as conn:
        records.insert_records(conn, fixes)
    app = create_app(svc, "svc-token")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", svc
    server.should_exit = True
    thread.join(10)
    db.dispose()


def test_the_page_draws_the_figures_and_records_a_decision(site: tuple[str, LiveService]) -> None:
    base, svc = site
    with TestClient(create_app(svc, "svc-token", manage_service=False)) as c:
        login = c.post("/api/auth/login", json={"username": "sup", "password": PASSWORD}).json()
    user = '"user": {"username": "sup", "display_name": "Sam Sup", "role": "supervisor"}'
    stored = f'{{"token": "{login["token"]}", {user}}}'
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 1100}, timezone_id="UTC").new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.add_init_script(f"sessionStorage.setItem('ronda.session', {stored!r});")
        page.goto(base + "/compliance")
        expect = playwright_api.expect
        # (locators, not wait_for_function: the page's CSP forbids evaluating strings)
        expect(page.locator("#causes svg rect")).to_have_count(2)
        assert "Sam Sup (supervisor)" in page.inner_text("#who")
        # causes: exclusion (confirmed + false alarm) and inclusion in the last 150 days
        page.fill("#from", time.strftime("%Y-%m-%d", time.gmtime(time.time() - 160 * DAY)))
        page.click("#load")
        expect(page.locator("#causes")).to_contain_text("inclusion")
        assert "comms loss" in page.inner_text("#causes")
        assert "%" in page.inner_text("#noviolation")
        # a supervisor searches a scene: p7 passed through it
        page.fill("#inc-lat", "40.4168")
        page.fill("#inc-lon", "-3.7038")
        page.fill("#inc-radius", "100")
        page.fill("#inc-from", time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 2 * DAY - 1800)))
        page.fill("#inc-to", time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 2 * DAY + 1800)))
        page.click("#correlate")
        expect(page.locator("#inc-status")).to_contain_text("purpose")  # refused without one
        page.fill("#inc-purpose", "burglary B-12")
        page.click("#correlate")
        expect(page.locator("#inc-out table")).to_contain_text("p7")
        assert "1 near" in page.inner_text("#inc-out")
        page.fill("#person", "p7")
        page.click("#lookup")
        page.wait_for_selector("#person-out table")
        text = page.inner_text("#person-out")
        assert "days without violation" in text and "Shorten the curfew" in text
        assert page.locator("#person-out .due").count() == 1  # 100 days clean: the first step is due
        page.screenshot(path=str(ARTIFACTS / "compliance.png"), full_page=True)
        page.fill("#person-out input", "wait for the new address check")
        page.click("#person-out button:has-text('Reject')")
        expect(page.locator("#person-status")).to_contain_text("recorded")
        assert "rejected by sup" in page.inner_text("#person-out")
        browser.close()
    # the refused search (no purpose) is the only failed request
    assert errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    with svc.sessions() as s:
        (run,) = s.execute(select(CorrelationRunRow)).scalars()
        assert (run.purpose, run.requester, run.persons_listed) == ("burglary B-12", "u-sup", 1)
        (row,) = s.execute(select(ComplianceDecisionRow)).scalars()
        assert (row.person_id, row.decision, row.officer, row.reason) == (
            "p7",
            "rejected",
            "sup",
            "wait for the new address check",
        )
