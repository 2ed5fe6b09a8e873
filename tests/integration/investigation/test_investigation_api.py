"""Investigation through the API, as users meet it, on SQLite and PostgreSQL:
correlation over stored trails (runs recorded and audited, scoped to the
caller's agency, never listing a protected person), CSV batches, compliance
histories with officers' decisions, programme figures in JSON and CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ronda.api.app import create_app
from ronda.api.auth import hasher
from ronda.geo.projection import LocalProjection
from ronda.pipeline.service import LiveService, ServiceConfig
from ronda.storage import cases, records
from ronda.storage import security as users
from ronda.storage.db import connect, migrate
from ronda.storage.models import AlertActionRow, AlertRow, DeviceRow, EpisodeRow, PersonRow
from ronda.storage.models_evidence import ComplianceDecisionRow, CorrelationRunRow
from ronda.storage.models_security import AuditRow
from ronda.tracking.records import Position
from ronda.types import DeviceId, to_iso

LAT, LON = 40.4168, -3.7038
SCENE = LocalProjection(LAT, LON)
WS = 1780315200.0  # 2026-06-01T12:00:00Z
WE = WS + 3600
MID = WS + 1800
DAY = 86400.0
PASSWORD = "correct horse battery staple"


def path_of(person: str) -> list[tuple[float, float, float, float]]:
    """(t, x, y, accuracy) in metres around the scene: each person one case."""
    early, late = WS - 3600, WE + 3600
    if person in ("walker", "victim", "stranger"):  # through the scene on foot
        return [(t, 1.2 * (t - MID), 10.0, 8.0) for t in np.arange(early, late, 60.0)]
    if person == "between":  # 15 m/s, fixes 450 m either side, the line 30 m away
        return [(t, 15.0 * (t - MID), 30.0, 10.0) for t in np.arange(MID - 1830, MID + 1831, 60.0)]
    if person == "silent":  # no signal 14:10-14:50, 600 m away before, 700 m after
        ts = [*np.arange(early, WS + 601, 60.0), *np.arange(WS + 3000, late, 60.0)]
        return [(t, 600.0, 0.0, 10.0) if t <= WS + 600 else (t, 0.0, -700.0, 10.0) for t in ts]
    if person == "outsider":  # 127 m out, 15 m accuracy: just outside 100 m
        ts = list(np.arange(early, late, 30.0))
        return [
            (t, 127 * math.cos(i * 36 / 127), 127 * math.sin(i * 36 / 127), 15.0) for i, t in enumerate(ts)
        ]
    raise AssertionError(person)


@dataclass
class World:
    client: TestClient
    svc: LiveService

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    db = connect(db_url)
    migrate(db)
    svc = LiveService(db, config=ServiceConfig(tick_s=0.2))
    with svc.sessions.begin() as s:
        users.create_agency(s, "north", "North district")
        h = hasher.hash(PASSWORD)
        users.create_user(s, "u-sup", "sup", "supervisor", "main", h)
        users.create_user(s, "u-ana", "ana", "officer", "main", h)
        users.create_user(s, "u-bob", "bob", "officer", "main", h)
        users.create_user(s, "u-op", "op", "operator", "main", h)
        users.create_user(s, "u-aud", "aud", "auditor", "main", h)
        for person in ("walker", "between", "silent", "outsider", "victim", "stranger"):
            role = "protected" if person == "victim" else "monitored"
            cases.create_person(s, person, role, person.title())
            kind = "phone" if person == "victim" else "gps_tag"
            cases.create_device(s, f"tag-{person}", kind)
            cases.assign_device(s, f"tag-{person}", person, "setup", at_s=WS - 30 * DAY)
        # the stranger is another agency's: never shown to this agency's staff
        s.get_one(PersonRow, "stranger").agency_id = "north"
        s.get_one(DeviceRow, "tag-stranger").agency_id = "north"
        for p in ("walker", "between", "silent", "outsider"):
            s.get_one(PersonRow, p).officer_id = "u-ana"
    recs = []
    for person in ("walker", "between", "silent", "outsider", "victim", "stranger"):
        pts = path_of(person)
        lon, lat = SCENE.to_lonlat([p[1] for p in pts], [p[2] for p in pts])
        for (t, _, _, acc), la, lo in zip(pts, lat, lon, strict=True):
            recs.append(
                Position(
                    DeviceId(f"tag-{person}"),
                    float(t),
                    float(t) + 5,
                    lat=float(la),
                    lon=float(lo),
                    accuracy_m=acc,
                )
            )
    with db.begin() as conn:
        records.insert_records(conn, recs)
    with TestClient(create_app(svc, "service-token")) as client:
        yield World(client, svc)
    db.dispose()


INCIDENT = {
    "id": "case-2026-118",
    "start": to_iso(WS),
    "end": to_iso(WE),
    "lat": LAT,
    "lon": LON,
    "radius_m": 100,
}


def test_correlation_lists_passers_by_ranked_and_records_the_run(world: World) -> None:
    sup = world.login("sup")
    r = world.client.post(
        "/api/investigations/correlate",
        json={"purpose": "burglary, warrant W-55", "incidents": [INCIDENT]},
        headers=sup,
    )
    assert r.status_code == 201, r.text
    run = r.json()
    (res,) = run["results"]
    assert [m["person"] for m in res["near"]] == ["walker", "between"]
    walker, between = res["near"]
    assert (walker["method"], walker["confidence"], walker["min_distance_m"]) == ("fix", "high", 10.0)
    assert walker["supporting_fixes"][0]["device"] == "tag-walker"
    assert between["method"] == "interpolated" and between["near_fixes"] == 0
    assert [round(f["distance_m"]) for f in between["supporting_fixes"]] == [451, 451]
    assert [u["person"] for u in res["could_not_be_placed"]] == ["silent"]
    (silence,) = res["could_not_be_placed"][0]["silences"]
    assert (silence["from"], silence["to"]) == (to_iso(WS + 600), to_iso(WS + 3000))
    # the outsider was placed elsewhere; the victim's phone and the other agency's person are never searched
    assert res["persons_considered"] == 4 and res["persons_elsewhere"] == 1
    assert run["purpose"] == "burglary, warrant W-55" and run["requester"] == "u-sup"
    assert run["algorithm"] == "ronda-correlation/1" and run["parameters"]["max_gap_s"] == 900.0

    # recorded, readable by an auditor, and audited with the run's id
    aud = world.login("aud")
    listed = world.client.get("/api/investigations/runs", headers=aud).json()
    assert [x["id"] for x in listed] == [run["id"]] and "results" not in listed[0]
    again = world.client.get(f"/api/investigations/runs/{run['id']}", headers=aud).json()
    assert again["results"] == run["results"] and again["incidents"][0]["id"] == "case-2026-118"
    assert world.client.get("/api/investigations/runs/999", headers=aud).status_code == 404
    with world.svc.sessions() as s:
        row = s.execute(select(CorrelationRunRow)).scalar_one()
        assert row.persons_listed == 3 and row.requester_role == "supervisor"
        audit = s.execute(select(AuditRow).where(AuditRow.action == "correlate")).scalars().all()
        assert [(a.actor, a.target) for a in audit] == [("u-sup", f"correlation run {run['id']}")]


def test_correlation_needs_a_purpose_and_the_right_role(world: World) -> None:
    sup = world.login("sup")
    r = world.client.post("/api/investigations/correlate", json={"incidents": [INCIDENT]}, headers=sup)
    assert r.status_code == 422 and r.json()["field"] == "body.purpose"
    # the purpose header works too
    r = world.client.post(
        "/api/investigations/correlate",
        json={"incidents": [INCIDENT]},
        headers={**sup, "X-Ronda-Purpose": "case 2026-118"},
    )
    assert r.status_code == 201 and r.json()["purpose"] == "case 2026-118"
    for who in ("op", "ana"):
        r = world.client.post(
            "/api/investigations/correlate",
            json={"purpose": "x-check", "incidents": [INCIDENT]},
            headers=world.login(who),
        )
        assert r.status_code == 403
    bad = {**INCIDENT, "radius_m": -5}
    r = world.client.post(
        "/api/investigations/correlate", json={"purpose": "case", "incidents": [bad]}, headers=sup
    )
    assert r.status_code == 422 and r.json()["field"] == "body.incidents[0].radius_m"
    assert (
        world.client.post("/api/investigations/correlate", json={"purpose": "c", "incidents": []}).status_code
        == 401
    )


def test_csv_batch_runs_every_incident_or_names_the_bad_lines(world: World) -> None:
    sup = {**world.login("sup"), "Content-Type": "text/csv"}
    sq = [(-50.0, -50.0), (50.0, -50.0), (50.0, 50.0), (-50.0, 50.0), (-50.0, -50.0)]
    lon, lat = SCENE.to_lonlat([p[0] for p in sq], [p[1] for p in sq])
    wkt = "POLYGON((" + ",".join(f"{a:.7f} {b:.7f}" for a, b in zip(lon, lat, strict=True)) + "))"
    text = (
        "id,from,to,lat,lon,radius_m,area,distance_m\n"
        f"A-1,{to_iso(WS)},{to_iso(WE)},{LAT},{LON},100,,\n"
        f'A-2,{to_iso(WS)},{to_iso(WE)},,,,"{wkt}",0\n'
        f"A-3,{to_iso(WS - 7 * DAY)},{to_iso(WS - 7 * DAY + 3600)},{LAT},{LON},100,,\n"
    )
    r = world.client.post(
        "/api/investigations/correlate/batch",
        params={"purpose": "series of thefts"},
        content=text,
        headers=sup,
    )
    assert r.status_code == 201, r.text
    by_id = {x["incident"]["id"]: x for x in r.json()["results"]}
    assert [m["person"] for m in by_id["A-1"]["near"]] == ["walker", "between"]
    assert {m["person"] for m in by_id["A-2"]["near"]} == {"walker", "between"}  # inside the square: 0 m
    assert by_id["A-2"]["near"][0]["min_distance_m"] == 0.0
    # a week earlier nobody has any fix: each monitored person is unplaced, none is "absent"
    assert by_id["A-3"]["near"] == [] and len(by_id["A-3"]["could_not_be_placed"]) == 4
    bad = text + "A-4,yesterday,today,40,-3,100,,\n"
    r = world.client.post(
        "/api/investigations/correlate/batch", params={"purpose": "thefts"}, content=bad, headers=sup
    )
    assert r.status_code == 422 and r.json()["details"] == [
        "line 5, field 'from': not an instant with a time zone: 'yesterday'"
    ]
    # an analyst reading Portuguese gets each line's reason in Portuguese
    r = world.client.post(
        "/api/investigations/correlate/batch",
        params={"purpose": "thefts"},
        content=bad,
        headers={**sup, "Accept-Language": "pt-PT"},
    )
    from ronda.i18n import gettext

    reason = gettext("pt", "not an instant with a time zone: {text}", text="'yesterday'")
    assert reason != "not an instant with a time zone: 'yesterday'"
    assert r.headers["content-language"] == "pt" and r.json()["details"] == [
        gettext("pt", "line {line}", line=5)
        + ", "
        + gettext("pt", "field '{field}'", field="from")
        + ": "
        + reason
    ]
    with world.svc.sessions() as s:
        assert len(s.execute(select(CorrelationRunRow)).all()) == 1  # the refused file ran nothing


def _violation(
    s: object, person: str, day: float, type: str, outcome: str | None, created: float | None = None
) -> int:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    t0 = WS - 200 * DAY
    start = t0 + day * DAY
    ep = EpisodeRow(
        type=type,
        subject=f"r-{person}-{day}",
        person_id=person,
        rule_id=f"r-{person}",
        device_id=f"tag-{person}",
        start_s=start,
        raised_s=start + 30,
        end_s=start + 3600,
    )
    s.add(ep)
    s.flush()
    created_s = start + 30 if created is None else created
    alert = AlertRow(
        episode_id=ep.id,
        status="resolved" if outcome else "new",
        severity="high",
        outcome=outcome,
        created_s=created_s,
        updated_s=created_s,
    )
    s.add(alert)
    s.flush()
    if outcome:
        s.add(
            AlertActionRow(
                alert_id=alert.id,
                action="acknowledge",
                actor="op",
                from_status="new",
                to_status="acknowledged",
                text="",
                at_s=created_s + 120,
            )
        )
        s.add(
            AlertActionRow(
                alert_id=alert.id,
                action="resolve",
                actor="op",
                from_status="acknowledged",
                to_status="resolved",
                text="",
                at_s=created_s + 900,
            )
        )
    return alert.id


def test_compliance_history_and_officer_decisions(world: World) -> None:
    with world.svc.sessions.begin() as s:
        s.get_one(DeviceRow, "tag-walker")  # monitored since WS - 30 days by the fixture: move it back
        for a in cases.assignments(s, person="walker"):
            a.start_s = WS - 200 * DAY
        _violation(s, "walker", 10, "inclusion", "violation_confirmed")
        _violation(s, "walker", 95, "exclusion", "violation_confirmed")
        _violation(s, "walker", 120, "exclusion", "false_alarm")
    ana = world.login("ana")
    as_of = {"as_of": to_iso(WS)}
    h = world.client.get("/api/persons/walker/compliance", params=as_of, headers=ana).json()
    assert (h["days_monitored"], h["days_clean"]) == (200, 104)
    assert h["violations"]["confirmed_by_type"] == {"exclusion": 1, "inclusion": 1}
    assert h["violations"]["dismissed"] == 1
    first = h["step_down"][0]
    assert (first["step"]["id"], first["status"], first["days_counted"]) == ("shorter-curfew", "due", 104)
    assert h["step_down"][1]["status"] == "waiting_for_previous"
    # another officer's caseload is not visible (404, as if it did not exist)
    assert world.client.get("/api/persons/walker/compliance", headers=world.login("bob")).status_code == 404

    url = "/api/persons/walker/compliance/decisions"
    r = world.client.post(url, json={"step": "shorter-curfew", "decision": "rejected"}, headers=ana)
    assert r.status_code == 422 and r.json()["field"] == "body.reason"
    r = world.client.post(
        url,
        json={"step": "shorter-curfew", "decision": "rejected", "reason": "victim moved nearby"},
        headers=ana,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["decision"]["officer"] == "ana" and body["decision"]["decision"] == "rejected"
    assert body["compliance"]["step_down"][0]["status"] == "counting"
    assert body["compliance"]["decisions"][0]["reason"] == "victim moved nearby"
    r = world.client.post(url, json={"step": "shorter-curfew", "decision": "accepted"}, headers=ana)
    assert r.status_code == 422 and "not suggested now" in r.json()["error"]
    with world.svc.sessions() as s:
        (row,) = s.execute(select(ComplianceDecisionRow)).scalars()
        assert (row.person_id, row.step_id, row.decision, row.officer) == (
            "walker",
            "shorter-curfew",
            "rejected",
            "ana",
        )
        assert row.facts["days_counted"] >= 104 and row.facts["status"] == "due"
        assert (
            s.execute(select(AuditRow).where(AuditRow.action == "step_down")).scalars().one().person
            == "walker"
        )


def test_programme_figures_in_json_and_csv(world: World) -> None:
    with world.svc.sessions.begin() as s:
        _violation(s, "walker", 190, "exclusion", "violation_confirmed")
        _violation(s, "between", 191, "exclusion", "false_alarm")
        _violation(s, "silent", 192, "inclusion", None)
        _violation(s, "stranger", 192, "inclusion", "false_alarm")  # another agency: not counted
    sup = world.login("sup")
    period = {"from": to_iso(WS - 20 * DAY), "to": to_iso(WS)}
    p = world.client.get("/api/compliance/programme", params=period, headers=sup).json()
    assert p["alerts_by_cause"] == {
        "exclusion": {"false_alarm": 1, "violation_confirmed": 1},
        "inclusion": {"open": 1},
    }
    high = p["response_times"]["high"]
    assert (high["alerts"], high["acknowledged"], high["median_ack_s"], high["target_s"]) == (
        3,
        2,
        120.0,
        240.0,
    )
    assert p["resolved"] == 2 and p["no_violation_share"] == 0.5
    tags = p["device_failures"]["gps_tag"]
    assert tags["devices"] == 4 and tags["device_days"] == 80.0  # 4 tags worn the last 20 days of the period
    r = world.client.get("/api/compliance/programme", params={**period, "format": "csv"}, headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["resolution", "all", "no_violation_share", "0.5000"] in rows
    assert world.client.get("/api/compliance/programme", headers=world.login("op")).status_code == 403
    page = world.client.get("/compliance")
    assert page.status_code == 200 and '<script type="module" src="/compliance.js">' in page.text
    script = world.client.get("/compliance.js")
    assert script.status_code == 200 and "/api/compliance/programme" in script.text


def test_step_down_policy_is_configurable_by_admins(world: World) -> None:
    with world.svc.sessions.begin() as s:
        users.create_user(s, "u-adm", "adm", "admin", "main", hasher.hash(PASSWORD))
    adm = world.login("adm")
    policy = {
        "steps": [{"id": "end-curfew", "clean_days": 30, "suggestion": "End the curfew"}],
        "trend_window_days": 14,
    }
    assert world.client.put("/api/compliance/policy", json=policy, headers=adm).status_code == 200
    assert (
        world.client.get("/api/compliance/policy", headers=world.login("ana")).json()["steps"][0]["id"]
        == "end-curfew"
    )
    bad = {"steps": [{"id": "x", "clean_days": 0, "suggestion": "?"}]}
    r = world.client.put("/api/compliance/policy", json=bad, headers=adm)
    assert r.status_code == 422 and r.json()["field"] == "body.steps[0].clean_days"
    assert (
        world.client.put("/api/compliance/policy", json=policy, headers=world.login("sup")).status_code == 403
    )
