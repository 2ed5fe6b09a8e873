"""The one settings model of every Ronda process, read once at the edge (CLI,
server, worker, gateway) and passed inward; the domain reads no settings.

Sources, later ones winning: the defaults below, an optional TOML file named
by ``RONDA_CONFIG`` (or passed as ``from_env(..., file=path)``), environment
variables ``RONDA_*``, then command-line flags (applied by the CLI with
``dataclasses.replace``). Every variable is listed in docs/configuration.md.

TOML sections and their variables::

    [storage]      data_dir (RONDA_DATA_DIR), database_url (RONDA_DATABASE_URL)
    [engine]       any EngineParams field (RONDA_ENGINE_<NAME>)
    [server]       host, port, ingest_port, api_token, checkpoint_every_s
    [gateway]      enabled, host, mqtt..., metrics_port; [gateway.ports] gt06 = 5023 / "off"
    [distributed]  nats_url, stream, partitions, lease_ttl_s, worker_id ...
    [security]     secret_key, session_idle_s, lockout_*, retention_days ...
    [map]          tiles (RONDA_MAP_TILES), attribution
    [prison]       recover_s, max_future_s, wall_clock, keep_sightings_s ...
    [correlation]  days, max_fixes (the API's warm copy of recent fixes)

Adding settings (other areas): write a frozen dataclass section whose fields
are declared with `setting(default, "RONDA_<NAME>")`, add it as a field of
`Settings` with `field(default_factory=Section)` and register its TOML name in
`SECTIONS`. Parsing, errors naming the variable, and the file come for free.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from ronda.engine.params import EngineParams
from ronda.errors import InvalidInput

# ---------------------------------------------------------------- parsers
# Each takes a value from the environment (a string) or from the file (a TOML
# value) and the name to blame, and returns the typed value or raises
# InvalidInput naming the variable.


def _text(raw: Any, name: str) -> str:
    if not isinstance(raw, str | int | float):
        raise InvalidInput("not text: {value}", field=name, value=repr(raw))
    return str(raw).strip()


def _optional_text(raw: Any, name: str) -> str | None:
    return _text(raw, name) or None


def _int(raw: Any, name: str) -> int:
    try:
        if isinstance(raw, bool):
            raise ValueError
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("not a whole number: {value}", field=name, value=repr(raw)) from exc


def _float(raw: Any, name: str) -> float:
    try:
        if isinstance(raw, bool):
            raise ValueError
        return float(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("not a number: {value}", field=name, value=repr(raw)) from exc


def _seconds(raw: Any, name: str) -> float:
    try:
        value = float(raw) if not isinstance(raw, bool) else -1.0
    except (TypeError, ValueError):
        value = -1.0
    if not 0 < value < 1e6:
        raise InvalidInput("not a number of seconds: {value}", field=name, value=repr(raw))
    return value


def _duration(raw: Any, name: str) -> float:
    """Seconds, zero or more, with no upper bound (a period of history, a tolerance)."""
    value = _float(raw, name)
    if not 0 <= value < float("inf"):
        raise InvalidInput("not a number of seconds: {value}", field=name, value=repr(raw))
    return value


def _optional_seconds(raw: Any, name: str) -> float | None:
    """Seconds, or None for ``auto`` / empty (a default derived from other settings)."""
    if isinstance(raw, str) and raw.strip().lower() in ("", "auto"):
        return None
    return _seconds(raw, name)


def _bool(raw: Any, name: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("on", "1", "true", "yes"):
        return True
    if text in ("off", "0", "false", "no"):
        return False
    raise InvalidInput("on or off, not {value}", field=name, value=repr(raw))


def _port(raw: Any, name: str) -> int:
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or not 0 <= int(text) < 65536:
        raise InvalidInput("not a port number: {value}", field=name, value=repr(raw))
    return int(text)


def _optional_port(raw: Any, name: str) -> int | None:
    """A port, or None for ``off`` / ``-1`` / empty (not served)."""
    text = str(raw).strip().lower()
    if text in ("", "off", "-1"):
        return None
    return _port(raw, name)


def _path(raw: Any, name: str) -> Path:
    return Path(_text(raw, name))


def _positive_int(raw: Any, name: str) -> int:
    value = _int(raw, name)
    if value < 1:
        raise InvalidInput("must be at least 1: {value}", field=name, value=repr(raw))
    return value


def setting(
    default: Any, env: str, parse: Callable[[Any, str], Any] | None = None, *, blank: bool = False, **kw: Any
) -> Any:
    """A settings field read from the variable `env` (and the file, by field name).
    An empty variable means "unset", unless `blank`: then it is the value."""
    meta = {"env": env, "parse": parse, "blank": blank}
    if callable(default) and not isinstance(default, type):
        return field(default_factory=default, metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


_PARSERS: dict[Any, Callable[[Any, str], Any]] = {
    "str": _text,
    "str | None": _optional_text,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "Path": _path,
    "int | None": _optional_port,
}


def _parse(f: dataclasses.Field[Any], raw: Any, name: str) -> Any:
    parse = f.metadata.get("parse") or _PARSERS.get(f.type)
    if parse is None:
        raise TypeError(f"no parser for setting {f.name} ({f.type})")
    return parse(raw, name)


def _section(cls: type[Any], env: Mapping[str, str], table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Values of a section's fields from its file table, then the environment."""
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names and not isinstance(table[key], dict):
            raise InvalidInput(
                "unknown setting {key} in [{section}]", field=f"{where}.{key}", key=repr(key), section=where
            )
    for f in dataclasses.fields(cls):
        if "env" not in f.metadata:
            continue
        if f.name in table:
            values[f.name] = _parse(f, table[f.name], f"{where}.{f.name}")
        raw = env.get(f.metadata["env"])
        if raw is not None and (raw != "" or f.metadata.get("blank")):
            values[f.name] = _parse(f, raw, f.metadata["env"])
    return values


