"""Episodes and alerts with filters; alert actions through the workflow table."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from ronda.alerts.workflow import AlertAction, Outcome
from ronda.api import schemas as sc
from ronda.api.auth import Scope, visible_devices, visible_persons
from ronda.api.deps import epoch, service, tx, when
from ronda.api.policy import CallerDep, actor_name, scope_of
from ronda.storage import alerts
from ronda.storage.models import AlertRow, EpisodeRow

router = APIRouter(prefix="/api", tags=["alerts"])
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
IdQ = Annotated[str | None, Query(max_length=64, pattern=sc.ID_PATTERN)]
Num = Annotated[int, Path(ge=1, le=2**62)]
EpisodeType = Literal["exclusion", "inclusion", "proximity", "tamper", "low_battery", "comms_loss", "no_fix"]


def alert_out(e: EpisodeRow, a: AlertRow) -> sc.AlertOut:
    return sc.AlertOut(
        id=a.id,
        episode=e.id,
        type=e.type,
        person=e.person_id,
        rule=e.rule_id,
        device=e.device_id,
        start=when(e.start_s),
        raised=when(e.raised_s),
        end=None if e.end_s is None else when(e.end_s),
        status=a.status,
        severity=a.severity,
        owner=a.owner,
        outcome=a.outcome,
        created=when(a.created_s),
        updated=when(a.updated_s),
    )


def _visible(
    request: Request,
    caller: CallerDep,
    s: Any,
    rows: list[tuple[EpisodeRow, AlertRow]],
    limit: int,
    offset: int,
) -> list[tuple[EpisodeRow, AlertRow]]:
    """Episodes of persons the caller may see (device-only ones: devices they may see)."""
    if caller.every_agency and scope_of(request) is Scope.AGENCY:
        return rows[offset : offset + limit]
    persons = visible_persons(s, caller, scope_of(request))
    devices = (
        visible_devices(s, caller, scope_of(request)) if any(e.person_id is None for e, _ in rows) else set()
    )
    kept = [(e, a) for e, a in rows if (e.person_id in persons if e.person_id else e.device_id in devices)]
    return kept[offset : offset + limit]


def _filter(
    type: EpisodeType | None,
    person: str | None,
    device: str | None,
    rule: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    open: bool | None,
) -> alerts.EpisodeFilter:
    return alerts.EpisodeFilter(type, person, device, rule, epoch(start, "start"), epoch(end, "end"), open)


@router.get("/episodes")
def list_episodes(
    request: Request,
    caller: CallerDep,
    type: EpisodeType | None = None,
    person: IdQ = None,
    device: IdQ = None,
    rule: IdQ = None,
    start: Annotated[dt.datetime | None, Query(description="overlapping this period (from)")] = None,
    end: Annotated[dt.datetime | None, Query(description="overlapping this period (to)")] = None,
    open: bool | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[sc.AlertOut]:
    """Episodes (what happened), each with its alert's status."""
    f = _filter(type, person, device, rule, start, end, open)
    with tx(request) as s:
        rows = _visible(request, caller, s, alerts.list_episodes(s, f, limit=10**9), limit, offset)
        return [alert_out(e, a) for e, a in rows]


@router.get("/episodes/{episode_id}")
def get_episode(request: Request, episode_id: Num) -> sc.AlertOut:
    with tx(request) as s:
        return alert_out(*alerts.get_episode(s, episode_id))


@router.get("/alerts")
def list_alerts(
    request: Request,
    caller: CallerDep,
    status: Literal["new", "assigned", "escalated", "acknowledged", "resolved"] | None = None,
    severity: Literal["critical", "high", "medium", "low"] | None = None,
    owner: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    type: EpisodeType | None = None,
    person: IdQ = None,
    device: IdQ = None,
    rule: IdQ = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    open: bool | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[sc.AlertOut]:
    f = _filter(type, person, device, rule, start, end, open)
    with tx(request) as s:
        rows = alerts.list_episodes(s, f, status=status, owner=owner, severity=severity, limit=10**9)
        return [alert_out(e, a) for e, a in _visible(request, caller, s, rows, limit, offset)]


def _detail(request: Request, alert_id: int) -> sc.AlertDetail:
    with tx(request) as s:
        e, a = alerts.get_alert(s, alert_id)
        actions = [
            sc.ActionOut(
                action=x.action,
                actor=x.actor,
                from_status=x.from_status,
                to_status=x.to_status,
                text=x.text,
                at=when(x.at_s),
            )
            for x in alerts.alert_actions(s, alert_id)
        ]
        return sc.AlertDetail(**alert_out(e, a).model_dump(), actions=actions)


@router.get("/alerts/{alert_id}")
def get_alert(request: Request, alert_id: Num) -> sc.AlertDetail:
    """The alert with its episode and every action taken on it."""
    return _detail(request, alert_id)


def _act(
    request: Request,
    alert_id: int,
    action: AlertAction,
    by: str,
    *,
    owner: str | None = None,
    text: str = "",
    outcome: Outcome | None = None,
) -> sc.AlertDetail:
    by = actor_name(request, by)  # the signed-in user, not a name the client claims
    with tx(request) as s:
        alerts.act(s, alert_id, action, by, owner=owner, text=text, outcome=outcome)
    out = _detail(request, alert_id)
    service(request).bus.publish_threadsafe(
        "alert", {**out.model_dump(mode="json", exclude={"actions"}), "new": False}
    )
    return out


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(request: Request, alert_id: Num, body: sc.AckIn) -> sc.AlertDetail:
    return _act(request, alert_id, AlertAction.ACKNOWLEDGE, body.by, text=body.text)


@router.post("/alerts/{alert_id}/assign")
def assign(request: Request, alert_id: Num, body: sc.AssignAlertIn) -> sc.AlertDetail:
    return _act(request, alert_id, AlertAction.ASSIGN, body.by, owner=body.owner)


@router.post("/alerts/{alert_id}/notes")
def note(request: Request, alert_id: Num, body: sc.NoteIn) -> sc.AlertDetail:
    return _act(request, alert_id, AlertAction.NOTE, body.by, text=body.text)


@router.post("/alerts/{alert_id}/resolve")
def resolve(request: Request, alert_id: Num, body: sc.ResolveIn) -> sc.AlertDetail:
    return _act(
        request, alert_id, AlertAction.RESOLVE, body.by, text=body.text, outcome=Outcome(body.outcome)
    )


@router.post("/alerts/{alert_id}/reopen")
def reopen(request: Request, alert_id: Num, body: sc.AckIn) -> sc.AlertDetail:
    return _act(request, alert_id, AlertAction.REOPEN, body.by, text=body.text)
