"""Distributed mode survives the loss of a worker.

Against the machine's NATS JetStream and PostgreSQL: 2 gateways and 3
workers (real `ronda gateway --nats` and `ronda worker` processes), 200
simulated GT06 trackers streaming through the gateways, one worker killed
with SIGKILL mid-stream. Afterwards:

- every acknowledged record is stored exactly once;
- the alerts equal those of an embedded replay of the same records (one
  engine over the whole caseload, fed in storage order as `ronda serve` does);
- the dead worker's partitions were taken over within 10 s, measured from
  the lease bucket's own time line (the victim's last renewal, the
  successor's acquisition), not from sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.params import EngineParams
from ronda.pipeline.loadgen import Fleet, build_fleet, run_device
from ronda.pipeline.partitions import PartitionMap
from ronda.storage.alerts import episode_subject
from ronda.storage.caseload import load_caseload
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.importer import import_scenario
from ronda.storage.records import from_row

from .support import LeaseWatcher, Names, Processes, delete_jetstream, free_port, needs_services, pg_schema

pytestmark = [pytest.mark.asyncio, needs_services]

DEVICES = 200
FIXES = 30
PARTITIONS = 12
LEASE_TTL_S = 4.0
TAKEOVER_LIMIT_S = 10.0

EpisodeKey = tuple[str, str, float, float | None]


def expected_records(fleet: Fleet) -> Counter[tuple[str, float, str]]:
    """What the devices had acknowledged: a position per fix, and the strap
    tamper of an alarm frame."""
    keys: Counter[tuple[str, float, str]] = Counter()
    for d in fleet.devices:
        for i, t in enumerate(d.acked):
            keys[(d.imei, t, "position")] += 1
            if d.tamper_at == i:
                keys[(d.imei, t, "strap_tamper")] += 1
    return keys


def stored_records(db_url: str) -> Counter[tuple[str, float, str]]:
    db = connect(db_url)
    try:
        with db.connect() as c:
            rows = c.execute(text("SELECT device_id, time_s, kind FROM records")).all()
    finally:
        db.dispose()
    return Counter((r.device_id, r.time_s, r.kind) for r in rows)


def stored_episodes(db_url: str) -> tuple[set[EpisodeKey], int, int]:
    db = connect(db_url)
    try:
        with db.connect() as c:
            eps = c.execute(text("SELECT type, subject, start_s, end_s FROM episodes")).all()
            n_alerts = c.execute(text("SELECT count(*) FROM alerts")).scalar_one()
    finally:
        db.dispose()
    return {(e.type, e.subject, e.start_s, e.end_s) for e in eps}, len(eps), int(n_alerts)


def embedded_replay(db_url: str) -> set[EpisodeKey]:
    """The embedded engine over the whole caseload, fed the stored records in
    storage order exactly as `LiveService` feeds committed records."""
    db = connect(db_url)
    try:
        with sessions(db)() as s:
            engine = Engine(compile_caseload(load_caseload(s)), EngineParams())
            rows = s.execute(text("SELECT * FROM records ORDER BY seq")).all()
    finally:
        db.dispose()
    episodes: dict[tuple[str, str, float], Any] = {}
    last = 0.0
    for row in rows:
        rec = from_row(row)
        for eff in engine.advance(rec.received_s) + engine.feed(rec):
            ep = eff.episode
            episodes[(ep.type, episode_subject(ep), ep.start_s)] = ep
        last = max(last, rec.received_s)
    for eff in engine.advance(last + 120.0):  # the workers' clocks run on past the last record
        ep = eff.episode
        episodes[(ep.type, episode_subject(ep), ep.start_s)] = ep
    return {(t, subj, start, ep.end_s) for (t, subj, start), ep in episodes.items()}


async def eventually(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def test_a_worker_killed_mid_stream_loses_and_repeats_nothing(tmp_path: Path) -> None:
    names = Names()
    procs = Processes(tmp_path)
    watcher = LeaseWatcher(names.bucket)
    with pg_schema() as db_url:
        try:
            await _scenario(db_url, names, procs, watcher, tmp_path)
        except BaseException:
            for name in procs.procs:  # the processes' own words, for whoever reads the failure
                print(f"----- {name}\n{procs.log(name)[-4000:]}")
            raise
        finally:
            await watcher.stop()
            procs.stop_all()
            await delete_jetstream(names)


async def _scenario(
    db_url: str, names: Names, procs: Processes, watcher: LeaseWatcher, tmp_path: Path
) -> None:
    # -- the caseload: 200 trackers, exclusion zones, proximity pairs, tampers
    fleet = build_fleet(DEVICES, FIXES, float(int(time.time()) - 7200), seed=8)
    folder = tmp_path / "fleet"
    folder.mkdir()
    (folder / "scenario.json").write_text(json.dumps(fleet.scenario))
    db = connect(db_url)
    migrate(db)
    with sessions(db).begin() as s:
        import_scenario(s, folder)
        routes = PartitionMap.of(load_caseload(s), PARTITIONS)
    db.dispose()
    # both devices of each proximity pair share a partition (the routing promise)
    for d in fleet.devices:
        if d.kind == "phone":
            offender = "86" + d.imei[2:]
            assert routes.device_partition[d.imei] == routes.device_partition[offender]  # type: ignore[index]

    # -- 3 workers, 2 gateways
    env = names.env(
        db_url, PARTITIONS, RONDA_LEASE_TTL_S=str(LEASE_TTL_S), RONDA_CHECKPOINT_EVERY_S="2",
        RONDA_CASELOAD_REFRESH_S="30",
    )  # fmt: skip
    workers = ["w1", "w2", "w3"]
    for w in workers:
        procs.start(w, ["worker", "--id", w, "--port", "-1", "--log-level", "INFO"], env)
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        procs.start(
            f"gateway{i + 1}",
            ["gateway", "--nats", "--host", "127.0.0.1", "--gt06-port", str(port), "--teltonika-port", "-1",
             "--h02-port", "-1", "--watch-port", "-1", "--no-mqtt", "--metrics-port", "-1",
             "--log-level", "WARNING"],
            env,
        )  # fmt: skip
    await watcher.start()

    def balanced() -> bool:
        owners = watcher.owners()
        return len(owners) == PARTITIONS and set(owners.values()) == set(workers)

    await eventually(balanced, 90, "the 3 workers to share the partitions")

    def gateways_up() -> bool:
        import socket

        for port in ports:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return True

    await eventually(gateways_up, 60, "both gateways to listen")

    # -- stream; kill the busiest worker a third of the way through. The
    # protected persons' phones report their day first: a proximity decision
    # pairs each fix with the other side's fixes processed so far, so the
    # phones' fixes must be in before the tags' (whose release from the
    # reorder buffers depends on each engine's clock) for the outcome not to
    # depend on when a buffer happens to be released.
    streaming = [
        asyncio.create_task(
            run_device(d, "127.0.0.1", ports[i % 2], interval_s=0.0)
            if d.kind == "phone"
            else run_device(d, "127.0.0.1", ports[i % 2], interval_s=0.2, start_delay_s=8.0)
        )
        for i, d in enumerate(fleet.devices)
    ]
    total = fleet.records

    def a_third_acked() -> bool:
        return sum(len(d.acked) for d in fleet.devices) >= total // 3

    await eventually(a_third_acked, 120, "a third of the records to be acknowledged")
    owners = watcher.owners()
    victim = Counter(owners.values()).most_common(1)[0][0]
    victim_partitions = {p for p, w in owners.items() if w == victim}
    kill_s = time.time()
    os.kill(procs.procs[victim].pid, signal.SIGKILL)
    acked_at_kill = sum(len(d.acked) for d in fleet.devices)
    await asyncio.wait_for(asyncio.gather(*streaming), 300)
    assert acked_at_kill < total, "the worker must die mid-stream"
    assert all(len(d.acked) == len(d.fixes) for d in fleet.devices), "every fix is eventually acknowledged"

    # -- every acknowledged record stored exactly once
    expected = expected_records(fleet)

    def all_stored() -> bool:
        return set(stored_records(db_url)) >= set(expected)

    await eventually(all_stored, 120, "every acknowledged record in PostgreSQL")
    stored = stored_records(db_url)
    assert set(stored) == set(expected)
    assert max(stored.values()) == 1 and len(stored) == sum(expected.values())

    # -- alerts equal to an embedded replay of the same records
    replay = embedded_replay(db_url)
    assert {t for t, *_ in replay} >= {"exclusion", "proximity", "tamper"}

    def same_alerts() -> bool:
        return stored_episodes(db_url)[0] == replay

    try:
        await eventually(same_alerts, 60, "the workers' alerts to match the replay")
    finally:
        got, n_episodes, n_alerts = stored_episodes(db_url)
        print("only distributed:", sorted(got - replay)[:10], "only replay:", sorted(replay - got)[:10])
    assert n_episodes == len(replay) and n_alerts == n_episodes  # one alert per episode, none twice

    # -- the victim's partitions taken over within 10 s, on the leases' clocks
    takeovers: dict[int, float] = {}
    for p in victim_partitions:
        mine = [e for e in watcher.events if e.key == f"p{p}" and e.value and e.value["worker"] == victim]
        last_renewed_s = max(e.value["renewed_s"] for e in mine if e.value)
        successor = [
            e.value for e in watcher.events
            if e.key == f"p{p}" and e.value and e.value["worker"] != victim
            and e.value["acquired_s"] > last_renewed_s
        ]  # fmt: skip
        assert successor, f"partition {p} of {victim} was never taken over"
        takeovers[p] = successor[0]["acquired_s"] - last_renewed_s
        assert successor[0]["acquired_s"] - kill_s <= TAKEOVER_LIMIT_S
    print(f"killed {victim} holding {sorted(victim_partitions)}; takeover after its last renewal (s):",
          {p: round(t, 2) for p, t in sorted(takeovers.items())})  # fmt: skip
    assert max(takeovers.values()) <= TAKEOVER_LIMIT_S
    assert min(takeovers.values()) >= LEASE_TTL_S * 0.9, "no successor may act before the lease expired"
    assert set(watcher.owners()) == set(range(PARTITIONS))
    assert victim not in set(watcher.owners().values())