# ---------------------------------------------------------------- sections

GATEWAY_PORTS = {"gt06": 5023, "teltonika": 5027, "h02": 5013, "watch": 5093}
"""Default TCP port of each device protocol."""


@dataclass(frozen=True)
class GatewaySettings:
    """The device gateway: embedded in ``ronda serve``, or alone (``ronda gateway``)."""

    enabled: bool = setting(True, "RONDA_GATEWAY")
    host: str | None = setting(None, "RONDA_GATEWAY_HOST")
    """None: the server's host."""
    ports: Mapping[str, int] = field(default_factory=lambda: dict(GATEWAY_PORTS))
    """Protocol -> TCP port (0: any free port); protocols left out are not served."""
    mqtt: str = setting("auto", "RONDA_MQTT")
    """``auto`` (subscribe if a broker answers on 127.0.0.1:1883), ``off``, or ``HOST[:PORT]``."""
    mqtt_prefix: str = setting("ronda/devices", "RONDA_MQTT_PREFIX")
    mqtt_client_id: str = setting("ronda-server", "RONDA_MQTT_CLIENT_ID")
    mqtt_username: str | None = setting(None, "RONDA_MQTT_USERNAME")
    mqtt_password: str | None = setting(None, "RONDA_MQTT_PASSWORD")
    metrics_port: int | None = setting(None, "RONDA_GATEWAY_METRICS_PORT")
    """Prometheus text, /healthz and /readyz of the gateway (None: off)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], table: Mapping[str, Any] | None = None) -> GatewaySettings:
        table = table or {}
        values = _section(cls, env, table, "gateway")
        if "mqtt_prefix" in values:
            values["mqtt_prefix"] = values["mqtt_prefix"].rstrip("/")
        ports: dict[str, int] = {}
        file_ports = table.get("ports", {})
        if not isinstance(file_ports, dict):
            raise InvalidInput("a table of protocol = port", field="gateway.ports")
        for name in file_ports:
            if name not in GATEWAY_PORTS:
                raise InvalidInput(
                    "unknown protocol {protocol}", field=f"gateway.ports.{name}", protocol=repr(name)
                )
        for name, default in GATEWAY_PORTS.items():
            port: int | None = default
            if name in file_ports:
                port = _optional_port(file_ports[name], f"gateway.ports.{name}")
            raw = env.get(f"RONDA_{name.upper()}_PORT")
            if raw is not None and raw.strip() != "":
                port = _optional_port(raw, f"RONDA_{name.upper()}_PORT")
            if port is not None:
                ports[name] = port
        return cls(ports=ports, **values)


LEASE_TRUST = 0.75
"""A worker acts for a partition for this share of the lease ttl after it sent
the last successful renewal: the rest is the margin for clocks and delays."""


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class DistributedSettings:
    """Scale-out on NATS JetStream and PostgreSQL (docs/deployment.md)."""

    enabled: bool = setting(False, "RONDA_DISTRIBUTED")
    """``ronda serve``: a stateless API over PostgreSQL, no engine (``--distributed``)."""
    nats_url: str = setting("nats://127.0.0.1:4222", "RONDA_NATS_URL")
    """Comma-separated server URLs of the NATS cluster."""
    stream: str = setting("RONDA_RECORDS", "RONDA_NATS_STREAM")
    """The JetStream stream of records."""
    subject_prefix: str = setting("ronda.records", "RONDA_NATS_SUBJECT")
    """Records of partition p go to ``<prefix>.<p>``."""
    partitions: int = setting(16, "RONDA_PARTITIONS", _positive_int)
    """Fixed for the life of a stream: changing it moves devices between partitions."""
    replicas: int = setting(1, "RONDA_NATS_REPLICAS", _positive_int)
    """Copies JetStream keeps of the stream and the lease bucket (3 in production)."""
    max_age_s: float = setting(7 * 86400.0, "RONDA_NATS_MAX_AGE_S", _seconds)
    """How long the stream keeps records (work-queue: until processed, at most this)."""
    lease_bucket: str = setting("ronda_leases", "RONDA_LEASE_BUCKET")
    """The JetStream key-value bucket holding one lease per partition."""
    lease_ttl_s: float = setting(4.0, "RONDA_LEASE_TTL_S", _seconds)
    """A worker that stops renewing loses its partitions after this long."""
    lease_renew_s: float | None = setting(None, "RONDA_LEASE_RENEW_S", _optional_seconds)
    """How often a worker renews its leases (unset: ttl/4). A lease is trusted for 3/4
    of the ttl after a renewal was sent, so at least two renewals must fit in that."""
    worker_id: str = setting(_default_worker_id, "RONDA_WORKER_ID")
    worker_host: str = setting("127.0.0.1", "RONDA_WORKER_HOST")
    worker_port: int | None = setting(9110, "RONDA_WORKER_PORT")
    """/healthz, /readyz and /metrics of a worker (off: none)."""
    publish_timeout_s: float = setting(5.0, "RONDA_NATS_PUBLISH_TIMEOUT_S", _seconds)
    """A gateway waits this long for JetStream's ack, then fails the frame (no ack to the device)."""
    batch: int = setting(500, "RONDA_WORKER_BATCH", _positive_int)
    """Records a worker fetches from a partition at a time."""
    live_subject: str = setting("ronda.live", "RONDA_NATS_LIVE_SUBJECT")
    """Core NATS subjects on which workers announce stored alerts to API servers (``<prefix>.alert``)."""
    caseload_refresh_s: float = setting(10.0, "RONDA_CASELOAD_REFRESH_S", _seconds)
    """How often workers and gateways reread the caseload (devices, persons, orders)."""

    def __post_init__(self) -> None:
        if self.lease_renew_s is not None and self.lease_renew_s * 2 > self.lease_ttl_s * LEASE_TRUST:
            raise InvalidInput(
                "renewing every {renew} s leaves no second chance within a {ttl} s lease (at most {limit} s)",
                field="RONDA_LEASE_RENEW_S",
                renew=self.lease_renew_s,
                ttl=self.lease_ttl_s,
                limit=f"{self.lease_ttl_s * LEASE_TRUST / 2:g}",
            )

    @property
    def lease_renew_every_s(self) -> float:
        """The renewal interval in force: the setting, or ttl/4."""
        return self.lease_renew_s if self.lease_renew_s is not None else self.lease_ttl_s / 4


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in, sessions, rate limits and retention (docs/security.md, docs/privacy.md)."""

    secret_key: str | None = setting(None, "RONDA_SECRET_KEY")
    """Signs session tokens (HS256). Unset: one is generated and kept in the database."""
    session_idle_s: float = setting(1800.0, "RONDA_SESSION_IDLE_S", _seconds)
    """A session unused this long is over (30 minutes)."""
    session_max_s: float = setting(12 * 3600.0, "RONDA_SESSION_MAX_S", _seconds)
    """A session is over this long after sign-in, used or not."""
    lockout_failures: int = setting(5, "RONDA_LOCKOUT_FAILURES", _positive_int)
    lockout_s: float = setting(600.0, "RONDA_LOCKOUT_S", _seconds)
    login_per_min: int = setting(20, "RONDA_LOGIN_PER_MIN", _positive_int)
    """Sign-in attempts a minute from one address (then 429)."""
    ingest_per_s: float = setting(20.0, "RONDA_INGEST_PER_S", _float)
    """Requests a second one device may make to the HTTP ingest port (burst: 10 s worth)."""
    retention_days: float = setting(365.0, "RONDA_RETENTION_DAYS", _float)
    """Positions and device events older than this are purged, except under a legal hold."""
    retention_every_s: float = setting(3600.0, "RONDA_RETENTION_EVERY_S", _seconds)
    """How often `ronda serve` runs the purge."""
    protected_margin_s: float = setting(900.0, "RONDA_PROTECTED_MARGIN_S", _seconds)
    """A protected person's positions are shown from this long before a proximity
    episode to this long after."""


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class MapSettings:
    """The web UI's base map (docs/operators.md)."""

    tiles: str = setting(OSM_TILES, "RONDA_MAP_TILES", blank=True)
    """Tile URL template (`https://.../{z}/{x}/{y}.png`); empty: no base map, zones and
    tracks on a plain background (an offline centre)."""
    attribution: str | None = setting(None, "RONDA_MAP_ATTRIBUTION", blank=True)
    """The tiles' credit line; unset: OpenStreetMap's when its tiles are used, else none."""

    @property
    def credit(self) -> str:
        if self.attribution is not None:
            return self.attribution
        return OSM_ATTRIBUTION if self.tiles == OSM_TILES else ""


