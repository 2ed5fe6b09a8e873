"""The alert transition table as a table: every pair either moves where the
table says or is refused with an error naming the status, the action and
what is allowed instead."""

from __future__ import annotations

import itertools

import pytest

from ronda.alerts.workflow import (
    TRANSITIONS,
    UNACKNOWLEDGED,
    AlertAction,
    AlertStatus,
    TransitionRefused,
    allowed_actions,
    next_status,
)

S, A = AlertStatus, AlertAction
PAIRS = list(itertools.product(AlertStatus, AlertAction))


@pytest.mark.parametrize(("status", "action"), [p for p in PAIRS if p in TRANSITIONS])
def test_an_allowed_move_goes_where_the_table_says(status: AlertStatus, action: AlertAction) -> None:
    assert next_status(status, action) is TRANSITIONS[(status, action)]
    assert action in allowed_actions(status)


@pytest.mark.parametrize(("status", "action"), [p for p in PAIRS if p not in TRANSITIONS])
def test_any_other_move_is_refused_clearly(status: AlertStatus, action: AlertAction) -> None:
    with pytest.raises(TransitionRefused) as err:
        next_status(status, action)
    text = str(err.value)
    assert f"cannot {action.value} an alert that is {status.value}" in text
    for ok in allowed_actions(status):
        assert ok.value in text  # says what may be done instead
    assert action not in allowed_actions(status)


def test_the_table_has_the_shape_a_monitoring_centre_expects() -> None:
    # the path and its two side statuses
    assert next_status(S.NEW, A.ACKNOWLEDGE) is S.ACKNOWLEDGED
    assert next_status(S.ACKNOWLEDGED, A.RESOLVE) is S.RESOLVED
    assert next_status(S.NEW, A.ASSIGN) is S.ASSIGNED
    assert next_status(S.NEW, A.ESCALATE) is S.ESCALATED
    # everything not yet taken on can still be escalated and acknowledged
    for status in UNACKNOWLEDGED:
        assert next_status(status, A.ESCALATE) is S.ESCALATED
        assert next_status(status, A.ACKNOWLEDGE) is S.ACKNOWLEDGED
    # a resolved alert only takes notes or a reopening
    assert set(allowed_actions(S.RESOLVED)) == {A.NOTE, A.REOPEN}
    # notes and protocol steps never move the status
    for (status, action), after in TRANSITIONS.items():
        if action in (A.NOTE, A.STEP):
            assert after is status
    # every status is reachable from new, and every open status can be resolved
    seen, frontier = {S.NEW}, [S.NEW]
    while frontier:
        s = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is s and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    assert seen == set(AlertStatus)
    assert all((s, A.RESOLVE) in TRANSITIONS for s in AlertStatus if s is not S.RESOLVED)


def test_a_refusal_reads_in_the_readers_language() -> None:
    from ronda.i18n.errors import error_message

    with pytest.raises(TransitionRefused) as err:
        next_status(S.RESOLVED, A.ASSIGN)
    assert err.value.template == "cannot {action} an alert that is {status} (allowed: {allowed})"
    assert str(err.value) == "cannot assign an alert that is resolved (allowed: note, reopen)"
    # the status is a word of the vocabulary, said in the reader's language; actions are API codes
    assert (
        error_message(err.value, "es")
        == "no se puede aplicar «assign» a una alerta resuelta (permitido: note, reopen)"
    )
    assert (
        error_message(err.value, "pt")
        == "não é possível aplicar «assign» a um alerta resolvido (permitido: note, reopen)"
    )
