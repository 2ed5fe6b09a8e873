"""Retries with backoff on an injected clock: a receiver that fails twice
gets the message on the third try, 5 s then 10 s later; a receiver that
never answers ends `failed` with the reason stored, and a retry by hand
sends it again."""

from __future__ import annotations

import threading

from sqlalchemy import Engine as DbEngine

from ronda.notify.worker import OutboxWorker
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.storage.models_notify import OutboxRow

from .conftest import Webhook, free_port

T0 = 1_800_000_000.0


def row(db: DbEngine, key: str) -> OutboxRow:
    with sessions(db)() as s:
        return next(r for r in store.list_outbox(s) if r.key == key)


def test_failures_back_off_then_deliver_or_give_up(db: DbEngine, webhook: Webhook) -> None:
    webhook.fail_first = 2
    dead = f"url:json://127.0.0.1:{free_port()}/nobody"  # nothing listens there
    with sessions(db).begin() as s:
        for key, target in (("flaky", webhook.url("/flaky")), ("dead", dead)):
            store.enqueue(
                s,
                store.NewMessage(key, "staff_new_alert", target, "en", key, "body"),
                now_s=T0,
                max_attempts=3,
            )
    clock = [T0]
    worker = OutboxWorker(db, {}, clock=lambda: clock[0])

    assert worker.run_once() == 2
    flaky = row(db, "flaky")
    assert (flaky.status, flaky.attempts, flaky.next_attempt_s) == ("pending", 1, T0 + 5)
    assert flaky.last_error is not None and "500" in flaky.last_error  # the receiver's answer
    clock[0] = T0 + 4.9
    assert worker.run_once() == 0  # not before its backoff
    clock[0] = T0 + 5
    assert worker.run_once() == 2
    assert (row(db, "flaky").attempts, row(db, "flaky").next_attempt_s) == (2, T0 + 15)
    clock[0] = T0 + 15
    assert worker.run_once() == 2
    flaky, gone = row(db, "flaky"), row(db, "dead")
    assert (flaky.status, flaky.attempts, flaky.last_error, flaky.sent_s) == ("sent", 3, None, T0 + 15)
    assert len(webhook.at("/flaky")) == 3
    assert (gone.status, gone.attempts) == ("failed", 3)
    assert gone.last_error is not None and "Connection error" in gone.last_error
    clock[0] = T0 + 10_000
    assert worker.run_once() == 0  # failed for good: no more tries ...

    with sessions(db).begin() as s:
        store.retry(s, gone.id, now_s=clock[0])  # ... until someone retries it by hand
    assert worker.run_once() == 1 and row(db, "dead").attempts == 4


def test_workers_side_by_side_send_each_message_once(db: DbEngine, webhook: Webhook) -> None:
    """Three workers draining one outbox at once (SKIP LOCKED on PostgreSQL, the
    atomic claim on SQLite) deliver every message exactly once between them."""
    with sessions(db).begin() as s:
        for i in range(60):
            msg = store.NewMessage(f"m{i}", "staff_new_alert", webhook.url("/side"), "en", f"m{i}", "b")
            store.enqueue(s, msg, now_s=T0)
    workers = [OutboxWorker(db, {}, name=f"w{k}", batch=5, clock=lambda: T0) for k in range(3)]
    threads = [threading.Thread(target=w.drain, kwargs={"rounds": 1000}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    titles = [h.body["title"] for h in webhook.at("/side")]
    assert sorted(titles) == sorted(f"m{i}" for i in range(60))  # each once, none lost
    assert sum(w.counters["sent"] for w in workers) == 60
    assert sum(1 for w in workers if w.counters["sent"]) >= 2  # the work was shared