@dataclass(frozen=True)
class PrisonSettings:
    """The prison monitor inside `ronda serve` (docs/prison.md)."""

    recover_s: float = setting(300.0, "RONDA_PRISON_RECOVER_S", _duration)
    """On start, this much of the stored sightings is replayed to rebuild where everyone is."""
    max_future_s: float = setting(300.0, "RONDA_PRISON_MAX_FUTURE_S", _duration)
    """Records dated further ahead of the server's clock are refused."""
    wall_clock: bool = setting(True, "RONDA_PRISON_WALL_CLOCK")
    """Also advance on the server's clock (off: only on the readers' time, as the demo runs)."""
    keep_sightings_s: float = setting(86400.0, "RONDA_PRISON_KEEP_SIGHTINGS_S", _duration)
    """Raw reader sightings are purged after this long; moves, alerts and counts stay."""
    tick_s: float = setting(1.0, "RONDA_PRISON_TICK_S", _seconds)
    """How often the monitor advances its timers."""
    purge_every_s: float = setting(600.0, "RONDA_PRISON_PURGE_EVERY_S", _seconds)


@dataclass(frozen=True)
class WarmSettings:
    """Crime-scene correlation's warm copy of recent fixes in the API process
    (docs/investigation.md): older windows are read from the database."""

    days: float = setting(30.0, "RONDA_CORRELATION_WARM_DAYS", _duration)
    """Days of GPS fixes kept in memory; 0 turns the warm copy off."""
    max_fixes: int = setting(100_000_000, "RONDA_CORRELATION_WARM_MAX_FIXES", _int)
    """At most this many fixes (32 bytes each: 3 GiB); past it the oldest days are left to the database."""

    @property
    def enabled(self) -> bool:
        return self.days > 0 and self.max_fixes > 0


