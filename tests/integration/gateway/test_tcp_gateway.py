"""The TCP gateway over real sockets: a test acts as the device."""

from __future__ import annotations

import asyncio
import random

import pytest

from ronda.devices.protocols import gt06, testing
from ronda.gateway.tcp import TcpLimits
from ronda.tracking.records import DeviceEvent, EventKind, Position

from .support import NOW, T0, BlockingSink, Device, FailingSink, RecordingSink, eventually, running

pytestmark = pytest.mark.asyncio

IMEI = "864717003283581"
TELTONIKA_IMEI = "352093081452251"
H02_ID = "4210051415"
WATCH_ID = "8800000015"


# -- acknowledgements only after the durable hand-off --------------------------------
async def test_gt06_ack_is_sent_only_after_the_sink_returned() -> None:
    sink = BlockingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        await device.send(testing.gt06_login(IMEI, serial=4))
        assert await device.read(10) == bytes.fromhex("7878050100048e710d0a")  # login: no records

        await device.send(testing.gt06_location(T0, 41.39, -2.17, serial=5))
        ack = asyncio.create_task(device.read(10))
        await asyncio.wait_for(sink.entered.wait(), 10)
        done, _ = await asyncio.wait({ack}, timeout=0.3)
        assert not done, "the ack arrived while the sink still held the records"
        assert sink.returned == 0

        sink.release.set()
        assert await ack == bytes.fromhex("787805120005f5090d0a")
        assert sink.returned == 1
        (position,) = sink.inner.records
        assert isinstance(position, Position) and position.device == IMEI and position.received_s == NOW
        await device.close()


async def test_teltonika_count_ack_waits_for_the_sink() -> None:
    sink = BlockingSink()
    async with running(sink, protocols=["teltonika"]) as gw:
        device = await Device.connect(gw.port("teltonika"))
        await device.send(testing.teltonika_imei(TELTONIKA_IMEI))
        assert await device.read(1) == b"\x01"
        records = [testing.teltonika_record(T0 + i, 54.9, 24.0) for i in range(3)]
        await device.send(testing.teltonika_avl(records))
        ack = asyncio.create_task(device.read(4))
        await asyncio.wait_for(sink.entered.wait(), 10)
        done, _ = await asyncio.wait({ack}, timeout=0.3)
        assert not done
        sink.release.set()
        assert await ack == b"\x00\x00\x00\x03"
        assert len(sink.inner.records) == 3
        await device.close()


# -- exact reply bytes per protocol ---------------------------------------------------
async def test_gt06_session_acks_every_type_with_its_serial() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        await device.send(testing.gt06_login(IMEI, serial=4))
        assert await device.read(10) == bytes.fromhex("7878050100048e710d0a")
        await device.send(testing.gt06_alarm(T0, 41.39, -2.17, alarm=0x18, serial=6))
        assert await device.read(10) == bytes.fromhex("787805160006a4f30d0a")
        await device.send(testing.gt06_heartbeat(serial=7))
        assert await device.read(10) == bytes.fromhex("7878051300078cc70d0a")
        kinds = [r.kind for r in sink.records if isinstance(r, DeviceEvent)]
        assert kinds == [EventKind.STRAP_TAMPER, EventKind.HEARTBEAT]
        await device.close()


async def test_h02_v1_reply_and_heartbeat_echo() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["h02"]) as gw:
        device = await Device.connect(gw.port("h02"))
        await device.send(testing.h02_v1(H02_ID, T0, 9.93978, -84.11178) + b"\r\n")
        assert await device.read_until(b"#") == b"*HQ,4210051415,V4,V1,20231114221350#"
        await device.send(b"*HQ,4210051415,HTBT,87#")
        assert await device.read_until(b"#") == b"*HQ,4210051415,HTBT#"
        assert [type(r) for r in sink.records] == [Position, DeviceEvent]
        await device.close()


