"""Simulated prison days with injected incidents, through the facility monitor.

Every keep-separate meeting, out-of-bounds entry and missing inmate must be
alerted; reader dropouts and bands heard by two readers must raise nothing;
a headcount during lock-up is exact, and one during movement lists exactly
the inmates in transit."""

from __future__ import annotations

import os

import pytest
from tests.integration.prison.dayrun import CLEAR_S, DayRun, local, movement_instant, run_day

from ronda.facility import episodes as ep
from ronda.facility.headcount import Status
from ronda.simulator.prison import PrisonConfig

pytestmark = pytest.mark.slow
SEEDS = tuple(int(x) for x in os.environ.get("RONDA_PRISON_SEEDS", "1,2,3").split(","))
SLACK_S = 10.0


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def run(request: pytest.FixtureRequest) -> DayRun:
    from ronda.simulator.prison import simulate_day

    day = simulate_day(PrisonConfig(seed=request.param))
    moving = movement_instant(day, 7, 30)  # the early wings going to breakfast
    return run_day(day.config, [moving, local(day, 21, 0, 30)], day=day)


def overlaps(a0: float, a1: float | None, b0: float, b1: float) -> bool:
    return a0 <= b1 + SLACK_S and (a1 is None or a1 >= b0 - SLACK_S)


def test_the_day_has_its_incidents(run: DayRun) -> None:
    kinds = [i.kind for i in run.day.truth.incidents]
    for kind in ("meeting", "out_of_bounds", "missing", "dropout", "double_seen"):
        assert kind in kinds, f"the simulator injected no {kind}"
    assert run.day.truth.meetings and run.day.truth.out_of_bounds and run.day.truth.missing


def test_every_keep_separate_meeting_is_alerted(run: DayRun) -> None:
    alerts = run.of_type(ep.KEEP_SEPARATE)
    for (a, b), intervals in run.day.truth.meetings.items():
        for iv in intervals:
            if iv.end_s - iv.start_s < CLEAR_S:
                continue
            hits = [
                e
                for e in alerts
                if sorted(e.detail["members"]) == [a, b]
                and overlaps(e.start_s, e.end_s, iv.start_s, iv.end_s)
            ]
            assert hits, f"meeting of {a} and {b} at {iv} not alerted"
            assert hits[0].raised_s - iv.start_s <= 30.0, "alerted too late"


def test_every_out_of_bounds_entry_is_alerted(run: DayRun) -> None:
    alerts = run.of_type(ep.OUT_OF_BOUNDS)
    for person, intervals in run.day.truth.out_of_bounds.items():
        for iv in intervals:
            if iv.end_s - iv.start_s < CLEAR_S:
                continue
            hits = [
                e for e in alerts if e.person == person and overlaps(e.start_s, e.end_s, iv.start_s, iv.end_s)
            ]
            assert hits, f"{person} out of bounds at {iv} not alerted"
            assert hits[0].raised_s - iv.start_s <= 30.0


def test_every_missing_inmate_is_alerted(run: DayRun) -> None:
    alerts = run.of_type(ep.NO_SIGHTING)
    limit_s = run.day.facility.params.no_sighting_s
    for person, gone_s in run.day.truth.missing.items():
        hits = [e for e in alerts if e.person == person and abs(e.start_s - gone_s) <= 2 * SLACK_S]
        assert hits, f"missing {person} (silent from {gone_s}) not alerted"
        assert hits[0].raised_s <= gone_s + limit_s + SLACK_S


def test_no_alert_without_a_real_incident(run: DayRun) -> None:
    """Reader dropouts and double-seen bands raise nothing: every alert of the
    day is one of the injected incidents."""
    truth = run.day.truth
    for e in run.episodes:
        if e.type == ep.KEEP_SEPARATE:
            a, b = sorted(e.detail["members"])
            assert any(
                overlaps(e.start_s, e.end_s, iv.start_s, iv.end_s) for iv in truth.meetings.get((a, b), [])
            ), e
        elif e.type == ep.OUT_OF_BOUNDS:
            assert e.person is not None
            ivs = truth.out_of_bounds.get(e.person, [])
            assert any(overlaps(e.start_s, e.end_s, iv.start_s, iv.end_s) for iv in ivs), e
        elif e.type == ep.NO_SIGHTING:
            assert e.person in truth.missing, e
        elif e.type in (ep.BAND_TAMPER, ep.DURESS):
            assert any(i.person == e.person and i.kind in ("tamper", "duress") for i in truth.incidents), e
        else:
            pytest.fail(f"unexpected alert {e.type}: {e}")


def test_dropouts_and_double_seen_bands_raise_nothing(run: DayRun) -> None:
    """The same, said directly: nobody whose band was heard twice, nor anybody
    in a zone whose reader dropped out, has an alert during the incident."""
    truth = run.day.truth
    incident_people = {i.person for i in truth.incidents if i.kind not in ("dropout", "double_seen")}
    incident_people |= {i.other for i in truth.incidents if i.other}
    for inc in run.day.double_seen:
        assert inc.person not in incident_people
        raised = [e for e in run.episodes if e.person == inc.person]
        assert not raised, f"{inc.person} was heard by two readers and got {raised}"
    for inc in run.day.dropouts:
        during = [
            e
            for e in run.episodes
            if e.zone == inc.zone
            and e.person not in incident_people
            and overlaps(e.start_s, e.end_s, inc.start_s, inc.end_s)
        ]
        assert not during, f"reader {inc.reader} dropped out and {during} was raised"
    assert not run.of_type(ep.READER_OFFLINE) and not run.of_type(ep.FEED_LOSS)


def test_headcount_during_lock_up_is_exact(run: DayRun) -> None:
    day = run.day
    t = local(day, 21, 0, 30)
    count = run.counts[t]
    missing = day.missing_at(t)
    assert set(count.of(Status.MISSING)) == missing
    counted = set(count.of(Status.COUNTED))
    assert counted == set(day.facility.inmates) - missing
    for person in counted:  # each where he really is: his own cell
        assert (
            count.placements[person].observed_zone
            == day.zone_at(person, t)
            == day.facility.inmates[person].cell
        )
    for zone, zc in count.zones.items():
        real = {p for p in day.facility.inmates if p not in missing and day.zone_at(p, t) == zone}
        assert zc.observed == len(real), zone


def test_scheduled_morning_count_is_exact(run: DayRun) -> None:
    at = local(run.day, 6, 30)
    assert at in run.scheduled, "the 06:30 count did not fall due"
    count = run.scheduled[at]
    assert count.exact, count.discrepancies
    assert count.summary()["counted"] == len(run.day.facility.inmates)


def test_headcount_during_movement_lists_exactly_the_inmates_in_transit(run: DayRun) -> None:
    day = run.day
    t = min(run.counts)
    count = run.counts[t]
    in_corridor = {p for p in day.facility.inmates if day.zone_at(p, t) == "corridor"} - day.missing_at(t)
    assert in_corridor, "the count was not taken during a movement"
    assert set(count.of(Status.IN_TRANSIT)) == in_corridor
    for person in count.of(Status.COUNTED) + count.of(Status.OUT_OF_PLACE):
        assert count.placements[person].observed_zone == day.zone_at(person, t)
