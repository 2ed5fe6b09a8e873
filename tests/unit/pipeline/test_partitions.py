"""Routing records to partitions: stable, and everything one decision needs together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ronda.pipeline.loadgen import build_fleet
from ronda.pipeline.partitions import PartitionMap, partition_of, routing_keys, sub_caseload
from ronda.scenarios.loader import load_scenario


def caseload(tmp_path: Path, devices: int = 50):  # type: ignore[no-untyped-def]
    fleet = build_fleet(devices, 3, 1_700_000_000.0, seed=3)
    (tmp_path / "scenario.json").write_text(json.dumps(fleet.scenario))
    return load_scenario(tmp_path).caseload


def test_the_hash_is_stable_across_processes_and_spreads() -> None:
    # every gateway and worker must agree: Python's own hash() is salted per
    # process, so compare with another interpreter under another seed
    keys = ["p:p1", "p:p2", "d:tag-9", "p:p00042"]
    code = "from ronda.pipeline.partitions import partition_of as p; "
    code += f"print([p(k, 16) for k in {keys!r}])"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )  # fmt: skip
    assert other.stdout.strip() == str([partition_of(k, 16) for k in keys])
    assert partition_of("p:p00001", 1) == 0
    counts = [0] * 16
    for i in range(16_000):
        counts[partition_of(f"p:p{i:05d}", 16)] += 1
    assert min(counts) > 800 and max(counts) < 1200  # within ±20% of 1000


def test_a_proximity_pair_and_a_persons_devices_share_a_partition(tmp_path: Path) -> None:
    c = caseload(tmp_path)
    keys = routing_keys(c)
    pairs = [(o.person, r.protected_person) for o in c.orders for r in o.rules if r.protected_person]
    assert len(pairs) == 10
    device_of = {d.person: d.id for d in c.devices.values()}
    for offender, victim in pairs:
        assert keys[device_of[offender]] == keys[device_of[victim]] == "p:" + min(offender, str(victim))
    routes = PartitionMap.of(c, 7)
    for offender, victim in pairs:
        assert routes.device_partition[device_of[offender]] == routes.device_partition[device_of[victim]]
    assert set(routes.device_partition.values()) <= set(range(7))


def test_a_partitions_caseload_holds_its_devices_their_persons_and_orders(tmp_path: Path) -> None:
    c = caseload(tmp_path)
    routes = PartitionMap.of(c, 4)
    seen_devices = 0
    for p in range(4):
        mine = routes.devices_of([p])
        sub = sub_caseload(c, mine)
        seen_devices += len(sub.devices)
        assert set(sub.devices) == mine
        assert {d.person for d in sub.devices.values()} <= set(sub.persons)
        assert all(o.person in sub.persons for o in sub.orders)
        for o in sub.orders:  # a proximity rule's protected person is there too
            assert all(r.protected_person in sub.persons for r in o.rules if r.protected_person)
    assert seen_devices == len(c.devices)