async def test_watch_replies_keep_maker_and_ud_gets_none() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["watch"]) as gw:
        device = await Device.connect(gw.port("watch"))
        # UD (no reply), then LK: the first bytes back must be the LK reply.
        await device.send(testing.watch_location(WATCH_ID, T0, 22.57, 113.86))
        await device.send(b"[3G*8800000015*000B*LK,0,10,100]")
        assert await device.read_until(b"]") == b"[3G*8800000015*0002*LK]"
        status = 1 << 20  # removed from the wrist
        await device.send(testing.watch_location(WATCH_ID, T0 + 60, 22.57, 113.86, kind="AL", status=status))
        assert await device.read_until(b"]") == b"[3G*8800000015*0002*AL]"
        kinds = [r.kind for r in sink.records if isinstance(r, DeviceEvent)]
        assert kinds == [EventKind.HEARTBEAT, EventKind.STRAP_TAMPER]
        assert sum(isinstance(r, Position) for r in sink.records) == 2
        await device.close()


# -- stream splitting -------------------------------------------------------------------
async def test_frames_merged_in_one_write_are_each_acked() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        burst = testing.gt06_login(IMEI, serial=1) + b"".join(
            testing.gt06_location(T0 + i, 41.0, 2.0, serial=10 + i) for i in range(5)
        )
        await device.send(burst)
        acks = await device.read(10 * 6)
        expected = gt06.ack(0x01, 1) + b"".join(gt06.ack(0x12, 10 + i) for i in range(5))
        assert acks == expected
        assert len(sink.records) == 5
        await device.close()


@pytest.mark.parametrize("protocol", ["gt06", "teltonika", "h02", "watch"])
async def test_slow_sender_one_byte_per_write(protocol: str) -> None:
    sink = RecordingSink()
    async with running(sink, protocols=[protocol]) as gw:
        device = await Device.connect(gw.port(protocol))
        if protocol == "gt06":
            await device.send_slowly(testing.gt06_login(IMEI, serial=1))
            assert await device.read(10) == gt06.ack(0x01, 1)
            await device.send_slowly(testing.gt06_location(T0, 41.0, 2.0, serial=2))
            assert await device.read(10) == gt06.ack(0x12, 2)
        elif protocol == "teltonika":
            await device.send_slowly(testing.teltonika_imei(TELTONIKA_IMEI))
            assert await device.read(1) == b"\x01"
            await device.send_slowly(testing.teltonika_avl([testing.teltonika_record(T0, 54.9, 24.0)]))
            assert await device.read(4) == b"\x00\x00\x00\x01"
        elif protocol == "h02":
            await device.send_slowly(testing.h02_v1(H02_ID, T0, 9.9, -84.1))
            assert await device.read_until(b"#") == b"*HQ,4210051415,V4,V1,20231114221350#"
        else:
            await device.send_slowly(testing.watch_location(WATCH_ID, T0, 22.5, 113.8, kind="AL"))
            assert await device.read_until(b"]") == b"[3G*8800000015*0002*AL]"
        await sink.wait_for(1)
        await device.close()


# -- rejected frames: counted, and the connection goes on ----------------------------------
async def test_gt06_bad_crc_in_the_middle_is_rejected_and_the_next_frame_acked() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        stream = (
            testing.gt06_login(IMEI, serial=1)
            + testing.gt06_location(T0, 41.0, 2.0, serial=2, bad_crc=True)
            + testing.gt06_location(T0 + 10, 41.5, 2.5, serial=3)
        )
        await device.send(stream)
        assert await device.read(20) == gt06.ack(0x01, 1) + gt06.ack(0x12, 3)
        (position,) = sink.records
        assert isinstance(position, Position) and position.time_s == T0 + 10
        assert gw.metrics.rejections_for(IMEI) == {("gt06", "bad_checksum"): 1}
        assert 'ronda_gateway_rejected_frames_total{protocol="gt06",reason="bad_checksum"} 1.0' in (
            gw.metrics_text()
        )
        await device.close()


