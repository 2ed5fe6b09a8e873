"""The transition table through the store: for every (status, action) pair,
an allowed move changes the alert and records itself (action, who, from,
to, when); any other is refused with a clear error and records nothing."""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import Engine as DbEngine

from ronda.alerts.workflow import TRANSITIONS, AlertAction, AlertStatus, Outcome, TransitionRefused
from ronda.engine.episodes import Episode
from ronda.storage import alerts
from ronda.storage.db import sessions
from ronda.types import DeviceId

S, A = AlertStatus, AlertAction
# how to bring a new alert to each status
PATH: dict[AlertStatus, list[AlertAction]] = {
    S.NEW: [],
    S.ASSIGNED: [A.ASSIGN],
    S.ESCALATED: [A.ESCALATE],
    S.ACKNOWLEDGED: [A.ACKNOWLEDGE],
    S.RESOLVED: [A.RESOLVE],
}


def test_every_pair_of_the_table_through_the_store(db: DbEngine) -> None:
    maker = sessions(db)
    for n, (status, action) in enumerate(itertools.product(AlertStatus, AlertAction)):
        with maker.begin() as s:
            ep = Episode("tamper", None, float(n), float(n), device=DeviceId(f"d{n}"))
            alert_id = alerts.store_episode(s, ep).alert.id
            for step in PATH[status]:
                alerts.act(s, alert_id, step, "setup", owner="bo", outcome=Outcome.OTHER)
            assert alerts.get_alert(s, alert_id)[1].status == status
        before = time.time()
        with maker.begin() as s:
            if (status, action) in TRANSITIONS:
                alerts.act(s, alert_id, action, "ana", owner="carla", text="why", outcome=Outcome.FALSE_ALARM)
            else:
                with pytest.raises(
                    TransitionRefused, match=f"cannot {action.value} an alert that is {status.value}"
                ):
                    alerts.act(s, alert_id, action, "ana", owner="carla", text="why")
        with maker() as s:
            _, alert = alerts.get_alert(s, alert_id)
            trail = alerts.alert_actions(s, alert_id)
            if (status, action) not in TRANSITIONS:
                assert alert.status == status and len(trail) == len(PATH[status]), (status, action)
                continue
            expected = TRANSITIONS[(status, action)]
            assert alert.status == expected, (status, action)
            last = trail[-1]
            assert (last.action, last.actor, last.from_status, last.to_status) == (
                action.value,
                "ana",
                status.value,
                expected.value,
            )
            assert last.at_s >= before - 1 and len(trail) == len(PATH[status]) + 1
            if action is A.ASSIGN:
                assert alert.owner == "carla"
            if action is A.RESOLVE:
                assert alert.outcome == "false_alarm"
            if action is A.REOPEN:
                assert alert.outcome is None
