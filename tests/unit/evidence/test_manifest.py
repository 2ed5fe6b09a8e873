"""Manifests name the changed file and line."""

from __future__ import annotations

import json

from ronda.evidence.manifest import MANIFEST, build_manifest, check_files


def _bundle() -> dict[str, bytes]:
    files = {"a.csv": b"h1,h2\n1,2\n3,4\n", "b.json": b'{"x": 1}\n'}
    out, manifest = build_manifest(files, {"person": "p1"})
    out[MANIFEST] = manifest
    return out


def test_intact_and_changed() -> None:
    files = _bundle()
    manifest, problems = check_files(files)
    assert problems == [] and manifest is not None and manifest["person"] == "p1"
    assert {f["name"] for f in manifest["files"]} == {"a.csv", "b.json", "rows/a.csv.sha256"}
    files["a.csv"] = b"h1,h2\n1,2\n3,5\n"
    _, problems = check_files(files)
    assert [(p.file, p.line) for p in problems] == [("a.csv", None), ("a.csv", 3)]
    assert str(problems[1]) == "a.csv, line 3: line differs from the one exported"


def test_lines_added_missing_files_and_a_bad_manifest() -> None:
    files = _bundle()
    files["a.csv"] += b"5,6\n"
    _, problems = check_files(files)
    assert any("4 lines where 3 were exported" in p.message for p in problems)
    files = _bundle()
    files.pop("b.json")
    _, problems = check_files(files)
    assert [(p.file, p.message) for p in problems] == [("b.json", "listed in the manifest but missing")]
    files = _bundle()
    files[MANIFEST] = b"{not json"
    assert check_files(files)[1][0].file == MANIFEST
    files[MANIFEST] = json.dumps({"format": "other/1", "files": []}).encode()
    assert "unknown format" in check_files(files)[1][0].message
    assert check_files({})[1][0].message.startswith("missing")


def test_row_digests_changed_with_their_file_are_not_trusted() -> None:
    files = _bundle()
    files["a.csv"] = b"h1,h2\n9,9\n3,4\n"
    files["rows/a.csv.sha256"] = b"0" * 64 + b"\n"
    _, problems = check_files(files)
    assert ("a.csv", None) in {(p.file, p.line) for p in problems}
    assert ("rows/a.csv.sha256", None) in {(p.file, p.line) for p in problems}
    assert not any(p.line for p in problems)  # no line named from untrusted digests
