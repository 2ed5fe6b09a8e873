"""Wearer reminders: a message before each curfew starts, in the wearer's
language, once per curfew start however often the loop runs, and only to a
wearer who consented."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as DbEngine

from ronda.alerts.policy import AlertPolicy
from ronda.notify.reminders import ReminderLoop
from ronda.storage import cases, orders
from ronda.storage import notify as store
from ronda.storage.db import sessions

MADRID = ZoneInfo("Europe/Madrid")
HOME = {"type": "Polygon", "coordinates": [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]]]}


def at(hour: int, minute: int) -> float:
    return dt.datetime(2026, 3, 10, hour, minute, tzinfo=MADRID).timestamp()  # a Tuesday


def test_a_reminder_before_each_curfew_once(db: DbEngine) -> None:
    with sessions(db).begin() as s:
        cases.create_person(s, "w1", "monitored", "Bruno")
        cases.put_zone(s, "home-w1", "Bruno home", HOME, None, create=True)
        curfew = {"weekly": [{"days": ["mo", "tu", "we", "th", "fr"], "start": "22:00", "end": "06:00"}]}
        orders.create_order(
            s,
            "o1",
            "w1",
            "Europe/Madrid",
            [{"id": "r-curfew", "type": "inclusion", "zone": "home-w1", "schedule": curfew}],
        )
        c = store.create_contact(
            s,
            kind="wearer",
            name="Bruno",
            language="es",
            addresses=["sms:+34600000009"],
            person_id="w1",
            now_s=0,
        )
    loop = ReminderLoop(db, AlertPolicy(reminder_lead_s=1800, centre_phone="+34 900"))

    assert loop.run_once(at(21, 0)) == 0  # no consent yet: nothing
    with sessions(db).begin() as s:
        store.record_consent(s, c.id, granted=True, method="in_person", actor="officer", now_s=0)
    assert loop.run_once(at(21, 29)) == 0  # more than 30 min before
    assert loop.run_once(at(21, 31)) == 1
    assert loop.run_once(at(21, 45)) == 0  # the same start: once
    assert loop.run_once(at(22, 30)) == 0  # curfew running
    assert loop.run_once(at(6, 30) + 86400) == 0  # next morning: tonight's is hours away
    assert loop.run_once(at(21, 40) + 86400) == 1  # Wednesday's curfew
    with sessions(db)() as s:
        rows = store.list_outbox(s)
    assert [r.kind for r in rows] == ["wearer_reminder", "wearer_reminder"]
    assert all(
        r.subject == "Ronda: su toque de queda empieza a las 22:00" and r.target == "sms:+34600000009"
        for r in rows
    )
    assert "+34 900" in rows[0].body
