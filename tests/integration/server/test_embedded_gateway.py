"""`ronda serve` with its embedded device gateway: a GT06 tracker on a real
socket becomes stored records (visible through the REST API), engine input
and an alert; every acknowledgement is sent after the commit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from ronda.api.server import Running, serve
from ronda.api.settings import GatewaySettings, ServerSettings
from ronda.config import Settings
from ronda.devices.protocols import gt06, testing
from ronda.pipeline.service import ServiceConfig
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.types import to_iso

from ..gateway.support import Device, eventually

pytestmark = pytest.mark.asyncio

IMEI = "864717003283581"
"""The device's id in Ronda is its IMEI, as its login frame carries it."""
ZONE = (40.4168, -3.7038)  # lat, lon: the centre of the exclusion zone


def setup(folder: Path) -> Path:
    scenario = {
        "format": "em-scenario/1",
        "name": "gateway",
        "timezone": "Europe/Madrid",
        "start": "2026-01-01T00:00:00Z",
        "end": "2027-12-31T00:00:00Z",
        "policy": {"low_battery_percent": 15, "no_fix_timeout_s": 900},
        "zones": [
            {
                "id": "victim-home",
                "name": "victim's home",
                "geometry": {"type": "Point", "coordinates": [ZONE[1], ZONE[0]]},
                "radius_m": 1500,
            }
        ],
        "persons": [{"id": "p1", "role": "monitored"}],
        "devices": [
            {"id": IMEI, "kind": "gps_tag", "person": "p1", "report_interval_s": 30, "comms_timeout_s": None}
        ],
        "orders": [
            {"id": "o1", "person": "p1", "rules": [{"id": "r1", "type": "exclusion", "zone": "victim-home"}]}
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    return folder


TOKEN = "embedded-gateway-test-token"


@asynccontextmanager
async def server(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    db = connect(db_url)
    migrate(db)
    with sessions(db).begin() as s:
        import_scenario(s, setup(tmp_path / "setup"))
    db.dispose()
    base = Settings(data_dir=tmp_path, database_url=db_url)
    base = dataclasses.replace(base, engine=dataclasses.replace(base.engine, reorder_hold_s=0.2))
    settings = ServerSettings(
        base=base,
        host="127.0.0.1",
        port=0,
        ingest_port=0,
        api_token=TOKEN,
        gateway=GatewaySettings(ports={"gt06": 0, "h02": 0}, mqtt="off"),
    )
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()

    async def on_ready(running: Running) -> None:
        ready.set_result(running)

    task = asyncio.create_task(serve(settings, config=ServiceConfig(tick_s=0.1), on_ready=on_ready))
    try:
        yield await asyncio.wait_for(asyncio.shield(ready), 20)
    finally:
        if ready.done():
            ready.result().server.should_exit = True
        await asyncio.wait_for(task, 20)


async def test_a_gt06_tracker_in_an_exclusion_zone_is_stored_served_and_alerted(
    db_url: str, tmp_path: Path
) -> None:
    async with server(db_url, tmp_path) as running:
        assert set(running.gateway_ports) == {"gt06", "h02"} and all(running.gateway_ports.values())
        device = await Device.connect(running.gateway_ports["gt06"])
        await device.send(testing.gt06_login(IMEI, serial=1))
        assert await device.read(10) == gt06.ack(0x01, 1) == bytes.fromhex("787805010001d9dc0d0a")

        t0 = float(int(time.time()) - 600)
        for i in range(6):  # a fix every 30 s, 100 m from the centre of a 1.5 km zone
            await device.send(testing.gt06_location(t0 + 30 * i, ZONE[0] + 0.0009, ZONE[1], serial=2 + i))
            assert await device.read(10) == gt06.ack(0x12, 2 + i)  # acked: committed by then
        svc = running.service
        assert svc.sink.stats.counters["stored"] == 6

        url = f"http://127.0.0.1:{running.api_port}"
        # the service credential a machine client uses; reading positions states why
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Ronda-Purpose": "gateway integration test"}
        async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as api:
            r = await api.get(
                f"/api/devices/{IMEI}/positions",
                params={"start": to_iso(t0 - 1), "end": to_iso(t0 + 3600)},
            )
            assert r.status_code == 200
            features = r.json()["features"]
            assert [f["properties"]["time"] for f in features] == [to_iso(t0 + 30 * i) for i in range(6)]
            lon, lat = features[0]["geometry"]["coordinates"]
            assert abs(lat - (ZONE[0] + 0.0009)) < 1e-5 and abs(lon - ZONE[1]) < 1e-5

            async def alerts() -> list[dict[str, object]]:
                body = (await api.get("/api/episodes", params={"type": "exclusion"})).json()
                return list(body["items"] if isinstance(body, dict) else body)

            found: list[dict[str, object]] = []

            async def raised() -> bool:
                found[:] = await alerts()
                return bool(found)

            await eventually_async(raised)
            assert found[0]["person"] == "p1"

        # pursuit mode: the open exclusion episode asks the tag to report every 15 s
        command = await device.read_until(b"\r\n")
        assert command[3] == gt06.COMMAND and b"TIMER,15#" in command

        # a resend of an acked frame is acked again and stores nothing twice
        await device.send(testing.gt06_location(t0, ZONE[0] + 0.0009, ZONE[1], serial=20))
        assert await device.read(10) == gt06.ack(0x12, 20)
        await eventually(lambda: svc.sink.stats.counters["duplicates"] == 1)
        await device.close()


async def test_the_gateway_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    db = connect(db_url)
    migrate(db)
    db.dispose()
    settings = ServerSettings(
        base=Settings(data_dir=tmp_path, database_url=db_url),
        host="127.0.0.1",
        port=0,
        ingest_port=0,
        gateway=GatewaySettings(enabled=False),
    )
    seen: list[Running] = []

    async def on_ready(running: Running) -> None:
        seen.append(running)
        running.server.should_exit = True

    await asyncio.wait_for(serve(settings, on_ready=on_ready), 20)
    assert seen and seen[0].gateway is None and seen[0].gateway_ports == {}


async def eventually_async(predicate: object, timeout_s: float = 15.0) -> None:
    async def poll() -> None:
        while not await predicate():  # type: ignore[operator]
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout_s)
