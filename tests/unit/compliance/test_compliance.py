"""A constructed history: 200 days monitored, violations at known days."""

from __future__ import annotations

import pytest

from ronda.compliance import Decision, DecisionKind, Policy, Step, Trend, ViolationRecord, decide, history
from ronda.compliance.models import DeviceUse, Handled
from ronda.compliance.service import programme
from ronda.errors import InvalidInput

DAY = 86400.0
T0 = 1_780_000_000.0  # monitoring began
POLICY = Policy.default()


def at(day: float) -> float:
    return T0 + day * DAY


def v(
    day: float, type: str = "exclusion", outcome: str | None = "violation_confirmed", hours: float = 1.0
) -> ViolationRecord:
    status = "resolved" if outcome else "new"
    return ViolationRecord(type, at(day), at(day) + hours * 3600, outcome, status)


HISTORY = [
    v(10, "inclusion"),
    v(20, "exclusion"),
    v(45, "tamper"),
    v(60, "inclusion", "false_alarm"),  # resolved as no violation: does not count
    v(95, "exclusion"),  # the last confirmed one
    v(120, "exclusion", "technical_issue"),
]


def test_days_clean_types_and_longest_streak() -> None:
    h = history("p1", T0, at(200), HISTORY, [], POLICY)
    assert h.days_monitored == 200
    assert h.clean_since_s == at(95) + 3600
    assert h.days_clean == 104  # day 95 + 1 h to day 200
    assert h.longest_clean_days == 104
    assert h.confirmed_by_type == {"exclusion": 2, "inclusion": 1, "tamper": 1}
    assert h.pending_by_type == {} and h.dismissed == 2
    assert sum(n for _, n in h.weekly) == 0  # none in the last 12 weeks (since day 116)


def test_trend_compares_the_last_window_with_the_one_before() -> None:
    # windows of 30 days ending at day 100: (70, 100] has 1, (40, 70] has 1 -> stable
    assert history("p1", T0, at(100), HISTORY, [], POLICY).trend is Trend.STABLE
    # at day 50: not 60 days of history yet
    assert history("p1", T0, at(50), HISTORY, [], POLICY).trend is Trend.NOT_ENOUGH_HISTORY
    h = history("p1", T0, at(130), HISTORY, [], POLICY)
    assert (h.recent, h.previous, h.trend) == (0, 1, Trend.IMPROVING)  # (100,130]: 0; (70,100]: 1
    more = [*HISTORY, v(110), v(115, "tamper")]
    h = history("p1", T0, at(130), more, [], POLICY)
    assert (h.recent, h.previous, h.trend) == (2, 1, Trend.WORSENING)


def finding(
    h_days: float, violations: list[ViolationRecord], decisions: list[Decision], step: str
) -> tuple[str, int]:
    h = history("p1", T0, at(h_days), violations, decisions, POLICY)
    f = next(f for f in h.findings if f.step.id == step)
    return f.status, f.days_counted


def test_suggestion_appears_when_the_record_is_met() -> None:
    assert finding(185, HISTORY, [], "shorter-curfew") == ("counting", 89)
    assert finding(186, HISTORY, [], "shorter-curfew") == ("due", 90)
    # the next step waits for the first to be accepted
    assert finding(400, HISTORY, [], "end-gps")[0] == "waiting_for_previous"


def test_an_unresolved_alert_blocks_the_suggestion_until_resolved() -> None:
    pending = [*HISTORY, v(150, "exclusion", None)]
    h = history("p1", T0, at(200), pending, [], POLICY)
    assert h.pending_by_type == {"exclusion": 1}
    assert next(f.status for f in h.findings) == "blocked_pending"
    resolved = [*HISTORY, v(150, "exclusion", "false_alarm")]
    assert finding(200, resolved, [], "shorter-curfew")[0] == "due"


def test_accept_and_reject_are_recorded_and_change_what_is_suggested() -> None:
    h = history("p1", T0, at(200), HISTORY, [], POLICY)
    with pytest.raises(InvalidInput) as e:
        decide(h, "shorter-curfew", DecisionKind.REJECTED, "officer-ana", "  ", at(200))
    assert e.value.field == "reason"
    with pytest.raises(InvalidInput):  # not suggested now
        decide(h, "end-gps", DecisionKind.ACCEPTED, "officer-ana", "", at(200))
    rejected = decide(
        h, "shorter-curfew", DecisionKind.REJECTED, "officer-ana", "new address not checked", at(200)
    )
    assert (rejected.kind, rejected.officer, rejected.reason) == (
        DecisionKind.REJECTED,
        "officer-ana",
        "new address not checked",
    )
    # a rejected step is earned afresh: 90 days from the rejection
    h2 = history("p1", T0, at(250), HISTORY, [rejected], POLICY)
    assert next((f.step.id, f.status, f.days_counted) for f in h2.findings) == (
        "shorter-curfew",
        "counting",
        50,
    )
    assert [d.kind for d in h2.decisions] == [DecisionKind.REJECTED]
    h3 = history("p1", T0, at(290), HISTORY, [rejected], POLICY)
    assert h3.findings[0].status == "due"
    accepted = decide(h3, "shorter-curfew", DecisionKind.ACCEPTED, "officer-ana", "", at(290))
    h4 = history("p1", T0, at(300), HISTORY, [rejected, accepted], POLICY)
    assert h4.findings[0].status == "accepted" and h4.findings[0].decided == accepted
    # the next step counts from the acceptance: 180 days under the shorter curfew
    assert (h4.findings[1].status, h4.findings[1].days_counted) == ("counting", 10)
    assert history("p1", T0, at(470), HISTORY, [rejected, accepted], POLICY).findings[1].status == "due"
    # a violation under the lighter regime restarts the count
    later = [*HISTORY, v(400)]
    f = history("p1", T0, at(470), later, [rejected, accepted], POLICY).findings[1]
    assert (f.status, f.days_counted) == ("counting", 69)


