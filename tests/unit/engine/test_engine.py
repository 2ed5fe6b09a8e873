"""The engine, as tables of record sequences and what a monitoring centre must see."""

from __future__ import annotations

import json

import pytest

from ronda.engine.compiled import compile_caseload
from ronda.engine.engine import Engine
from ronda.engine.episodes import Episode
from ronda.engine.snapshot import restore, snapshot
from ronda.engine.state import Columns
from ronda.tracking.records import EventKind
from ronda.types import from_iso

from .builders import CENTRE, T0, Run, caseload, event, fix, nofix

HOLD = 5.0  # the reorder hold: a device's upload is processed once it has been quiet this long


def walk(t0: float, points: list[tuple[float, float]], every_s: float = 60.0, **kw: object) -> list:
    return [fix(t0 + i * every_s, x, y, **kw) for i, (x, y) in enumerate(points)]  # type: ignore[arg-type]


# ------------------------------------------------------------------ hysteresis

# Each row: fixes (x, y, accuracy, speed) one a minute, and whether an exclusion
# alert on the park (x 1000..1400, y 0..400) must be raised.
HYSTERESIS = [
    (
        "drift along the edge, inside by less than the accuracy",
        [(1000 + d, 200, 25.0, 0.0) for d in (10, -15, 20, 5, -10, 18, 12, -5, 15, 8)],
        False,
    ),
    (
        "standing outside, noisy",
        [(980 + d, 200, 30.0, 0.0) for d in (-20, 10, -5, 15, -25, 0, 5, -10)],
        False,
    ),
    (
        "one deep spike, standing still",
        [(900, 200, 8, 0), (900, 200, 8, 0), (1300, 200, 5, 0), (900, 200, 8, 0), (900, 200, 8, 0)],
        False,
    ),
    (
        "two shallow fixes then out",
        [(950, 200, 10, 0), (1030, 200, 10, 0), (1040, 200, 10, 0), (950, 200, 10, 0), (950, 200, 10, 0)],
        False,
    ),
    (
        "walks in and stays",
        [
            (900, 200, 8, 1.4),
            (985, 200, 8, 1.4),
            (1070, 200, 8, 1.4),
            (1150, 200, 8, 1.4),
            (1200, 200, 8, 0),
            (1200, 200, 8, 0),
        ],
        True,
    ),
    ("enters slowly with poor accuracy and stays", [(1000 + 25 * i, 200, 20, 0.4) for i in range(8)], True),
]


@pytest.mark.parametrize(("label", "points", "alert"), HYSTERESIS, ids=[r[0] for r in HYSTERESIS])
def test_exclusion_hysteresis(
    label: str, points: list[tuple[float, float, float, float]], alert: bool
) -> None:
    run = Run.new()
    for i, (x, y, acc, speed) in enumerate(points):
        run.send(fix(T0 + 60 * i, x, y, acc=acc, speed=speed))
    run.tick(T0 + 60 * len(points) + 60)
    assert bool(run.of("exclusion")) is alert, label


def test_real_violation_alerts_within_a_few_fixes_and_starts_at_event_time() -> None:
    run = Run.new()
    pts = [(900, 200), (990, 200), (1080, 200), (1170, 200), (1250, 200)]
    for i, (x, y) in enumerate(pts):
        run.send(fix(T0 + 60 * i, x, y, speed=1.5))
    run.tick(T0 + 60 * 5)
    [ep] = run.of("exclusion")
    assert ep.rule == "park" and ep.person == "p1"
    assert ep.start_s == T0 + 120  # the first fix inside by more than its uncertainty
    assert ep.raised_s <= T0 + 180 + 2 + HOLD + 60  # decided by the next fix or the one after
    assert ep.end_s is None


def test_a_fix_that_leaves_no_doubt_alerts_at_once() -> None:
    """Walking in at a speed its fixes agree with, 150 m deep with 5 m accuracy."""
    run = Run.new()
    run.send(fix(T0 - 60, 970, 200, speed=1.5, acc=5))
    run.send(fix(T0, 1060, 200, speed=1.5, acc=5))
    run.tick(T0 + 2 + HOLD)
    [ep] = run.of("exclusion")
    assert ep.start_s == T0
    assert ep.raised_s == T0 + 2 + HOLD  # the first fix inside alone decided


