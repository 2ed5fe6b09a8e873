"""The audit chain: any change to what was written is found at its exact row."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from ronda.audit.chain import (
    GENESIS,
    AuditEntry,
    Break,
    Head,
    StoredRow,
    canonical_json,
    chain,
    encode,
    entry_hash,
    verify,
)

N = 40


def entries(n: int = N) -> list[AuditEntry]:
    return [
        AuditEntry(
            at_s=1_750_000_000.0 + i * 1.5,
            actor=f"u-{i % 3}",
            role="officer",
            agency="main",
            action="read",
            target="GET /api/persons/{person_id}/positions",
            person=f"p{i % 5}",
            purpose="supervision" if i % 2 else None,
            source="10.0.0.7",
            detail={"query": {"start": "2026-01-01", "end": "2026-01-02"}, "n": i, "name": "Zoë"},
        )
        for i in range(n)
    ]


def rows() -> list[StoredRow]:
    return list(chain(entries()))


def head_of(rs: list[StoredRow]) -> Head:
    return Head(rs[-1].seq, rs[-1].hash)


def check(rs: list[StoredRow], head: Head) -> tuple[Break | None, int | None]:
    v = verify(rs, head, hashes_of=lambda: {r.hash for r in rs})
    return (None, None) if v.finding is None else (v.finding.kind, v.finding.seq)


def test_an_untouched_chain_verifies() -> None:
    rs = rows()
    v = verify(rs, head_of(rs))
    assert v.ok and v.rows == N and v.head_seq == N and v.head_hash == rs[-1].hash


def test_each_hash_covers_the_previous_one() -> None:
    rs = rows()
    assert rs[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rs))
    assert len({r.hash for r in rs}) == N


@pytest.mark.parametrize("at", [1, 2, 17, N])
@pytest.mark.parametrize(
    "field",
    [
        "at_s",
        "actor",
        "role",
        "agency",
        "action",
        "target",
        "person",
        "purpose",
        "source",
        "outcome",
        "detail_text",
    ],
)
def test_altering_any_field_of_any_row_is_found_at_that_row(at: int, field: str) -> None:
    rs = rows()
    r = rs[at - 1]
    value = getattr(r, field)
    if field == "at_s":
        changed: object = value + 1e-6
    elif value is None:
        changed = "x"
    else:
        changed = value[:-1] + chr(ord(value[-1]) ^ 1)  # one bit of one byte
    rs[at - 1] = r._replace(**{field: changed})
    assert check(rs, head_of(rows())) == (Break.ALTERED, at)


@pytest.mark.parametrize("at", [1, 2, 20, N - 1])
def test_deleting_a_row_is_found_at_that_row(at: int) -> None:
    rs = rows()
    del rs[at - 1]
    assert check(rs, head_of(rows())) == (Break.REMOVED, at)


def test_deleting_a_row_and_renumbering_the_rest_is_still_found() -> None:
    rs = rows()
    del rs[9]
    rs = [r._replace(seq=i + 1) for i, r in enumerate(rs)]
    kind, seq = check(rs, Head(N - 1, rs[-1].hash))
    assert (kind, seq) == (Break.REMOVED, 10)


@pytest.mark.parametrize(("i", "j"), [(1, 2), (5, 30), (N - 1, N)])
def test_swapping_two_rows_is_found_at_the_first(i: int, j: int) -> None:
    rs = rows()
    a, b = rs[i - 1], rs[j - 1]
    # the rows keep their places (seq) but trade everything else
    rs[i - 1] = b._replace(seq=a.seq)
    rs[j - 1] = a._replace(seq=b.seq)
    assert check(rs, head_of(rows())) == (Break.REORDERED, i)


def test_swapping_only_the_content_reads_as_altered_at_the_first() -> None:
    rs = rows()
    a, b = rs[3], rs[7]
    rs[3] = a._replace(actor=b.actor, person=b.person, detail_text=b.detail_text)
    rs[7] = b._replace(actor=a.actor, person=a.person, detail_text=a.detail_text)
    assert check(rs, head_of(rows())) == (Break.ALTERED, 4)


@pytest.mark.parametrize("cut", [1, 5])
def test_cutting_the_tail_is_found_against_the_head(cut: int) -> None:
    rs = rows()[:-cut]
    assert check(rs, head_of(rows())) == (Break.TRUNCATED, N - cut + 1)


def test_a_row_out_of_sequence_is_reordered() -> None:
    rs = rows()
    rs[4], rs[5] = rs[5], rs[4]  # read back in the wrong order
    assert check(rs, head_of(rows()))[0] in (Break.REMOVED, Break.REORDERED)


def test_the_encoding_is_canonical_and_unambiguous() -> None:
    e = entries(1)[0]
    assert entry_hash(GENESIS, e) == entry_hash(
        GENESIS, dataclasses.replace(e, detail=dict(reversed(list(e.detail.items()))))
    )
    # a value cannot bleed into its neighbour
    a = encode(1.0, "ab", "c", None, "read", "t", None, None, None, "ok", "{}")
    b = encode(1.0, "a", "bc", None, "read", "t", None, None, None, "ok", "{}")
    assert a != b
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
