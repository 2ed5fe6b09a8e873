"""`ronda gateway --database`: a stand-alone gateway committing to the server's database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ronda.cli.gateway import run_database_gateway
from ronda.devices.protocols import gt06, testing
from ronda.gateway.dbsink import DatabaseSink
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.storage import cases, records
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import Position
from ronda.types import DeviceId

from .support import T0, Device

pytestmark = pytest.mark.asyncio
IMEI = "864717003283581"


def registered(url: str) -> None:
    db = connect(url)
    migrate(db)
    with sessions(db).begin() as s:
        cases.create_device(s, IMEI, "gps_tag")
    db.dispose()


def stored(url: str) -> list[tuple[str, float]]:
    db = connect(url)
    try:
        with sessions(db)() as s:
            return [(r.device, r.time_s) for _, r in records.records_after(s, 0)]
    finally:
        db.dispose()


async def test_database_sink_commits_known_devices_and_refuses_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ronda.db'}"
    registered(url)
    async with DatabaseSink(url) as sink:
        rec = Position(device=DeviceId(IMEI), time_s=T0, received_s=T0 + 1, lat=40.0, lon=-3.0)
        other = Position(device=DeviceId("nobody"), time_s=T0, received_s=T0 + 1, lat=40.0, lon=-3.0)
        first = await sink.accept([rec, other])
        again = await sink.accept([rec])
    assert (first.stored, first.unknown_device) == (1, 1) and (again.stored, again.duplicates) == (0, 1)
    assert stored(url) == [(IMEI, T0)]


async def test_stand_alone_gateway_acks_after_the_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ronda.db'}"
    registered(url)
    config = GatewayConfig(host="127.0.0.1", ports={"gt06": 0})
    stop = asyncio.Event()
    ports: list[int] = []

    async def ready(gateway: Gateway) -> None:
        ports.append(gateway.port("gt06"))

    task = asyncio.create_task(run_database_gateway(url, config, stop, ready))
    try:
        while not ports:
            await asyncio.sleep(0.01)
        device = await Device.connect(ports[0])
        await device.send(
            testing.gt06_login(IMEI, serial=1) + testing.gt06_location(T0, 40.4, -3.7, serial=2)
        )
        assert await device.read(20) == gt06.ack(0x01, 1) + gt06.ack(0x12, 2)
        assert stored(url) == [(IMEI, T0)]  # committed before the ack
        await device.close()
    finally:
        stop.set()
    await asyncio.wait_for(task, 10)
