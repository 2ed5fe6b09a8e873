"""Who sees what, as the roles meet it: officers their caseload, operators
what is in alert (the rest with a stated, recorded purpose), protected
persons' positions only around a proximity episode, agencies nothing of each
other, auditors only the trail."""

from __future__ import annotations

from sqlalchemy import select

from ronda.api.auth import caller_of
from ronda.engine.episodes import Episode
from ronda.storage import alerts, records
from ronda.storage.models import AlertRow
from ronda.storage.models_security import AuditRow, UserRow
from ronda.tracking.records import Position
from ronda.types import DeviceId, PersonId, RuleId

from .conftest import World

PERIOD = {"start": "1970-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}


def ids(rows: list[dict[str, object]], key: str = "id") -> set[object]:
    return {r[key] for r in rows}


def test_lists_hold_only_what_each_role_may_see(world: World) -> None:
    persons = {
        u: ids(world.get(u, "/api/persons").json()) for u in ("admin_a", "supervisor_a", "off1", "off2")
    }
    assert persons["admin_a"] == persons["supervisor_a"] == {"pA1", "pA2", "vA1"}
    assert persons["off1"] == {"pA1", "vA1"} and persons["off2"] == {"pA2"}
    assert ids(world.get("supervisor_b", "/api/persons").json()) == {"pB1"}
    assert ids(world.get("off1", "/api/devices").json()) == {"dA1", "dV1"}
    assert ids(world.get("off1", "/api/orders").json()) == {"oA1"}
    assert ids(world.get("off1", "/api/alerts").json(), "person") == {"pA1"}
    assert ids(world.get("operator_a", "/api/alerts").json(), "person") == {"pA1", "pA2"}
    assert ids(world.get("off1", "/api/zones").json()["features"]) == {"zA1"}
    assert ids(world.get("supervisor_b", "/api/zones").json()["features"]) == {"zB1"}
    assert {r["monitored"] for r in world.get("off2", "/api/rules").json()} == {"pA2"}
    service = {"Authorization": "Bearer service-token-for-tests"}
    assert ids(world.client.get("/api/persons", headers=service).json()) == {"pA1", "pA2", "vA1", "pB1"}


def test_operators_see_persons_in_alert_and_others_only_with_a_purpose(world: World) -> None:
    with world.svc.sessions.begin() as s:
        s.get(AlertRow, world.alerts["A2"]).status = "resolved"  # type: ignore[union-attr]
    assert ids(world.get("operator_a", "/api/persons").json()) == {"pA1"}
    assert world.get("operator_a", "/api/persons/pA2").status_code == 404
    assert world.get("operator_a", "/api/persons/pA2/positions", params=PERIOD).status_code == 404
    why = "call from the police about a sighting, ref 4471"
    r = world.get("operator_a", "/api/persons/pA2/positions", purpose=why, params=PERIOD)
    assert r.status_code == 200
    with world.svc.sessions() as s:
        last = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one()
    assert (last.actor, last.person, last.purpose, last.outcome) == ("u-operator_a", "pA2", why, "ok")
    assert world.get("operator_a", "/api/persons/pB1", purpose=why).status_code == 404  # never another agency


def _positions(world: World, user: str, url: str) -> list[str]:
    r = world.get(user, url, params=PERIOD)
    assert r.status_code == 200, r.text
    return [f["properties"]["time"] for f in r.json()["features"]]


def test_protected_persons_positions_only_around_a_proximity_episode(world: World) -> None:
    hour = 3600.0
    with world.svc.sessions.begin() as s:
        conn = s.connection()
        records.insert_records(
            conn,
            [
                Position(DeviceId("dV1"), 2_000.0 + i * hour, 2_000.0 + i * hour, 40.0, -3.0, 10.0)
                for i in range(6)
            ],
        )
    url = "/api/persons/vA1/positions"
    assert _positions(world, "off1", url) == []  # no proximity episode: nothing shown
    with world.svc.sessions.begin() as s:  # pA1 came close to vA1 between 2 h and 3 h
        alerts.store_episode(
            s,
            Episode(
                "proximity",
                PersonId("pA1"),
                2_000.0 + 2 * hour,
                2_000.0 + 2 * hour,
                rule=RuleId("rpA1"),
                device=DeviceId("dA1"),
                end_s=2_000.0 + 3 * hour,
            ),
        )
    around = _positions(world, "off1", url)
    assert len(around) == 2  # 2 h and 3 h: within the episode and its 15-minute margins
    assert _positions(world, "supervisor_a", url) == around
    assert _positions(world, "off1", "/api/devices/dV1/positions") == around
    assert _positions(world, "admin_a", url) == []  # administrators do not act on proximity
    assert world.get("off2", url, params=PERIOD).status_code == 404  # not their case
    assert world.get("supervisor_b", url, params=PERIOD).status_code == 404  # another agency


def test_auditors_see_the_trail_and_nothing_else(world: World) -> None:
    for url in ("/api/persons", "/api/alerts", "/api/devices", "/api/zones", "/api/orders", "/api/status"):
        assert world.get("auditor_a", url).status_code == 403, url
    assert world.get("auditor_a", "/api/audit").status_code == 200


def test_new_objects_belong_to_the_creators_agency(world: World) -> None:
    r = world.client.post(
        "/api/persons", json={"id": "pN", "role": "monitored"}, headers=world.as_("supervisor_b")
    )
    assert r.status_code == 201
    assert world.get("supervisor_a", "/api/persons/pN").status_code == 404
    assert world.get("supervisor_b", "/api/persons/pN").status_code == 200
    # an officer of another agency cannot be given the case; one of the agency can
    assert (
        world.client.put(
            "/api/persons/pN/officer", json={"officer": "u-off1"}, headers=world.as_("supervisor_b")
        ).status_code
        == 404
    )
    assert (
        world.client.put(
            "/api/persons/pN/officer", json={"officer": "u-offb"}, headers=world.as_("supervisor_b")
        ).status_code
        == 200
    )
    assert "pN" in ids(world.get("offb", "/api/persons").json())
    # an order for another agency's person is refused as if the person did not exist
    r = world.client.post("/api/orders", json={"person": "pA1"}, headers=world.as_("supervisor_b"))
    assert r.status_code == 404


def test_the_live_stream_carries_only_what_the_caller_may_see(world: World) -> None:
    """The stream's filter (positions by device, alerts by person), as each role gets it."""
    from ronda.api.auth import live_view
    from ronda.api.policy import ALERTS, CASES_READ

    def view(username: str) -> tuple[set[str], set[str]]:
        with world.svc.sessions() as s:
            user = s.execute(select(UserRow).where(UserRow.username == username)).scalar_one()
        caller = caller_of(user, None, "test", None)
        with world.svc.sessions() as s:
            v = live_view(
                s, caller, CASES_READ.get(caller.role), ALERTS.get(caller.role), 900.0, world.clock.t
            )
        devices = {d for d in ("dA1", "dA2", "dB1", "dV1") if v.position({"device": d})}
        persons = {p for p in ("pA1", "pA2", "pB1") if v.alert({"person": p})}
        return devices, persons

    assert view("off1") == ({"dA1"}, {"pA1"})  # the victim's phone: no proximity episode now
    assert view("supervisor_a") == ({"dA1", "dA2"}, {"pA1", "pA2"})
    assert view("operator_a") == ({"dA1", "dA2"}, {"pA1", "pA2"})  # both in alert
    assert view("supervisor_b") == ({"dB1"}, {"pB1"})
    assert view("auditor_a") == (set(), set())
    with world.svc.sessions.begin() as s:  # pA1 is near vA1 now: her phone shows, to those who act on it
        alerts.store_episode(
            s,
            Episode(
                "proximity",
                PersonId("pA1"),
                world.clock.t - 60,
                world.clock.t - 60,
                rule=RuleId("rpA1"),
                device=DeviceId("dA1"),
            ),
        )
    assert view("off1")[0] == {"dA1", "dV1"} and "dV1" not in view("admin_a")[0]


def test_actions_are_recorded_under_the_signed_in_user_not_a_claimed_name(world: World) -> None:
    alert = world.alerts["A1"]
    r = world.client.post(
        f"/api/alerts/{alert}/acknowledge", json={"by": "someone else"}, headers=world.as_("operator_a")
    )
    assert r.status_code == 200 and r.json()["actions"][-1]["actor"] == "operator_a"
    r = world.client.post(
        f"/api/alerts/{alert}/notes",
        json={"by": "integration user", "text": "via CAD"},
        headers={"Authorization": "Bearer service-token-for-tests"},
    )
    assert r.json()["actions"][-1]["actor"] == "integration user"  # the service token acts for someone
