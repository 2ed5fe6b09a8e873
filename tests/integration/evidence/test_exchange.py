"""The open exchange format: a full history exported, imported into an empty
store and exported again gives the same files byte for byte; importing twice
adds nothing; another system's files come in through a column mapping."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import BACKENDS, database_url
from tests.integration.evidence.conftest import Loaded
from typer.testing import CliRunner

from ronda.alerts.workflow import AlertAction, Outcome
from ronda.cli.main import app
from ronda.exchange.export import export_files
from ronda.exchange.importer import import_dir
from ronda.exchange.mapping import load_mapping
from ronda.storage import alerts, orders
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.models import AlertRow, RecordRow
from ronda.storage.records import device_records


def _write(files: dict[str, bytes], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


@pytest.fixture(scope="module")
def first(sample: Loaded) -> dict[str, bytes]:
    """The sample's history plus what a scenario lacks: a handled alert (a note
    with a comma, quotes and a line break), a second order version; exported."""
    with sessions(sample.db).begin() as s:
        _, alert = alerts.list_episodes(s, alerts.EpisodeFilter(person="p1"))[0]
        alerts.act(s, alert.id, AlertAction.ACKNOWLEDGE, "op-1")
        alerts.act(s, alert.id, AlertAction.NOTE, "op-1", text='called, "no answer",\nretrying')
        alerts.act(s, alert.id, AlertAction.RESOLVE, "sup-2", outcome=Outcome.VIOLATION_CONFIRMED)
        current = orders.get_order(s, "o-p1")
        orders.update_order(s, "o-p1", rules=current.rules[:-1], by="judge-4")
    with sessions(sample.db)() as s:
        return export_files(s)


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_is_byte_identical(first: dict[str, bytes], tmp_path: Path, backend: str) -> None:
    assert first["positions.csv"].count(b"\n") > 10_000
    assert b"retrying" in first["alert_actions.csv"]
    with database_url(backend, tmp_path) as url:
        db = connect(url)
        try:
            migrate(db)
            _write(first, tmp_path / "out")
            with sessions(db).begin() as s:
                rep = import_dir(s, tmp_path / "out")
            assert not rep.skipped, rep.first_errors
            with sessions(db)() as s:
                second = export_files(s)
            for name in first:
                assert first[name] == second[name], f"{name} differs after the round trip"
            with sessions(db)() as s:
                assert len(orders.order_versions(s, "o-p1")) == 2
                n_records = s.execute(select(func.count()).select_from(RecordRow)).scalar_one()
                n_alerts = s.execute(select(func.count()).select_from(AlertRow)).scalar_one()
            # importing the same folder again adds nothing
            with sessions(db).begin() as s:
                again = import_dir(s, tmp_path / "out")
            assert again.new_records == 0
            with sessions(db)() as s:
                assert s.execute(select(func.count()).select_from(RecordRow)).scalar_one() == n_records
                assert s.execute(select(func.count()).select_from(AlertRow)).scalar_one() == n_alerts
                assert export_files(s) == first
        finally:
            db.dispose()


FOREIGN_DEVICES = """TagSerial;Offender;Kind
IMEI-001;OFF-9;tag
"""
FOREIGN_PEOPLE = """OffenderId;FullName
OFF-9;Ana Example
"""
FOREIGN_POSITIONS = """IMEI;Fecha;Latitud;Longitud;Precision;Velocidad_kmh;Fix
IMEI-001;01/06/2026 14:00:05;-33.45;-70.66;12;36;A
IMEI-001;01/06/2026 14:01:05;-33.4502;-70.6602;8;0;A
IMEI-001;01/06/2026 14:02:05;;;;;V
IMEI-001;not a date;-33.45;-70.66;12;0;A
IMEI-999;01/06/2026 14:03:05;-33.45;-70.66;12;0;A
"""
MAPPING = """
[persons]
file = "people.csv"
format = "csv"
columns = { id = "OffenderId", name = "FullName" }
defaults = { role = "monitored" }

[devices]
file = "tags.csv"
format = "csv"
columns = { id = "TagSerial", person = "Offender", kind = "Kind" }
values = { kind = { tag = "gps_tag" } }

[positions]
file = "gps.csv"
format = "csv"
time_format = "%d/%m/%Y %H:%M:%S"
timezone = "America/Santiago"
scale = { speed_mps = 0.2777777777777778 }  # km/h to m/s
values = { valid = { A = "true", V = "false" } }