def test_leaving_closes_the_episode_at_the_first_compliant_fix() -> None:
    run = Run.new()
    inside = [(1200, 200)] * 4
    outside = [(1200 - 150 * (i + 1), 200) for i in range(6)]
    for i, (x, y) in enumerate(inside + outside):
        run.send(fix(T0 + 60 * i, x, y, speed=1.0 if i >= 4 else 0.0))
    run.tick(T0 + 60 * 12)
    [ep] = run.of("exclusion")
    assert ep.end_s == T0 + 60 * 5  # x = 900 at 5 min: first fix clearly outside


def test_biased_run_of_a_few_minutes_does_not_split_an_episode() -> None:
    """Two minutes of fixes biased 100 m while standing deep inside: still one alert."""
    run = Run.new()
    xs = [1300] * 5 + [1050 - 100] * 2 + [1300] * 5
    for i, x in enumerate(xs):
        run.send(fix(T0 + 60 * i, x, 200, acc=6))
    run.tick(T0 + 60 * 14)
    assert len(run.of("exclusion")) == 1
    assert run.of("exclusion")[0].end_s is None


# ---------------------------------------------------------------- ordering


def test_batch_received_shuffled_is_processed_in_event_time_order() -> None:
    run = Run.new()
    times = [T0 + 60 * i for i in range(5)]
    xs = [1200, 1200, 1200, 1200, 1200]
    batch = [
        fix(t, x, 200, received=T0 + 301 + (i * 7) % 4)
        for i, (t, x) in enumerate(zip(times, xs, strict=True))
    ]
    batch.reverse()
    run.send(*batch)
    quiet_at = max(r.received_s for r in batch) + HOLD
    run.tick(quiet_at)
    [ep] = run.of("exclusion")
    assert ep.start_s == T0  # event time of the earliest fix, though it arrived last
    assert ep.raised_s == quiet_at  # decided once the upload was complete


def test_duplicates_and_stale_records_are_dropped_and_counted() -> None:
    run = Run.new()
    a = fix(T0, 0, 0)
    run.send(a, fix(T0 + 60, 0, 0), fix(T0 + 120, 0, 0))
    run.tick(T0 + 200)
    run.send(fix(T0 + 60, 0, 0, received=T0 + 400), fix(T0 + 30, 1300, 200, received=T0 + 401))
    run.tick(T0 + 500)
    c = run.engine.counters
    assert c["duplicate"] == 1 and c["stale"] == 1
    assert run.of("exclusion") == []  # the stale fix in the park changed nothing


def test_late_burst_revealing_a_violation_starts_at_event_time_and_is_raised_on_arrival() -> None:
    run = Run.new()
    run.send(fix(T0, 900, 200))
    # Out of coverage for 20 minutes inside the park; the buffered fixes arrive together.
    burst = [fix(T0 + 60 * i, 1200, 200, received=T0 + 1500) for i in range(2, 20)]
    run.send(*burst)
    run.tick(T0 + 1500 + HOLD)
    [ep] = run.of("exclusion")
    assert ep.start_s == T0 + 120
    assert ep.raised_s == T0 + 1500 + HOLD
    [loss] = run.of("comms_loss")
    assert loss.start_s == T0 + 2 + 900 and loss.end_s == T0 + 1500


# ------------------------------------------------------------------- timers


def test_comms_loss_fires_on_the_clock_without_any_record_from_the_device() -> None:
    run = Run.new()
    run.send(fix(T0, 0, 0, received=T0 + 1))
    run.tick(T0 + 1 + 900)
    assert run.of("comms_loss") == []  # not more than the timeout yet
    run.tick(T0 + 1 + 901)
    [ep] = run.of("comms_loss")
    assert (ep.start_s, ep.raised_s, ep.device) == (T0 + 901, T0 + 902, "t1")
    run.send(fix(T0 + 2000, 0, 0, received=T0 + 2001))
    assert ep.end_s == T0 + 2001


