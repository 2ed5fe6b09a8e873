"""Commands to devices over real sockets: queued while away, sent on login, answered."""

from __future__ import annotations

import pytest

from ronda.devices.protocols import gt06, h02, teltonika, testing
from ronda.devices.protocols.checksums import crc16_ibm
from ronda.gateway.commands import CommandKind, CommandStatus

from .support import NOW, T0, Device, RecordingSink, running

pytestmark = pytest.mark.asyncio

IMEI = "864717003283581"


def gt06_answer(flag: int, text: str, serial: int) -> bytes:
    """The device's 0x15 string answer echoing the server flag."""
    body = text.encode("ascii")
    return testing.gt06_frame(
        0x15, bytes([len(body) + 4]) + flag.to_bytes(4, "big") + body + b"\x00\x02", serial
    )


def teltonika_answer(text: str) -> bytes:
    body = text.encode("ascii")
    data = bytes([0x0C, 1, 0x06]) + len(body).to_bytes(4, "big") + body + b"\x01"
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


async def test_gt06_command_queued_while_away_is_sent_after_the_login_ack() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        queued = await gw.submit(IMEI, CommandKind.SET_INTERVAL, interval_s=30)
        assert queued.status is CommandStatus.QUEUED and queued.created_s == NOW and queued.sent_s is None

        device = await Device.connect(gw.port("gt06"))
        await device.send(testing.gt06_login(IMEI, serial=1))
        assert await device.read(10) == gt06.ack(0x01, 1)
        command_bytes = gt06.encode_command("TIMER,30#", serial=1, server_flag=queued.id)
        assert await device.read(len(command_bytes)) == command_bytes

        sent = await gw.commands.get(queued.id)
        assert sent is not None and sent.status is CommandStatus.SENT and sent.protocol == "gt06"
        assert sent.sent_s == NOW

        # The device answers, then sends a heartbeat: once that is acked, the answer was handled.
        await device.send(gt06_answer(queued.id, "TIMER=30 OK", serial=2) + testing.gt06_heartbeat(serial=3))
        assert await device.read(10) == gt06.ack(0x13, 3)
        done = await gw.commands.get(queued.id)
        assert done is not None and done.status is CommandStatus.ACKNOWLEDGED
        assert done.response == "TIMER=30 OK" and done.answered_s == NOW
        text = gw.metrics_text()
        for outcome in ("queued", "sent", "acknowledged"):
            assert f'ronda_gateway_commands_total{{outcome="{outcome}"}} 1.0' in text
        await device.close()


async def test_gt06_command_to_a_connected_device_is_sent_at_once() -> None:
    sink = RecordingSink()
    async with running(sink, protocols=["gt06"]) as gw:
        device = await Device.connect(gw.port("gt06"))
        await device.send(testing.gt06_login(IMEI, serial=1))
        assert await device.read(10) == gt06.ack(0x01, 1)
        assert gw.dispatcher.connected(IMEI)
        command = await gw.submit(IMEI, CommandKind.CUSTOM, text="Relay,1#")
        assert command.status is CommandStatus.SENT
        expected = gt06.encode_command("Relay,1#", serial=1, server_flag=command.id)
        assert await device.read(len(expected)) == expected
        await device.close()


async def test_h02_interval_command_on_first_frame_and_v4_answer() -> None:
    sink = RecordingSink()
    ident = "4210051415"
    async with running(sink, protocols=["h02"]) as gw:
        queued = await gw.submit(ident, CommandKind.SET_INTERVAL, interval_s=60)
        device = await Device.connect(gw.port("h02"))
        await device.send(testing.h02_v1(ident, T0, 9.9, -84.1))
        assert await device.read_until(b"#") == b"*HQ,4210051415,V4,V1,20231114221350#"
        assert await device.read_until(b"#") == h02.encode_interval(ident, 60, NOW)
        answer = (
            b"*HQ,4210051415,V4,S71,22,60,221350,221350,A,0954.3868,N,08406.7068,W,0.00,0,141123,FFFFFBFF#"
        )
        await device.send(answer + b"*HQ,4210051415,HTBT,90#")
        assert await device.read_until(b"#") == b"*HQ,4210051415,HTBT#"
        done = await gw.commands.get(queued.id)
        assert done is not None and done.status is CommandStatus.ACKNOWLEDGED
        assert done.response is not None and done.response.startswith("S71,22,60")
        await device.close()


async def test_watch_interval_command_follows_the_maker_tag_and_is_echoed() -> None:
    sink = RecordingSink()
    ident = "8800000015"
    async with running(sink, protocols=["watch"]) as gw:
        queued = await gw.submit(ident, CommandKind.SET_INTERVAL, interval_s=60)
        device = await Device.connect(gw.port("watch"))
        await device.send(b"[3G*8800000015*000B*LK,0,10,100]")
        assert await device.read_until(b"]") == b"[3G*8800000015*0002*LK]"
        assert await device.read_until(b"]") == b"[3G*8800000015*0009*UPLOAD,60]"
        await device.send(b"[3G*8800000015*0006*UPLOAD]" + b"[3G*8800000015*0002*LK]")
        assert await device.read_until(b"]") == b"[3G*8800000015*0002*LK]"
        done = await gw.commands.get(queued.id)
        assert done is not None and done.status is CommandStatus.ACKNOWLEDGED and done.response == "UPLOAD"
        await device.close()


async def test_teltonika_interval_fails_as_unsupported_and_custom_command_is_answered() -> None:
    sink = RecordingSink()
    imei = "352093081452251"
    async with running(sink, protocols=["teltonika"]) as gw:
        interval = await gw.submit(imei, CommandKind.SET_INTERVAL, interval_s=60)
        custom = await gw.submit(imei, CommandKind.CUSTOM, text="getinfo")
        device = await Device.connect(gw.port("teltonika"))
        await device.send(testing.teltonika_imei(imei))
        assert await device.read(1) == b"\x01"
        expected = teltonika.encode_command("getinfo")
        assert await device.read(len(expected)) == expected
        failed = await gw.commands.get(interval.id)
        assert failed is not None and failed.status is CommandStatus.FAILED
        assert failed.error is not None and "setparam" in failed.error

        await device.send(teltonika_answer("RTC:2023/11/14 22:13") + teltonika.PING)
        await device.send(testing.teltonika_avl([testing.teltonika_record(T0, 54.9, 24.0)]))
        assert await device.read(4) == b"\x00\x00\x00\x01"
        done = await gw.commands.get(custom.id)
        assert done is not None and done.status is CommandStatus.ACKNOWLEDGED
        assert done.response == "RTC:2023/11/14 22:13"
        await device.close()


async def test_h02_error_answer_marks_the_command_failed() -> None:
    sink = RecordingSink()
    ident = "2020916012"
    async with running(sink, protocols=["h02"]) as gw:
        device = await Device.connect(gw.port("h02"))
        await device.send(b"*HQ,2020916012,HTBT,90#")
        assert await device.read_until(b"#") == b"*HQ,2020916012,HTBT#"
        command = await gw.submit(ident, CommandKind.CUSTOM, text="S20,1,1")
        assert await device.read_until(b"#") == h02.encode_command(ident, "S20", NOW, "1", "1")
        await device.send(b"*HQ,2020916012,V4,S20,ERROR,221350#*HQ,2020916012,HTBT,90#")
        assert await device.read_until(b"#") == b"*HQ,2020916012,HTBT#"
        done = await gw.commands.get(command.id)
        assert done is not None and done.status is CommandStatus.FAILED
        assert done.error == "device answered: S20,ERROR,221350"
        await device.close()
