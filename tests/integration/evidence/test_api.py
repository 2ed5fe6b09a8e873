"""The evidence routes: exports that need a stated purpose, audited, and
whose content checks out (the PDF's data digest, the bundle's manifest)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from tests.integration.evidence.conftest import Loaded

from ronda.api.app import create_app
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.reports.bundle import verify_bundle
from ronda.storage.db import sessions
from ronda.storage.models_security import AuditRow

TOKEN = "evidence-token"
PERIOD = {"start": "2026-05-31T23:00:00Z", "end": "2026-06-01T23:00:00Z"}


@pytest.fixture(scope="module")
def client(sample: Loaded) -> Iterator[TestClient]:
    svc = LiveService(sample.db, config=ServiceConfig(tick_s=3600.0))
    with TestClient(create_app(svc, TOKEN)) as c:
        c.headers.update({"Authorization": f"Bearer {TOKEN}"})
        yield c


def test_court_report_needs_a_purpose_and_is_audited(client: TestClient, sample: Loaded) -> None:
    person = sample.violators()[0][0]
    r = client.get(f"/api/persons/{person}/court-report", params=PERIOD)
    assert r.status_code == 422 and "purpose" in r.text
    r = client.get(
        f"/api/persons/{person}/court-report", params=PERIOD, headers={"X-Ronda-Purpose": "hearing 2026/77"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    manifest = b"".join(reader.attachments["manifest.json"])
    assert hashlib.sha256(manifest).hexdigest() == r.headers["x-ronda-data-sha256"]
    assert "hearing 2026/77" in " ".join((reader.pages[0].extract_text() or "").split())
    with sessions(sample.db)() as s:
        rows = list(
            s.execute(
                select(AuditRow).where(AuditRow.person == person, AuditRow.action == "export")
            ).scalars()
        )
    assert any(
        json.loads(a.detail).get("data_manifest_sha256") == r.headers["x-ronda-data-sha256"] for a in rows
    )
    assert all(
        a.purpose == "hearing 2026/77" for a in rows if "court" in a.target or "court-report" in a.target
    )


def test_evidence_bundle_route(client: TestClient, sample: Loaded) -> None:
    person = sample.violators()[0][0]
    r = client.get(
        f"/api/persons/{person}/evidence-bundle", params=PERIOD, headers={"X-Ronda-Purpose": "appeal"}
    )
    assert r.status_code == 200, r.text
    rep, _ = verify_bundle(r.content, sample.db)
    assert rep.ok, rep.problems
    assert hashlib.sha256(b"").hexdigest() != r.headers["x-ronda-manifest-sha256"]
    assert (
        client.get(
            "/api/persons/nobody/evidence-bundle", params=PERIOD, headers={"X-Ronda-Purpose": "x"}
        ).status_code
        == 404
    )
    bad = {**PERIOD, "end": PERIOD["start"]}
    r = client.get(f"/api/persons/{person}/court-report", params=bad, headers={"X-Ronda-Purpose": "x"})
    assert r.status_code == 422
