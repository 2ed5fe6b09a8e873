"""`ronda audit verify` on a large trail: how long checking the whole hash
chain takes.

    .venv/bin/python bench/audit.py [--rows 1000000] [--database URL]

Builds a trail of N entries like the ones the API writes (an officer reading
a person's positions: actor, role, agency, route, person, purpose on half,
client address, path and query in the detail), chained with SHA-256, stored
with one bulk insert into a fresh SQLite file in a temporary folder (or the
given database, which must be empty), then times `verify_audit` (the function
behind `ronda audit verify`: reads every row in order, recomputes every hash,
checks every link and the head), in one process and in as many processes as
there are CPUs (the default of `ronda audit verify`). Then it changes one byte of one row near the
end and times the run that finds it. Building the trail is not timed."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from ronda.audit.chain import AuditEntry, chain
from ronda.storage.db import connect, migrate
from ronda.storage.models_security import AuditHeadRow, AuditRow


def entries(n: int) -> Iterator[AuditEntry]:
    t0 = 1_760_000_000.0
    for i in range(n):
        person = f"p-{i % 5000:05d}"
        yield AuditEntry(
            at_s=t0 + i * 0.37,
            actor=f"u-{i % 40:03d}",
            role="officer",
            agency="main",
            action="read",
            target="GET /api/persons/{person_id}/positions",
            person=person,
            purpose="weekly supervision review" if i % 2 else None,
            source=f"10.0.{i % 7}.{i % 250}",
            detail={
                "path": {"person_id": person},
                "query": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
            },
        )


def batched(it: Iterator[Any], n: int) -> Iterator[list[Any]]:
    while part := list(islice(it, n)):
        yield part


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--database", default=None, help="an empty database (default: SQLite in a temp folder)")
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ronda-bench-audit-"))
    url = a.database or f"sqlite:///{folder / 'audit.db'}"
    db = connect(url)
    migrate(db)
    print(f"building {a.rows:,} chained entries ...", flush=True)
    t = time.perf_counter()
    last: dict[str, Any] = {}
    with db.begin() as c:  # in chunks: a million rows never sit in memory at once
        for part in batched(chain(entries(a.rows)), 50_000):
            rows = [
                {
                    "seq": r.seq,
                    "at_s": r.at_s,
                    "actor": r.actor,
                    "role": r.role,
                    "agency": r.agency,
                    "action": r.action,
                    "target": r.target,
                    "person": r.person,
                    "purpose": r.purpose,
                    "source": r.source,
                    "outcome": r.outcome,
                    "detail": r.detail_text,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                }
                for r in part
            ]
            c.execute(insert(AuditRow), rows)
            last = rows[-1]
        c.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=last["seq"], hash=last["hash"]))
    print(f"built and stored in {time.perf_counter() - t:.1f} s (not timed below)", flush=True)
    size = os.path.getsize(folder / "audit.db") if a.database is None else 0

    from ronda.storage.security import verify_audit

    for workers in sorted({1, os.cpu_count() or 1}):
        t = time.perf_counter()
        v = verify_audit(db, workers=workers)
        took = time.perf_counter() - t
        assert v.ok and v.rows == a.rows, v
        label = f"{workers} process" + ("es" if workers > 1 else "")
        print(
            f"verify ({label}): {v.rows:,} rows intact in {took:.2f} s ({v.rows / took:,.0f} rows/s)",
            flush=True,
        )
    bad = a.rows - 10
    with db.begin() as c:
        c.execute(update(AuditRow).where(AuditRow.seq == bad).values(actor="u-999"))
    t = time.perf_counter()
    v = verify_audit(db, workers=os.cpu_count() or 1)
    took_bad = time.perf_counter() - t
    assert v.finding is not None and v.finding.seq == bad, v
    print(
        f"verify with row {bad:,} altered: found '{v.finding.kind}' at row {v.finding.seq:,} "
        f"in {took_bad:.2f} s"
    )
    backend = db.dialect.name
    print(
        f"{backend}{f' ({size / 1e6:.0f} MB file)' if size else ''}; Python {platform.python_version()}; "
        f"{platform.processor() or platform.machine()}; {os.cpu_count()} CPUs"
    )
    db.dispose()


if __name__ == "__main__":
    main()
