"""Trails as read from storage: a device's fixes belong to whoever wore it at
the time; protected persons and devices that place nobody are left out."""

from __future__ import annotations

import math

from ronda.correlation import Params
from ronda.storage import cases, records
from ronda.storage import investigation as repo
from ronda.storage.db import connect, migrate, sessions
from ronda.tracking.records import DeviceEvent, EventKind, Position
from ronda.types import DeviceId

T0 = 1_780_000_000.0


def test_a_handed_over_tag_splits_its_fixes_between_wearers(db_url: str) -> None:
    db = connect(db_url)
    migrate(db)
    with sessions(db).begin() as s:
        for p, role in (("ana", "monitored"), ("ben", "monitored"), ("vic", "protected")):
            cases.create_person(s, p, role)
        cases.create_device(s, "tag-1", "gps_tag")
        cases.create_device(s, "unit-1", "home_unit")
        cases.create_device(s, "phone-1", "phone")
        cases.assign_device(s, "tag-1", "ana", "x", at_s=T0 - 3600)
        cases.assign_device(s, "tag-1", "ben", "x", at_s=T0 + 1800)  # handed over mid-window
        cases.assign_device(s, "unit-1", "ana", "x", at_s=T0 - 3600)
        cases.assign_device(s, "phone-1", "vic", "x", at_s=T0 - 3600)
    recs: list[DeviceEvent | Position] = []
    for i in range(61):
        t = T0 + i * 60
        recs.append(
            Position(
                DeviceId("tag-1"), t, t, lat=40.0 + i * 1e-4, lon=-3.0, accuracy_m=None if i == 5 else 9.0
            )
        )
        recs.append(Position(DeviceId("phone-1"), t, t, lat=40.0, lon=-3.0, accuracy_m=5.0))
    recs.append(Position(DeviceId("tag-1"), T0 + 30, T0 + 30, valid=False))  # no fix: not a position
    recs.append(DeviceEvent(DeviceId("unit-1"), T0 + 40, T0 + 40, EventKind.TAG_PRESENT))
    with db.begin() as conn:
        records.insert_records(conn, recs)
    with sessions(db)() as s:
        trails = {tr.person: tr for tr in repo.load_trails(s, T0, T0 + 3600, Params(), now_s=T0 + 86400)}
        only_ben = repo.load_trails(s, T0, T0 + 3600, Params(), now_s=T0 + 86400, persons={"ben"})
    assert set(trails) == {"ana", "ben"}  # never the protected person's phone
    ana, ben = trails["ana"], trails["ben"]
    assert list(ana.time_s) == [T0 + i * 60 for i in range(30)]  # until the handover
    assert list(ben.time_s) == [T0 + i * 60 for i in range(30, 61)]  # from it
    assert set(ana.device) == set(ben.device) == {"tag-1"}
    assert math.isnan(ana.accuracy_m[5]) and ana.accuracy_m[6] == 9.0
    # monitored from one gap before the window (ana) or from the handover (ben)
    assert (ana.covered_from_s, ben.covered_from_s) == (T0 - 900, T0 + 1800)
    assert (ana.covered_to_s, ben.covered_to_s) == (T0 + 1800, T0 + 3600 + 900)
    assert [tr.person for tr in only_ben] == ["ben"]
    db.dispose()


def test_incidents_close_in_time_share_one_read() -> None:
    from ronda.correlation import Incident
    from ronda.correlation.incidents import point_incident

    def inc(i: str, h0: float, h1: float) -> Incident:
        return point_incident(i, 40.0, -3.0, 100, T0 + h0 * 3600, T0 + h1 * 3600)

    batch = [inc("c", 30, 31), inc("a", 0, 1), inc("b", 4, 5.5), inc("d", 5, 7)]
    groups = repo.group_incidents(batch)
    assert [(lo, hi, [i.id for i in g]) for lo, hi, g in groups] == [
        (T0, T0 + 5.5 * 3600, ["a", "b"]),  # "d" would stretch the read past 6 hours
        (T0 + 5 * 3600, T0 + 7 * 3600, ["d"]),
        (T0 + 30 * 3600, T0 + 31 * 3600, ["c"]),
    ]