async def test_teltonika_bad_crc_gets_no_ack_and_the_next_packet_does() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["teltonika"]) as gw:
        device = await Device.connect(gw.port("teltonika"))
        await device.send(testing.teltonika_imei(TELTONIKA_IMEI))
        assert await device.read(1) == b"\x01"
        bad = testing.teltonika_avl([testing.teltonika_record(T0, 54.9, 24.0)], bad_crc=True)
        good = testing.teltonika_avl([testing.teltonika_record(T0 + i, 54.9, 24.0) for i in (1, 2)])
        await device.send(bad + good)
        assert await device.read(4) == b"\x00\x00\x00\x02"
        assert [r.time_s for r in sink.records] == [T0 + 1, T0 + 2]
        assert gw.metrics.rejections_for(TELTONIKA_IMEI) == {("teltonika", "bad_checksum"): 1}
        await device.close()


async def test_data_before_login_is_rejected_as_unidentified() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        await device.send(testing.gt06_location(T0, 41.0, 2.0, serial=2))
        await device.send(testing.gt06_login(IMEI, serial=3))
        assert await device.read(10) == gt06.ack(0x01, 3)
        assert gw.metrics.rejections[("gt06", "unknown", "unidentified")] == 1
        assert sink.records == []
        await device.close()


_MARKERS = {"gt06": b"\x78\x79", "teltonika": b"\x00", "h02": b"*$X", "watch": b"["}


def _garbage(protocol: str, size: int, seed: int) -> bytes:
    """Random bytes that cannot start a frame of ``protocol``."""
    rng = random.Random(seed)
    return bytes(b for b in rng.randbytes(size * 2) if b not in _MARKERS[protocol])[:size]


@pytest.mark.parametrize("protocol", ["gt06", "teltonika", "h02", "watch"])
async def test_garbage_never_kills_the_handler(protocol: str) -> None:
    sink = RecordingSink()
    async with running(sink, protocols=[protocol]) as gw:
        device = await Device.connect(gw.port(protocol))
        if protocol == "gt06":
            await device.send(testing.gt06_login(IMEI, serial=1))
            assert await device.read(10) == gt06.ack(0x01, 1)
        elif protocol == "teltonika":
            await device.send(testing.teltonika_imei(TELTONIKA_IMEI))
            assert await device.read(1) == b"\x01"
        for seed in range(20):
            await device.send(_garbage(protocol, 512, seed))
        if protocol == "gt06":
            await device.send(testing.gt06_location(T0, 41.0, 2.0, serial=2))
            assert await device.read(10) == gt06.ack(0x12, 2)
        elif protocol == "teltonika":
            await device.send(testing.teltonika_avl([testing.teltonika_record(T0, 54.9, 24.0)]))
            assert await device.read(4) == b"\x00\x00\x00\x01"
        elif protocol == "h02":
            await device.send(testing.h02_v1(H02_ID, T0, 9.9, -84.1))
            assert (await device.read_until(b"#")).endswith(b"*HQ,4210051415,V4,V1,20231114221350#")
        else:
            await device.send(testing.watch_location(WATCH_ID, T0, 22.5, 113.8, kind="AL"))
            assert await device.read_until(b"]") == b"[3G*8800000015*0002*AL]"
        (record,) = await sink.wait_for(1)
        assert isinstance(record, Position) and record.time_s == T0
        await device.close()


@pytest.mark.parametrize("protocol", ["gt06", "teltonika", "h02", "watch"])
async def test_arbitrary_bytes_then_a_new_connection_still_works(protocol: str) -> None:
    sink = RecordingSink()
    async with running(sink, protocols=[protocol]) as gw:
        rng = random.Random(protocol)
        for _ in range(5):
            noisy = await Device.connect(gw.port(protocol))
            for _ in range(10):
                await noisy.send(rng.randbytes(rng.randrange(1, 2048)))
            await noisy.close()
        device = await Device.connect(gw.port(protocol))
        await device.send(testing.h02_v1(H02_ID, T0, 9.9, -84.1) if protocol == "h02" else b"")
        if protocol == "h02":
            await device.read_until(b"#")
        await device.close()
        await eventually(lambda: gw.metrics.connections.labels(protocol)._value.get() == 0)
        text = gw.metrics_text()
        assert "internal_error" not in text and 'reason="internal"' not in text
        assert sink.records == [] or all(r.device == H02_ID for r in sink.records)