# ---------------------------------------------------------------- the model

SECTIONS: dict[str, str] = {
    "gateway": "gateway",
    "distributed": "distributed",
    "security": "security",
    "map": "map",
    "prison": "prison",
    "correlation": "correlation",
}
"""Settings field -> TOML table, for sections (dataclasses of `setting` fields)."""


@dataclass(frozen=True)
class Settings:
    # [storage]
    data_dir: Path = field(default=Path("data"), metadata={"env": "RONDA_DATA_DIR", "parse": _path})
    database_url: str | None = setting(None, "RONDA_DATABASE_URL")
    # [engine]
    engine: EngineParams = field(default_factory=EngineParams)
    # [server]
    host: str = setting("127.0.0.1", "RONDA_HOST")
    port: int = setting(8080, "RONDA_PORT", _port)
    ingest_port: int = setting(5055, "RONDA_INGEST_PORT", _port)
    api_token: str | None = setting(None, "RONDA_API_TOKEN")
    checkpoint_every_s: float = setting(30.0, "RONDA_CHECKPOINT_EVERY_S", _seconds)
    # [gateway], [distributed]
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    distributed: DistributedSettings = field(default_factory=DistributedSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    map: MapSettings = field(default_factory=MapSettings)
    prison: PrisonSettings = field(default_factory=PrisonSettings)
    correlation: WarmSettings = field(default_factory=WarmSettings)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ronda.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, file: Path | None = None) -> Settings:
        """Defaults, then the TOML file (``file`` or ``RONDA_CONFIG``), then the environment."""
        env = os.environ if env is None else env
        doc = _read_file(file or (Path(env["RONDA_CONFIG"]) if env.get("RONDA_CONFIG") else None))
        known = {"storage", "engine", "server", *SECTIONS.values()}
        for key in doc:
            if key not in known:
                raise InvalidInput("unknown section [{section}]", field=key, section=key)
        values: dict[str, Any] = {}
        flat = {**_table(doc, "storage"), **_table(doc, "server")}
        storage_server = {f.name for f in dataclasses.fields(cls) if "env" in f.metadata}
        for key in flat:
            if key not in storage_server:
                raise InvalidInput("unknown setting {key}", field=key, key=repr(key))
        for f in dataclasses.fields(cls):
            if "env" not in f.metadata:
                continue
            where = "storage" if f.name in ("data_dir", "database_url") else "server"
            if f.name in flat:
                values[f.name] = _parse(f, flat[f.name], f"{where}.{f.name}")
            raw = env.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _parse(f, raw, f.metadata["env"])
        values["engine"] = _engine(env, _table(doc, "engine"))
        values["gateway"] = GatewaySettings.from_env(env, _table(doc, "gateway"))
        for name, table in SECTIONS.items():
            if name == "gateway":
                continue
            section_cls = _section_class(cls, name)
            values[name] = section_cls(**_section(section_cls, env, _table(doc, table), table))
        return cls(**values)


