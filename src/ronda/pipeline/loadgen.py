"""A fleet of simulated GT06 trackers for distributed-mode tests and benches.

Each device is a real TCP client speaking GT06 (frames from
``ronda.devices.protocols.testing``): it logs in, then sends its fixes one
frame at a time, each after the previous one was acknowledged, and keeps
what was acknowledged (the gateway acks only after JetStream's ack).

The caseload: monitored persons with a tag and an exclusion zone each; some
walk into their zone and out again (one exclusion episode each); some are
paired with a protected person carrying a phone, and some of those pairs
meet (a proximity episode): both devices of a pair must land in one
partition. A few tags report a strap tamper (an event: no reorder hold), the
alerts the bench times from receipt to storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from dataclasses import dataclass, field
from typing import Any

from ronda.devices.protocols import testing

CENTRE = (40.4168, -3.7038)  # Madrid
ZONE_RADIUS_M = 800.0
STRAP_TAMPER = 0x0C  # GT06 status-block alarm byte of a strap cut


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / 111_320.0,
        lon + east_m / (111_320.0 * math.cos(math.radians(lat))),
    )


@dataclass
class SimDevice:
    imei: str
    person: str
    kind: str
    fixes: list[tuple[float, float, float, float]]  # time_s, lat, lon, speed_mps
    tamper_at: int | None = None  # index of the fix sent as a strap-tamper alarm
    acked: list[float] = field(default_factory=list)  # event times acknowledged
    alarm_acked_s: float | None = None
    errors: int = 0


@dataclass
class Fleet:
    scenario: dict[str, Any]
    devices: list[SimDevice]

    @property
    def records(self) -> int:
        return sum(len(d.fixes) for d in self.devices)


def _trip(
    home: tuple[float, float],
    target: tuple[float, float],
    fixes: int,
    t0_s: float,
    step_s: float,
    rng: random.Random,
    go: bool,
) -> list[tuple[float, float, float, float]]:
    """Fixes (time, lat, lon, speed m/s): at home; or, with `go`, walking to
    `target` over the first third, staying there over the second, walking back
    over the last (plausible speeds: no fix is a multipath jump)."""
    third = max(fixes // 3, 1)
    out: list[tuple[float, float, float, float]] = []
    prev: tuple[float, float] | None = None
    for k in range(fixes):
        if not go:
            f = 0.0
        elif k < third:
            f = k / third
        elif k < 2 * third:
            f = 1.0
        else:
            f = max(0.0, 1.0 - (k - 2 * third + 1) / max(fixes - 2 * third, 1))
        base = (home[0] + (target[0] - home[0]) * f, home[1] + (target[1] - home[1]) * f)
        lat, lon = _offset(*base, rng.uniform(-10, 10), rng.uniform(-10, 10))
        speed = 0.0 if prev is None else _distance_m(prev, (lat, lon)) / step_s
        out.append((t0_s + k * step_s, lat, lon, speed if speed > 2.0 else 0.0))
        prev = (lat, lon)
    return out


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (b[0] - a[0]) * 111_320.0
    east = (b[1] - a[1]) * 111_320.0 * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def build_fleet(n_devices: int, fixes: int, t0_s: float, *, seed: int = 1, step_s: float = 30.0) -> Fleet:
    """`n_devices` trackers with `fixes` fixes each, `step_s` apart from `t0_s`.

    Every fourth monitored person walks into their exclusion zone (2 km from
    home) and out again; 20% of the devices are the phones of protected
    persons, each paired with a monitored person by a 500 m proximity rule,
    every fourth pair meeting (the monitored person walks to the protected
    person's home, 3 km away); every tenth monitored tag cuts its strap once."""
    rng = random.Random(seed)
    n_pairs = n_devices // 5
    n_monitored = n_devices - n_pairs
    zones: list[dict[str, Any]] = []
    persons: list[dict[str, Any]] = []
    devices_json: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    sim: list[SimDevice] = []
    victims: list[tuple[float, float]] = []
    for i in range(n_monitored):
        pid, imei = f"p{i:05d}", f"86{i:013d}"
        home = _offset(*CENTRE, rng.uniform(-20_000, 20_000), rng.uniform(-20_000, 20_000))
        zone_c = _offset(*home, 2_000.0, 0.0)  # the zone 2 km north of home
        victim_home = _offset(*home, 0.0, 3_000.0)  # the protected person 3 km east
        zones.append({
            "id": f"z{i:05d}", "name": f"exclusion {i}",
            "geometry": {"type": "Point", "coordinates": [zone_c[1], zone_c[0]]}, "radius_m": ZONE_RADIUS_M,
        })  # fmt: skip
        rules: list[dict[str, Any]] = [{"id": f"r{i:05d}-x", "type": "exclusion", "zone": f"z{i:05d}"}]
        if i < n_pairs:
            prox = {"id": f"r{i:05d}-prox", "type": "proximity", "person": f"v{i:05d}", "distance_m": 500.0}
            rules.append(prox)
            victims.append(victim_home)
        if i % 4 == 0:
            track = _trip(home, zone_c, fixes, t0_s, step_s, rng, True)
        elif i < n_pairs and i % 4 == 2:
            near = _offset(*victim_home, 150.0, 0.0)
            track = _trip(home, near, fixes, t0_s, step_s, rng, True)
        else:
            track = _trip(home, home, fixes, t0_s, step_s, rng, False)
        persons.append({"id": pid, "role": "monitored"})
        devices_json.append({"id": imei, "kind": "gps_tag", "person": pid, "report_interval_s": step_s,
                             "comms_timeout_s": None})  # fmt: skip
        orders.append({"id": f"o{i:05d}", "person": pid, "rules": rules})
        sim.append(SimDevice(imei, pid, "gps_tag", track, tamper_at=fixes // 2 if i % 10 == 5 else None))
    for j in range(n_pairs):
        vid, imei = f"v{j:05d}", f"87{j:013d}"
        track = _trip(victims[j], victims[j], fixes, t0_s + 7.0, step_s, rng, False)
        persons.append({"id": vid, "role": "protected"})
        devices_json.append({"id": imei, "kind": "phone", "person": vid, "report_interval_s": step_s,
                             "comms_timeout_s": None})  # fmt: skip
        sim.append(SimDevice(imei, vid, "phone", track))
    scenario = {
        "format": "em-scenario/1",
        "name": f"fleet-{n_devices}",
        "timezone": "Europe/Madrid",
        "start": "2020-01-01T00:00:00Z",
        "end": "2040-01-01T00:00:00Z",
        "policy": {"low_battery_percent": 15, "no_fix_timeout_s": 900},
        "zones": zones,
        "persons": persons,
        "devices": devices_json,
        "orders": orders,
    }
    return Fleet(scenario, sim)


async def _read_ack(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    head = await asyncio.wait_for(reader.readexactly(3), timeout_s)  # 78 78 len
    rest = await asyncio.wait_for(reader.readexactly(head[2] + 2), timeout_s)
    return head + rest


async def run_device(
    dev: SimDevice,
    host: str,
    port: int,
    *,
    interval_s: float = 0.0,
    start_delay_s: float = 0.0,
    ack_timeout_s: float = 30.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Stream the device's fixes over one GT06 connection, one frame per ack;
    a frame whose ack does not come is sent again on a new connection (the
    device's own retry), so every fix is eventually acknowledged."""
    k = 0
    serial = 1
    if start_delay_s:
        await asyncio.sleep(start_delay_s)
    while k < len(dev.fixes):
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            dev.errors += 1
            await asyncio.sleep(0.5)
            continue
        try:
            serial = serial % 0xFFFF + 1
            writer.write(testing.gt06_login(dev.imei, serial))
            await writer.drain()
            await _read_ack(reader, ack_timeout_s)
            while k < len(dev.fixes):
                if stop is not None and stop.is_set():
                    return
                t, lat, lon, speed_mps = dev.fixes[k]
                serial = serial % 0xFFFF + 1
                if dev.tamper_at == k:
                    frame = testing.gt06_alarm(t, lat, lon, STRAP_TAMPER, serial)
                else:
                    kmh = min(255, round(speed_mps * 3.6))
                    frame = testing.gt06_location(t, lat, lon, serial, speed_kmh=kmh)
                writer.write(frame)
                await writer.drain()
                await _read_ack(reader, ack_timeout_s)
                dev.acked.append(t)
                k += 1
                if interval_s:
                    await asyncio.sleep(interval_s)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            dev.errors += 1
            await asyncio.sleep(0.2)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
