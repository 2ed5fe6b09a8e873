"""Which partition a device's records go to, in distributed mode.

Records are partitioned so that everything one engine decision needs is in
one partition, processed in order by one worker:

- a person's devices (tag, home unit, phone) feed the same rules: one group;
- a proximity rule compares the monitored person's fixes with the protected
  person's: both persons, and all their devices, are one group.

The groups are the connected components of the graph "device - its person"
and "monitored person - protected person of a proximity rule". A group's
routing key is its smallest person id (a device of no person is its own
group, keyed by its id), and its partition is a stable hash of that key
(BLAKE2b, not Python's salted `hash`) modulo the fixed partition count.
Every gateway and every worker computes the same map from the same caseload.

When an order pairs two persons of different groups, the smaller group moves
to the other's partition: records already published to the old partition
are processed there, the new ones in the new partition (docs/deployment.md,
"Moving devices").
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from ronda.cases.caseload import Caseload
from ronda.rules.models import RuleType
from ronda.types import DeviceId, PersonId


def partition_of(key: str, partitions: int) -> int:
    """A stable partition number for a routing key, in 0 .. partitions-1."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def subject(prefix: str, partition: int) -> str:
    return f"{prefix}.{partition}"


class _Groups:
    """Union-find over string nodes, smallest id as each group's root."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


def routing_keys(caseload: Caseload) -> dict[DeviceId, str]:
    """Each device's routing key: the smallest person id of its group."""
    groups = _Groups()
    for person in caseload.persons:
        groups.find("p:" + person)
    for order in caseload.orders:
        for rule in order.rules:
            if rule.type == RuleType.PROXIMITY and rule.protected_person is not None:
                groups.union("p:" + order.person, "p:" + rule.protected_person)
    keys: dict[DeviceId, str] = {}
    for device in caseload.devices.values():
        if device.person is None:
            keys[device.id] = "d:" + device.id
        else:
            keys[device.id] = groups.find("p:" + device.person)
    return keys


@dataclasses.dataclass(frozen=True)
class PartitionMap:
    """Device -> partition for one caseload and partition count."""

    partitions: int
    device_partition: dict[DeviceId, int]

    @classmethod
    def of(cls, caseload: Caseload, partitions: int) -> PartitionMap:
        keys = routing_keys(caseload)
        return cls(partitions, {d: partition_of(k, partitions) for d, k in keys.items()})

    def devices_of(self, partitions: Iterable[int]) -> set[DeviceId]:
        wanted = set(partitions)
        return {d for d, p in self.device_partition.items() if p in wanted}


def sub_caseload(caseload: Caseload, devices: set[DeviceId]) -> Caseload:
    """The part of a caseload a partition's engine runs on: its devices, their
    persons, the persons those are paired with by proximity (always in the
    same partition, see above), and their orders. Zones are shared."""
    persons: set[PersonId] = {d.person for d in caseload.devices.values() if d.id in devices and d.person}
    for order in caseload.orders:
        if order.person in persons:
            persons.update(r.protected_person for r in order.rules if r.protected_person is not None)
    return dataclasses.replace(
        caseload,
        persons={p: v for p, v in caseload.persons.items() if p in persons},
        devices={d: v for d, v in caseload.devices.items() if d in devices},
        orders=tuple(o for o in caseload.orders if o.person in persons),
    )
