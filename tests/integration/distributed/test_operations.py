"""Distributed mode's contracts, each process in this test's event loop:

- a gateway acknowledges a device only after JetStream acknowledged the
  publish (no stream: no ack; the device's resend is acked once it exists);
- a worker turns published records into stored records and alerts, and
  reports health, readiness and Prometheus metrics (lag per partition,
  records, effects);
- `ronda serve --distributed` is an API over PostgreSQL with no engine,
  ready when the database and NATS answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import httpx
import nats
import pytest
from sqlalchemy import text

from ronda.api.server import Running, serve
from ronda.cli.worker import run_nats_gateway
from ronda.config import DistributedSettings, GatewaySettings, Settings
from ronda.devices.protocols import gt06, testing
from ronda.gateway.commands import CommandKind
from ronda.gateway.service import Gateway, GatewayConfig
from ronda.pipeline import jetstream
from ronda.pipeline.commands import NatsCommander
from ronda.pipeline.loadgen import build_fleet
from ronda.pipeline.worker import Worker
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.storage.notify import DbCommandStore
from ronda.tracking.records import Position
from ronda.types import DeviceId

from ..gateway.support import Device
from .support import NATS_URL, Names, delete_jetstream, free_port, needs_services, pg_schema

pytestmark = [pytest.mark.asyncio, needs_services]

IMEI = "864717003283581"


def distributed(names: Names, partitions: int = 4, **changes: object) -> DistributedSettings:
    return dataclasses.replace(
        DistributedSettings(
            nats_url=NATS_URL,
            stream=names.stream,
            subject_prefix=f"ronda_test_{names.tag}.records",
            live_subject=f"ronda_test_{names.tag}.live",
            lease_bucket=names.bucket,
            partitions=partitions,
            publish_timeout_s=1.0,
        ),
        **changes,  # type: ignore[arg-type]
    )


async def test_the_device_is_acked_only_after_jetstream_acked() -> None:
    names = Names()
    d = distributed(names)
    nc = await jetstream.connect(d, "test")
    js = nc.jetstream()
    sink = jetstream.JetStreamSink(js, d, lambda device: 0 if device == IMEI else None)
    config = GatewayConfig(host="127.0.0.1", ports={"gt06": 0})
    t = float(int(time.time()) - 60)
    try:
        async with Gateway(sink, config) as gw:
            device = await Device.connect(gw.port("gt06"))
            await device.send(testing.gt06_login(IMEI, serial=1))
            assert await device.read(10) == gt06.ack(0x01, 1)
            # no stream yet: JetStream cannot take the record, the device hears nothing
            await device.send(testing.gt06_location(t, 40.0, -3.0, serial=2))
            assert await device.closed_by_server()
            assert sink.counters["publish_failed"] == 1 and sink.counters["published"] == 0

            await jetstream.ensure_stream(js, d)
            device = await Device.connect(gw.port("gt06"))
            await device.send(testing.gt06_login(IMEI, serial=3))
            assert await device.read(10) == gt06.ack(0x01, 3)
            await device.send(testing.gt06_location(t, 40.0, -3.0, serial=4))  # the resend
            assert await device.read(10) == gt06.ack(0x12, 4)
            # a second resend within the duplicate window is acked, not stored again
            await device.send(testing.gt06_location(t, 40.0, -3.0, serial=5))
            assert await device.read(10) == gt06.ack(0x12, 5)
            await device.close()
        info = await js.stream_info(names.stream)
        assert info.state.messages == 1
        msg = await js.get_msg(names.stream, 1)
        assert msg.subject == f"ronda_test_{names.tag}.records.0"
        [rec] = jetstream.decode(msg.data or b"[]")
        assert (rec.device, rec.time_s) == (IMEI, t)
        assert sink.counters["duplicates"] == 1
    finally:
        await nc.close()
        await delete_jetstream(names)


async def test_worker_and_stateless_api_over_postgresql(tmp_path: Path) -> None:
    names = Names()
    d = distributed(names, worker_port=0, lease_ttl_s=2.0, caseload_refresh_s=1.0)
    with pg_schema() as db_url:
        fleet = build_fleet(10, 15, float(int(time.time()) - 3600), seed=2)
        (tmp_path / "scenario.json").write_text(json.dumps(fleet.scenario))
        db = connect(db_url)
        migrate(db)
        with sessions(db).begin() as s:
            import_scenario(s, tmp_path)
        settings = Settings(
            data_dir=tmp_path, database_url=db_url, host="127.0.0.1", port=0, ingest_port=0,
            api_token="secret-token", checkpoint_every_s=1.0, distributed=d,
            gateway=GatewaySettings(enabled=False),
        )  # fmt: skip
        worker = Worker(settings, tick_s=0.2)
        nc = await nats.connect(NATS_URL)
        try:
            await worker.start()
            # the records as gateways would publish them
            js = nc.jetstream()
            inventory = jetstream.Inventory(db, d.partitions)
            await asyncio.to_thread(inventory.load)
            sink = jetstream.JetStreamSink(js, d, inventory.partition)
            now = time.time()
            for dev in fleet.devices:
                recs = [
                    Position(DeviceId(dev.imei), t, now, lat=y, lon=x, accuracy_m=10.0, speed_mps=v)
                    for t, y, x, v in dev.fixes
                ]
                accepted = await sink.accept(recs)
                assert accepted.stored == len(recs)

            def stored() -> tuple[int, int]:
                with db.connect() as c:
                    n = c.execute(text("SELECT count(*) FROM records")).scalar_one()
                    e = c.execute(text("SELECT count(*) FROM episodes WHERE type='exclusion'")).scalar_one()
                return int(n), int(e)

            deadline = time.monotonic() + 60
            while await asyncio.to_thread(stored) != (fleet.records, 2):  # persons 0 and 4 walk in
                assert time.monotonic() < deadline, f"stored so far: {stored()}"
                await asyncio.sleep(0.3)

            assert worker.ops is not None
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.ops.port}", timeout=10) as ops:
                assert (await ops.get("/healthz")).status_code == 200
                assert (await ops.get("/readyz")).status_code == 200
                metrics = (await ops.get("/metrics")).text
            owned = sorted(worker.runners)
            assert owned == list(range(d.partitions))  # alone: it holds every partition
            for p in owned:
                assert f'ronda_partition_lag_records{{partition="{p}"}} 0.0' in metrics
            fed = sum(
                float(line.split()[-1])
                for line in metrics.splitlines()
                if line.startswith("ronda_worker_records_total{")
            )
            assert fed == fleet.records
            assert 'ronda_worker_effects_total{kind="opened"}' in metrics

            # the checkpoints say how far each partition got
            with db.connect() as c:
                rows = c.execute(text("SELECT partition, last_stream_seq FROM partition_checkpoints")).all()
            assert {r.partition for r in rows} <= set(range(d.partitions)) and rows

            # the stateless API reads the same PostgreSQL
            ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()

            async def on_ready(running: Running) -> None:
                ready.set_result(running)

            api_settings = dataclasses.replace(settings, distributed=dataclasses.replace(d, enabled=True))
            task = asyncio.create_task(serve(api_settings, on_ready=on_ready))
            running = await asyncio.wait_for(asyncio.shield(ready), 30)
            try:
                assert running.gateway is None  # devices talk to `ronda gateway --nats`
                url = f"http://127.0.0.1:{running.api_port}"
                headers = {"Authorization": "Bearer secret-token"}
                async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as api:
                    assert (await api.get("/healthz")).status_code == 200
                    r = await api.get("/readyz")
                    assert r.status_code == 200, r.text
                    status = (await api.get("/api/status")).json()
                    assert status["mode"] == "distributed" and status["nats"] is True
                    assert set(status["partitions"]) == {str(p) for p, _ in rows}
            finally:
                running.server.should_exit = True
                await asyncio.wait_for(task, 20)
        finally:
            await worker.stop()
            await nc.close()
            db.dispose()
            await delete_jetstream(names)


async def test_the_nats_gateway_refuses_unknown_devices_and_reports_health(tmp_path: Path) -> None:
    names = Names()
    d = distributed(names, partitions=3)
    with pg_schema() as db_url:
        fleet = build_fleet(5, 3, float(int(time.time()) - 600), seed=4)
        (tmp_path / "scenario.json").write_text(json.dumps(fleet.scenario))
        db = connect(db_url)
        migrate(db)
        with sessions(db).begin() as s:
            import_scenario(s, tmp_path)
        db.dispose()
        settings = Settings(database_url=db_url, distributed=d)
        ops_port = free_port()
        config = GatewayConfig(host="127.0.0.1", ports={"gt06": 0}, metrics_port=ops_port)
        stop = asyncio.Event()
        ready: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()

        async def on_ready(gw: Gateway) -> None:
            ready.set_result(gw)

        task = asyncio.create_task(run_nats_gateway(settings, config, stop, on_ready))
        try:
            gw = await asyncio.wait_for(asyncio.shield(ready), 30)
            known, t = fleet.devices[0], fleet.devices[0].fixes[0]
            device = await Device.connect(gw.port("gt06"))
            await device.send(testing.gt06_login(known.imei, serial=1))
            assert await device.read(10) == gt06.ack(0x01, 1)
            await device.send(testing.gt06_location(t[0], t[1], t[2], serial=2))
            assert await device.read(10) == gt06.ack(0x12, 2)
            # pursuit from a worker: queued in PostgreSQL, announced on NATS,
            # sent at once by the gateway holding the device's connection
            nc = await nats.connect(NATS_URL)
            db = connect(db_url)
            command = await NatsCommander(nc, DbCommandStore(db), d.live_subject).submit(
                known.imei, CommandKind.SET_INTERVAL, interval_s=30
            )
            wire = gt06.encode_command("TIMER,30#", serial=1, server_flag=command.id)
            assert await device.read(len(wire)) == wire
            await nc.close()
            db.dispose()
            await device.close()
            stranger = await Device.connect(gw.port("gt06"))
            await stranger.send(testing.gt06_login("359999999999999", serial=1))
            await stranger.read(10)
            await stranger.send(testing.gt06_location(t[0], t[1], t[2], serial=2))
            await stranger.read(10)  # acked (a device is not told), but not published
            await stranger.close()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}", timeout=10) as ops:
                assert (await ops.get("/healthz")).status_code == 200
                assert (await ops.get("/readyz")).status_code == 200
                metrics = (await ops.get("/metrics")).text
            assert 'ronda_published_records_total{outcome="published"} 1.0' in metrics
            assert 'ronda_published_records_total{outcome="refused_unknown_device"} 1.0' in metrics
            assert "ronda_gateway_frames_total" in metrics
            nc = await nats.connect(NATS_URL)
            info = await nc.jetstream().stream_info(names.stream)
            await nc.close()
            assert info.state.messages == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await delete_jetstream(names)
