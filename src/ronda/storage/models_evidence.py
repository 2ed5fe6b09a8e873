"""Tables: Evidence: correlation runs, compliance decisions (issue 9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ronda.storage.models import BIGID, ID, Base


class CorrelationRunRow(Base):
    """One crime-scene correlation run: who asked, why, with which method and
    parameters, about which incidents, and what it answered (issue 9, part 4)."""

    __tablename__ = "correlation_runs"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    created_s: Mapped[float] = mapped_column(index=True)
    requester: Mapped[str] = mapped_column(String(100))
    requester_role: Mapped[str] = mapped_column(String(16), default="")
    agency_id: Mapped[str | None] = mapped_column(ID)
    purpose: Mapped[str] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]]
    incidents: Mapped[dict[str, Any]]  # {"items": [...]} as given
    summary: Mapped[dict[str, Any]]  # counts per incident
    results: Mapped[dict[str, Any]]  # {"items": [...]}: the full answer, as returned
    persons_listed: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(default=0.0)


class ComplianceDecisionRow(Base):
    """An officer's answer to a step-down suggestion (issue 9, part 5)."""

    __tablename__ = "compliance_decisions"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    step_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # accepted / rejected
    officer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    at_s: Mapped[float]
    facts: Mapped[dict[str, Any]]  # the record the suggestion was made on
    __table_args__ = (Index("ix_compliance_decisions_person_at", "person_id", "at_s"),)
