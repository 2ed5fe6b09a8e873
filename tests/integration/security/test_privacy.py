"""A person's data export: everything held about them, only with a purpose,
only for those who may see them, and on the record."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from ronda.cli.main import app as cli
from ronda.storage import cases, records
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models_security import AuditRow
from ronda.tracking.records import Position
from ronda.types import DeviceId

from .conftest import World


def test_a_persons_export_holds_everything_about_them(world: World) -> None:
    with world.svc.sessions.begin() as s:
        records.insert_records(
            s.connection(),
            [
                Position(DeviceId("dA1"), 2_000.0, 2_001.0, 40.0, -3.0, 8.0),
                Position(DeviceId("dA2"), 2_000.0, 2_001.0, 41.0, -3.0, 8.0),
            ],
        )
    world.get("off1", "/api/persons/pA1")  # a consultation, to be listed in the export
    assert world.get("supervisor_a", "/api/persons/pA1/export").status_code == 422  # no purpose
    r = world.get("supervisor_a", "/api/persons/pA1/export", purpose="subject access request 2026-31")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.content)
    assert doc["person"]["id"] == "pA1" and doc["person"]["officer"] == "u-off1"
    assert doc["devices"] == ["dA1"] and [a["device"] for a in doc["assignments"]] == ["dA1"]
    assert [o["id"] for o in doc["orders"]] == ["oA1"] and doc["zones"][0]["id"] == "zA1"
    assert [(x["device"], x["lat"]) for x in doc["records"]] == [("dA1", 40.0)]  # not pA2's
    assert [e["type"] for e in doc["episodes"]] == ["exclusion"]
    assert [h["reason"] for h in doc["legal_holds"]] == ["case file"]
    assert ("u-off1", "read") in {(c["actor"], c["action"]) for c in doc["consultations"]}
    victim = json.loads(world.get("supervisor_a", "/api/persons/vA1/export", purpose="SAR").content)
    assert victim["protected_by"] == [{"order": "oA1", "rule": "rpA1"}]
    with world.svc.sessions() as s:
        last = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one()
    assert (last.action, last.person, last.purpose) == ("export", "vA1", "SAR")


def test_exports_are_for_supervisors_and_admins_of_the_agency(world: World) -> None:
    assert world.get("off1", "/api/persons/pA1/export", purpose="x").status_code == 403
    assert world.get("operator_a", "/api/persons/pA1/export", purpose="x").status_code == 403
    assert world.get("supervisor_b", "/api/persons/pA1/export", purpose="x").status_code == 404


def test_exporting_positions_from_the_command_line_states_a_purpose(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = connect(url)
    migrate(db)
    with sessions(db).begin() as s:
        cases.create_person(s, "p1", "monitored")
        cases.create_device(s, "tag-1", "gps_tag")
        cases.assign_device(s, "tag-1", "p1", "test", at_s=0.0)
        records.insert_records(s.connection(), [Position(DeviceId("tag-1"), 100.0, 101.0, 40.0, -3.0, 5.0)])
    runner = CliRunner()
    out = tmp_path / "p1.csv"
    base = ["export", "positions", "--person", "p1", "--format", "csv", "-o", str(out), "--database", url]
    refused = runner.invoke(cli, base)
    assert refused.exit_code != 0 and "--purpose" in refused.output and not out.exists()
    assert runner.invoke(cli, [*base, "--purpose", "court request 12/26"]).exit_code == 0
    assert out.read_text().count("\n") == 2
    with sessions(db)() as s:
        row = s.execute(select(AuditRow).where(AuditRow.action == "export")).scalar_one()
    assert (row.person, row.purpose, row.actor) == ("p1", "court request 12/26", "cli")
    db.dispose()
