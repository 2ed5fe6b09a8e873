"""Notifications: how fast the outbox drains and how fast effects become outbox rows.

    .venv/bin/python bench/notify.py [--messages 2000] [--alerts 500] [--database URL]

1. the outbox worker sends N messages to a local HTTP webhook receiver (the
   receiver answers at once): claimed, sent through Apprise and settled one by
   one, as in production;
2. the effects listener turns N proximity alerts into rows (a timer, the
   operator desk, the protected person, the police), one transaction each.

Prints figures; asserts nothing. SQLite in a temporary folder unless --database.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ronda.alerts.policy import AlertPolicy, ChainLink
from ronda.engine.episodes import Episode
from ronda.notify.effects import AlertsListener
from ronda.notify.worker import OutboxWorker
from ronda.pipeline.service import effect_event
from ronda.storage import alerts, cases, orders
from ronda.storage import notify as store
from ronda.storage.db import connect, migrate, sessions
from ronda.types import PersonId, RuleId


def receiver() -> tuple[ThreadingHTTPServer, list[int]]:
    got = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--alerts", type=int, default=500)
    ap.add_argument("--database")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ronda-bench-notify-"))
    db = connect(args.database or f"sqlite:///{folder / 'ronda.db'}")
    migrate(db)
    server, got = receiver()
    hook = f"url:json://127.0.0.1:{server.server_address[1]}/hook"

    now = time.time()
    t = time.perf_counter()
    with sessions(db).begin() as s:
        for i in range(args.messages):
            store.enqueue(
                s, store.NewMessage(f"bench/{i}", "staff_new_alert", hook, "en", f"m{i}", "body"), now_s=now
            )
    queued_s = time.perf_counter() - t
    worker = OutboxWorker(db, {}, batch=50)
    t = time.perf_counter()
    worker.drain(rounds=10**6)
    sent_s = time.perf_counter() - t
    assert got[0] == args.messages, (got[0], dict(worker.counters))
    print(
        f"outbox: queued {args.messages:,} in {queued_s:.2f} s ({args.messages / queued_s:,.0f}/s); sent "
        f"through Apprise to a local webhook in {sent_s:.2f} s ({args.messages / sent_s:,.0f} messages/s)"
    )

    with sessions(db).begin() as s:
        cases.create_person(s, "w1", "monitored", "Bruno")
        cases.create_person(s, "v1", "protected", "Ana")
        orders.create_order(
            s, "o1", "w1", "UTC", [{"id": "r1", "type": "proximity", "person": "v1", "distance_m": 500}]
        )
        v = store.create_contact(
            s, kind="victim", name="Ana", addresses=["email:ana@example.org"], person_id="v1", now_s=now
        )
        store.record_consent(s, v.id, granted=True, method="signed_form", actor="bench", now_s=now)
        p = store.create_contact(s, kind="police", name="Police", addresses=[hook], now_s=now)
        store.set_case_contacts(
            s, "w1", police_contact_id=p.id, officer_contact_id=None, agency_id=None, actor="b", now_s=now
        )
    policy = AlertPolicy(chains={"default": (ChainLink("operator", (hook,)), ChainLink("supervisor"))})
    listener = AlertsListener(db, policy)
    events = []
    with sessions(db).begin() as s:
        for i in range(args.alerts):
            ep = Episode("proximity", PersonId("w1"), now + i, now + i, rule=RuleId("r1"))
            events.append(effect_event(alerts.store_episode(s, ep), closed=False))
    t = time.perf_counter()
    listener.on_effects(events)
    listen_s = time.perf_counter() - t
    with sessions(db)() as s:
        rows = len(store.list_outbox(s, limit=10**9)) - args.messages
    print(
        f"listener: {args.alerts:,} proximity alerts -> {rows:,} outbox rows and {args.alerts:,} timers "
        f"in {listen_s:.2f} s ({args.alerts / listen_s:,.0f} alerts/s, "
        f"{listen_s / args.alerts * 1000:.1f} ms each)"
    )
    print(f"{db.dialect.name}, Python {sys.version.split()[0]}, {platform.machine()}")
    server.shutdown()


if __name__ == "__main__":
    main()
