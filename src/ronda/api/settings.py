"""Server settings: the shared Settings plus what only the server needs.

Environment variables (all optional), besides those of ronda.config:
  RONDA_HOST          address to listen on (default 127.0.0.1)
  RONDA_PORT          REST API, live stream and /docs (default 8080)
  RONDA_INGEST_PORT   device ingest over HTTP: OsmAnd and native (default 5055)
  RONDA_API_TOKEN     the token API clients send (Authorization: Bearer ...);
                      unset: the API is open (for a laptop demo only)
  RONDA_CHECKPOINT_EVERY_S   seconds between engine checkpoints (default 30)
  RONDA_GATEWAY       on (default) / off: the embedded device gateway
  RONDA_GATEWAY_HOST  address its TCP listeners use (default: RONDA_HOST)
  RONDA_GT06_PORT, RONDA_TELTONIKA_PORT, RONDA_H02_PORT, RONDA_WATCH_PORT
                      its TCP ports (5023, 5027, 5013, 5093; "off" or -1: not served)
  RONDA_MQTT          auto (default: subscribe if a broker answers on
                      127.0.0.1:1883) / off / HOST[:PORT] (always subscribe)
  RONDA_MQTT_PREFIX, RONDA_MQTT_CLIENT_ID, RONDA_MQTT_USERNAME, RONDA_MQTT_PASSWORD
  RONDA_GATEWAY_METRICS_PORT  Prometheus text of the gateway (unset: off)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ronda.config import Settings
from ronda.errors import InvalidInput

GATEWAY_PORTS = {"gt06": 5023, "teltonika": 5027, "h02": 5013, "watch": 5093}
"""Default TCP port of each protocol of the embedded gateway."""


@dataclass(frozen=True)
class GatewaySettings:
    """The device gateway embedded in the server (``ronda serve``)."""

    enabled: bool = True
    host: str | None = None
    """None: the server's host."""
    ports: Mapping[str, int] = field(default_factory=lambda: dict(GATEWAY_PORTS))
    """Protocol -> TCP port (0: any free port); protocols left out are not served."""
    mqtt: str = "auto"
    """``auto`` (subscribe if a broker answers on 127.0.0.1:1883), ``off``, or ``HOST[:PORT]``."""
    mqtt_prefix: str = "ronda/devices"
    mqtt_client_id: str = "ronda-server"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    metrics_port: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GatewaySettings:
        def port(name: str, default: int | None) -> int | None:
            raw = (env.get(name) or "").strip().lower()
            if raw == "":
                return default
            if raw in ("off", "-1"):
                return None
            if not raw.isdigit() or not 0 <= int(raw) < 65536:
                raise InvalidInput(f"not a port number: {raw!r}", field=name)
            return int(raw)

        switch = (env.get("RONDA_GATEWAY") or "on").strip().lower()
        if switch not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
            raise InvalidInput(f"on or off, not {switch!r}", field="RONDA_GATEWAY")
        ports = {
            name: p
            for name, default in GATEWAY_PORTS.items()
            if (p := port(f"RONDA_{name.upper()}_PORT", default)) is not None
        }
        return cls(
            enabled=switch in ("on", "1", "true", "yes"),
            host=env.get("RONDA_GATEWAY_HOST") or None,
            ports=ports,
            mqtt=(env.get("RONDA_MQTT") or "auto").strip(),
            mqtt_prefix=(env.get("RONDA_MQTT_PREFIX") or "ronda/devices").rstrip("/"),
            mqtt_client_id=env.get("RONDA_MQTT_CLIENT_ID") or "ronda-server",
            mqtt_username=env.get("RONDA_MQTT_USERNAME") or None,
            mqtt_password=env.get("RONDA_MQTT_PASSWORD") or None,
            metrics_port=port("RONDA_GATEWAY_METRICS_PORT", None),
        )


@dataclass(frozen=True)
class ServerSettings:
    base: Settings = field(default_factory=Settings)
    host: str = "127.0.0.1"
    port: int = 8080
    ingest_port: int = 5055
    api_token: str | None = None
    checkpoint_every_s: float = 30.0
    gateway: GatewaySettings = field(default_factory=GatewaySettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env

        def port(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            if not raw.isdigit() or not 0 <= int(raw) < 65536:
                raise InvalidInput(f"not a port number: {raw!r}", field=name)
            return int(raw)

        def seconds(name: str, default: float) -> float:
            raw = env.get(name)
            try:
                value = default if not raw else float(raw)
            except ValueError:
                value = -1.0
            if not 0 < value < 1e6:
                raise InvalidInput(f"not a number of seconds: {raw!r}", field=name)
            return value

        return cls(
            base=Settings.from_env(env),
            host=env.get("RONDA_HOST", "127.0.0.1"),
            port=port("RONDA_PORT", 8080),
            ingest_port=port("RONDA_INGEST_PORT", 5055),
            api_token=env.get("RONDA_API_TOKEN") or None,
            checkpoint_every_s=seconds("RONDA_CHECKPOINT_EVERY_S", 30.0),
            gateway=GatewaySettings.from_env(env),
        )
