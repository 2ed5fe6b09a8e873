"""The prison simulator: the same seed gives the same day; the regime is
followed (everyone in his cell at lock-up, the wing at breakfast); the
incidents asked for are there, with their truth."""

from __future__ import annotations

import itertools

from tests.integration.prison.dayrun import local

from ronda.simulator.prison import PrisonConfig, simulate_day

SHORT = PrisonConfig(seed=11, start_h=7.0, end_h=9.0)


def test_same_seed_same_day() -> None:
    a, b = simulate_day(SHORT), simulate_day(SHORT)
    assert list(itertools.islice(a.records(), 3000)) == list(itertools.islice(b.records(), 3000))
    assert [i.to_json() for i in a.truth.incidents] == [i.to_json() for i in b.truth.incidents]
    c = simulate_day(PrisonConfig(seed=12, start_h=7.0, end_h=9.0))
    assert [i.to_json() for i in a.truth.incidents] != [i.to_json() for i in c.truth.incidents]


def test_the_regime_is_followed() -> None:
    day = simulate_day(PrisonConfig(seed=11, meetings=0, out_of_bounds=0, missing=0))
    f = day.facility
    for p, inmate in f.inmates.items():
        assert day.zone_at(p, local(day, 6, 45)) == inmate.cell, "lock-up"
        assert day.zone_at(p, local(day, 21, 30)) == inmate.cell, "evening lock-up"
    early = [p for p, i in f.inmates.items() if f.wing_regimes[i.wing] == "early"]
    assert all(day.zone_at(p, local(day, 7, 50)) == "dining" for p in early), "breakfast"
    assert not day.truth.out_of_bounds and not day.truth.meetings, "ordinary movement keeps to the regime"


def test_incidents_and_their_truth() -> None:
    day = simulate_day(PrisonConfig(seed=3))
    kinds = sorted({i.kind for i in day.truth.incidents})
    assert kinds == ["double_seen", "dropout", "duress", "meeting", "missing", "out_of_bounds", "tamper"]
    for i in day.truth.incidents:
        if i.kind == "meeting":
            assert i.person is not None and i.other is not None
            pair = tuple(sorted((i.person, i.other)))
            assert any(iv.start_s <= i.end_s and iv.end_s >= i.start_s for iv in day.truth.meetings[pair])  # type: ignore[index]
        if i.kind == "out_of_bounds":
            assert i.person in day.truth.out_of_bounds
    band = day.facility.inmates[next(iter(day.truth.missing))].band
    gone = next(iter(day.truth.missing.values()))
    heard = [r for r in day.records() if getattr(r, "device", None) == band]
    assert heard and max(r.time_s for r in heard) < gone
