"""A court report produced in Spanish (through `ronda report court --lang es`)
and in Portuguese reads in that language from title to data table: the
domain's words, the order in words, and every instant written the reader's
way in the order's time zone with the zone shown."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from tests.integration.evidence.conftest import SAMPLE, Loaded, _load
from typer.testing import CliRunner

from ronda.cli.main import app
from ronda.reports.casefile import gather
from ronda.reports.court import court_report
from ronda.storage.db import sessions

# CLDR's abbreviated Spanish month names, written out here so that the test
# does not ask the code under test how a Spanish date looks.
ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    got = _load(SAMPLE, tmp_path_factory.mktemp("sample-i18n"))
    yield got
    got.db.dispose()


def _flat(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _iso(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spanish_instant(epoch_s: float, tz: dt.tzinfo) -> str:
    local = dt.datetime.fromtimestamp(epoch_s, tz)
    month = ES_MONTHS[local.month - 1]
    return (
        f"{local.day} {month} {local.year} {local.hour}:{local.minute:02}:{local.second:02} {local.tzname()}"
    )


def _portuguese_instant(epoch_s: float, tz: dt.tzinfo) -> str:
    """As written in Portugal: 01/06/2026 18:34:49 WEST."""
    local = dt.datetime.fromtimestamp(epoch_s, tz)
    clock = f"{local.hour:02}:{local.minute:02}:{local.second:02}"
    return f"{local.day:02}/{local.month:02}/{local.year} {clock} {local.tzname()}"


ENGLISH_LEFTOVERS = (
    "Electronic monitoring report",
    "Violation 1",
    "The order and its rules",
    "What the engine could not see",
    "How Ronda decides",
    "at all times",
    "Must not enter",
    "Alert status",
    "Page ",
)


def test_a_court_report_in_spanish_from_the_command_line(sample: Loaded, tmp_path: Path) -> None:
    person, count = sample.violators()[0]
    out = tmp_path / "informe.pdf"
    result = CliRunner().invoke(
        app,
        [
            "report", "court", person,
            "--from", _iso(sample.start_s), "--to", _iso(sample.end_s),
            "--out", str(out), "--lang", "es",
            "--purpose", "audiencia de control", "--actor", "secretaría del juzgado",
            "--database", sample.url,
        ],
        env={"RONDA_LANGUAGE": "es"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = _flat(out.read_bytes())
    squashed = _squash(text)

    # the court's words, not the software's
    for phrase in (
        f"Informe de monitoreo electrónico: {person}",
        "Elaborado para el tribunal por Ronda",
        "La orden y sus reglas",
        "Toque de queda: Debe permanecer dentro de",
        "Entró en una zona de exclusión",
        "Lo que el sistema no pudo ver",
        "Los datos en que se basa este informe",
        "Finalidad declarada",
        "en todo momento",
        "del día siguiente",
    ):
        assert _squash(phrase) in squashed, f"missing Spanish text: {phrase!r}"
    for n in range(1, count + 1):
        assert f"Incumplimiento {n}:" in text
    for english in ENGLISH_LEFTOVERS:
        assert english not in text, f"English left in the Spanish report: {english!r}"

    # every violation's start, the Spanish way, in the order's zone with the zone shown
    with sessions(sample.db)() as s:
        case = gather(s, person, sample.start_s, sample.end_s)
    tz = case.timezone
    violations = [e for e in case.episodes if e.is_violation]
    assert len(violations) == count
    for v in violations:
        when = _spanish_instant(v.start_s, tz)
        assert _squash(f"Inicio: {when}") in squashed, f"violation start not written as {when!r}"
    assert tz.key in text
    # the command says what it did in the operator's language too
    assert "incumplimientos" in result.output


def test_a_court_report_in_portuguese(sample: Loaded) -> None:
    person, _count = sample.violators()[0]
    with sessions(sample.db)() as s:
        case = gather(s, person, sample.start_s, sample.end_s)
    rep = court_report(case, actor="secretaria judicial", purpose="audiência", lang="pt")
    text = _flat(rep.pdf)
    squashed = _squash(text)
    for phrase in (
        f"Relatório de vigilância eletrónica: {person}",
        "A decisão e as suas regras",
        "Recolher obrigatório: Tem de permanecer dentro de",
        "Entrou numa zona de exclusão",
        "O que o sistema não conseguiu ver",
        "Pulseira eletrónica GPS",
    ):
        assert _squash(phrase) in squashed, f"missing Portuguese text: {phrase!r}"
    for english in ENGLISH_LEFTOVERS:
        assert english not in text, f"English left in the Portuguese report: {english!r}"
    for n, v in enumerate(rep.violations, start=1):
        assert f"Violação {n}:" in text
        assert _squash(_portuguese_instant(v.start_s, case.timezone)) in squashed
