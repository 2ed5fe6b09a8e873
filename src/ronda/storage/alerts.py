"""Episodes and their alerts: stored from engine effects, idempotently; the
alert workflow (acknowledge, assign, note, resolve) through one transition table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ronda.alerts.workflow import AlertAction, AlertStatus, Outcome, next_status, severity_of
from ronda.engine.episodes import Episode
from ronda.storage.cases import now_s
from ronda.storage.errors import NotFound
from ronda.storage.models import AlertActionRow, AlertRow, EpisodeRow


@dataclass(frozen=True)
class Stored:
    episode: EpisodeRow
    alert: AlertRow
    new: bool  # a new alert (False: an update of one already stored)


def episode_subject(ep: Episode) -> str:
    return str(ep.rule or ep.device or "")


SeverityOf = Callable[[str, str | None], str]
"""(episode type, rule id) -> severity: the site's alert policy (alerts/policy.py)."""


def store_episode(s: Session, ep: Episode, severity: SeverityOf | None = None) -> Stored:
    """Insert or update the episode identified by (type, subject, start); a
    new episode gets its alert. Storing the same effect twice changes nothing,
    so effects replayed after a restart raise no second alert."""
    subject = episode_subject(ep)
    row = s.execute(
        select(EpisodeRow).where(
            EpisodeRow.type == ep.type, EpisodeRow.subject == subject, EpisodeRow.start_s == ep.start_s
        )
    ).scalar_one_or_none()
    t = now_s()
    if row is not None:
        if ep.end_s is not None and row.end_s != ep.end_s:
            row.end_s = ep.end_s
        alert = s.execute(select(AlertRow).where(AlertRow.episode_id == row.id)).scalar_one()
        s.flush()
        return Stored(row, alert, False)
    row = EpisodeRow(
        type=ep.type,
        subject=subject,
        person_id=ep.person,
        rule_id=ep.rule,
        device_id=ep.device,
        start_s=ep.start_s,
        raised_s=ep.raised_s,
        end_s=ep.end_s,
    )
    s.add(row)
    s.flush()
    alert = AlertRow(
        episode_id=row.id,
        status=AlertStatus.NEW.value,
        severity=severity(ep.type, ep.rule) if severity is not None else severity_of(ep.type).value,
        created_s=t,
        updated_s=t,
    )
    s.add(alert)
    s.flush()
    return Stored(row, alert, True)


@dataclass(frozen=True)
class EpisodeFilter:
    type: str | None = None
    person: str | None = None
    device: str | None = None
    rule: str | None = None
    start_s: float | None = None  # episodes that overlap [start_s, end_s)
    end_s: float | None = None
    open: bool | None = None


def _filtered(stmt: Select[EpisodeRow, AlertRow], f: EpisodeFilter) -> Select[EpisodeRow, AlertRow]:
    if f.type is not None:
        stmt = stmt.where(EpisodeRow.type == f.type)
    if f.person is not None:
        stmt = stmt.where(EpisodeRow.person_id == f.person)
    if f.device is not None:
        stmt = stmt.where(EpisodeRow.device_id == f.device)
    if f.rule is not None:
        stmt = stmt.where(EpisodeRow.rule_id == f.rule)
    if f.end_s is not None:
        stmt = stmt.where(EpisodeRow.start_s < f.end_s)
    if f.start_s is not None:
        stmt = stmt.where((EpisodeRow.end_s.is_(None)) | (EpisodeRow.end_s >= f.start_s))
    if f.open is not None:
        stmt = stmt.where(EpisodeRow.end_s.is_(None) if f.open else EpisodeRow.end_s.is_not(None))
    return stmt


def list_episodes(
    s: Session,
    f: EpisodeFilter,
    *,
    status: str | None = None,
    owner: str | None = None,
    severity: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[tuple[EpisodeRow, AlertRow]]:
    stmt = select(EpisodeRow, AlertRow).join(AlertRow, AlertRow.episode_id == EpisodeRow.id)
    stmt = _filtered(stmt, f)
    if status is not None:
        stmt = stmt.where(AlertRow.status == status)
    if owner is not None:
        stmt = stmt.where(AlertRow.owner == owner)
    if severity is not None:
        stmt = stmt.where(AlertRow.severity == severity)
    stmt = stmt.order_by(EpisodeRow.raised_s, EpisodeRow.id).limit(limit).offset(offset)
    return [(e, a) for e, a in s.execute(stmt)]


def get_alert(s: Session, alert_id: int) -> tuple[EpisodeRow, AlertRow]:
    row = _episode_and_alert(s, AlertRow.id == alert_id)
    if row is None:
        raise NotFound("alert", alert_id)
    return row


def get_episode(s: Session, episode_id: int) -> tuple[EpisodeRow, AlertRow]:
    row = _episode_and_alert(s, EpisodeRow.id == episode_id)
    if row is None:
        raise NotFound("episode", episode_id)
    return row


def _episode_and_alert(s: Session, where: Any) -> tuple[EpisodeRow, AlertRow] | None:
    row = s.execute(
        select(EpisodeRow, AlertRow).join(AlertRow, AlertRow.episode_id == EpisodeRow.id).where(where)
    ).first()
    return None if row is None else (row[0], row[1])


def act(
    s: Session,
    alert_id: int,
    action: AlertAction,
    actor: str,
    *,
    owner: str | None = None,
    text: str = "",
    outcome: Outcome | None = None,
) -> AlertRow:
    """Apply one action through the transition table and record it."""
    _, alert = get_alert(s, alert_id)
    before = AlertStatus(alert.status)
    after = next_status(before, action)
    if action == AlertAction.ASSIGN:
        alert.owner = owner
    if action == AlertAction.RESOLVE:
        alert.outcome = (outcome or Outcome.OTHER).value
    if action == AlertAction.REOPEN:
        alert.outcome = None
    if action == AlertAction.ACKNOWLEDGE and alert.owner is None:
        alert.owner = actor
    alert.status = after.value
    alert.updated_s = now_s()
    detail = text or (owner or "") if action == AlertAction.ASSIGN else text
    s.add(
        AlertActionRow(
            alert_id=alert_id,
            action=action.value,
            actor=actor,
            from_status=before.value,
            to_status=after.value,
            text=detail,
            at_s=alert.updated_s,
        )
    )
    s.flush()
    return alert


def alert_actions(s: Session, alert_id: int) -> list[AlertActionRow]:
    get_alert(s, alert_id)
    stmt = select(AlertActionRow).where(AlertActionRow.alert_id == alert_id).order_by(AlertActionRow.id)
    return list(s.execute(stmt).scalars())
