"""The command line speaks the operator's language: `RONDA_LANGUAGE`, else
the POSIX locale; its summaries, errors and help alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ronda.cli.main import app


def test_replay_summary_in_portuguese_and_spanish() -> None:
    result = CliRunner().invoke(app, ["replay", "-q"], env={"RONDA_LANGUAGE": "pt"})
    assert result.exit_code == 0, result.output
    pt = " ".join(result.output.split())  # rich wraps long lines
    assert "Alertas de sample-city" in pt and "descartados: duplicados" in pt
    assert "records" not in pt and "dropped" not in pt
    env = {"RONDA_LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "es_CL.UTF-8"}
    es = " ".join(CliRunner().invoke(app, ["replay", "-q"], env=env).output.split())
    assert "dispositivos desconocidos" in es and "aún abiertas" in es
    # counts grouped the reader's way: 13.456 in Spanish, 13 456 in Portugal's Portuguese
    assert "registros 13.456:" in es and "registos 13 456:" in pt


def test_errors_in_the_operators_language() -> None:
    r = CliRunner().invoke(
        app,
        ["report", "court", "p1", "--from", "yesterday", "--to", "2026-06-02", "--out", "x.pdf"],
        env={"RONDA_LANGUAGE": "es"},
    )
    assert r.exit_code != 0
    assert "no es un instante ISO 8601" in r.output


def test_help_in_the_operators_language() -> None:
    # Help is read when the command line starts: a process of its own.
    ronda = str(Path(sys.executable).parent / "ronda")
    env = {**os.environ, "RONDA_LANGUAGE": "pt", "COLUMNS": "200"}
    r = subprocess.run(
        [ronda, "report", "court", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "relatório para tribunal" in text and "língua do relatório" in text
