"""Digests that let anyone check evidence: a manifest of SHA-256 digests of
every file, and of every line of every table, so a check names not only the
file that changed but the line.

Line digests cover physical lines (split on b"\\n", line 1 is a CSV's
header): a note with a line break inside a quoted CSV field spans two lines
and each is checked. The manifest itself is named by its own digest, which
the audit chain records when the bundle is made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = "ronda-evidence/1"
MANIFEST = "manifest.json"
ROWS_DIR = "rows/"
LINE_FILES = (".csv", ".jsonl", ".geojsonl")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lines_of(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def line_digests(data: bytes) -> str:
    """One hex digest a line, as a text file."""
    return "".join(sha256_hex(line) + "\n" for line in lines_of(data))


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: the same value, the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_manifest(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> tuple[dict[str, bytes], bytes]:
    """Add `rows/<name>.sha256` for every table and return every file plus the
    manifest (JSON bytes) that lists their digests."""
    out: dict[str, bytes] = dict(files)
    for name, data in files.items():
        if name.endswith(LINE_FILES):
            out[f"{ROWS_DIR}{name}.sha256"] = line_digests(data).encode("ascii")
    listing = [
        {
            "name": name,
            "sha256": sha256_hex(data),
            "bytes": len(data),
            **({"lines": len(lines_of(data))} if name.endswith(LINE_FILES) else {}),
        }
        for name, data in sorted(out.items())
    ]
    manifest = {"format": FORMAT, **meta, "files": listing}
    return out, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: the file, the line when known, what is wrong."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


def _changed_lines(name: str, data: bytes, files: Mapping[str, bytes]) -> list[Problem]:
    rows = files.get(f"{ROWS_DIR}{name}.sha256")
    if rows is None:
        return []
    expected = rows.decode("ascii", "replace").split()
    actual = [sha256_hex(line) for line in lines_of(data)]
    out = [
        Problem(name, "line differs from the one exported", i + 1)
        for i, (a, b) in enumerate(zip(actual, expected, strict=False))
        if a != b
    ]
    if len(actual) != len(expected):
        out.append(Problem(name, f"{len(actual)} lines where {len(expected)} were exported"))
    return out[:20]


def check_files(files: Mapping[str, bytes]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check every file against the manifest; returns the manifest and the problems."""
    raw = files.get(MANIFEST)
    if raw is None:
        return None, [Problem(MANIFEST, "missing: this is not a Ronda evidence bundle")]
    try:
        manifest = json.loads(raw)
        listing = {str(f["name"]): f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        return None, [Problem(MANIFEST, f"unreadable ({exc})")]
    if manifest.get("format") != FORMAT:
        return manifest, [Problem(MANIFEST, f"unknown format {manifest.get('format')!r}")]
    problems: list[Problem] = []
    row_files_ok = {
        name
        for name, f in listing.items()
        if name.startswith(ROWS_DIR) and name in files and sha256_hex(files[name]) == f.get("sha256")
    }
    for name, f in sorted(listing.items()):
        data = files.get(name)
        if data is None:
            problems.append(Problem(name, "listed in the manifest but missing"))
            continue
        if sha256_hex(data) == f.get("sha256"):
            continue
        if name.startswith(ROWS_DIR):
            problems.append(Problem(name, "line digests differ from the manifest"))
            continue
        lines = _changed_lines(name, data, files) if f"{ROWS_DIR}{name}.sha256" in row_files_ok else []
        problems.append(Problem(name, "SHA-256 differs from the manifest"))
        problems.extend(lines)
    for name in sorted(set(files) - set(listing) - {MANIFEST}):
        problems.append(Problem(name, "not listed in the manifest (added after export)"))
    return manifest, problems
