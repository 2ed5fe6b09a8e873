"""MQTT ingest: Ronda subscribes on a broker (Mosquitto) to one topic per device.

Topic: ``{prefix}/{device_id}/records`` (prefix ``ronda/devices`` by default),
QoS 1. Payload: records in the native JSON shape (FORMAT.md lines without
``received``; the gateway stamps its own receive time), one object or an
array. Every record's ``device`` must be the topic's device id, else the
whole message is rejected and counted (``device_mismatch``), so that a
broker ACL restricting each device to its own topic also restricts what it
can claim to be.

Acknowledgement after durable hand-off: the client acknowledges (PUBACK)
each message manually, only after ``sink.accept`` returned. A rejected
message is acknowledged too (resending it would not make it valid). When the
sink fails, the message is not acknowledged and the gateway reconnects; its
session is persistent (``clean_session=False``, a fixed client id), so the
broker delivers the message again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt

from ronda.errors import InvalidInput
from ronda.gateway.metrics import GatewayMetrics
from ronda.pipeline.ports import RecordSink
from ronda.scenarios.loader import record_from_json
from ronda.tracking.records import Record

log = logging.getLogger(__name__)

PROTOCOL = "mqtt"


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    topic_prefix: str = "ronda/devices"
    client_id: str = "ronda-gateway"
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 60
    reconnect_s: float = 5.0
    max_payload_bytes: int = 1024 * 1024

    @property
    def subscription(self) -> str:
        return f"{self.topic_prefix}/+/records"

    def topic(self, device: str) -> str:
        return f"{self.topic_prefix}/{device}/records"


class SinkFailed(Exception):
    """The hand-off failed: the message stays unacknowledged."""


class MqttGateway:
    def __init__(
        self,
        sink: RecordSink,
        metrics: GatewayMetrics,
        settings: MqttSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.metrics = metrics
        self.settings = settings or MqttSettings()
        self.clock = clock
        self.subscribed = asyncio.Event()
        """Set while subscribed (tests wait on it before publishing)."""

    def device_of(self, topic: str) -> str | None:
        prefix = self.settings.topic_prefix + "/"
        if not topic.startswith(prefix) or not topic.endswith("/records"):
            return None
        device = topic[len(prefix) : -len("/records")]
        if not device or "/" in device or "+" in device or "#" in device:
            return None
        return device

    async def handle(self, topic: str, payload: bytes) -> int:
        """Decode and hand over one message; the records stored. Raises SinkFailed
        (the message must not be acknowledged); every other problem is a rejection."""
        self.metrics.frames.labels(PROTOCOL).inc()
        device = self.device_of(topic)
        if device is None:
            return self._reject(None, "bad_topic", f"topic {topic!r}")
        if len(payload) > self.settings.max_payload_bytes:
            return self._reject(device, "too_large", f"{len(payload)} bytes")
        try:
            obj = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return self._reject(device, "malformed", f"not JSON: {exc}")
        items = obj if isinstance(obj, list) else [obj]
        received_s = self.clock()
        records: list[Record] = []
        for index, item in enumerate(items):
            try:
                rec = record_from_json(item, source=topic, line=index + 1, received_s=received_s)
            except InvalidInput as exc:
                return self._reject(device, "invalid_record", str(exc))
            if rec.device != device:
                return self._reject(device, "device_mismatch", f"record of {rec.device!r} on {topic!r}")
            records.append(rec)
        if not records:
            return 0
        try:
            accepted = await self.sink.accept(records)
        except Exception as exc:
            self.metrics.sink_failures.labels(PROTOCOL).inc()
            raise SinkFailed(str(exc)) from exc
        self.metrics.records.labels(PROTOCOL, "stored").inc(accepted.stored)
        self.metrics.records.labels(PROTOCOL, "duplicate").inc(accepted.duplicates)
        self.metrics.records.labels(PROTOCOL, "unknown_device").inc(accepted.unknown_device)
        self.metrics.acks.labels(PROTOCOL).inc()
        return accepted.stored

    def _reject(self, device: str | None, reason: str, message: str) -> int:
        self.metrics.reject(PROTOCOL, device, reason)
        log.warning("mqtt message rejected (%s) from %s: %s", reason, device or "unknown topic", message)
        return 0

    async def run(self) -> None:
        """Subscribe and consume until cancelled, reconnecting after failures."""
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttError as exc:
                log.warning("mqtt %s:%d: %s; retrying", self.settings.host, self.settings.port, exc)
            except SinkFailed as exc:
                log.error("mqtt: sink failed (%s); reconnecting so the broker redelivers", exc)
                self.metrics.dropped.labels(PROTOCOL, "sink_failure").inc()
            except Exception:
                log.exception("mqtt consumer failed; reconnecting")
            finally:
                self.subscribed.clear()
                self.metrics.connections.labels(PROTOCOL).set(0)
            await asyncio.sleep(self.settings.reconnect_s)

    async def _session(self) -> None:
        s = self.settings
        client = aiomqtt.Client(
            s.host,
            s.port,
            identifier=s.client_id,
            username=s.username,
            password=s.password,
            keepalive=s.keepalive_s,
            clean_session=False,
        )
        # aiomqtt has no manual acknowledgement; its paho client does. Set before
        # connecting: a persistent session may deliver at once.
        paho = client._client
        paho.manual_ack_set(True)
        async with client:
            await client.subscribe(s.subscription, qos=1)
            self.metrics.connections_total.labels(PROTOCOL).inc()
            self.metrics.connections.labels(PROTOCOL).set(1)
            self.subscribed.set()
            log.info("mqtt subscribed to %s on %s:%d", s.subscription, s.host, s.port)
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, str):
                    data = payload.encode("utf-8")
                elif isinstance(payload, bytes | bytearray):
                    data = bytes(payload)
                else:
                    data = json.dumps(payload).encode("utf-8")
                await self.handle(str(message.topic), data)  # SinkFailed: no PUBACK
                if message.qos > 0:
                    paho.ack(message.mid, message.qos)
