"""Evidence bundles: a person's data over a period, in the exchange format,
with the audit excerpt of who saw or handled it, a manifest of SHA-256
digests (per file and per line), zipped; the export is itself audited, with
the manifest's digest, so a bundle can be tied to the request that made it.

Verification against the live chain: every excerpt entry must be the chain's
entry of the same number, the chain must be intact, and the chain must
record the export of exactly this manifest."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ronda import __version__ as ronda_version
from ronda.audit.chain import AuditEntry, StoredRow
from ronda.evidence.bundle import AUDIT_FILE, Report, audit_line, check_bundle
from ronda.evidence.datafiles import iso
from ronda.evidence.manifest import MANIFEST, Problem, build_manifest, sha256_hex
from ronda.evidence.text import Words
from ronda.exchange import format as fm
from ronda.exchange.export import Scope, export_files
from ronda.storage import cases
from ronda.storage import security as audit_repo
from ronda.storage.models import AlertRow, EpisodeRow
from ronda.storage.models_security import AuditRow

EXPORT_ACTION = "export"
EPISODES = ("id", "alert", "type", "person", "rule", "device", "start", "raised", "end")


@dataclass(frozen=True)
class Requester:
    """Who asks, as the audit trail records them."""

    actor: str
    role: str
    agency: str | None = None
    source: str | None = None


def _episodes_csv(s: Session, person: str, start_s: float, end_s: float) -> bytes:
    stmt = (
        select(EpisodeRow, AlertRow.id)
        .join(AlertRow, AlertRow.episode_id == EpisodeRow.id)
        .where(EpisodeRow.person_id == person, EpisodeRow.start_s < end_s)
        .where(EpisodeRow.end_s.is_(None) | (EpisodeRow.end_s >= start_s))
        .order_by(EpisodeRow.id)
    )
    rows = [
        {
            "id": e.id,
            "alert": alert_id,
            "type": e.type,
            "person": e.person_id,
            "rule": e.rule_id,
            "device": e.device_id,
            "start": fm.iso(e.start_s),
            "raised": fm.iso(e.raised_s),
            "end": fm.iso(e.end_s),
        }
        for e, alert_id in s.execute(stmt)
    ]
    return fm.csv_bytes(EPISODES, rows)


def audit_excerpt(s: Session, person: str) -> list[StoredRow]:
    """Every audit entry about the person (who looked at or handled their data)."""
    rows = s.execute(
        select(*audit_repo.AUDIT_COLUMNS).where(AuditRow.person == person).order_by(AuditRow.seq)
    ).all()
    return [StoredRow(*tuple(r)) for r in rows]


def _zip(files: dict[str, bytes], at_s: float) -> bytes:
    """A deterministic ZIP: sorted names, one timestamp, deflated."""
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(max(at_s, 315532800), dt.UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return out.getvalue()


def export_bundle(
    db: Engine,
    person: str,
    start_s: float,
    end_s: float,
    *,
    purpose: str,
    who: Requester,
    now_s: float,
    lang: str = "en",
) -> tuple[bytes, str]:
    """The bundle (ZIP bytes) and its manifest's SHA-256. The export is
    appended to the audit chain (with that digest) before the bundle is
    returned: no audit, no bundle."""
    if not purpose.strip():
        raise ValueError("a purpose is required")
    tr = Words(lang)
    from ronda.storage.db import sessions

    make = sessions(db)
    with make() as s:
        cases.get_person(s, person)
        files = export_files(s, Scope(person, start_s, end_s))
        files["episodes.csv"] = _episodes_csv(s, person, start_s, end_s)
        excerpt = audit_excerpt(s, person)
    files[AUDIT_FILE] = "".join(audit_line(r) for r in excerpt).encode("utf-8")
    files["README.txt"] = tr(
        "Evidence bundle exported by Ronda.\n\n"
        "Person: {person}\nPeriod: {start} to {end} (UTC)\nPurpose: {purpose}\n"
        "Exported by: {actor} at {when} (UTC)\n\n"
        "manifest.json lists every file with its SHA-256 digest and, for tables, the digest of each line "
        "(rows/<file>.sha256). Check the bundle with:  ronda evidence verify <this zip>\n"
        "or by hand with any SHA-256 tool (sha256sum). The audit excerpt (audit.jsonl) records who saw or "
        "handled these data; each entry carries the digest of the one before it. The file formats are "
        "described in docs/exchange-format.md.\n",
        person=person,
        start=iso(start_s),
        end=iso(end_s),
        purpose=purpose,
        actor=who.actor,
        when=iso(now_s),
    ).encode("utf-8")
    meta = {
        "person": person,
        "start": iso(start_s),
        "end": iso(end_s),
        "purpose": purpose,
        "exported_by": who.actor,
        "exported": iso(now_s),
        "software": f"ronda {ronda_version}",
        "audit_excerpt": {
            "entries": len(excerpt),
            "first_seq": excerpt[0].seq if excerpt else None,
            "last_seq": excerpt[-1].seq if excerpt else None,
        },
    }
    all_files, manifest = build_manifest(files, meta)
    all_files[MANIFEST] = manifest
    digest = sha256_hex(manifest)
    entry = AuditEntry(
        at_s=now_s,
        actor=who.actor,
        role=who.role,
        agency=who.agency,
        action=EXPORT_ACTION,
        target=f"evidence bundle of person {person}",
        person=person,
        purpose=purpose,
        source=who.source,
        detail={"manifest_sha256": digest, "start": iso(start_s), "end": iso(end_s), "files": len(all_files)},
    )
    with make.begin() as s:
        audit_repo.append_audit(s, entry)
    return _zip(all_files, now_s), digest


def audit_export(db: Engine, entry: AuditEntry) -> None:
    """Append one entry (the court report's export) in its own transaction."""
    from ronda.storage.db import sessions

    with sessions(db).begin() as s:
        audit_repo.append_audit(s, entry)


def verify_bundle(data: bytes, db: Engine | None = None) -> tuple[Report, list[str]]:
    """Check the bundle; with `db`, also against the live audit chain.
    Returns the report and notes on what could not be checked."""
    rep = check_bundle(data)
    notes: list[str] = []
    if db is None:
        notes.append(
            "audit excerpt checked entry by entry only; give --database to check it against the chain"
        )
        return rep, notes
    with db.connect() as conn:
        for line, row in rep.audit_rows:
            stored = conn.execute(select(AuditRow.hash).where(AuditRow.seq == row.seq)).scalar_one_or_none()
            if stored is None:
                rep.problems.append(Problem(AUDIT_FILE, f"entry {row.seq} is not in the chain", line))
            elif stored != row.hash:
                rep.problems.append(Problem(AUDIT_FILE, f"entry {row.seq} differs from the chain's", line))
        exports = conn.execute(
            select(AuditRow.seq, AuditRow.detail).where(AuditRow.action == EXPORT_ACTION)
        ).all()
    verdict = audit_repo.verify_audit(db)
    if verdict.finding is not None:
        rep.problems.append(Problem("(audit chain)", verdict.finding.message, verdict.finding.seq))
    if rep.manifest_sha256:
        found = [
            seq for seq, detail in exports if _detail(detail).get("manifest_sha256") == rep.manifest_sha256
        ]
        if found:
            notes.append(f"the chain records this export (audit entry {found[0]})")
        else:
            rep.problems.append(Problem(MANIFEST, "the audit chain records no export of this manifest"))
    return rep, notes


def _detail(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
