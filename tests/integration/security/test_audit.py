"""The audit trail as stored: one row per read of a person's positions, every
tampering found at its row by `ronda audit verify`, writers never fork the
chain, auditors read it and nobody can change it through the API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from ronda.api.policy import POLICY, api_routes
from ronda.audit.chain import AuditEntry, Break
from ronda.cli.main import app as cli
from ronda.storage import security as repo
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models_security import AuditRow

from .conftest import World

PERIOD = {"start": "1970-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}


def audit_rows(w: World) -> list[AuditRow]:
    with w.svc.sessions() as s:
        return list(s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars())


@pytest.mark.parametrize(
    ("url", "params", "purpose", "action"),
    [
        ("/api/persons/pA1/positions", {}, None, "read"),
        ("/api/persons/pA1/positions", {"format": "csv"}, "court request 2026/113", "export"),
        ("/api/devices/dA1/positions", {}, None, "read"),
        ("/api/devices/dA1/positions", {"format": "csv"}, "appeal file", "export"),
    ],
)
def test_every_read_of_positions_writes_exactly_one_row(
    world: World, url: str, params: dict[str, str], purpose: str | None, action: str
) -> None:
    world.token("off1")
    before = len(audit_rows(world))
    r = world.get("off1", url, purpose=purpose, params={**PERIOD, **params})
    assert r.status_code == 200
    new = audit_rows(world)[before:]
    assert len(new) == 1
    row = new[0]
    assert (row.actor, row.role, row.agency, row.person, row.outcome) == (
        "u-off1",
        "officer",
        "main",
        "pA1",
        "ok",
    )
    assert row.action == action and row.purpose == purpose
    assert row.target.startswith("GET /api/") and row.source == "testclient"
    assert '"start":"1970-01-01T00:00:00Z"' in row.detail


def test_a_refused_read_is_recorded_too_and_an_export_needs_a_purpose(world: World) -> None:
    world.token("off1")
    before = len(audit_rows(world))
    r = world.get("off1", "/api/persons/pA2/positions", params=PERIOD)  # another officer's caseload
    assert r.status_code == 404
    (row,) = audit_rows(world)[before:]
    assert (row.person, row.outcome) == ("pA2", "not_visible")
    r = world.get("off1", "/api/persons/pA1/positions", params={**PERIOD, "format": "csv"})
    assert r.status_code == 422 and "purpose" in r.json()["detail"]


def test_only_auditors_read_the_trail_and_no_route_changes_it(world: World) -> None:
    world.get("off1", "/api/persons/pA1/positions", params=PERIOD)
    r = world.get("auditor_a", "/api/audit", params={"person": "pA1"})
    assert r.status_code == 200
    assert [(e["actor"], e["action"]) for e in r.json()] == [("u-off1", "read")]
    assert world.get("auditor_b", "/api/audit", params={"person": "pA1"}).json() == []  # other agency
    for user in ("admin_a", "supervisor_a", "operator_a", "off1"):
        assert world.get(user, "/api/audit").status_code == 403
    assert world.get("auditor_a", "/api/persons").status_code == 403  # and nothing else
    verdict = world.get("auditor_a", "/api/audit/verify").json()
    assert verdict["ok"] and verdict["rows"] == len(audit_rows(world))  # its own row is written first
    writers = [
        f"{m} {p}"
        for m, p, _ in api_routes(world.client.app)  # type: ignore[arg-type]
        if p.startswith("/api/audit") and m != "GET"
    ]
    assert writers == []
    assert all(m == "GET" for m, p in POLICY if p.startswith("/api/audit"))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = world.client.request(method, "/api/audit", headers=world.as_("auditor_a"))
        assert r.status_code == 405


# ------------------------------------------------------- tampering in SQL


@pytest.fixture
def logged(db_url: str) -> Iterator[Engine]:
    db = connect(db_url)
    migrate(db)
    maker = sessions(db)
    for i in range(30):
        repo.audit(
            maker,
            AuditEntry(
                at_s=1_700_000_000.0 + i,
                actor=f"u{i % 4}",
                role="officer",
                agency="main",
                action="read",
                target="GET /api/persons/{person_id}/positions",
                person=f"p{i % 3}",
                purpose=None,
                source="10.1.2.3",
                detail={"i": i},
            ),
        )
    yield db
    db.dispose()


COLUMNS = (
    "at_s, actor, role, agency, action, target, person, purpose, source, outcome, detail, prev_hash, hash"
)


def swap(db: Engine, i: int, j: int) -> None:
    """Trade every column but the position between rows i and j."""
    cols = [c.strip() for c in COLUMNS.split(",")]
    with db.begin() as c:
        a = c.execute(text(f"SELECT {COLUMNS} FROM audit_log WHERE seq = :s"), {"s": i}).one()
        b = c.execute(text(f"SELECT {COLUMNS} FROM audit_log WHERE seq = :s"), {"s": j}).one()
        sets = ", ".join(f"{col} = :{col}" for col in cols)
        c.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = {i}"), dict(zip(cols, b, strict=True)))
        c.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = {j}"), dict(zip(cols, a, strict=True)))


TAMPERING = {
    "one byte of the detail": (
        "UPDATE audit_log SET detail = replace(detail, '12', '13') WHERE seq = 13",
        Break.ALTERED,
        13,
    ),
    "the actor": ("UPDATE audit_log SET actor = 'u9' WHERE seq = 1", Break.ALTERED, 1),
    "the time": ("UPDATE audit_log SET at_s = at_s + 0.001 WHERE seq = 30", Break.ALTERED, 30),
    "a row deleted": ("DELETE FROM audit_log WHERE seq = 8", Break.REMOVED, 8),
    "the tail cut": ("DELETE FROM audit_log WHERE seq > 26", Break.TRUNCATED, 27),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_found_at_its_row(logged: Engine, case: str) -> None:
    assert repo.verify_audit(logged).ok
    sql, kind, seq = TAMPERING[case]
    with logged.begin() as c:
        c.execute(text(sql))
    f = repo.verify_audit(logged).finding
    assert f is not None and (f.kind, f.seq) == (kind, seq)


def test_swapping_two_rows_is_found_at_the_first(logged: Engine) -> None:
    swap(logged, 11, 19)
    f = repo.verify_audit(logged).finding
    assert f is not None and (f.kind, f.seq) == (Break.REORDERED, 11)


def test_ronda_audit_verify_names_the_row_and_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = connect(url)
    migrate(db)
    for i in range(5):
        repo.audit(sessions(db), AuditEntry(float(i), "u1", "officer", "main", "read", "t", detail={"i": i}))
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", "--database", url])
    assert ok.exit_code == 0 and "5 rows verified" in ok.output
    with db.begin() as c:
        c.execute(text("UPDATE audit_log SET target = 'u' WHERE seq = 4"))
    db.dispose()
    bad = runner.invoke(cli, ["audit", "verify", "--database", url])
    assert bad.exit_code == 1 and "row 4" in bad.output and "altered" in bad.output


def test_concurrent_writers_never_fork_the_chain(logged: Engine) -> None:
    """Threads append at once (each its own session and connection): the chain
    stays one line, without gaps, on SQLite and PostgreSQL."""
    maker = sessions(logged)
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(25):
                repo.audit(
                    maker, AuditEntry(float(i), f"w{k}", "officer", "main", "read", "t", detail={"i": i})
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    v = repo.verify_audit(logged)
    assert v.ok and v.rows == 30 + 100
    with logged.connect() as c:
        assert c.execute(select(func.max(AuditRow.seq))).scalar() == 130


def test_verification_in_parallel_ranges_finds_the_same_row(
    logged: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo, "PARALLEL_FROM_ROWS", 10)
    v = repo.verify_audit(logged, workers=3)
    assert v.ok and v.rows == 30 and v.head_seq == 30
    for sql, kind, seq in (
        ("UPDATE audit_log SET actor = 'x' WHERE seq = 21", Break.ALTERED, 21),  # inside the last range
        ("DELETE FROM audit_log WHERE seq = 10", Break.REMOVED, 10),  # at a range's end
    ):
        with logged.begin() as c:
            c.execute(text(sql))
        f = repo.verify_audit(logged, workers=3).finding
        assert f is not None and (f.kind, f.seq) == (kind, seq)


def test_an_agencys_auditor_sees_who_looked_at_its_persons_even_from_outside(world: World) -> None:
    service = {"Authorization": "Bearer service-token-for-tests"}
    assert world.client.get("/api/persons/pA1", headers=service).status_code == 200
    seen = world.get("auditor_a", "/api/audit", params={"person": "pA1"}).json()
    assert ("service", "read") in {(e["actor"], e["action"]) for e in seen}
    assert world.get("auditor_b", "/api/audit", params={"actor": "service"}).json() == []
