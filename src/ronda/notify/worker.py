"""The outbox worker: claim due messages, send each, record its outcome.

Exactly-once, as far as a sender can promise it: a message is claimed (status
``sending``, attempts + 1, a lease) and committed before it is sent, and its
outcome is committed right after it is sent, one message at a time. A worker
killed in between leaves the claimed rows to be taken again when their lease
expires: none is lost. The one message that was on the wire when it died may
go out a second time, with the same idempotency key (header
``X-Ronda-Idempotency-Key``, the outbox key), which the receiver uses to drop
the repeat; every message settled before the kill is never sent again.

Failures go back to ``pending`` with an exponential backoff (5 s, 10 s, 20 s
... 15 min) until ``max_attempts``, then ``failed``: shown on the alert and
in ``GET /api/notifications?status=failed``, retried by hand from there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from ronda.errors import RondaError
from ronda.notify.channels import apprise_url
from ronda.notify.sender import AppriseSender, Sender
from ronda.storage import notify as store
from ronda.storage.db import sessions
from ronda.storage.models_notify import OutboxRow

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


class OutboxWorker:
    def __init__(
        self,
        db: DbEngine,
        channels: Mapping[str, str],
        *,
        sender: Sender | None = None,
        name: str | None = None,
        lease_s: float = 60.0,
        batch: int = 20,
        poll_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions: sessionmaker[Session] = sessions(db)
        self.channels = dict(channels)
        self.sender = sender or AppriseSender()
        self.name = name or worker_name()
        self.lease_s, self.batch, self.poll_s = lease_s, batch, poll_s
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self._wake = threading.Event()
        self._stop = False

    def stop(self) -> None:
        """Finish the message being sent, then stop (any thread, a signal handler)."""
        self._stop = True
        self._wake.set()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll (any thread)."""
        self._wake.set()

    def run_once(self) -> int:
        """Claim one batch and send it; returns how many were claimed."""
        with self.sessions.begin() as s:
            rows = store.claim(s, self.name, now_s=self.clock(), lease_s=self.lease_s, limit=self.batch)
            s.expunge_all()
        for row in rows:
            if self._stop:
                break  # the rest are taken again when their lease expires
            self._deliver(row)
        return len(rows)

    def _deliver(self, row: OutboxRow) -> None:
        token = row.claimed_by or ""
        try:
            url = apprise_url(row.target, self.channels, row.key)
            self.sender.send(url, row.subject, row.body)
        except RondaError as exc:
            self._failed(row, str(exc))
            return
        except Exception as exc:  # a plugin's own error: counted as a failed try, never kills the worker
            log.exception("notification %d: sender crashed", row.id)
            self._failed(row, f"{type(exc).__name__}: {exc}")
            return
        with self.sessions.begin() as s:
            if store.settle_sent(s, row.id, token, now_s=self.clock()):
                self.counters["sent"] += 1
            else:
                self.counters["lease_lost"] += 1
                log.warning("notification %d was sent after its lease ran out", row.id)

    def _failed(self, row: OutboxRow, error: str) -> None:
        with self.sessions.begin() as s:
            status = store.settle_failed(s, row, error=error, now_s=self.clock())
        self.counters[status] += 1
        log.warning("notification %d (%s) try %d: %s", row.id, row.kind, row.attempts, error[:200])

    def drain(self, rounds: int = 100) -> int:
        """Send whatever is due now (tests, `ronda notify run --once`)."""
        total = 0
        for _ in range(rounds):
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def run(self) -> None:
        """Until cancelled: send what is due, then wait for a wake-up or the poll interval."""
        try:
            while True:
                try:
                    n = await asyncio.to_thread(self.run_once)
                except Exception:  # the database went away for a moment: try again later
                    log.exception("outbox worker round failed")
                    n = 0
                if n == 0:
                    await asyncio.to_thread(self._wake.wait, self.poll_s)
                    self._wake.clear()
        finally:
            self._stop = True
            self._wake.set()

    def run_forever(self) -> None:
        """Blocking loop for a process of its own (`ronda notify run`)."""
        while not self._stop:
            try:
                n = self.run_once()
            except Exception:
                log.exception("outbox worker round failed")
                n = 0
            if n == 0:
                self._wake.wait(self.poll_s)
                self._wake.clear()