def test_protected_persons_phone_has_no_device_health_alerts() -> None:
    run = Run.new()
    run.send(fix(T0, 3000, 3000, dev="ph1", battery=5), nofix(T0 + 60, dev="ph1"))
    run.tick(T0 + 10_000)
    assert [e.type for e in [*run.opened]] == []


def test_curfew_episode_closes_when_the_curfew_ends_even_without_fixes() -> None:
    run = Run.new(with_home_unit=False)
    night = from_iso("2026-06-01T20:00:00Z")  # 22:00 Madrid
    for i in range(6):
        run.send(fix(night + 60 * i, 2000, 0, speed=0.0))
    run.tick(night + 600)
    [ep] = run.of("inclusion")
    assert ep.rule == "curfew" and ep.end_s is None
    for k in range(1, 9):  # the tag goes quiet; the clock still moves
        run.tick(night + 3600 * k)
    assert ep.end_s == from_iso("2026-06-02T04:00:00Z")  # 06:00 Madrid


# ------------------------------------------------------------------ health


def test_tamper_opens_at_once_and_closes_when_restored() -> None:
    run = Run.new()
    run.send(event(T0, EventKind.STRAP_TAMPER, received=T0 + 3))
    [ep] = run.of("tamper")
    assert (ep.start_s, ep.raised_s) == (T0, T0 + 3)
    run.send(event(T0 + 600, EventKind.STRAP_RESTORED))
    assert ep.end_s == T0 + 600


def test_low_battery_at_threshold_and_recovery_with_hysteresis() -> None:
    run = Run.new()
    levels = [30, 20, 16, 15, 14, 16, 17, 18, 40]
    for i, b in enumerate(levels):
        run.send(fix(T0 + 60 * i, 0, 0, battery=b))
    run.tick(T0 + 60 * 10)
    [ep] = run.of("low_battery")
    assert ep.start_s == T0 + 180  # 15 %: at or below the threshold
    assert ep.end_s == T0 + 60 * 7  # 18 %: above threshold + 2


def test_no_fix_when_reporting_without_a_fix_beyond_the_timeout() -> None:
    run = Run.new()
    run.send(fix(T0, 0, 0))
    for i in range(1, 20):
        run.send(nofix(T0 + 60 * i))
    run.send(fix(T0 + 60 * 20, 0, 0))
    run.tick(T0 + 60 * 21)
    [ep] = run.of("no_fix")
    assert ep.start_s == T0 + 900
    assert ep.end_s == T0 + 60 * 20


def test_no_fix_is_not_raised_for_a_coverage_gap_whose_fixes_arrive_late() -> None:
    run = Run.new()
    run.send(fix(T0, 0, 0))
    # silent for 16 minutes, then one report without a fix, then the buffered fixes
    run.send(nofix(T0 + 960, received=T0 + 962))
    run.tick(T0 + 980)
    run.send(fix(T0 + 1020, 0, 0))
    run.tick(T0 + 1100)
    assert run.of("no_fix") == []


# -------------------------------------------------------------- home unit


def test_home_unit_presence_outweighs_indoor_gps_drift_during_curfew() -> None:
    run = Run.new()
    night = from_iso("2026-06-01T20:30:00Z")
    run.send(event(night - 600, EventKind.TAG_PRESENT, dev="u1"))
    for i in range(10):  # drift 250 m away, claimed accuracy 30 m
        run.send(fix(night + 60 * i, 250, 0, acc=30))
    run.tick(night + 900)
    assert run.of("inclusion") == []