[positions.columns]  # ours = theirs
device = "IMEI"
time = "Fecha"
lat = "Latitud"
lon = "Longitud"
accuracy_m = "Precision"
speed_mps = "Velocidad_kmh"
valid = "Fix"
"""


def _semicolon_csv(text: str) -> bytes:
    return text.replace(";", ",").encode()


def test_import_from_another_system_with_a_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "vendor"
    folder.mkdir()
    (folder / "people.csv").write_bytes(_semicolon_csv(FOREIGN_PEOPLE))
    (folder / "tags.csv").write_bytes(_semicolon_csv(FOREIGN_DEVICES))
    (folder / "gps.csv").write_bytes(_semicolon_csv(FOREIGN_POSITIONS))
    (tmp_path / "mapping.toml").write_text(MAPPING)
    db = connect(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(db)
    try:
        with sessions(db).begin() as s:
            rep = import_dir(s, folder, load_mapping(tmp_path / "mapping.toml"))
        assert rep.counts["persons"] == 1 and rep.counts["devices"] == 1 and rep.counts["positions"] == 3
        # the bad date and the unknown device are refused, counted and named
        assert rep.skipped["positions"] == 2
        assert any("row 4" in e and "does not match" in e for e in rep.first_errors)
        assert any("row 5" in e and "IMEI-999" in e for e in rep.first_errors)
        with sessions(db)() as s:
            rows = device_records(s, ["IMEI-001"], 0, 2e9)
            # 14:00:05 in Santiago (UTC-4 in June) is 18:00:05 UTC
            assert rows[0].time_s == 1780336805.0
            assert rows[0].speed_mps == pytest.approx(10.0)
            assert rows[0].lat == -33.45 and rows[0].accuracy_m == 12.0
            assert rows[2].valid is False and rows[2].lat is None
            from ronda.storage.cases import get_device

            assert get_device(s, "IMEI-001").person_id == "OFF-9"
    finally:
        db.dispose()


def test_mapping_errors_name_the_place(tmp_path: Path) -> None:
    from ronda.errors import InvalidInput

    bad = tmp_path / "m.toml"
    bad.write_text('[positions]\nfile = "x.csv"\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        load_mapping(bad)
    bad.write_text('[trips]\nfile = "x.csv"\n')
    with pytest.raises(InvalidInput, match="unknown table 'trips'"):
        load_mapping(bad)


def test_cli_exchange_export_and_import(sample: Loaded, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["exchange", "export", str(tmp_path / "x"), "--database", sample.url])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["format"] == "ronda-exchange/1" and "positions.geojsonl" in manifest["files"]
    # the streamed files are the in-memory export, and the manifest's digests are theirs
    with sessions(sample.db)() as s:
        expected = export_files(s)
    assert set(manifest["files"]) == set(expected)
    for name, data in expected.items():
        on_disk = (tmp_path / "x" / name).read_bytes()
        assert on_disk == data, name
        assert manifest["files"][name]["sha256"] == hashlib.sha256(on_disk).hexdigest()
        assert manifest["files"][name]["lines"] == on_disk.count(b"\n")
    r = runner.invoke(
        app, ["exchange", "import", str(tmp_path / "x"), "--database", f"sqlite:///{tmp_path / 'b.db'}"]
    )
    assert r.exit_code == 0 and "new records" in r.output, r.output
    line = (tmp_path / "x" / "positions.geojsonl").read_text().splitlines()[0]
    feature = json.loads(line)
    assert feature["type"] == "Feature" and {"device", "person", "time"} <= set(feature["properties"])


def test_bad_lines_are_refused_and_counted_never_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "persons.csv").write_text("id,role,name\np1,monitored,\np2,judge,\n")
    (folder / "devices.csv").write_text("id,kind,person\ntag-1,gps_tag,p1\n")
    good = json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-3.7, 40.4]},
            "properties": {"device": "tag-1", "time": "2026-06-01T10:00:00Z", "accuracy_m": 9},
        }
    )
    lines = [
        good,
        "{not json",
        '"a string"',
        good.replace("10:00:00Z", "10:01:00Z").replace("40.4]", "95.0]"),
    ]
    (folder / "positions.geojsonl").write_text("\n".join(lines) + "\n")
    db = connect(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(db)
    try:
        with sessions(db).begin() as s:
            rep = import_dir(s, folder)
        assert rep.counts["persons"] == 1 and rep.skipped["persons"] == 1  # no role "judge"
        assert rep.counts["positions"] == 1 and rep.new_records == 1
        assert rep.skipped["positions"] == 3
        assert any("not JSON" in e for e in rep.first_errors)
        assert any("latitude 95.0" in e for e in rep.first_errors)
    finally:
        db.dispose()
