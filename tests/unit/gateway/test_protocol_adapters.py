"""Command encoding and answer recognition of each stream protocol adapter."""

from __future__ import annotations

import pytest

from ronda.devices.protocols import gt06, h02, teltonika, testing, watch
from ronda.devices.protocols.checksums import crc16_ibm
from ronda.gateway.commands import Command, CommandKind
from ronda.gateway.protocols import PROTOCOLS, Link, UnsupportedCommand

T0 = 1_700_000_030.0


def interval(seconds: int, command_id: int = 7) -> Command:
    return Command(command_id, "dev", CommandKind.SET_INTERVAL, T0, interval_s=seconds)


def custom(text: str, command_id: int = 7) -> Command:
    return Command(command_id, "dev", CommandKind.CUSTOM, T0, text=text)


def test_default_ports() -> None:
    assert {n: p.default_port for n, p in PROTOCOLS.items()} == {
        "gt06": 5023, "teltonika": 5027, "h02": 5013, "watch": 5093,
    }  # fmt: skip


def test_gt06_interval_uses_the_command_id_as_server_flag_and_counts_serials() -> None:
    link = Link(device="864717003283581")
    first = PROTOCOLS["gt06"].encode(interval(30, command_id=0x0102), link, T0)
    second = PROTOCOLS["gt06"].encode(custom("Relay,1#"), link, T0)
    assert first.data == gt06.encode_command("TIMER,30#", serial=1, server_flag=0x0102)
    assert second.data == gt06.encode_command("Relay,1#", serial=2, server_flag=7)
    assert first.match_key is None


def test_gt06_interval_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        PROTOCOLS["gt06"].encode(interval(1), Link(device="1"), T0)


def test_gt06_answers_0x15_and_0x21() -> None:
    adapter = PROTOCOLS["gt06"]
    text = b"TIMER OK"
    frame = testing.gt06_frame(0x15, bytes([len(text) + 4]) + (9).to_bytes(4, "big") + text + b"\x00\x02")
    answer = adapter.observe(frame, Link())
    assert answer is not None and answer.command_id == 9 and answer.text == "TIMER OK"
    # A real 0x15 answer (Traccar's vectors) carries flag 0: it answers the oldest command.
    real = bytes.fromhex(
        "787829152100000000526573746f7265206675656c20737570706c793a2053756363657373210002014077ce0d0a"
    )
    answer = adapter.observe(real, Link())
    assert answer is not None and answer.command_id is None
    assert answer.text == "Restore fuel supply: Success!" and not answer.strict
    extended = testing.gt06_frame(0x21, (5).to_bytes(4, "big") + b"\x01" + b"OK!")
    answer = adapter.observe(extended, Link())
    assert answer is not None and answer.command_id == 5 and answer.text == "OK!"
    assert adapter.observe(testing.gt06_heartbeat(), Link()) is None


def test_teltonika_interval_is_unsupported_and_custom_is_codec_12() -> None:
    adapter = PROTOCOLS["teltonika"]
    with pytest.raises(UnsupportedCommand):
        adapter.encode(interval(60), Link(device="1"), T0)
    encoded = adapter.encode(custom("setdigout 11"), Link(device="1"), T0)
    assert encoded.data.hex() == "00000000000000140c01050000000c7365746469676f7574203131010000bed5"
    body = b"DOUT1:1"
    data = bytes([0x0C, 1, 0x06]) + len(body).to_bytes(4, "big") + body + b"\x01"
    answer_frame = b"\0\0\0\0" + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")
    answer = adapter.observe(answer_frame, Link())
    assert answer is not None and answer.text == "DOUT1:1"
    assert adapter.observe(testing.teltonika_avl([testing.teltonika_record(T0, 1.0, 1.0)]), Link()) is None
    assert adapter.observe(teltonika.PING, Link()) is None


def test_h02_commands_and_v4_answers() -> None:
    adapter = PROTOCOLS["h02"]
    link = Link(device="4210051415")
    encoded = adapter.encode(interval(60), link, T0)
    assert encoded.data == h02.encode_interval("4210051415", 60, T0) and encoded.match_key == "S71"
    stop = adapter.encode(custom("S20,1,1"), link, T0)
    assert stop.data == b"*HQ,4210051415,S20,221350,1,1#" and stop.match_key == "S20"
    done = adapter.observe(b"*TH,2020916012,V4,S20,DONE,130305,050316,A,2212.8745,N#", link)
    assert done is not None and done.match_key == "S20" and done.strict and done.ok
    error = adapter.observe(b"*TH,2020916012,V4,R8,ERROR,130305#", link)
    assert error is not None and not error.ok
    assert adapter.observe(testing.h02_v1("1", T0, 1.0, 1.0), link) is None
    with pytest.raises(UnsupportedCommand):
        adapter.encode(interval(60), Link(), T0)


def test_watch_commands_follow_the_maker_and_answers_name_the_command() -> None:
    adapter = PROTOCOLS["watch"]
    link = Link(device="8800000015")
    assert adapter.encode(interval(60), link, T0).data == watch.encode_interval("8800000015", 60, "SG")
    answer = adapter.observe(b"[CS*8800000015*0006*UPLOAD]", link)
    assert link.maker == "CS"
    assert answer is not None and answer.match_key == "UPLOAD" and answer.strict
    assert adapter.encode(interval(60), link, T0).data == b"[CS*8800000015*0009*UPLOAD,60]"
    reset = adapter.encode(custom("RESET"), link, T0)
    assert reset.data == b"[CS*8800000015*0005*RESET]" and reset.match_key == "RESET"
    indexed = adapter.observe(b"[ZJ*014111001350304*0033*0005*RESET]", link)
    assert indexed is not None and indexed.match_key == "RESET" and link.maker == "ZJ"
