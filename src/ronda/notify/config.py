"""Configuration of alerts and notifications: one TOML file.

``RONDA_ALERTS_CONFIG`` names it (default: ``alerts.toml`` in the data folder
when it exists). Its ``[alerts]`` table is the alert policy (see
``ronda.alerts.policy``), ``[channels]`` maps a channel to an Apprise URL with
``{to}`` where the contact's address goes, ``[notify]`` tunes the worker.
Secrets (SMTP passwords, SMS gateway tokens) stay in this file, never in the
database: outbox rows keep only ``channel:address``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ronda.alerts.policy import AlertPolicy, PolicyError, parse_policy


@dataclass(frozen=True)
class NotifyConfig:
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    channels: dict[str, str] = field(default_factory=dict)
    enabled: bool = True  # run the worker and the loops inside `ronda serve`
    poll_s: float = 1.0  # the worker looks for due messages this often (and when woken)
    lease_s: float = 60.0  # a claimed message is taken again after this long without an outcome
    batch: int = 20
    escalation_every_s: float = 5.0
    reminders_every_s: float = 60.0
    source: str = "built-in defaults"


def parse_config(raw: Mapping[str, Any], source: str = "") -> NotifyConfig:
    unknown = set(raw) - {"alerts", "channels", "notify"}
    if unknown:
        raise PolicyError(
            "{source}: unknown tables {tables} (known: alerts, channels, notify)",
            source=source,
            tables=str(sorted(unknown)),
        )
    channels = raw.get("channels", {})
    if not isinstance(channels, Mapping) or not all(isinstance(v, str) for v in channels.values()):
        raise PolicyError("{source}: [channels] maps a channel name to an Apprise URL", source=source)
    tune = raw.get("notify", {})
    if not isinstance(tune, Mapping):
        raise PolicyError("{source}: [notify] must be a table", source=source)
    bad = set(tune) - {"enabled", "poll_s", "lease_s", "batch", "escalation_every_s", "reminders_every_s"}
    if bad:
        raise PolicyError("{source}: unknown [notify] keys {keys}", source=source, keys=str(sorted(bad)))
    base = NotifyConfig()
    return NotifyConfig(
        policy=parse_policy(raw.get("alerts", {})),
        channels=dict(channels),
        enabled=bool(tune.get("enabled", base.enabled)),
        poll_s=float(tune.get("poll_s", base.poll_s)),
        lease_s=float(tune.get("lease_s", base.lease_s)),
        batch=int(tune.get("batch", base.batch)),
        escalation_every_s=float(tune.get("escalation_every_s", base.escalation_every_s)),
        reminders_every_s=float(tune.get("reminders_every_s", base.reminders_every_s)),
        source=source or "inline",
    )


def load_config(path: Path | None = None, data_dir: Path | None = None) -> NotifyConfig:
    """The configuration from `path`, ``RONDA_ALERTS_CONFIG``, ``<data>/alerts.toml``, or the defaults."""
    named = path or (
        Path(os.environ["RONDA_ALERTS_CONFIG"]) if os.environ.get("RONDA_ALERTS_CONFIG") else None
    )
    if named is None and data_dir is not None and (data_dir / "alerts.toml").is_file():
        named = data_dir / "alerts.toml"
    config = NotifyConfig()
    if named is not None:
        try:
            raw = tomllib.loads(named.read_text("utf-8"))
        except OSError as exc:
            raise PolicyError(
                "cannot read {path}: {error}", path=str(named), error=exc.strerror or str(exc)
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(
                "{path}: not a valid TOML file: {error}", path=str(named), error=str(exc)
            ) from exc
        config = parse_config(raw, str(named))
    if os.environ.get("RONDA_NOTIFY", "").lower() in ("off", "0", "false", "no"):
        config = dataclasses.replace(config, enabled=False)
    return config
