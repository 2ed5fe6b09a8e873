"""H02 and Watch round trips with frames built by our own builders."""

from __future__ import annotations

import pytest

from ronda.devices.protocols import h02, testing, watch
from ronda.tracking.records import DeviceEvent, EventKind, Position

T0 = 1_700_000_000.0


def test_h02_v1_round_trip_and_reply() -> None:
    frame = testing.h02_v1("4210051415", T0, 9.93978, -84.11178, speed_kn=10.0, course=90)
    decoded = h02.H02Session().decode(frame, T0 + 5)
    (position,) = decoded.records
    assert isinstance(position, Position) and position.device == "4210051415"
    assert position.time_s == T0 and position.valid
    assert position.lat == pytest.approx(9.93978, abs=1e-5)
    assert position.lon == pytest.approx(-84.11178, abs=1e-5)
    assert position.speed_mps == pytest.approx(5.14444)
    assert decoded.reply == b"*HQ,4210051415,V4,V1,20231114221325#"


def test_h02_status_alarms() -> None:
    status = 0xFFFFFFFF & ~(1 << 1) & ~(1 << 19)
    frame = testing.h02_v1("1", T0, 1.0, 1.0, status=status)
    kinds = [
        r.kind for r in h02.H02Session().decode(frame, T0).records if isinstance(r, DeviceEvent)
    ]
    assert kinds == [EventKind.SOS, EventKind.POWER_CUT]


def test_h02_heartbeat_echo_and_battery() -> None:
    decoded = h02.H02Session().decode(b"*HQ,135790246811220,HTBT,87#", T0)
    assert decoded.reply == b"*HQ,135790246811220,HTBT#"
    (event,) = decoded.records
    assert isinstance(event, DeviceEvent) and event.battery_pct == 87.0


def test_h02_split_text_and_binary_frames() -> None:
    binary = bytes.fromhex("2441060116601245431311165035313006004318210e000000fffffbffff0024")
    text = testing.h02_v1("1", T0, 1.0, 1.0)
    stream = b"junk" + text + b"\r\n" + binary + text
    frames, rest = h02.split(stream)
    assert frames == [text, binary, text] and rest == b""
    buffer, cut = b"", []
    for byte in stream:
        got, buffer = h02.split(buffer + bytes([byte]))
        cut.extend(got)
    assert cut == frames


def test_h02_commands() -> None:
    assert h02.encode_interval("123", 30, T0) == b"*HQ,123,S71,221320,22,30#"


def test_watch_location_alarm_and_reply() -> None:
    removed = 1 << 20
    frame = testing.watch_location("8800000015", T0, -33.48, -70.76, kind="AL", status=removed)
    decoded = watch.WatchSession().decode(frame, T0)
    position, event = decoded.records
    assert isinstance(position, Position) and position.lat == pytest.approx(-33.48)
    assert position.battery_pct == 80.0
    assert isinstance(event, DeviceEvent) and event.kind is EventKind.STRAP_TAMPER
    assert decoded.reply == b"[3G*8800000015*0002*AL]"


def test_watch_split_and_link() -> None:
    link = testing.watch_frame("SG", "42", "LK,0,0,55")
    fix = testing.watch_location("42", T0, 1.0, 2.0, speed_kmh=36.0)
    stream = link + b"\r\n" + fix
    buffer, frames = b"", []
    for start in range(0, len(stream), 5):
        got, buffer = watch.split(buffer + stream[start : start + 5])
        frames.extend(got)
    assert frames == [link, fix]
    session = watch.WatchSession()
    first = session.decode(frames[0], T0)
    (heartbeat,) = first.records
    assert isinstance(heartbeat, DeviceEvent) and heartbeat.kind is EventKind.HEARTBEAT
    assert first.reply == b"[SG*42*0002*LK]" and heartbeat.battery_pct == 55.0
    (position,) = session.decode(frames[1], T0).records
    assert isinstance(position, Position) and position.speed_mps == pytest.approx(10.0)


def test_watch_escapes_and_commands() -> None:
    frames, _ = watch.split(b"[CS*1*0005*TK,\x7d\x01\x7d\x02\x7d\x03]")
    assert frames == [b"[CS*1*0005*TK,\x7d[]]"]
    assert watch.encode_interval("1234567890", 60) == b"[SG*1234567890*0009*UPLOAD,60]"