# -- failures of the hand-off, idle and oversized connections ----------------------------
async def test_sink_failure_sends_no_ack_and_drops_the_connection_so_the_device_resends() -> None:
    sink = FailingSink(failures=1)
    async with running(sink, protocols=["gt06"]) as gw:
        first = await Device.connect(gw.port("gt06"))
        await first.send(testing.gt06_login(IMEI, serial=1))
        assert await first.read(10) == gt06.ack(0x01, 1)
        location = testing.gt06_location(T0, 41.0, 2.0, serial=2)
        await first.send(location)
        assert await first.closed_by_server()  # no ack before the close
        await first.close()

        second = await Device.connect(gw.port("gt06"))
        await second.send(testing.gt06_login(IMEI, serial=3) + location)
        assert await second.read(20) == gt06.ack(0x01, 3) + gt06.ack(0x12, 2)
        assert len(sink.inner.records) == 1
        assert 'ronda_gateway_sink_failures_total{protocol="gt06"} 1.0' in gw.metrics_text()
        await second.close()


async def test_idle_connection_is_closed() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["h02"], limits=TcpLimits(idle_timeout_s=0.2)) as gw:
        device = await Device.connect(gw.port("h02"))
        assert await device.closed_by_server()
        assert 'ronda_gateway_dropped_connections_total{cause="idle",protocol="h02"} 1.0' in (
            gw.metrics_text()
        )
        await device.close()


async def test_oversized_unframed_buffer_closes_the_connection() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["watch"], limits=TcpLimits(max_buffer_bytes=4096)) as gw:
        device = await Device.connect(gw.port("watch"))
        await device.send(b"[3G*8800000015*FFFF*TK," + b"a" * 8192)
        assert await device.closed_by_server()
        assert gw.metrics.rejections[("watch", "unknown", "too_large")] == 1
        await device.close()


# -- many devices at once --------------------------------------------------------------------
async def test_many_concurrent_connections() -> None:
    sink = RecordingSink()
    count = 200
    async with running(sink, protocols=["gt06", "h02"]) as gw:

        async def gt06_device(index: int) -> None:
            imei = f"86471700{index:07d}"
            device = await Device.connect(gw.port("gt06"))
            await device.send(testing.gt06_login(imei, serial=1))
            assert await device.read(10) == gt06.ack(0x01, 1)
            await device.send(testing.gt06_location(T0 + index, 41.0, 2.0, serial=2))
            assert await device.read(10) == gt06.ack(0x12, 2)
            await device.close()

        async def h02_device(index: int) -> None:
            ident = f"42{index:08d}"
            device = await Device.connect(gw.port("h02"))
            await device.send(testing.h02_v1(ident, T0 + index, 9.9, -84.1))
            assert await device.read_until(b"#") == f"*HQ,{ident},V4,V1,20231114221350#".encode()
            await device.close()

        await asyncio.gather(*(gt06_device(i) for i in range(count)), *(h02_device(i) for i in range(count)))
        assert len(sink.records) == 2 * count
        assert len({r.device for r in sink.records}) == 2 * count
        await eventually(lambda: gw.metrics.connections.labels("gt06")._value.get() == 0)
        text = gw.metrics_text()
        assert f'ronda_gateway_connections_total{{protocol="gt06"}} {float(count)}' in text
        assert f'ronda_gateway_records_total{{outcome="stored",protocol="h02"}} {float(count)}' in text
