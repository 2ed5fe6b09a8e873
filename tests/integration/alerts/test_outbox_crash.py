"""The notifier killed in the middle of a batch (SIGKILL, a real process)
and started again: no message is lost, every message settled before the
kill is never sent again, and the one that was on the wire when it died is
sent again with the same idempotency key, so the receiver, keeping the
first of each key, holds each message exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.storage import notify as store
from ronda.storage.db import sessions

from .conftest import Webhook

N = 30


def queue(db: DbEngine, webhook: Webhook) -> None:
    now = time.time()
    with sessions(db).begin() as s:
        for i in range(N):
            msg = store.NewMessage(
                key=f"test/{i}",
                kind="staff_new_alert",
                target=webhook.url("/inbox"),
                language="en",
                subject=f"message {i}",
                body=f"body {i}",
            )
            assert store.enqueue(s, msg, now_s=now)
        # the same key again (a replayed effect) queues nothing
        again = store.NewMessage("test/0", "staff_new_alert", webhook.url("/inbox"), "en", "again", "again")
        assert not store.enqueue(s, again, now_s=now)


def notifier(url: str, config: Path, name: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "ronda.cli.main",
        "notify",
        "run",
        "--database",
        url,
        "--config",
        str(config),
    ]
    return subprocess.Popen([*cmd, "--name", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def statuses(db: DbEngine) -> Counter[str]:
    with sessions(db)() as s:
        return Counter(r.status for r in store.list_outbox(s, limit=10_000))


def wait(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_notifier_killed_mid_batch_loses_none_and_repeats_none(
    db: DbEngine, db_url: str, webhook: Webhook, tmp_path: Path
) -> None:
    queue(db, webhook)
    config = tmp_path / "alerts.toml"
    config.write_text("[notify]\nlease_s = 2.0\nbatch = 10\npoll_s = 0.2\n")
    webhook.delay_s = 0.15  # each delivery takes a while: the kill lands in the middle of a batch

    first = notifier(db_url, config, "first")
    try:
        wait(lambda: len(webhook.received) >= 5, 60.0, "the first deliveries")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    time.sleep(0.3)  # let the receiver finish the request that was on the wire
    at_kill = statuses(db)
    with sessions(db)() as s:
        settled_before = {r.subject for r in store.list_outbox(s, status="sent", limit=10_000)}
    assert at_kill["sending"] >= 1, f"the kill was not mid-batch: {at_kill}"
    assert at_kill["sent"] < N

    second = notifier(db_url, config, "second")  # claims the dead worker's rows once their lease expires
    try:
        wait(lambda: statuses(db)["sent"] == N, 60.0, "every message sent")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)

    with sessions(db)() as s:
        rows = store.list_outbox(s, limit=10_000)
    assert all(r.status == "sent" and r.last_error is None for r in rows)
    by_title = Counter(h.body["title"] for h in webhook.received)
    assert set(by_title) == {f"message {i}" for i in range(N)}  # none lost
    repeats = {t for t, n in by_title.items() if n > 1}
    # a repeat can only be a message that was claimed but not yet settled at the kill
    assert len(repeats) <= at_kill["sending"] and all(by_title[t] == 2 for t in repeats)
    # ... and it carries the same idempotency key both times: the receiver keeps one
    keys: dict[str, set[str]] = {}
    for h in webhook.received:
        keys.setdefault(h.body["title"], set()).add(h.headers["X-Ronda-Idempotency-Key"])
    assert all(len(k) == 1 for k in keys.values())
    assert len({k for ks in keys.values() for k in ks}) == N  # deduplicated by key: each exactly once
    # messages whose delivery was recorded before the kill were never sent again
    assert settled_before and all(by_title[t] == 1 for t in settled_before)
