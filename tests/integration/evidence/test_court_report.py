"""The court report of a person after import and replay: every violation is
in the PDF's text, the embedded data are those whose SHA-256 the report
prints, it claims PDF/A, and page 1 renders (kept as a test artefact)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.integration.evidence.conftest import ARTIFACTS, Loaded

from ronda.evidence.text import local_time
from ronda.reports.casefile import gather
from ronda.reports.court import court_report
from ronda.storage.db import sessions


def _text(reader: PdfReader) -> str:
    return " ".join(page.extract_text() or "" for page in reader.pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_report_names_every_violation_and_carries_its_data(loaded: Loaded, tmp_path: Path) -> None:
    violators = loaded.violators()
    assert violators, f"{loaded.name}: the replay raised no violation to report on"
    person, count = violators[0]
    with sessions(loaded.db)() as s:
        case = gather(s, person, loaded.start_s, loaded.end_s)
    rep = court_report(case, actor="clerk of court", purpose="hearing of the case")
    assert len(rep.violations) == count

    reader = PdfReader(io.BytesIO(rep.pdf))
    text = _text(reader)
    flat = " ".join(text.split())
    squashed = _squash(text)
    assert f"Electronic monitoring report: {case.person_name or person}" in flat
    assert case.timezone.key in flat
    for n, v in enumerate(rep.violations, start=1):
        assert f"Violation {n}:" in flat, f"violation {n} missing"
        assert f"rule {v.rule}" in flat
        # its start, in the order's local time with the zone shown
        assert _squash(local_time(v.start_s, case.timezone)) in squashed
    # the rules in words, schedules in local time
    assert case.order is not None
    for r in case.order.rules:
        assert f"rule {r['id']}" in flat
    assert "What the engine could not see" in flat

    # the embedded data: extracted, hashed, and each digest printed in the report
    attached = {name: b"".join(parts) for name, parts in reader.attachments.items()}
    assert {"positions.csv", "positions.geojson", "events.csv", "episodes.csv", "manifest.json"} <= set(
        attached
    )
    manifest = json.loads(attached["manifest.json"])
    for name, data in attached.items():
        digest = hashlib.sha256(data).hexdigest()
        assert digest in squashed, f"the SHA-256 of {name} is not printed in the report"
        if name != "manifest.json":
            assert manifest["files"][name]["sha256"] == digest
    positions = json.loads(attached["positions.geojson"])
    assert len(positions["features"]) == len(case.fixes)
    # every violation's alert is in the attached episodes
    episodes = attached["episodes.csv"].decode()
    for v in rep.violations:
        assert f",{v.rule}," in episodes

    # archival PDF: PDF/A-3 declared in the XMP metadata
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8", "replace")
    assert "pdfaid:part" in xmp and re.search(r"pdfaid:part(>|=\")3", xmp)

    # the visual check: page 1 rendered, kept for a person to look at
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = ARTIFACTS / f"court-report-{loaded.name}.pdf"
    pdf_path.write_bytes(rep.pdf)
    stem = ARTIFACTS / f"court-report-{loaded.name}-page1"
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "70", "-png", "-singlefile", str(pdf_path), str(stem)],
        check=True,
    )
    png = stem.with_suffix(".png")
    assert png.stat().st_size > 10_000  # a drawn page, not a blank one
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Violation 1:" in " ".join(out.split())


def test_a_proximity_violation_shows_distances_to_the_protected_person(sample: Loaded) -> None:
    with sessions(sample.db)() as s:
        case = gather(s, "p3", sample.start_s, sample.end_s)
    assert case.protected_fixes.get("v3"), "the protected person's fixes are part of the case"
    rep = court_report(case, actor="clerk", purpose="check")
    prox = [v for v in rep.violations if v.type == "proximity"]
    assert prox, "the sample city's p3 comes too close to v3"
    flat = " ".join(_text(PdfReader(io.BytesIO(rep.pdf))).split())
    assert "Came too close to a protected person" in flat
    assert "Distance to protected person" in flat
    assert "Must stay at least 500 m away from" in flat or "Must stay at least" in flat


def test_a_quiet_period_says_so(sample: Loaded) -> None:
    with sessions(sample.db)() as s:
        case = gather(s, "p1", sample.start_s, sample.start_s + 3600)
    rep = court_report(case, actor="clerk", purpose="check")
    flat = " ".join(_text(PdfReader(io.BytesIO(rep.pdf))).split())
    assert rep.violations == []
    assert "No violation of the order was recorded in this period." in flat


def test_cli_report_court_is_audited(sample: Loaded, tmp_path: Path) -> None:
    from sqlalchemy import select
    from typer.testing import CliRunner

    from ronda.cli.main import app
    from ronda.storage.models_security import AuditRow

    out = tmp_path / "p1.pdf"
    args = ["report", "court", "p1", "--from", "2026-06-01T10:00:00Z", "--to", "2026-06-01T14:00:00Z"]
    r = CliRunner().invoke(
        app,
        [*args, "--out", str(out), "--purpose", "hearing 9", "--actor", "clerk-2", "--database", sample.url],
    )
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF-")
    with sessions(sample.db)() as s:
        row = s.execute(select(AuditRow).where(AuditRow.actor == "clerk-2")).scalar_one()
    assert row.action == "export" and row.person == "p1" and row.purpose == "hearing 9"
    reader = PdfReader(out)
    digest = hashlib.sha256(b"".join(reader.attachments["manifest.json"])).hexdigest()
    assert json.loads(row.detail)["data_manifest_sha256"] == digest
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--purpose", " ", "--database", sample.url])
    assert r.exit_code != 0
