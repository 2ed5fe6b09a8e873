"""`ronda demo`: the server plus a simulated city reporting through the ingest port.

The project's simulator writes a day of a city (monitored persons, victims,
zones, orders, every record their devices send). The setup is imported; then
the records are played from 06:00 local time, `speed` simulated seconds per
real second, to the native ingest endpoint with each device's own token, so
the server stamps, stores and evaluates them like any device's."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from ronda.api.server import Running, serve
from ronda.cli.security import create_demo_users
from ronda.cli.words import _
from ronda.config import Settings
from ronda.simulator.build import simulate
from ronda.simulator.config import CITIES, SimulationConfig
from ronda.storage import cases
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.types import from_iso

PLAY_FROM_H = 6.0
LEAD_S = 20 * 60.0  # simulated seconds of ordinary life before the first violation


def prepare(folder: Path, *, persons: int, city: str, seed: int, speed: float) -> tuple[Path, dict[str, str]]:
    """Simulate today in the city, import its setup, give every device a token.
    Comms timeouts are on the server's clock: they are divided by `speed`."""
    c = CITIES[city]
    today = dt.datetime.now(ZoneInfo(c.timezone)).date()
    start = dt.datetime.combine(today, dt.time(0, 0), ZoneInfo(c.timezone))
    config = SimulationConfig.for_city(city, seed=seed, persons=persons, days=1, start=start)
    scenario = simulate(folder / "city", config)
    db = connect(f"sqlite:///{folder / 'ronda.db'}")
    migrate(db)
    tokens: dict[str, str] = {}
    with sessions(db).begin() as s:
        import_scenario(s, scenario)
        users = create_demo_users(s)  # one per role, officers with caseloads (issue 6)
        (folder / "users.txt").write_text("".join(f"{u} {p} {r}\n" for u, p, r in users), encoding="utf-8")
        for d in cases.list_devices(s, limit=100_000):
            tokens[d.id] = cases.issue_token(s, d.id)
            if d.comms_timeout_s is not None:
                d.comms_timeout_s = d.comms_timeout_s / speed
    db.dispose()
    return scenario, tokens


def play_from(scenario: Path) -> float:
    """Where to start playing the day: a few simulated minutes before the first
    violation is revealed (so a newcomer sees alerts within a minute), and not
    later than PLAY_FROM_H."""
    setup = json.loads((scenario / "scenario.json").read_text(encoding="utf-8"))
    truth = json.loads((scenario / "truth.json").read_text(encoding="utf-8"))
    day_start = from_iso(setup["start"])
    first = [
        from_iso(e["available"])
        for e in truth.get("episodes", [])
        if e.get("class") == "clear" and e.get("available") and e["type"] != "comms_loss"
    ]
    latest = day_start + PLAY_FROM_H * 3600
    return max(day_start, min([latest, *(t - LEAD_S for t in first)]))


def arrivals(scenario: Path) -> list[dict[str, Any]]:
    with gzip.open(scenario / "arrivals.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def where_to_sign_in(settings: Settings, running: Running, folder: Path) -> tuple[str, str, str]:
    """The host and page a newcomer opens, and the demo users' logins as lines to print."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    users = (folder / "users.txt").read_text(encoding="utf-8").split("\n")
    logins = "".join(f"    {u:<11} {p:<14} {r}\n" for u, p, r in (x.split() for x in users if x))
    return host, f"http://{host}:{running.api_port}/", logins


async def play(
    url: str, lines: list[dict[str, Any]], tokens: dict[str, str], speed: float, start_s: float
) -> None:
    """Send each record when its simulated arrival time comes, batched per device."""
    lines = [x for x in lines if from_iso(x["received"]) >= start_s]
    t0 = time.monotonic()
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def send(device: str, batch: list[dict[str, Any]]) -> None:
            headers = {"Authorization": f"Bearer {tokens[device]}"}
            for _ in range(5):
                try:
                    r = await client.post("/api/v1/records", json=batch, headers=headers)
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(1)

        i = 0
        while i < len(lines):
            sim_now = start_s + (time.monotonic() - t0) * speed
            while i < len(lines) and from_iso(lines[i]["received"]) <= sim_now:
                rec = {k: v for k, v in lines[i].items() if k != "received"}
                pending[rec["device"]].append(rec)
                i += 1
            if pending:
                batches = list(pending.items())
                pending.clear()
                await asyncio.gather(*(send(d, b) for d, b in batches if d in tokens))
            await asyncio.sleep(0.25)


async def run_demo(
    settings: Settings, folder: Path, *, persons: int, city: str, speed: float, seed: int
) -> None:
    print(
        "ronda demo: " + _("simulating {n} monitored persons in {city} ...", n=persons, city=city), flush=True
    )
    scenario, tokens = await asyncio.to_thread(
        prepare, folder, persons=persons, city=city, seed=seed, speed=speed
    )
    # The reorder hold is on the server's clock too: a device quiet for 5
    # simulated seconds is quiet for 5 / speed real ones.
    engine = dataclasses.replace(settings.engine, reorder_hold_s=settings.engine.reorder_hold_s / speed)
    settings = dataclasses.replace(
        settings,
        engine=engine,
        gateway=dataclasses.replace(settings.gateway, enabled=False),  # the demo's devices use HTTP
    )
    start_s = play_from(scenario)
    lines = await asyncio.to_thread(arrivals, scenario)

    async def ready(running: Running) -> None:
        host, page, logins = where_to_sign_in(settings, running, folder)
        pace, docs = format(speed, "g"), page + "docs"
        intro = (
            _(
                "Open {page} to watch alerts arrive ({speed}x time; API docs at {docs})",
                page=page,
                speed=pace,
                docs=docs,
            ),
            _("Sign in as (user, password, role; also in {file}):", file=folder / "users.txt"),
        )
        outro = (
            _(
                "Devices report to the ingest port {port}; data in {folder}",
                port=running.ingest_port,
                folder=folder,
            ),
            _("Ctrl-C stops."),
        )
        print(
            "\n" + "".join(f"  {x}\n" for x in intro) + logins + "".join(f"  {x}\n" for x in outro),
            flush=True,
        )
        url = f"http://{host}:{running.ingest_port}"
        task = asyncio.create_task(play(url, lines, tokens, speed, start_s))
        over = "ronda demo: " + _("the simulated day is over")
        task.add_done_callback(lambda t: print(over, flush=True))

    await serve(settings, on_ready=ready)
