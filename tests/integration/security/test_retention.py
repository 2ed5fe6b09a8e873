"""Retention: a purge removes positions and events past the period, keeps
what a legal hold covers, and records itself in the audit trail; holds are
managed through the API and the command line."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from ronda.cli.main import app as cli
from ronda.storage import cases, records
from ronda.storage import security as repo
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import RecordRow
from ronda.storage.models_security import AuditRow
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId

from .conftest import World

DAY = 86400.0


def stored(maker: object) -> set[tuple[str, float]]:
    with maker() as s:  # type: ignore[operator]
        return {(r.device_id, r.time_s) for r in s.execute(select(RecordRow)).scalars()}


def test_purge_removes_old_keeps_held_and_records_itself(tmp_path: Path) -> None:
    db = connect(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(db)
    maker = sessions(db)
    now = time.time()
    old, recent = now - 400 * DAY, now - 10 * DAY
    with maker.begin() as s:
        for p, d in (("p1", "tag-1"), ("p2", "tag-2")):
            cases.create_person(s, p, "monitored")
            cases.create_device(s, d, "gps_tag")
            cases.assign_device(s, d, p, "test", at_s=now - 500 * DAY)
        recs = [
            Position(DeviceId(d), t + k, t + k, 40.0, -3.0, 10.0)
            for d in ("tag-1", "tag-2")
            for t in (old, recent)
            for k in (0.0, 60.0)
        ] + [DeviceEvent(DeviceId("tag-2"), old + 30, old + 30, EventKind.STRAP_TAMPER)]
        records.insert_records(s.connection(), recs)
        # p2's data of the old day is under a legal hold; a released hold protects nothing
        hold = repo.add_hold(s, "p2", old - DAY, old + DAY, "appeal pending, case 2025/77", "u-sup")
        gone = repo.add_hold(s, "p1", old - DAY, old + DAY, "closed case", "u-sup")
        repo.release_hold(s, gone.id, "u-sup")
    result = repo.purge(maker, now - 365 * DAY)
    assert result.deleted == 2 and result.kept_held == 3 and result.holds == (hold.id,)
    assert stored(maker) == {
        ("tag-1", recent),
        ("tag-1", recent + 60),
        ("tag-2", old),
        ("tag-2", old + 30),
        ("tag-2", old + 60),
        ("tag-2", recent),
        ("tag-2", recent + 60),
    }
    with maker() as s:
        row = s.execute(select(AuditRow).where(AuditRow.seq == result.audit_seq)).scalar_one()
    assert (row.action, row.target, row.actor) == ("purge", "records", "system")
    assert '"deleted":2' in row.detail and '"kept_under_hold":3' in row.detail
    assert repo.verify_audit(db).ok
    again = repo.purge(maker, now - 365 * DAY)
    assert again.deleted == 0
    db.dispose()


def test_ronda_retention_purge_and_holds_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = connect(url)
    migrate(db)
    now = time.time()
    with sessions(db).begin() as s:
        cases.create_person(s, "p1", "monitored")
        cases.create_device(s, "tag-1", "gps_tag")
        cases.assign_device(s, "tag-1", "p1", "test", at_s=now - 900 * DAY)
        records.insert_records(
            s.connection(),
            [Position(DeviceId("tag-1"), now - d * DAY, now, 40.0, -3.0, 5.0) for d in (800, 500, 5)],
        )
    db.dispose()
    runner = CliRunner()
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600 * DAY))
    iso_end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 400 * DAY))
    r = runner.invoke(
        cli,
        ["holds", "add", "p1", "--start", iso, "--end", iso_end, "--reason", "inquiry 12", "--database", url],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["retention", "purge", "--days", "365", "--database", url])
    assert r.exit_code == 0 and "purged 1 records" in r.output and "kept 1" in r.output, r.output
    r = runner.invoke(cli, ["holds", "list", "--database", url])
    assert "inquiry 12" in r.output


def test_legal_holds_through_the_api(world: World) -> None:
    body = {
        "person": "pA1",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-02-01T00:00:00Z",
        "reason": "court 9/26",
    }
    r = world.client.post("/api/legal-holds", json=body, headers=world.as_("supervisor_a"))
    assert r.status_code == 201 and r.json()["created_by"] == "u-supervisor_a"
    hold = r.json()["id"]
    assert world.client.post("/api/legal-holds", json=body, headers=world.as_("off1")).status_code == 403
    foreign = world.client.post(
        "/api/legal-holds", json={**body, "person": "pA1"}, headers=world.as_("supervisor_b")
    )
    assert foreign.status_code == 404
    listed = world.get("auditor_a", "/api/legal-holds").json()
    assert hold in {h["id"] for h in listed} and all(h["person"] != "pB1" for h in listed)
    r = world.client.delete(f"/api/legal-holds/{hold}", headers=world.as_("supervisor_a"))
    assert r.status_code == 200 and r.json()["released_by"] == "u-supervisor_a"
    assert (
        world.client.delete(
            f"/api/legal-holds/{world.holds['B1']}", headers=world.as_("supervisor_a")
        ).status_code
        == 404
    )
