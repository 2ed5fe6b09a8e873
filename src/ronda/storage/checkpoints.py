"""The engine's checkpoints: its snapshot and the last record it had been fed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ronda.storage.cases import now_s
from ronda.storage.models import CheckpointRow

KEEP = 3


@dataclass(frozen=True)
class Checkpoint:
    last_seq: int
    state: dict[str, Any]
    created_s: float


def save_checkpoint(s: Session, last_seq: int, state: dict[str, Any]) -> None:
    s.add(CheckpointRow(created_s=now_s(), last_seq=last_seq, state=state))
    s.flush()
    old = list(s.execute(select(CheckpointRow.id).order_by(CheckpointRow.id.desc()).offset(KEEP)).scalars())
    if old:
        s.execute(delete(CheckpointRow).where(CheckpointRow.id.in_(old)))


def latest_checkpoint(s: Session) -> Checkpoint | None:
    row = s.execute(select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)).scalar_one_or_none()
    return None if row is None else Checkpoint(row.last_seq, row.state, row.created_s)