def test_curfew_broken_when_unit_reports_absent_and_gps_agrees() -> None:
    run = Run.new()
    night = from_iso("2026-06-01T20:30:00Z")
    run.send(event(night - 600, EventKind.TAG_PRESENT, dev="u1"))
    run.send(event(night, EventKind.TAG_ABSENT, dev="u1"))
    for i in range(6):
        run.send(fix(night + 60 * (i + 1), 150 + 100 * i, 0, speed=1.6))
    run.tick(night + 600)
    [ep] = run.of("inclusion")
    assert ep.rule == "curfew"
    # Back home: the unit's word closes the episode at once.
    run.send(event(night + 3000, EventKind.TAG_PRESENT, dev="u1"))
    assert ep.end_s == night + 3000


# -------------------------------------------------------------- proximity


def test_proximity_between_two_moving_devices() -> None:
    run = Run.new()
    for i in range(10):
        t = T0 + 60 * i
        run.send(fix(t, 3000 - 150 * i, 0, speed=2.5))  # wearer heads west
        if i % 2 == 0:
            run.send(fix(t + 5, 1500, 0, dev="ph1", speed=0.0))  # victim stays
    run.tick(T0 + 700)
    [ep] = run.of("proximity")
    assert ep.rule == "prox" and ep.person == "p1"
    # 450 m apart at minute 7 (x = 1950), paired with the phone's fix of minute 6
    assert T0 + 60 * 6 <= ep.start_s <= T0 + 60 * 8
    assert ep.raised_s <= T0 + 60 * 9


@pytest.mark.parametrize("as_columns", [False, True])
def test_proximity_found_when_the_victims_phone_uploads_its_fixes_late(as_columns: bool) -> None:
    # The wearer reports live, every 30 s: he rides up to the victim (x = 700 at
    # minute 10) and away again. Her phone uploads its 20 minutes of fixes in
    # one late batch, when his recent fixes are all far from her. Paired by
    # event time (each side keeps an hour of fixes), the approach is found.
    wearer = [fix(T0 + 30 * i, 700 + 115 * abs(i - 20), 0, speed=3.8) for i in range(40)]
    phone = [fix(T0 + 30 * i + 5, 700, 0, dev="ph1", received=T0 + 1260) for i in range(40)]
    run = Run.new()
    if as_columns:  # the array path, as live ingest feeds whole batches
        for batch in (wearer, phone):
            run.tick(batch[-1].received_s)
            cols = Columns.from_positions(batch, run.engine.tables.dev_index)
            run._take(run.engine.feed_columns(cols))
    else:
        run.send(*wearer, *phone)
    run.tick(T0 + 3000)
    [ep] = run.of("proximity")
    assert ep.person == "p1" and T0 + 300 <= ep.start_s <= T0 + 600  # within 500 m from minute 6.5


@pytest.mark.parametrize("as_columns", [False, True])
def test_an_older_fix_in_a_late_batch_does_not_undo_newer_proximity_evidence(as_columns: bool) -> None:
    # The wearer stays at (0, 0); his tag uploads every 5 minutes. The victim
    # drives towards him (her phone live, every 2 minutes) and stops 330 m away
    # at minute 8. His second batch starts with fixes from before she came close:
    # they are history, not evidence against what her newest fix showed, so the
    # alert is raised with that batch, not a phone fix later.
    def tag_batch(minutes: range, received: float) -> list:
        return [fix(T0 + 60 * m, 0, 0, received=received) for m in minutes]

    phone = [
        fix(T0 + 5 + 120 * k, x, 0, dev="ph1", speed=8.0, received=T0 + 7 + 120 * k)
        for k, x in enumerate((4000, 3000, 2000, 1000, 330))
    ]
    arrivals = sorted(
        [*tag_batch(range(0, 5), T0 + 300), *phone, *tag_batch(range(5, 10), T0 + 600)],
        key=lambda r: r.received_s,
    )
    run = Run.new()
    if as_columns:  # as live ingest feeds whole batches
        for r in arrivals:
            run.tick(r.received_s)
            run._take(run.engine.feed_columns(Columns.from_positions([r], run.engine.tables.dev_index)))
    else:
        run.send(*arrivals)
    run.tick(T0 + 610)  # the batch is processed once the tag has been quiet a few seconds
    [ep] = run.of("proximity")
    assert T0 + 600 <= ep.raised_s <= T0 + 610
    assert ep.start_s <= T0 + 485