def _section_class(cls: type[Any], name: str) -> type[Any]:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    default = f.default_factory
    assert callable(default)
    return type(default())


def _read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise InvalidInput(
            "cannot read the settings file {path}: {error}",
            field="RONDA_CONFIG",
            path=str(path),
            error=exc.strerror,
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            "{path}: not a valid TOML file: {error}", field="RONDA_CONFIG", path=str(path), error=str(exc)
        ) from exc


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise InvalidInput("[{section}] must be a table", field=name, section=name)
    return table


def _engine(env: Mapping[str, str], table: Mapping[str, Any]) -> EngineParams:
    overrides: dict[str, float | int] = {}
    names = {f.name: f for f in dataclasses.fields(EngineParams)}
    for key in table:
        if key not in names:
            raise InvalidInput("unknown engine threshold {key}", field=f"engine.{key}", key=repr(key))
    for f in names.values():
        parse = _int if f.type in ("int", int) else _float
        if f.name in table:
            overrides[f.name] = parse(table[f.name], f"engine.{f.name}")
        raw = env.get(f"RONDA_ENGINE_{f.name.upper()}")
        if raw is not None:
            overrides[f.name] = parse(raw, f"RONDA_ENGINE_{f.name.upper()}")
    return EngineParams(**overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ServerSettings(Settings):
    """`Settings` built on top of another (``ServerSettings(base=s, port=0)``):
    the fields given win, the others come from ``base``. Kept for callers of
    the former two-model API; new code uses `Settings` and ``dataclasses.replace``."""

    base: InitVar[Settings | None] = None

    def __post_init__(self, base: Settings | None) -> None:
        if base is None:
            return
        for f in dataclasses.fields(Settings):
            factory: Any = f.default_factory
            default = f.default if f.default is not dataclasses.MISSING else factory()
            if getattr(self, f.name) == default:
                object.__setattr__(self, f.name, getattr(base, f.name))
