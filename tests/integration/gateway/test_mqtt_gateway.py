"""MQTT ingest against the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
import pytest

from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.mqtt import MqttGateway, MqttSettings
from ronda.pipeline.ports import RecordSink
from ronda.tracking.records import DeviceEvent, EventKind, Position

from .support import NOW, WAIT_S, FailingSink, RecordingSink, eventually

HOST, PORT = "127.0.0.1", 1883


def _broker_up() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(not _broker_up(), reason=f"Mosquitto is not reachable on {HOST}:{PORT}"),
]


@asynccontextmanager
async def consuming(sink: RecordSink) -> AsyncIterator[MqttGateway]:
    run = uuid.uuid4().hex[:12]
    settings = MqttSettings(
        host=HOST, port=PORT, topic_prefix=f"ronda-test-{run}/devices", client_id=f"ronda-test-{run}",
        reconnect_s=0.05,
    )  # fmt: skip
    gateway = MqttGateway(sink, GatewayMetrics(), settings, clock=lambda: NOW)
    task = asyncio.create_task(gateway.run())
    try:
        await asyncio.wait_for(gateway.subscribed.wait(), WAIT_S)
        yield gateway
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # Drop the persistent test session from the broker.
        async with aiomqtt.Client(HOST, PORT, identifier=settings.client_id, clean_session=True):
            pass


async def publish(topic: str, *payloads: object) -> None:
    async with aiomqtt.Client(HOST, PORT, identifier=f"ronda-test-device-{uuid.uuid4().hex[:8]}") as client:
        for payload in payloads:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(topic, data, qos=1)


async def test_records_published_by_a_device_reach_the_sink() -> None:
    sink = RecordingSink()
    async with consuming(sink) as gw:
        topic = gw.settings.topic("tag-0003")
        single = {
            "device": "tag-0003",
            "time": "2026-04-03T03:04:11Z",
            "lat": -33.4,
            "lon": -70.6,
            "accuracy": 9.8,
        }
        batch = [
            {"device": "tag-0003", "time": "2026-04-03T03:05:11Z", "valid": False, "battery": 87},
            {"device": "tag-0003", "time": "2026-04-03T09:12:01Z", "event": "strap_tamper"},
        ]
        await publish(topic, single, batch)
        records = await sink.wait_for(3)
        first, second, third = records
        assert isinstance(first, Position) and first.lat == -33.4 and first.accuracy_m == 9.8
        assert first.received_s == NOW
        assert isinstance(second, Position) and not second.valid and second.battery_pct == 87
        assert isinstance(third, DeviceEvent) and third.kind is EventKind.STRAP_TAMPER
        text = gw.metrics.render()
        assert 'ronda_gateway_records_total{outcome="stored",protocol="mqtt"} 3.0' in text
        assert 'ronda_gateway_frames_total{protocol="mqtt"} 2.0' in text


async def test_a_record_of_another_device_is_rejected_and_counted() -> None:
    sink = RecordingSink()
    async with consuming(sink) as gw:
        topic = gw.settings.topic("tag-0003")
        forged = {"device": "tag-0009", "time": "2026-04-03T03:04:11Z", "lat": 1.0, "lon": 1.0}
        broken = b"{not json"
        invalid = {"device": "tag-0003", "time": "yesterday", "lat": 1.0, "lon": 1.0}
        good = {"device": "tag-0003", "time": "2026-04-03T03:06:11Z", "lat": 2.0, "lon": 2.0}
        await publish(topic, forged, broken, invalid, good)  # in order on one topic
        (record,) = await sink.wait_for(1)
        assert record.device == "tag-0003"
        assert gw.metrics.rejections_for("tag-0003") == {
            ("mqtt", "device_mismatch"): 1,
            ("mqtt", "malformed"): 1,
            ("mqtt", "invalid_record"): 1,
        }
        assert 'ronda_gateway_rejected_frames_total{protocol="mqtt",reason="device_mismatch"} 1.0' in (
            gw.metrics.render()
        )


async def test_a_message_the_sink_failed_on_is_redelivered_by_the_broker() -> None:
    sink = FailingSink(failures=1)
    async with consuming(sink) as gw:
        topic = gw.settings.topic("tag-0004")
        await publish(topic, {"device": "tag-0004", "time": "2026-04-03T03:04:11Z", "lat": 1.0, "lon": 1.0})
        (record,) = await sink.inner.wait_for(1)
        assert record.device == "tag-0004"
        await eventually(lambda: gw.subscribed.is_set())
        assert 'ronda_gateway_sink_failures_total{protocol="mqtt"} 1.0' in gw.metrics.render()
