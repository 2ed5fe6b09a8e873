"""The one settings model: defaults, a TOML file, the environment over it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ronda.config import GATEWAY_PORTS, Settings
from ronda.errors import InvalidInput

FILE = """
[storage]
database_url = "postgresql+psycopg://ronda@db/ronda"

[server]
host = "0.0.0.0"
port = 9000
checkpoint_every_s = 10

[engine]
open_fixes = 5

[gateway]
mqtt = "off"
metrics_port = 9108
[gateway.ports]
watch = "off"
gt06 = 6023

[distributed]
nats_url = "nats://n1:4222,nats://n2:4222"
partitions = 64
replicas = 3
worker_id = "worker-a"
"""


def test_the_file_fills_every_section(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text(FILE)
    s = Settings.from_env({"RONDA_CONFIG": str(path)})
    assert s.effective_database_url == "postgresql+psycopg://ronda@db/ronda"
    assert (s.host, s.port, s.checkpoint_every_s, s.engine.open_fixes) == ("0.0.0.0", 9000, 10.0, 5)
    assert dict(s.gateway.ports) == {"gt06": 6023, "teltonika": 5027, "h02": 5013}
    assert s.gateway.mqtt == "off" and s.gateway.metrics_port == 9108
    d = s.distributed
    assert (d.nats_url, d.partitions, d.replicas, d.worker_id) == (
        "nats://n1:4222,nats://n2:4222", 64, 3, "worker-a"
    )


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text(FILE)
    env = {"RONDA_PORT": "9001", "RONDA_PARTITIONS": "8", "RONDA_WATCH_PORT": "5093",
           "RONDA_ENGINE_OPEN_FIXES": "3", "RONDA_LEASE_TTL_S": "2.5"}  # fmt: skip
    s = Settings.from_env(env, file=path)
    assert s.port == 9001 and s.distributed.partitions == 8 and s.engine.open_fixes == 3
    assert s.gateway.ports["watch"] == 5093 and s.distributed.lease_ttl_s == 2.5
    assert s.host == "0.0.0.0"  # from the file still


def test_defaults_without_file_or_environment() -> None:
    s = Settings.from_env({})
    assert s == dataclasses.replace(Settings(), distributed=s.distributed)
    assert dict(s.gateway.ports) == GATEWAY_PORTS and s.distributed.partitions == 16
    assert s.distributed.nats_url == "nats://127.0.0.1:4222"


@pytest.mark.parametrize(
    ("text", "env", "blamed"),
    [
        ("[server]\nport = 70000\n", {}, "server.port"),
        ("[server]\nprot = 80\n", {}, "prot"),
        ("[engine]\nopen_fixez = 3\n", {}, "engine.open_fixez"),
        ("[surver]\n", {}, "surver"),
        ("[distributed]\npartitions = 0\n", {}, "distributed.partitions"),
        ("[gateway.ports]\nftp = 21\n", {}, "gateway.ports.ftp"),
        ("", {"RONDA_PARTITIONS": "many"}, "RONDA_PARTITIONS"),
        ("", {"RONDA_LEASE_TTL_S": "-1"}, "RONDA_LEASE_TTL_S"),
        ("[server\n", {}, "RONDA_CONFIG"),
    ],
)
def test_bad_settings_name_what_is_wrong(tmp_path: Path, text: str, env: dict[str, str], blamed: str) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env(env, file=path)
    assert caught.value.field == blamed


def test_a_missing_file_is_an_error_not_silence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        Settings.from_env({"RONDA_CONFIG": str(tmp_path / "nope.toml")})
