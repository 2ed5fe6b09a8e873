"""The server's settings are the one settings model, `ronda.config.Settings`
(host, port, ingest port, API token, checkpoints, the embedded gateway).
This module keeps the former names importable."""

from __future__ import annotations

from ronda.config import GATEWAY_PORTS, GatewaySettings, ServerSettings, Settings

__all__ = ["GATEWAY_PORTS", "GatewaySettings", "ServerSettings", "Settings"]