def test_an_open_violation_means_zero_days_clean() -> None:
    open_ = ViolationRecord("inclusion", at(199), None, "violation_confirmed", "resolved")
    h = history("p1", T0, at(200), [open_], [], POLICY)
    assert h.days_clean == 0 and h.findings[0].status == "counting"


def test_policy_is_configurable_and_checked() -> None:
    p = Policy((Step("end-curfew", 30, "End the curfew"),), trend_window_days=14)
    assert finding(0, [], [], "shorter-curfew")[0] == "counting"
    h = history("p1", T0, at(31), [], [], p)
    assert [(f.step.id, f.status) for f in h.findings] == [("end-curfew", "due")]
    assert Policy.from_json(p.as_json()) == p
    for bad, field in [
        ({"steps": [{"id": "a", "clean_days": 0, "suggestion": "x"}]}, "steps[0].clean_days"),
        ({"steps": [{"id": "a", "clean_days": 5}]}, "steps[0].suggestion"),
        ({"steps": [{"id": "a", "clean_days": 5, "suggestion": "x", "after": "b"}]}, "steps[0].after"),
        ({"steps": [], "trend_window_days": 2}, "trend_window_days"),
    ]:
        with pytest.raises(InvalidInput) as e:
            Policy.from_json(bad)
        assert e.value.field == field


def test_programme_figures() -> None:
    def alert(
        i: int, cause: str, sev: str, outcome: str | None, ack_s: float | None, res_s: float | None
    ) -> Handled:
        c = at(1) + i * 1000
        return Handled(
            i,
            cause,
            sev,
            "resolved" if res_s is not None else "new",
            outcome,
            c,
            None if ack_s is None else c + ack_s,
            None if res_s is None else c + res_s,
        )

    alerts = [
        alert(1, "exclusion", "high", "violation_confirmed", 60, 600),
        alert(2, "exclusion", "high", "false_alarm", 300, 900),
        alert(3, "exclusion", "high", None, None, None),
        alert(4, "comms_loss", "medium", "technical_issue", 100, 200),
    ]
    devices = [
        DeviceUse("tag-1", "gps_tag", 30.0, {"comms_loss": 2}),
        DeviceUse("tag-2", "gps_tag", 20.0, {}),
        DeviceUse("unit-1", "home_unit", 50.0, {"comms_loss": 1}),
    ]
    p = programme(
        at(0), at(30), alerts, devices, {"high": 240.0, "medium": 900.0}, [("shorter-curfew", "accepted")]
    )
    assert p.by_cause == {
        "comms_loss": {"technical_issue": 1},
        "exclusion": {"false_alarm": 1, "open": 1, "violation_confirmed": 1},
    }
    high = p.response["high"]
    assert (high["alerts"], high["acknowledged"], high["median_ack_s"], high["target_s"]) == (
        3,
        2,
        180.0,
        240.0,
    )
    assert high["within_target_share"] == round(1 / 3, 4)  # one of three answered within 4 minutes
    assert p.resolved == 3 and p.resolved_no_violation == 2 and p.no_violation_share == pytest.approx(2 / 3)
    tags = p.devices["gps_tag"]
    assert (tags["devices"], tags["device_days"], tags["with_failure"], tags["failure_share"]) == (
        2,
        50.0,
        1,
        0.5,
    )
    assert tags["per_100_device_days"] == {"comms_loss": 4.0}
    assert p.step_downs == {"shorter-curfew": {"accepted": 1, "rejected": 0}}
    rows = p.csv_rows()
    assert ("alerts_by_cause", "exclusion", "open", "1") in rows
    assert ("device_failures", "gps_tag", "per_100_device_days.comms_loss", "4") in rows
    assert ("resolution", "all", "no_violation_share", "0.6667") in rows
    with pytest.raises(InvalidInput):
        programme(at(1), at(0), [], [], {})
