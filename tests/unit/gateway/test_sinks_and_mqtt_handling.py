"""The JSON Lines sink, MQTT message handling without a broker, and the metrics text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ronda.gateway.jsonl import JsonLinesSink, record_to_json
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.mqtt import MqttGateway, MqttSettings, SinkFailed
from ronda.pipeline.memory import MemorySink
from ronda.scenarios.loader import parse_arrival
from ronda.tracking.records import DeviceEvent, EventKind, Position, Record, Sighting
from ronda.types import DeviceId, ZoneId

T0 = 1_700_000_000.0
D = DeviceId("tag-1")


def test_record_to_json_round_trips_through_the_loader() -> None:
    records: list[Record] = [
        Position(D, T0, T0 + 2, lat=40.4, lon=-3.7, accuracy_m=8.0, speed_mps=1.5, battery_pct=80.0),
        Position(D, T0 + 60, T0 + 62, battery_pct=79.0, valid=False),
        DeviceEvent(D, T0 + 90, T0 + 91, EventKind.STRAP_TAMPER),
    ]
    for rec in records:
        back = parse_arrival(json.dumps(record_to_json(rec)))
        assert back == rec
    sighting = record_to_json(Sighting(D, T0, T0, reader="r1", zone=ZoneId("z"), rssi_dbm=-60.0))
    assert sighting["reader"] == "r1" and sighting["zone"] == "z" and sighting["rssi"] == -60.0


@pytest.mark.asyncio
async def test_json_lines_sink_is_idempotent_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "out" / "records.jsonl"
    fix = Position(D, T0, T0 + 1, lat=1.0, lon=2.0)
    event = DeviceEvent(D, T0, T0 + 1, EventKind.SOS)
    sink = JsonLinesSink(path)
    first = await sink.accept([fix, event, fix])
    assert (first.stored, first.duplicates) == (2, 1)
    path.write_text(path.read_text() + '{"torn": ', encoding="utf-8")  # a crash mid-line
    again = JsonLinesSink(path)
    second = await again.accept([fix, Position(D, T0 + 5, T0 + 6, lat=1.0, lon=2.0)])
    assert (second.stored, second.duplicates) == (1, 1)


def gateway(sink: object) -> MqttGateway:
    return MqttGateway(sink, GatewayMetrics(), MqttSettings(topic_prefix="ronda/devices"), clock=lambda: T0)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_mqtt_topic_parsing_and_rejections() -> None:
    sink = MemorySink()
    gw = gateway(sink)
    assert gw.device_of("ronda/devices/tag-1/records") == "tag-1"
    for bad in (
        "ronda/devices//records",
        "ronda/devices/a/b/records",
        "other/tag-1/records",
        "ronda/devices/x",
    ):
        assert gw.device_of(bad) is None
    ok = json.dumps({"device": "tag-1", "time": "2023-11-14T22:13:20Z", "lat": 1.0, "lon": 2.0}).encode()
    assert await gw.handle("ronda/devices/tag-1/records", ok) == 1
    assert await gw.handle("ronda/devices/tag-1/records", ok) == 0  # duplicate, still fine
    assert await gw.handle("ronda/devices/tag-2/records", ok) == 0
    assert await gw.handle("elsewhere", ok) == 0
    assert await gw.handle("ronda/devices/tag-1/records", b"[]") == 0
    assert await gw.handle("ronda/devices/tag-1/records", b"\xff\xfe") == 0
    assert await gw.handle("ronda/devices/tag-1/records", b"[1]") == 0
    assert gw.metrics.rejections == {
        ("mqtt", "tag-2", "device_mismatch"): 1,
        ("mqtt", "unknown", "bad_topic"): 1,
        ("mqtt", "tag-1", "malformed"): 1,
        ("mqtt", "tag-1", "invalid_record"): 1,
    }
    assert len(sink.records) == 1 and sink.records[0].received_s == T0


@pytest.mark.asyncio
async def test_mqtt_sink_failure_is_not_swallowed() -> None:
    class Broken:
        async def accept(self, records: object) -> object:
            raise OSError("disk full")

    gw = gateway(Broken())
    ok = json.dumps({"device": "tag-1", "time": "2023-11-14T22:13:20Z", "event": "sos"}).encode()
    with pytest.raises(SinkFailed):
        await gw.handle("ronda/devices/tag-1/records", ok)
    assert 'ronda_gateway_sink_failures_total{protocol="mqtt"} 1.0' in gw.metrics.render()


def test_metrics_use_their_own_registry() -> None:
    a, b = GatewayMetrics(), GatewayMetrics()
    a.frames.labels("gt06").inc()
    a.reject("gt06", "d1", "bad_checksum")
    a.reject("gt06", None, "malformed")
    assert 'ronda_gateway_frames_total{protocol="gt06"} 1.0' in a.render()
    assert 'ronda_gateway_frames_total{protocol="gt06"}' not in b.render()
    assert a.rejections_for("d1") == {("gt06", "bad_checksum"): 1}
    assert a.rejections[("gt06", "unknown", "malformed")] == 1
