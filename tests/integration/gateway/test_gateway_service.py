"""The assembled gateway: TCP + MQTT into a JSON Lines file, metrics over HTTP, the CLI."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path

import aiomqtt
import pytest
from typer.testing import CliRunner

from ronda.cli.main import app
from ronda.devices.protocols import gt06, testing
from ronda.gateway.jsonl import JsonLinesSink
from ronda.gateway.mqtt import MqttSettings
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.scenarios.loader import parse_arrival

from .support import NOW, T0, WAIT_S, Device, RecordingSink, eventually, running

IMEI = "864717003283581"


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


async def http_get(port: int, path: str) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), WAIT_S)
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return head.split("\r\n", 1)[0], body


@pytest.mark.asyncio
async def test_metrics_endpoint_serves_the_counters() -> None:
    async with running(RecordingSink(), protocols=["gt06"], metrics_port=0) as gw:
        device = await Device.connect(gw.port("gt06"))
        await device.send(
            testing.gt06_login(IMEI, serial=1) + testing.gt06_location(T0, 1.0, 1.0, bad_crc=True)
        )
        await device.send(testing.gt06_location(T0, 1.0, 1.0, serial=3))
        assert await device.read(20) == gt06.ack(0x01, 1) + gt06.ack(0x12, 3)
        assert gw.endpoint is not None
        status, body = await http_get(gw.endpoint.port, "/metrics")
        assert status == "HTTP/1.1 200 OK"
        for line in (
            'ronda_gateway_open_connections{protocol="gt06"} 1.0',
            'ronda_gateway_connections_total{protocol="gt06"} 1.0',
            'ronda_gateway_frames_total{protocol="gt06"} 3.0',
            'ronda_gateway_records_total{outcome="stored",protocol="gt06"} 1.0',
            'ronda_gateway_rejected_frames_total{protocol="gt06",reason="bad_checksum"} 1.0',
            'ronda_gateway_acks_total{protocol="gt06"} 2.0',
        ):
            assert line in body
        assert (await http_get(gw.endpoint.port, "/other"))[0] == "HTTP/1.1 404 Not Found"
        for probe in ("/healthz", "/readyz"):  # for a load balancer or systemd watchdog
            assert (await http_get(gw.endpoint.port, probe))[0] == "HTTP/1.1 200 OK"
        await device.close()


@pytest.mark.asyncio
@pytest.mark.skipif(not _broker_up(), reason="Mosquitto is not reachable on 127.0.0.1:1883")
async def test_tcp_and_mqtt_records_land_in_the_json_lines_file(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    run = uuid.uuid4().hex[:12]
    mqtt = MqttSettings(topic_prefix=f"ronda-test-{run}/devices", client_id=f"ronda-test-{run}")
    config = GatewayConfig(host="127.0.0.1", ports={"gt06": 0}, mqtt=mqtt)
    async with Gateway(JsonLinesSink(out), config, clock=lambda: NOW) as gw:
        assert gw.mqtt is not None
        await asyncio.wait_for(gw.mqtt.subscribed.wait(), WAIT_S)
        device = await Device.connect(gw.port("gt06"))
        location = testing.gt06_location(T0, 41.39, -2.17, serial=2)
        await device.send(testing.gt06_login(IMEI, serial=1) + location + location)  # a resend
        assert await device.read(30) == gt06.ack(0x01, 1) + gt06.ack(0x12, 2) + gt06.ack(0x12, 2)
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"ronda-test-phone-{run}") as client:
            record = {"device": "phone-7", "time": "2026-04-03T03:04:11Z", "lat": 1.5, "lon": 2.5}
            await client.publish(mqtt.topic("phone-7"), json.dumps(record), qos=1)
        await eventually(lambda: out.exists() and len(out.read_text().splitlines()) == 2)
        await device.close()
    lines = out.read_text().splitlines()
    records = [parse_arrival(line) for line in lines]
    assert [r.device for r in records] == [IMEI, "phone-7"]
    assert all(r.received_s == NOW for r in records)
    assert json.loads(lines[0])["lat"] == pytest.approx(41.39)
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=mqtt.client_id, clean_session=True):
        pass


def test_gateway_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["gateway", "--help"])
    assert result.exit_code == 0
    assert "--gt06-port" in result.output and "--metrics-port" in result.output
