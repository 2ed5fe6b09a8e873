"""Settings, read once at the edge (CLI, server) and passed inward.

Environment variables (all optional):
  RONDA_DATA_DIR        where the embedded database and files live (default ./data)
  RONDA_DATABASE_URL    a SQLAlchemy URL; default: SQLite in the data folder
  RONDA_ENGINE_<NAME>   any EngineParams field, e.g. RONDA_ENGINE_OPEN_FIXES=4
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ronda.engine.params import EngineParams
from ronda.errors import InvalidInput


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str | None = None
    engine: EngineParams = field(default_factory=EngineParams)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ronda.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        overrides: dict[str, float | int] = {}
        for f in dataclasses.fields(EngineParams):
            raw = env.get(f"RONDA_ENGINE_{f.name.upper()}")
            if raw is None:
                continue
            try:
                overrides[f.name] = int(raw) if f.type in ("int", int) else float(raw)
            except ValueError as exc:
                raise InvalidInput(f"not a number: {raw!r}", field=f"RONDA_ENGINE_{f.name.upper()}") from exc
        return cls(
            data_dir=Path(env.get("RONDA_DATA_DIR", "data")),
            database_url=env.get("RONDA_DATABASE_URL") or None,
            engine=EngineParams(**overrides),  # type: ignore[arg-type]
        )
