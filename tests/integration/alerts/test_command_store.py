"""The gateway's command queue kept in the database: a pursuit request
queued for an offline device survives a restart and goes out at the
device's next login; outcomes are recorded as with the memory store."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.gateway.commands import CommandKind, CommandStatus, MemoryCommandStore
from ronda.storage.notify import DbCommandStore

pytestmark = pytest.mark.asyncio


async def test_the_database_store_behaves_like_the_memory_store_and_survives_a_restart(db: DbEngine) -> None:
    for store in (MemoryCommandStore(), DbCommandStore(db)):
        a = await store.add("tag-1", CommandKind.SET_INTERVAL, 100.0, interval_s=15)
        b = await store.add("tag-1", CommandKind.CUSTOM, 101.0, text="Relay,1#")
        await store.add("tag-2", CommandKind.SET_INTERVAL, 102.0, interval_s=60)
        assert [c.id for c in await store.queued("tag-1")] == [a.id, b.id]
        sent = await store.mark_sent(a.id, "gt06", "42", 103.0)
        assert (sent.status, sent.protocol, sent.match_key, sent.sent_s) == (
            CommandStatus.SENT,
            "gt06",
            "42",
            103.0,
        )
        assert [c.id for c in await store.awaiting_answer("tag-1")] == [a.id]
        done = await store.mark_acknowledged(a.id, 104.0, "OK")
        assert (done.status, done.response) == (CommandStatus.ACKNOWLEDGED, "OK")
        failed = await store.mark_failed(b.id, 105.0, "cannot encode")
        assert (failed.status, failed.error) == (CommandStatus.FAILED, "cannot encode")
        assert await store.get(10**9) is None

    later = DbCommandStore(db)  # a new server over the same database
    (queued,) = await later.queued("tag-2")
    assert (queued.kind, queued.interval_s, queued.status) == (
        CommandKind.SET_INTERVAL,
        60,
        CommandStatus.QUEUED,
    )
    assert [c.status for c in await later.for_device("tag-1")] == [
        CommandStatus.ACKNOWLEDGED,
        CommandStatus.FAILED,
    ]
