"""`ronda investigate` on the bundled sample city after import and replay:
a scene placed on one person's stored fix finds that person, the run is
recorded and audited; programme figures come out as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ronda.cli.main import app
from ronda.exchange.scenario import load_history
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import AssignmentRow, RecordRow
from ronda.storage.models_evidence import CorrelationRunRow
from ronda.storage.models_security import AuditRow
from ronda.types import to_iso

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('city') / 'ronda.db'}"
    db = connect(url)
    migrate(db)
    load_history(db, SAMPLE)
    db.dispose()
    return url


def test_correlate_finds_the_person_whose_fix_is_the_scene(city: str, tmp_path: Path) -> None:
    db = connect(city)
    with sessions(db)() as s:
        fix = s.execute(
            select(RecordRow)
            .join(AssignmentRow, AssignmentRow.device_id == RecordRow.device_id)
            .where(RecordRow.kind == "position", RecordRow.valid.is_(True), RecordRow.device_id.like("tag-%"))
            .order_by(RecordRow.seq)
            .offset(500)
            .limit(1)
        ).scalar_one()
        person = s.execute(
            select(AssignmentRow.person_id).where(AssignmentRow.device_id == fix.device_id)
        ).scalar_one()
    out = tmp_path / "run.json"
    r = CliRunner().invoke(
        app,
        [
            "investigate", "correlate", "--database", city, "--purpose", "test case 7",
            "--at", f"{fix.lat},{fix.lon}", "--radius", "50",
            "--from", to_iso(fix.time_s - 600), "--to", to_iso(fix.time_s + 600),
            "--requester", "det. Ruiz", "--out", str(out),
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "recorded as correlation run" in r.output and person in r.output
    run = json.loads(out.read_text())
    near = run["results"][0]["near"]
    mine = next(m for m in near if m["person"] == person)
    assert mine["min_distance_m"] < 1.0 and mine["worst_case_m"] <= 50 + mine["uncertainty_m"]
    assert any(
        f["device"] == fix.device_id and f["time"] == to_iso(fix.time_s) for f in mine["supporting_fixes"]
    )
    with sessions(db)() as s:
        row = s.get_one(CorrelationRunRow, run["id"])
        assert (row.requester, row.purpose) == ("det. Ruiz", "test case 7")
        audit = s.execute(select(AuditRow).where(AuditRow.target == f"correlation run {row.id}")).scalar_one()
        assert (audit.actor, audit.action, audit.purpose) == ("det. Ruiz", "correlate", "test case 7")
    db.dispose()


def test_correlate_refuses_a_bad_batch_naming_the_line(city: str, tmp_path: Path) -> None:
    f = tmp_path / "incidents.csv"
    f.write_text("id,from,to,lat,lon,radius_m\nx,2026-06-01T10:00:00Z,2026-06-01T11:00:00Z,95,3,100\n")
    r = CliRunner().invoke(
        app, ["investigate", "correlate", "--database", city, "--purpose", "p", "--incidents", str(f)]
    )
    assert r.exit_code == 2 and "line 2, field 'lat'" in r.output


def test_programme_csv_and_compliance(city: str) -> None:
    r = CliRunner().invoke(
        app,
        [
            "investigate",
            "programme",
            "--database",
            city,
            "--from",
            "2026-05-31T00:00:00Z",
            "--to",
            "2026-06-03T00:00:00Z",
            "--csv",
            "-",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0] == ["section", "item", "measure", "value"]
    causes = {row[1] for row in rows if row[0] == "alerts_by_cause"}
    assert causes and causes <= {
        "exclusion",
        "inclusion",
        "proximity",
        "tamper",
        "comms_loss",
        "no_fix",
        "low_battery",
    }
    assert any(row[0] == "device_failures" and row[1] == "gps_tag" and row[2] == "devices" for row in rows)
    r = CliRunner().invoke(app, ["investigate", "compliance", "--database", city, "p1"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["person"] == "p1"
    r = CliRunner().invoke(app, ["investigate", "compliance", "--database", city, "nobody"])
    assert r.exit_code == 2
