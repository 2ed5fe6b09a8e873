"""Evidence bundles: a fresh bundle verifies (files, lines, audit excerpt,
against the live chain too); one changed byte is named by file and line; the
export is audited with its purpose and the manifest's digest."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import pg_schema_url, pg_up
from tests.integration.evidence.conftest import Loaded
from typer.testing import CliRunner

from ronda.audit.chain import AuditEntry, StoredRow
from ronda.cli.main import app
from ronda.evidence.bundle import AUDIT_FIELDS, AUDIT_FILE, audit_line, audit_row
from ronda.evidence.manifest import sha256_hex
from ronda.reports.bundle import Requester, export_bundle, verify_bundle
from ronda.storage import alerts
from ronda.storage import security as audit_repo
from ronda.storage.db import sessions
from ronda.storage.models_security import AuditRow

WHO = Requester("officer-7", "officer", None, "test")


def _files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def _person_with_alerts(loaded: Loaded) -> str:
    return loaded.violators()[0][0]


@pytest.fixture(scope="module")
def bundle(sample: Loaded) -> tuple[bytes, str, str]:
    person = _person_with_alerts(sample)
    with sessions(sample.db).begin() as s:
        # someone handled one of the alerts, and someone looked at the person
        first = alerts.list_episodes(s, alerts.EpisodeFilter(person=person))[0][1]
        from ronda.alerts.workflow import AlertAction

        alerts.act(s, first.id, AlertAction.ACKNOWLEDGE, "operator-3")
        audit_repo.append_audit(
            s,
            AuditEntry(
                at_s=sample.start_s,
                actor="operator-3",
                role="operator",
                agency=None,
                action="read",
                target=f"GET /api/persons/{person}",
                person=person,
                purpose="alert",
            ),
        )
    data, digest = export_bundle(
        sample.db,
        person,
        sample.start_s,
        sample.end_s,
        purpose="court hearing 2026/118",
        who=WHO,
        now_s=sample.end_s + 86400,
    )
    return data, digest, person


def test_a_fresh_bundle_verifies_offline_and_against_the_chain(
    sample: Loaded, bundle: tuple[bytes, str, str]
) -> None:
    data, digest, person = bundle
    files = _files(data)
    for name in (
        "positions.csv",
        "positions.geojsonl",
        "events.csv",
        "episodes.csv",
        "alerts.csv",
        "alert_actions.csv",
        AUDIT_FILE,
        "manifest.json",
    ):
        assert name in files, name
    manifest = json.loads(files["manifest.json"])
    assert manifest["purpose"] == "court hearing 2026/118" and manifest["person"] == person
    assert sha256_hex(files["manifest.json"]) == digest
    assert b",acknowledge,operator-3,new,acknowledged," in files["alert_actions.csv"]
    excerpt = [json.loads(line) for line in files[AUDIT_FILE].decode().splitlines()]
    assert any(e["actor"] == "operator-3" and e["person"] == person for e in excerpt)

    rep, notes = verify_bundle(data)
    assert rep.ok, rep.problems
    rep, notes = verify_bundle(data, sample.db)
    assert rep.ok, rep.problems
    assert any("records this export" in n for n in notes)


def test_the_export_is_audited_with_purpose_and_digest(
    sample: Loaded, bundle: tuple[bytes, str, str]
) -> None:
    _, digest, person = bundle
    with sessions(sample.db)() as s:
        rows = s.execute(
            select(AuditRow).where(AuditRow.action == "export", AuditRow.person == person)
        ).scalars()
        mine = [r for r in rows if json.loads(r.detail).get("manifest_sha256") == digest]
    assert len(mine) == 1
    assert mine[0].actor == "officer-7" and mine[0].purpose == "court hearing 2026/118"


def test_a_purpose_is_required(sample: Loaded) -> None:
    with pytest.raises(ValueError, match="purpose"):
        export_bundle(sample.db, "p1", sample.start_s, sample.end_s, purpose="  ", who=WHO, now_s=0.0)


@pytest.mark.parametrize("name", ["positions.csv", "alerts.csv", "events.geojsonl"])
def test_one_changed_byte_is_named_by_file_and_line(bundle: tuple[bytes, str, str], name: str) -> None:
    files = _files(bundle[0])
    lines = files[name].split(b"\n")
    target = min(3, len(lines) - 2)  # a data line (line 1 of a CSV is its header)
    line = bytearray(lines[target])
    line[len(line) // 2] ^= 0x01  # one bit of one byte
    lines[target] = bytes(line)
    files[name] = b"\n".join(lines)
    rep, _ = verify_bundle(_zip(files))
    assert not rep.ok
    named = {(p.file, p.line) for p in rep.problems}
    assert (name, None) in named  # the file's digest
    assert (name, target + 1) in named  # and the line
    assert all(p.file == name for p in rep.problems)


def test_an_added_or_missing_file_is_named(bundle: tuple[bytes, str, str]) -> None:
    files = _files(bundle[0])
    del files["events.csv"]
    files["note.txt"] = b"added later"
    rep, _ = verify_bundle(_zip(files))
    assert {p.file for p in rep.problems} == {"events.csv", "note.txt"}


def test_an_audit_entry_rewritten_consistently_is_caught_by_the_chain(
    sample: Loaded, bundle: tuple[bytes, str, str]
) -> None:
    """Changing an entry and recomputing its hash (and the manifest's digests)
    passes the offline checks but not the live chain's."""
    from ronda.evidence.manifest import build_manifest

    files = _files(bundle[0])
    rows = [audit_row(json.loads(x)) for x in files[AUDIT_FILE].decode().splitlines()]
    r = rows[0]
    forged = StoredRow(
        r.seq,
        r.at_s,
        "someone-else",
        r.role,
        r.agency,
        r.action,
        r.target,
        r.person,
        r.purpose,
        r.source,
        r.outcome,
        r.detail_text,
        r.prev_hash,
        "",
    )
    forged = _rehash(forged)
    files[AUDIT_FILE] = "".join(audit_line(x) for x in [forged, *rows[1:]]).encode()
    meta = {k: v for k, v in json.loads(files["manifest.json"]).items() if k not in ("files", "format")}
    data = {k: v for k, v in files.items() if not k.startswith("rows/") and k != "manifest.json"}
    rebuilt, manifest = build_manifest(data, meta)
    rebuilt["manifest.json"] = manifest
    rep, _ = verify_bundle(_zip(rebuilt))
    assert rep.ok, rep.problems  # offline, a careful forger passes...
    rep, _ = verify_bundle(_zip(rebuilt), sample.db)
    assert any(p.file == AUDIT_FILE and "differs from the chain" in p.message for p in rep.problems)
    assert any(p.file == "manifest.json" and "no export" in p.message for p in rep.problems)


def _rehash(row: StoredRow) -> StoredRow:
    fields = [getattr(row, f) for f in AUDIT_FIELDS]
    return StoredRow(*fields[:-1], row.recomputed())


def test_cli_export_and_verify(sample: Loaded, tmp_path: Path) -> None:
    person = _person_with_alerts(sample)
    out = tmp_path / "bundle.zip"
    runner = CliRunner()
    args = [
        "evidence",
        "export",
        "--person",
        person,
        "--from",
        "2026-05-31T23:00:00Z",
        "--to",
        "2026-06-01T23:00:00Z",
        "--out",
        str(out),
        "--database",
        sample.url,
    ]
    r = runner.invoke(app, [*args, "--purpose", ""])
    assert r.exit_code != 0 and "purpose" in r.output
    r = runner.invoke(app, [*args, "--purpose", "appeal", "--actor", "clerk-1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["evidence", "verify", str(out), "--database", sample.url])
    assert r.exit_code == 0 and "OK" in r.output, r.output
    files = _files(out.read_bytes())
    files["positions.csv"] = files["positions.csv"].replace(b",", b";", 1)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_zip(files))
    r = runner.invoke(app, ["evidence", "verify", str(bad)])
    assert r.exit_code == 1 and "positions.csv, line 1" in r.output, r.output


@pytest.mark.skipif(not pg_up(), reason="PostgreSQL not running")
def test_bundle_and_report_on_postgresql(tmp_path: Path) -> None:
    from tests.integration.evidence.conftest import SAMPLE

    from ronda.exchange.scenario import load_history
    from ronda.reports.casefile import gather
    from ronda.reports.court import court_report
    from ronda.scenarios.loader import load_scenario
    from ronda.storage.db import connect, migrate

    sc = load_scenario(SAMPLE)
    with pg_schema_url() as url:
        db = connect(url)
        try:
            migrate(db)
            load_history(db, SAMPLE)
            data, _ = export_bundle(db, "p1", sc.start_s, sc.end_s, purpose="appeal", who=WHO, now_s=sc.end_s)
            rep, notes = verify_bundle(data, db)
            assert rep.ok, rep.problems
            assert any("records this export" in n for n in notes)
            with sessions(db)() as s:
                case = gather(s, "p1", sc.start_s, sc.end_s)
            assert court_report(case, actor="clerk", purpose="appeal").violations
        finally:
            db.dispose()