def test_a_late_fix_from_inside_does_not_hold_an_exclusion_open() -> None:
    # He is in the park for ten minutes, then out of it, reporting live. A fix
    # stored during the visit reaches the server at minute 13: it says where he
    # was, not that he went back, so the alert ends as if it had never come.
    def visit(late: bool) -> Episode:
        recs = [fix(T0 + 60 * m, 1200 if m < 10 else 600, 200) for m in range(20)]
        if late:
            recs.append(fix(T0 + 60 * 9 + 30, 1200, 200, received=T0 + 60 * 13 + 10))
        run = Run.new().send(*sorted(recs, key=lambda r: r.received_s)).tick(T0 + 1500)
        [ep] = run.of("exclusion")
        return ep

    plain, with_late = visit(False), visit(True)
    assert with_late.end_s == plain.end_s and T0 + 600 <= plain.end_s <= T0 + 780
    assert with_late.raised_s == plain.raised_s


def test_no_proximity_alert_from_fixes_too_far_apart_in_time() -> None:
    run = Run.new()
    run.send(fix(T0, 1500, 0, dev="ph1"))
    for i in range(10):
        run.send(fix(T0 + 600 + 60 * i, 1600, 0))  # 100 m away, but the phone's fix is 10+ min old
    run.tick(T0 + 1300)
    assert run.of("proximity") == []


# ----------------------------------------------------------- determinism


def _scripted() -> list:
    recs = []
    for i in range(40):
        t = T0 + 60 * i
        x = 900 + 20 * i
        recs.append(fix(t, x, 200, speed=0.3, received=t + 3 + (i % 5) * 60 - (i % 5) * 60))
        if i % 3 == 0:
            recs.append(fix(t + 7, 1700, 300, dev="ph1"))
    recs.append(event(T0 + 500, EventKind.STRAP_TAMPER))
    return sorted(recs, key=lambda r: r.received_s)


def _alerts(run: Run) -> list[dict]:
    eps = {id(e): e for e in [*run.opened, *run.closed]}
    return sorted((e.to_alert() for e in eps.values()), key=lambda a: (a["start"], a["type"]))


def test_same_records_same_alerts() -> None:
    assert _alerts(Run.new().send(*_scripted()).tick(T0 + 4000)) == _alerts(
        Run.new().send(*_scripted()).tick(T0 + 4000)
    )


def test_state_serialises_and_a_restored_engine_carries_on_identically() -> None:
    recs = _scripted()
    whole = Run.new().send(*recs).tick(T0 + 4000)

    first = Run.new().send(*recs[:25])
    saved = json.loads(json.dumps(snapshot(first.engine)))
    resumed = Run(restore(Engine(compile_caseload(caseload(), CENTRE)), saved))
    resumed.opened = list(first.opened)
    resumed.closed = list(first.closed)
    resumed.send(*recs[25:]).tick(T0 + 4000)

    def final(run: Run) -> list[dict]:
        latest: dict[tuple, dict] = {}
        for a in _alerts(run):
            latest[(a["type"], a.get("rule"), a.get("device"), a["start"])] = a
        return sorted(latest.values(), key=lambda a: (a["start"], a["type"]))

    assert final(resumed) == final(whole)
    assert final(whole)  # the script does raise alerts


def test_unknown_device_is_counted_not_fatal() -> None:
    run = Run.new()
    run.send(fix(T0, 0, 0, dev="nobody"))
    assert run.engine.counters["unknown_device"] == 1


def test_a_device_reporting_every_second_is_still_evaluated() -> None:
    """The reorder buffer waits for quiet, but not for ever."""
    run = Run.new()
    for i in range(120):  # one fix a second, deep in the park, arriving a second later
        t = T0 + i
        run.send(fix(t, 1200, 200, received=t + 1))
    [ep] = run.of("exclusion")
    assert ep.start_s == T0
    assert ep.raised_s <= T0 + 1 + 30 + 1  # at most reorder_max_hold_s after the first arrival
