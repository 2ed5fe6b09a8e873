"""Server settings: the shared Settings plus what only the server needs.

Environment variables (all optional), besides those of ronda.config:
  RONDA_HOST          address to listen on (default 127.0.0.1)
  RONDA_PORT          REST API, live stream and /docs (default 8080)
  RONDA_INGEST_PORT   device ingest over HTTP: OsmAnd and native (default 5055)
  RONDA_API_TOKEN     the token API clients send (Authorization: Bearer ...);
                      unset: the API is open (for a laptop demo only)
  RONDA_CHECKPOINT_EVERY_S   seconds between engine checkpoints (default 30)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ronda.config import Settings
from ronda.errors import InvalidInput


@dataclass(frozen=True)
class ServerSettings:
    base: Settings = field(default_factory=Settings)
    host: str = "127.0.0.1"
    port: int = 8080
    ingest_port: int = 5055
    api_token: str | None = None
    checkpoint_every_s: float = 30.0

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
        )
