"""The crash test: devices stream positions while the server is killed with
SIGKILL and restarted; the client resends what was not acknowledged. After:
every acknowledged record is stored exactly once, and the alerts equal those
of an uninterrupted engine run over the same records."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from serverproc import SAMPLE, TOKEN, ServerProcess
from sqlalchemy import select

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.storage import records
from ronda.storage.caseload import load_caseload
from ronda.storage.db import connect, sessions
from ronda.storage.models import RecordRow

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# tags of monitored persons, and an exclusion zone (always active) of each
WALKERS = {
    "tag-0001": ("z8", "z6"),
    "tag-0005": ("z13", "z5"),
    "tag-0007": ("z16", "z7"),
    "tag-0008": ("z17", "z7"),
}
BATCH = 4


def walks() -> dict[str, list[dict[str, Any]]]:
    """Each tag: home, into its zone, home, into its zone again; a fix a minute,
    by day in Madrid (no curfew), yesterday."""
    setup = json.loads((SAMPLE / "scenario.json").read_text())
    zones = {z["id"]: z for z in setup["zones"]}
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    t0 = dt.datetime.combine(day, dt.time(9, 0), dt.UTC).timestamp()
    out: dict[str, list[dict[str, Any]]] = {}
    for dev, (home_id, zone_id) in WALKERS.items():
        hx, hy = zones[home_id]["geometry"]["coordinates"]
        p = shapely.geometry.shape(zones[zone_id]["geometry"]).representative_point()
        legs = [(hx, hy)] * 8 + [(p.x, p.y)] * 10 + [(hx, hy)] * 10 + [(p.x, p.y)] * 8
        out[dev] = [
            {
                "time": dt.datetime.fromtimestamp(t0 + 60 * i, dt.UTC).isoformat().replace("+00:00", "Z"),
                "lat": lat + 1e-5 * (i % 3),
                "lon": lon,
                "accuracy": 6.0,
                "speed": 0.0,
                "battery": 80,
            }
            for i, (lon, lat) in enumerate(legs)
        ]
    return out


def expected_alerts(database: str) -> set[tuple[str, str, float, float | None]]:
    """An uninterrupted engine over the stored records, in commit order, with the
    clock on their `received` (as the server feeds them)."""
    db = connect(database)
    with sessions(db)() as s:
        engine = Engine(compile_caseload(load_caseload(s)))
        stored = records.records_after(s, 0, 1_000_000)
    db.dispose()
    eps: dict[tuple[str, str, float], Any] = {}
    for _, rec in stored:
        for eff in [*engine.advance(rec.received_s), *engine.feed(rec)]:
            eps[(eff.episode.type, str(eff.episode.rule or eff.episode.device), eff.episode.start_s)] = (
                eff.episode
            )
    for eff in engine.advance(stored[-1][1].received_s + 60):
        eps[(eff.episode.type, str(eff.episode.rule or eff.episode.device), eff.episode.start_s)] = (
            eff.episode
        )
    return {(k[0], k[1], k[2], ep.end_s) for k, ep in eps.items()}


def served_alerts(api: str) -> set[tuple[str, str, float, float | None]]:
    rows = httpx.get(f"{api}/api/episodes", params={"limit": 10000}, headers=AUTH).json()
    ts = lambda v: None if v is None else dt.datetime.fromisoformat(v).timestamp()  # noqa: E731
    keys = [(r["type"], r["rule"] or r["device"], ts(r["start"]), ts(r["end"])) for r in rows]
    assert len(keys) == len(set(keys)), "an alert raised twice"
    return set(keys)


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    db_url: str, tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    env = {"RONDA_ENGINE_REORDER_HOLD_S": "0.5", "RONDA_CHECKPOINT_EVERY_S": "1"}
    server = server_factory(tmp_path, db_url, env)
    server.run("import", str(SAMPLE))
    server.start()
    tokens = {
        dev: httpx.post(f"{server.api}/api/devices/{dev}/token", headers=AUTH).json()["token"]
        for dev in WALKERS
    }
    plan = walks()
    queue = [(dev, plan[dev][i : i + BATCH]) for i in range(0, 36, BATCH) for dev in WALKERS]
    acknowledged: list[tuple[str, str]] = []
    kills = {len(queue) // 3, 2 * len(queue) // 3}  # crash twice, mid-stream
    sent = 0
    while queue:
        dev, batch = queue[0]
        killer = None
        if sent in kills:  # SIGKILL while this batch is on its way
            kills.discard(sent)
            killer = threading.Thread(target=server.kill)
            killer.start()
        try:
            r: httpx.Response | None = httpx.post(
                f"{server.ingest}/api/v1/records",
                json=batch,
                headers={"Authorization": f"Bearer {tokens[dev]}"},
                timeout=10,
            )
        except httpx.HTTPError:
            r = None
        if killer is not None:
            killer.join()
            server.start()  # same database: resumes from its checkpoint and the records after it
        if r is None or r.status_code != 200:
            continue  # not acknowledged: send it again
        acknowledged += [(dev, rec["time"]) for rec in batch]
        queue.pop(0)
        sent += 1
        if sent % 7 == 0:  # and a resend of something already acknowledged
            httpx.post(
                f"{server.ingest}/api/v1/records",
                json=batch,
                headers={"Authorization": f"Bearer {tokens[dev]}"},
            )

    db = connect(db_url)
    with sessions(db)() as s:
        rows = s.execute(select(RecordRow.device_id, RecordRow.time_s)).all()
    db.dispose()
    stored = Counter(
        (d, dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")) for d, t in rows
    )
    assert set(stored) == set(acknowledged) and max(stored.values()) == 1  # all of them, once each

    expected = expected_alerts(db_url)
    assert {(t, s) for t, s, _, _ in expected} >= {("exclusion", "r-p1-z6"), ("exclusion", "r-p5-z5")}
    deadline = time.monotonic() + 60
    while served_alerts(server.api) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    assert served_alerts(server.api) == expected
