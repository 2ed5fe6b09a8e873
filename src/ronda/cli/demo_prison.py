"""`ronda demo --prison`: the server plus a simulated prison day.

The prison simulator (ronda.simulator.prison) builds a facility (wings of
cells, a corridor, dining hall, yard, workshop, medical, visits), its regime,
its inmates and their wristbands, and the day's incidents. The facility is
stored, then the readers' records are played from 07:20 local time, `speed`
simulated seconds per real second, to the prison ingest API, as a facility's
reader controllers would post them. The facility runs on its readers' clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from ronda.api.server import Running, serve
from ronda.cli.demo import where_to_sign_in
from ronda.cli.security import create_demo_users
from ronda.cli.words import _
from ronda.config import Settings
from ronda.facility.records import BandEvent, DoorCrossing, FacilityRecord, ReaderHeartbeat
from ronda.simulator.prison import PrisonConfig, PrisonDay, simulate_day
from ronda.storage import prison as store
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import Sighting

PLAY_FROM_H = 7.3


def record_json(rec: FacilityRecord) -> dict[str, Any]:
    """A record in the ingest format (docs/prison.md)."""
    if isinstance(rec, Sighting):
        return {
            "type": "sighting",
            "band": rec.device,
            "reader": rec.reader,
            "time": rec.time_s,
            "rssi": rec.rssi_dbm,
        }
    if isinstance(rec, DoorCrossing):
        return {
            "type": "door",
            "band": rec.device,
            "reader": rec.reader,
            "time": rec.time_s,
            "direction": rec.direction.value,
        }
    if isinstance(rec, ReaderHeartbeat):
        return {"type": "heartbeat", "reader": rec.reader, "time": rec.time_s}
    assert isinstance(rec, BandEvent)
    return {"type": "event", "band": rec.device, "time": rec.time_s, "event": rec.kind.value}


def prepare(folder: Path, *, wings: int, seed: int) -> tuple[PrisonDay, list[tuple[str, str, str]]]:
    tz = "Europe/Madrid"
    today = dt.datetime.now(ZoneInfo(tz)).date()
    day = simulate_day(
        PrisonConfig(seed=seed, wings=wings, cells_per_wing=10, date=today, timezone=tz, start_h=PLAY_FROM_H)
    )
    db = connect(f"sqlite:///{folder / 'ronda.db'}")
    migrate(db)
    with sessions(db).begin() as s:
        store.save_facility(s, day.document, "demo")
        users = create_demo_users(s)
    db.dispose()
    (folder / "users.txt").write_text("".join(f"{u} {p} {r}\n" for u, p, r in users), encoding="utf-8")
    return day, users


async def play(url: str, facility: str, day: PrisonDay, token: str, speed: float) -> None:
    """Post each record when its simulated time comes, in one batch per half second."""
    t0 = time.monotonic()
    records = day.records()
    pending: FacilityRecord | None = None
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        while True:
            sim_now = day.start_s + (time.monotonic() - t0) * speed
            batch: list[dict[str, Any]] = []
            while True:
                rec = pending if pending is not None else next(records, None)
                pending = None
                if rec is None:
                    break
                if rec.time_s > sim_now:
                    pending = rec
                    break
                batch.append(record_json(rec))
            if batch:
                for _attempt in range(5):
                    try:
                        r = await client.post(f"/api/prison/facilities/{facility}/sightings", json=batch)
                        if r.status_code == 200:
                            break
                        answer = _(
                            "ingest answered {status}: {text}", status=r.status_code, text=r.text[:200]
                        )
                        print("ronda demo: " + answer, flush=True)
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(1)
            if pending is None and not batch:
                return
            await asyncio.sleep(0.5)


async def run_prison_demo(settings: Settings, folder: Path, *, wings: int, speed: float, seed: int) -> None:
    print(
        "ronda demo --prison: " + _("simulating a prison day ({wings} wings of 10 cells) ...", wings=wings),
        flush=True,
    )
    day, _users = await asyncio.to_thread(prepare, folder, wings=wings, seed=seed)
    token = settings.api_token or secrets.token_urlsafe(24)  # the readers' service credential
    settings = dataclasses.replace(
        settings,
        api_token=token,
        gateway=dataclasses.replace(settings.gateway, enabled=False),
        # The facility runs on its readers' clock, which the demo runs ahead of the server's.
        prison=dataclasses.replace(settings.prison, wall_clock=False, max_future_s=10 * 86400.0),
    )
    facility = day.facility.id

    async def ready(running: Running) -> None:
        host, page, logins = where_to_sign_in(settings, running, folder)
        view, pace, prison = page + "prison#token=" + token, format(speed, "g"), page + "prison"
        intro = (
            _("Open {url} for the facility view ({speed}x time),", url=view, speed=pace),
            _(
                "or sign in at {page} as (user, password, role; also in {file}):",
                page=page,
                file=folder / "users.txt",
            ),
        )
        outro = (
            _(
                "and open {url}. Alerts also appear in the monitoring centre. Data in {folder}",
                url=prison,
                folder=folder,
            ),
            _("Ctrl-C stops."),
        )
        print(
            "\n" + "".join(f"  {x}\n" for x in intro) + logins + "".join(f"  {x}\n" for x in outro),
            flush=True,
        )
        task = asyncio.create_task(play(f"http://{host}:{running.api_port}", facility, day, token, speed))
        over = "ronda demo: " + _("the simulated prison day is over")
        task.add_done_callback(lambda t: print(over, flush=True))

    await serve(settings, on_ready=ready)
