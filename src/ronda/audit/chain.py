"""The audit trail as a hash chain: each entry's hash covers the previous
entry's hash and the entry's canonical encoding, so changing, removing or
moving any entry breaks the chain at that entry.

Pure: no database, no clock. Storage hands rows in; verification reads them
once, in order, and names the first row that is not what was written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

GENESIS = "0" * 64
"""The `prev_hash` of the first entry of a chain."""

FORMAT = "ronda-audit-v1\n"
"""Prefixed to every encoding: a future format cannot collide with this one."""


@dataclass(frozen=True)
class AuditEntry:
    """One consultation or change of personal data (or of the system itself).

    `actor` is the user id (or `service`, `system`), `action` a verb such as
    `read`, `write`, `export`, `login`, `purge`; `target` names the object read
    or changed (`person p1`, `GET /api/persons/{person_id}/positions`)."""

    at_s: float
    actor: str
    role: str
    agency: str | None
    action: str
    target: str
    person: str | None = None
    purpose: str | None = None
    source: str | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)

    def detail_text(self) -> str:
        return canonical_json(self.detail)


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept, shortest floats."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(
    at_s: float,
    actor: str,
    role: str,
    agency: str | None,
    action: str,
    target: str,
    person: str | None,
    purpose: str | None,
    source: str | None,
    outcome: str,
    detail_text: str,
) -> bytes:
    """The canonical bytes of an entry, as stored (detail already canonical text).

    The time as Python's shortest round-trip repr, then each field as a
    netstring (`<length>:<text>`, `-` for none), then the detail: no field can
    bleed into the next whatever it contains, and it is cheap to produce (a
    million rows are re-encoded by every verification)."""
    fields = (actor, role, agency, action, target, person, purpose, source, outcome)
    text = "".join(["-" if x is None else f"{len(x)}:{x}" for x in fields])
    return f"{FORMAT}{float(at_s)!r}|{text}\n{detail_text}".encode()


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    """SHA-256 over the previous hash (hex) and this entry's canonical bytes."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(encoded)
    return h.hexdigest()


def entry_hash(prev_hash: str, e: AuditEntry) -> str:
    return chain_hash(
        prev_hash,
        encode(
            e.at_s,
            e.actor,
            e.role,
            e.agency,
            e.action,
            e.target,
            e.person,
            e.purpose,
            e.source,
            e.outcome,
            e.detail_text(),
        ),
    )


class StoredRow(NamedTuple):
    """A row as read back from storage: its position, what it says, its links
    (a tuple in the table's column order, so rows from a cursor verify as they are)."""

    seq: int
    at_s: float
    actor: str
    role: str
    agency: str | None
    action: str
    target: str
    person: str | None
    purpose: str | None
    source: str | None
    outcome: str
    detail_text: str
    prev_hash: str
    hash: str

    def recomputed(self) -> str:
        return chain_hash(
            self.prev_hash,
            encode(
                self.at_s,
                self.actor,
                self.role,
                self.agency,
                self.action,
                self.target,
                self.person,
                self.purpose,
                self.source,
                self.outcome,
                self.detail_text,
            ),
        )


class Break(StrEnum):
    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"
    TRUNCATED = "truncated"


@dataclass(frozen=True)
class Finding:
    """The first place where the chain is not what was written."""

    kind: Break
    seq: int
    message: str


@dataclass(frozen=True)
class Verdict:
    rows: int
    head_seq: int
    head_hash: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


@dataclass(frozen=True)
class Head:
    """What the log says its last entry is (kept apart from the rows, updated
    with each append): the only way to notice a cut tail."""

    seq: int
    hash: str


def verify(
    rows: Iterable[StoredRow] | Iterable[tuple[Any, ...]],
    head: Head | None,
    *,
    first_seq: int = 1,
    first_prev: str = GENESIS,
    hashes_of: Callable[[], set[str]] | None = None,
) -> Verdict:
    """Walk the rows in `seq` order and name the first one that breaks the chain.

    - a row whose content no longer gives its stored hash: **altered**;
    - a gap in the sequence: **removed** (the first missing seq);
    - a row that is internally whole but does not follow its predecessor: it
      was **moved** here (its `prev_hash` is another row's hash) or the rows
      before it were **removed** and the rest renumbered (its `prev_hash` is
      nobody's). `hashes_of` (a callable giving the set of all stored hashes,
      called only then) tells the two apart;
    - fewer rows than the head records: the tail was **truncated**.
    """
    expected_seq, prev = first_seq, first_prev
    n = 0
    sha, fmt = hashlib.sha256, FORMAT
    for r in rows:  # the hot loop: indices, not attributes (see StoredRow for the order)
        n += 1
        seq = r[0]
        if seq != expected_seq:
            if seq > expected_seq:
                return _verdict(
                    n,
                    expected_seq - 1,
                    prev,
                    Break.REMOVED,
                    expected_seq,
                    f"row {expected_seq} is missing (the next row is {seq})",
                )
            return _verdict(
                n,
                expected_seq - 1,
                prev,
                Break.REORDERED,
                seq,
                f"row {seq} appears after row {expected_seq - 1}",
            )
        # chain_hash(prev_hash, encode(...)) inlined: one string, one encode, one digest
        fields = "".join(["-" if x is None else f"{len(x)}:{x}" for x in r[2:11]])
        if sha(f"{r[12]}{fmt}{float(r[1])!r}|{fields}\n{r[11]}".encode()).hexdigest() != r[13]:
            return _verdict(
                n,
                seq - 1,
                prev,
                Break.ALTERED,
                seq,
                f"row {seq} was altered: its content does not give its hash",
            )
        if r[12] != prev:
            known = hashes_of() if hashes_of is not None else set()
            if r[12] in known:
                return _verdict(
                    n,
                    seq - 1,
                    prev,
                    Break.REORDERED,
                    seq,
                    f"row {seq} was moved: it was written after another row",
                )
            return _verdict(
                n,
                seq - 1,
                prev,
                Break.REMOVED,
                seq,
                f"the row written before row {seq} is gone (rows renumbered)",
            )
        prev = r[13]
        expected_seq += 1
    last = expected_seq - 1
    if head is not None and (head.seq != last or (head.seq == last and head.hash != prev)):
        if head.seq > last:
            return _verdict(
                n,
                last,
                prev,
                Break.TRUNCATED,
                last + 1,
                f"rows {last + 1} to {head.seq} were cut from the end",
            )
        return _verdict(
            n,
            last,
            prev,
            Break.ALTERED,
            last,
            f"the log's head ({head.seq}) does not match its last row ({last})",
        )
    return Verdict(n, last, prev, None)


def _verdict(n: int, seq: int, prev: str, kind: Break, at: int, message: str) -> Verdict:
    return Verdict(n, seq, prev, Finding(kind, at, message))


def chain(entries: Iterable[AuditEntry], prev: str = GENESIS, first_seq: int = 1) -> Iterator[StoredRow]:
    """Rows for `entries`, chained after `prev` (tests and benchmarks)."""
    seq = first_seq
    for e in entries:
        detail = e.detail_text()
        h = entry_hash(prev, e)
        yield StoredRow(
            seq,
            e.at_s,
            e.actor,
            e.role,
            e.agency,
            e.action,
            e.target,
            e.person,
            e.purpose,
            e.source,
            e.outcome,
            detail,
            prev,
            h,
        )
        prev, seq = h, seq + 1
