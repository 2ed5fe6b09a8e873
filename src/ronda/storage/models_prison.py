"""Tables: Facilities, readers, wristbands, headcounts (issue 10).

A facility's structure (buildings, zones, readers, regimes, the roll, bands,
badges, keep-separate groups) is one versioned JSON document, read and
checked by `ronda.facility.document`: it changes rarely and always as a
whole picture. What happens in it (sightings, moves, episode details,
headcounts and their reconciliation) is in rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ronda.storage.models import BIGID, ID, Base


class FacilityRow(Base):
    __tablename__ = "prison_facilities"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_s: Mapped[float]
    updated_s: Mapped[float]
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class SightingRow(Base):
    """What readers and bands said: sightings, door crossings, heartbeats and
    band events, idempotent on (facility, device, reader, time, kind)."""

    __tablename__ = "prison_sightings"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    facility_id: Mapped[str] = mapped_column(ID)
    device_id: Mapped[str] = mapped_column(ID)  # band or badge ("" for a heartbeat)
    reader_id: Mapped[str] = mapped_column(ID)  # "" for a band event
    kind: Mapped[str] = mapped_column(String(16))
    time_s: Mapped[float]
    received_s: Mapped[float]
    rssi_dbm: Mapped[float | None]
    __table_args__ = (
        UniqueConstraint(
            "facility_id", "device_id", "reader_id", "time_s", "kind", name="uq_prison_sightings_key"
        ),
        Index("ix_prison_sightings_facility_time", "facility_id", "time_s"),
    )


class MovementRow(Base):
    """A band's move from one zone to another (the movement history)."""

    __tablename__ = "prison_movements"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    facility_id: Mapped[str] = mapped_column(ID)
    person_id: Mapped[str] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(16))
    band_id: Mapped[str] = mapped_column(ID)
    from_zone: Mapped[str | None] = mapped_column(ID)
    to_zone: Mapped[str] = mapped_column(ID)
    at_s: Mapped[float]
    by: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        UniqueConstraint("facility_id", "band_id", "at_s", "to_zone", name="uq_prison_movements_key"),
        Index("ix_prison_movements_person_at", "facility_id", "person_id", "at_s"),
    )


class EpisodeDetailRow(Base):
    """Where a facility episode happened and what an officer needs (the other
    inmates, the reader, the regime's activity), beside the shared episode row."""

    __tablename__ = "prison_episode_details"
    episode_id: Mapped[int] = mapped_column(BIGID, ForeignKey("episodes.id"), primary_key=True)
    facility_id: Mapped[str] = mapped_column(ID, index=True)
    zone_id: Mapped[str | None] = mapped_column(ID)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class HeadcountRow(Base):
    __tablename__ = "prison_headcounts"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    facility_id: Mapped[str] = mapped_column(ID)
    at_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(16))  # scheduled or on_demand
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))  # open, reconciled (or exact)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    discrepancies: Mapped[int] = mapped_column(Integer)
    created_s: Mapped[float]
    closed_s: Mapped[float | None]
    __table_args__ = (
        UniqueConstraint("facility_id", "at_s", "kind", name="uq_prison_headcounts_at"),
        Index("ix_prison_headcounts_facility_at", "facility_id", "at_s"),
    )


class ReconciliationRow(Base):
    """An officer's account of one inmate missing from a count (the latest counts)."""

    __tablename__ = "prison_reconciliations"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    headcount_id: Mapped[int] = mapped_column(BIGID, ForeignKey("prison_headcounts.id"), index=True)
    inmate_id: Mapped[str] = mapped_column(ID)
    resolution: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    officer: Mapped[str] = mapped_column(String(100))
    at_s: Mapped[float]
