"""Checking an evidence bundle (a ZIP) without trusting whoever sent it: every
file against the manifest, every line against its digest, and the audit
excerpt entry by entry against the hash chain's own rule (each entry's hash
covers its content and the hash before it). Against the live chain, when
the checker has the database, is the adapter's part (`ronda.reports.bundle`)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ronda.audit.chain import StoredRow
from ronda.evidence.manifest import MANIFEST, Problem, check_files, sha256_hex

AUDIT_FILE = "audit.jsonl"
AUDIT_FIELDS = (
    "seq",
    "at_s",
    "actor",
    "role",
    "agency",
    "action",
    "target",
    "person",
    "purpose",
    "source",
    "outcome",
    "detail_text",
    "prev_hash",
    "hash",
)
MAX_ENTRIES = 10_000
MAX_BUNDLE_BYTES = 2 << 30  # refuse to unpack more than 2 GiB (a ZIP bomb is not evidence)


@dataclass
class Report:
    """What a check found: the manifest (if readable), problems, and the audit
    entries of the excerpt (for the chain check)."""

    manifest: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    audit_rows: list[tuple[int, StoredRow]] = field(default_factory=list)  # (line, row)
    manifest_sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def read_zip(data: bytes) -> tuple[dict[str, bytes], list[Problem]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return {}, [Problem("(bundle)", f"not a ZIP file: {exc}")]
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    total = 0
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            total += info.file_size
            if total > MAX_BUNDLE_BYTES:
                return files, [Problem(info.filename, "the bundle unpacks to more than 2 GiB: refused")]
            try:
                files[info.filename] = zf.read(info)
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
            ) as exc:  # a CRC error: the ZIP itself was changed
                problems.append(Problem(info.filename, f"cannot be read from the ZIP ({exc})"))
    return files, problems


def audit_row(value: dict[str, Any]) -> StoredRow:
    return StoredRow(
        int(value["seq"]),
        float(value["at_s"]),
        str(value["actor"]),
        str(value["role"]),
        value.get("agency"),
        str(value["action"]),
        str(value["target"]),
        value.get("person"),
        value.get("purpose"),
        value.get("source"),
        str(value["outcome"]),
        str(value["detail_text"]),
        str(value["prev_hash"]),
        str(value["hash"]),
    )


def audit_line(row: StoredRow) -> str:
    return json.dumps({k: getattr(row, k) for k in AUDIT_FIELDS}, ensure_ascii=False, sort_keys=True) + "\n"


def check_excerpt(data: bytes) -> tuple[list[tuple[int, StoredRow]], list[Problem]]:
    """Each entry must give its own hash, and an entry that follows another
    (seq + 1) must name that one's hash as its predecessor."""
    rows: list[tuple[int, StoredRow]] = []
    problems: list[Problem] = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = audit_row(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(Problem(AUDIT_FILE, f"unreadable entry ({exc})", n))
            continue
        if row.recomputed() != row.hash:
            problems.append(Problem(AUDIT_FILE, f"entry {row.seq} does not give its own hash: altered", n))
        if rows and rows[-1][1].seq + 1 == row.seq and row.prev_hash != rows[-1][1].hash:
            problems.append(
                Problem(AUDIT_FILE, f"entry {row.seq} does not follow entry {rows[-1][1].seq}", n)
            )
        rows.append((n, row))
        if len(rows) >= MAX_ENTRIES:
            break
    return rows, problems


def check_bundle(data: bytes) -> Report:
    files, problems = read_zip(data)
    manifest, found = check_files(files) if files else (None, [])
    rep = Report(manifest, [*problems, *found])
    if MANIFEST in files:
        rep.manifest_sha256 = sha256_hex(files[MANIFEST])
    if AUDIT_FILE in files:
        rep.audit_rows, audit_problems = check_excerpt(files[AUDIT_FILE])
        rep.problems += audit_problems
    elif manifest is not None:
        rep.problems.append(Problem(AUDIT_FILE, "missing"))
    return rep
