"""Gateway metrics in Prometheus format, in a registry the gateway owns.

Counters are labelled by protocol (``gt06``, ``teltonika``, ``h02``, ``watch``,
``mqtt``) and, for rejections, by reason (the ``InvalidFrame.reason`` labels).
Rejections are also counted per device in memory (``rejections``): a label
per device would make the Prometheus series grow with the fleet.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNKNOWN_DEVICE = "unknown"
"""Device label of a rejection before the device identified itself."""


class GatewayMetrics:
    """Every counter of one gateway process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "ronda_gateway_open_connections", "Open device connections", ["protocol"], registry=r
        )
        self.connections_total = Counter(
            "ronda_gateway_connections", "Device connections accepted", ["protocol"], registry=r
        )
        self.frames = Counter(
            "ronda_gateway_frames", "Frames (or MQTT messages) received", ["protocol"], registry=r
        )
        self.records = Counter(
            "ronda_gateway_records",
            "Records handed to the pipeline, by what the sink did with them",
            ["protocol", "outcome"],
            registry=r,
        )
        self.rejected = Counter(
            "ronda_gateway_rejected_frames",
            "Frames rejected (nothing stored), by reason",
            ["protocol", "reason"],
            registry=r,
        )
        self.acks = Counter(
            "ronda_gateway_acks", "Replies/acknowledgements written to devices", ["protocol"], registry=r
        )
        self.sink_failures = Counter(
            "ronda_gateway_sink_failures",
            "Hand-offs to the pipeline that failed (no ack sent, connection dropped)",
            ["protocol"],
            registry=r,
        )
        self.dropped = Counter(
            "ronda_gateway_dropped_connections",
            "Connections closed by the gateway, by cause",
            ["protocol", "cause"],
            registry=r,
        )
        self.commands = Counter(
            "ronda_gateway_commands",
            "Commands to devices, by outcome (queued, sent, acknowledged, failed)",
            ["outcome"],
            registry=r,
        )
        self.rejections: Tally[tuple[str, str, str]] = Tally()
        """(protocol, device or "unknown", reason) -> rejected frames."""

    def reject(self, protocol: str, device: str | None, reason: str) -> None:
        self.rejected.labels(protocol, reason).inc()
        self.rejections[(protocol, device or UNKNOWN_DEVICE, reason)] += 1

    def rejections_for(self, device: str) -> dict[tuple[str, str], int]:
        """(protocol, reason) -> count of frames rejected from ``device``."""
        return {(p, reason): n for (p, d, reason), n in self.rejections.items() if d == device}

    def render(self) -> str:
        """The text exposition format (what ``/metrics`` serves)."""
        return generate_latest(self.registry).decode("utf-8")
