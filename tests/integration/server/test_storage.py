"""Storage on SQLite and PostgreSQL: migrations, inventory, versioned orders,
idempotent records, episodes and alerts, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from ronda.alerts.workflow import AlertAction, AlertStatus, Outcome, TransitionRefused
from ronda.engine.episodes import Episode
from ronda.errors import InvalidInput, UnknownReference
from ronda.storage import alerts, cases, checkpoints, orders, records
from ronda.storage.caseload import load_caseload
from ronda.storage.db import connect, migrate, sessions
from ronda.storage.errors import Conflict
from ronda.storage.importer import import_scenario
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId, PersonId, RuleId

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "ronda" / "samples" / "sample-city"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    engine = connect(db_url)
    migrate(engine)
    yield sessions(engine)
    engine.dispose()


def test_migrations_create_every_table_and_run_twice(db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    migrate(engine)  # already at head: nothing to do
    names = set(inspect(engine).get_table_names())
    assert {"persons", "devices", "device_assignments", "zones", "orders", "order_versions", "rules"} <= names
    assert {
        "records",
        "episodes",
        "alerts",
        "alert_actions",
        "engine_checkpoints",
        "alembic_version",
    } <= names
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'data' / 'ronda.db'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_device_assignment_history_keeps_who_and_when(db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as s:
        cases.create_person(s, "p1", "monitored")
        cases.create_person(s, "p2", "monitored")
        cases.create_device(s, "tag-1", "gps_tag", serial="SN1")
        assert cases.get_device(s, "tag-1").status == "in_stock"
        cases.assign_device(s, "tag-1", "p1", "officer-a")
        cases.assign_device(s, "tag-1", "p2", "officer-b")
    with db() as s:
        hist = cases.assignments(s, device="tag-1")
        assert [(a.person_id, a.assigned_by, a.ended_by) for a in hist] == [
            ("p1", "officer-a", "officer-b"),
            ("p2", "officer-b", None),
        ]
        assert hist[0].end_s is not None and hist[0].end_s <= hist[1].start_s
        dev = cases.get_device(s, "tag-1")
        assert (dev.person_id, dev.status) == ("p2", "active")
    with db.begin() as s, pytest.raises(Conflict):
        cases.delete_person(s, "p1")  # has history


def test_a_changed_order_keeps_its_old_version(db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as s:
        cases.create_person(s, "p1", "monitored")
        cases.put_zone(s, "z1", "park", SQUARE, None, create=True)
        cases.put_zone(s, "z2", "home", {"type": "Point", "coordinates": [0.02, 0.02]}, 100.0, create=True)
        orders.create_order(s, "o1", "p1", "Europe/Madrid", [{"id": "r1", "type": "exclusion", "zone": "z1"}])
        orders.update_order(
            s,
            "o1",
            rules=[
                {"id": "r1", "type": "exclusion", "zone": "z1"},
                {
                    "id": "r2",
                    "type": "inclusion",
                    "zone": "z2",
                    "schedule": {"weekly": [{"days": ["mo"], "start": "22:00", "end": "06:00"}]},
                },
            ],
            by="judge",
        )
    with db() as s:
        versions = orders.order_versions(s, "o1")
        assert [(v.version, [r["id"] for r in v.rules]) for v in versions] == [(1, ["r1"]), (2, ["r1", "r2"])]
        caseload = load_caseload(s)
        (order,) = caseload.orders
        assert [r.id for r in order.rules] == ["r1", "r2"] and order.rules[1].schedule is not None


def test_order_refuses_unknown_zone_and_bad_schedule_naming_the_field(db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as s:
        cases.create_person(s, "p1", "monitored")
        with pytest.raises(UnknownReference, match=r"rules\[0\]\.zone"):
            orders.create_order(s, "o1", "p1", "UTC", [{"id": "r1", "type": "exclusion", "zone": "nope"}])
        cases.put_zone(s, "z1", "park", SQUARE, None, create=True)
        bad = {"id": "r1", "type": "exclusion", "zone": "z1", "schedule": {"weekly": [{"days": ["xx"]}]}}
        with pytest.raises(InvalidInput, match=r"rules\[0\]\.schedule\.weekly\[0\]\.days"):
            orders.create_order(s, "o1", "p1", "UTC", [bad])


def test_a_resent_batch_stores_nothing_twice(db) -> None:  # type: ignore[no-untyped-def]
    dev = DeviceId("tag-1")
    batch = [
        Position(dev, 1000.0, 1010.0, lat=1.0, lon=2.0, accuracy_m=5.0),
        Position(dev, 1060.0, 1070.0, lat=1.1, lon=2.1),
        DeviceEvent(dev, 1060.0, 1070.0, EventKind.STRAP_TAMPER),  # same time, other kind: kept
        Position(dev, 1060.0, 1071.0, lat=1.1, lon=2.1),  # same key in the batch: once
    ]
    with db.begin() as s:
        first = records.insert_records(s.connection(), batch)
    with db.begin() as s:
        again = records.insert_records(
            s.connection(), [*batch, Position(dev, 1120.0, 1130.0, lat=1.2, lon=2.2)]
        )
    assert len(first) == 3 and [r for _, r in again] == [Position(dev, 1120.0, 1130.0, lat=1.2, lon=2.2)]
    with db() as s:
        assert records.count_records(s) == 4
        stored = [r for _, r in records.records_after(s, 0)]
        assert stored[:3] == batch[:3]  # round trip, in commit order
        rows = records.device_records(s, ["tag-1"], 1000.0, 1100.0)
        assert [r.time_s for r in rows] == [1000.0, 1060.0]


def test_an_effect_stored_twice_is_one_episode_and_one_alert(db) -> None:  # type: ignore[no-untyped-def]
    ep = Episode("exclusion", PersonId("p1"), 100.0, 130.0, rule=RuleId("r1"))
    with db.begin() as s:
        assert alerts.store_episode(s, ep).new
    closed = Episode("exclusion", PersonId("p1"), 100.0, 999.0, rule=RuleId("r1"), end_s=400.0)
    with db.begin() as s:
        assert not alerts.store_episode(s, closed).new
        assert not alerts.store_episode(s, ep).new
    with db() as s:
        ((episode, alert),) = alerts.list_episodes(s, alerts.EpisodeFilter())
        assert (episode.end_s, episode.raised_s, alert.status, alert.severity) == (
            400.0,
            130.0,
            "new",
            "high",
        )


def test_alert_workflow_follows_the_transition_table(db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as s:
        alert_id = alerts.store_episode(s, Episode("tamper", None, 1.0, 2.0, device=DeviceId("d"))).alert.id
        alerts.act(s, alert_id, AlertAction.ACKNOWLEDGE, "ana")
        alerts.act(s, alert_id, AlertAction.ASSIGN, "ana", owner="bo")
        alerts.act(s, alert_id, AlertAction.NOTE, "bo", text="called the wearer")
        alerts.act(s, alert_id, AlertAction.RESOLVE, "bo", outcome=Outcome.TECHNICAL_ISSUE)
        with pytest.raises(TransitionRefused, match="cannot acknowledge an alert that is resolved"):
            alerts.act(s, alert_id, AlertAction.ACKNOWLEDGE, "bo")
    with db() as s:
        _, alert = alerts.get_alert(s, alert_id)
        assert (alert.status, alert.owner, alert.outcome) == (AlertStatus.RESOLVED, "bo", "technical_issue")
        trail = [(a.action, a.actor, a.to_status, a.text) for a in alerts.alert_actions(s, alert_id)]
        assert trail == [
            ("acknowledge", "ana", "acknowledged", ""),
            ("assign", "ana", "acknowledged", "bo"),
            ("note", "bo", "acknowledged", "called the wearer"),
            ("resolve", "bo", "resolved", ""),
        ]


def test_checkpoints_keep_the_latest(db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as s:
        assert checkpoints.latest_checkpoint(s) is None
        for n in range(5):
            checkpoints.save_checkpoint(s, n * 10, {"format": "x", "n": n})
    with db() as s:
        cp = checkpoints.latest_checkpoint(s)
        assert cp is not None and (cp.last_seq, cp.state["n"]) == (40, 4)


def test_import_sample_city_gives_the_same_caseload(db) -> None:  # type: ignore[no-untyped-def]
    from ronda.scenarios.loader import load_scenario

    with db.begin() as s:
        counts = import_scenario(s, SAMPLE)
    with db.begin() as s:
        import_scenario(s, SAMPLE)  # again: nothing changes, no new order version
    expected = load_scenario(SAMPLE).caseload
    with db() as s:
        got = load_caseload(s)
        assert counts.devices == len(expected.devices) and counts.orders == len(expected.orders)
        assert got.devices == expected.devices and got.persons.keys() == expected.persons.keys()
        assert [(o.id, [r.id for r in o.rules]) for o in got.orders] == [
            (o.id, [r.id for r in o.rules]) for o in sorted(expected.orders, key=lambda o: o.id)
        ]
        assert all(v.version == 1 for v in orders.list_orders(s))
        assert str(got.timezone) == str(expected.timezone)
