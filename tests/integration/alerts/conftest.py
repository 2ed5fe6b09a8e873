"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an
HTTP webhook receiver, both started by the tests on free local ports; and a
small world: a wearer, the person he must keep away from, their devices,
a proximity order, contacts with consent, the case's police contact."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine as DbEngine

from ronda.storage import cases, orders
from ronda.storage import notify as store
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import Position
from ronda.types import DeviceId


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at_s: float


@dataclass
class Webhook:
    port: int
    received: list[Hook] = field(default_factory=list)
    delay_s: float = 0.0  # answer slowly, to catch a sender in the middle of a batch
    fail_first: int = 0  # answer 500 to this many requests first
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"url:json://127.0.0.1:{self.port}{path}"  # an address: channel url, an Apprise URL

    def at(self, path: str) -> list[Hook]:
        with self.lock:
            return [h for h in self.received if h.path == path]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(size)
            with hook.lock:
                hook.received.append(
                    Hook(self.path, dict(self.headers), json.loads(raw or b"{}"), time.time())
                )
            if hook.delay_s:
                time.sleep(hook.delay_s)
            with hook.lock:
                failing = len(hook.received) <= hook.fail_first
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


async def wait_for(check: Callable[[], object], timeout_s: float = 15.0, what: str = "") -> None:
    """Until `check()` is true (the event loop keeps running meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check}")


@dataclass(frozen=True)
class World:
    victim_contact: int
    police_contact: int


def build_world(
    db: DbEngine, police_url: str, *, victim_language: str = "es", police_language: str = "pt"
) -> World:
    """Bruno (w1, ankle tag) must keep 500 m away from Ana (v1, phone)."""
    with sessions(db).begin() as s:
        cases.create_person(s, "w1", "monitored", "Bruno Díaz")
        cases.create_person(s, "v1", "protected", "Ana")
        cases.create_device(s, "tag-w1", "gps_tag", report_interval_s=60)
        cases.create_device(s, "phone-v1", "phone", report_interval_s=120)
        cases.assign_device(s, "tag-w1", "w1", "officer")
        cases.assign_device(s, "phone-v1", "v1", "officer")
        orders.create_order(
            s,
            "o1",
            "w1",
            "Europe/Madrid",
            [{"id": "r-ana", "type": "proximity", "person": "v1", "distance_m": 500}],
        )
        now = time.time()
        victim = store.create_contact(
            s, kind="victim", name="Ana", language=victim_language, addresses=["email:ana@example.org"],
            person_id="v1", now_s=now,
        )  # fmt: skip
        store.record_consent(s, victim.id, granted=True, method="signed_form", actor="officer", now_s=now)
        police = store.create_contact(
            s,
            kind="police",
            name="Esquadra Centro",
            language=police_language,
            addresses=[police_url],
            now_s=now,
        )
        store.set_case_contacts(
            s,
            "w1",
            police_contact_id=police.id,
            officer_contact_id=None,
            agency_id=None,
            actor="officer",
            now_s=now,
        )
        return World(victim.id, police.id)


@pytest.fixture
def db(db_url: str) -> Iterator[DbEngine]:
    engine = connect(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


HOME = (40.41680, -3.70380)  # the protected person's position in `build_world`
NEAR = (40.41750, -3.70300)  # about 100 m away


def approach(now: float) -> list[Position]:
    """Two minutes of both devices reporting 100 m apart, ending now."""
    out = []
    for k in range(13):
        t = now - 120 + 10 * k
        out.append(Position(DeviceId("phone-v1"), t, now, *HOME, accuracy_m=10.0))
        out.append(Position(DeviceId("tag-w1"), t + 1, now, *NEAR, accuracy_m=10.0))
    return out
