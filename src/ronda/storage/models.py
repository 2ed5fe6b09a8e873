"""Tables. Instants are float seconds since the epoch (UTC), like the engine's
`*_s` fields: exact round trips, cheap comparisons, one type on SQLite and
PostgreSQL. Ids are the caller's strings (as in the scenario format)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)
DEFAULT_AGENCY = "main"  # issue 6: the agency of rows made before agencies existed
BIGID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, float: Double}


class PersonRow(Base):
    __tablename__ = "persons"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_s: Mapped[float]
    # issue 6: the agency (tenant) and the officer whose caseload this is
    agency_id: Mapped[str] = mapped_column(
        ID, default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )
    officer_id: Mapped[str | None] = mapped_column(ID, index=True)


class ZoneRow(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]]
    radius_m: Mapped[float | None]
    created_s: Mapped[float]
    updated_s: Mapped[float]
    agency_id: Mapped[str] = mapped_column(
        ID, default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )


class DeviceRow(Base):
    """Inventory: a device exists before and after it is worn."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)  # what the device reports as its id
    serial: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in_stock")
    person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"), index=True)
    home_zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"))
    report_interval_s: Mapped[float | None]
    comms_timeout_s: Mapped[float | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_s: Mapped[float]
    agency_id: Mapped[str] = mapped_column(
        ID, default=DEFAULT_AGENCY, server_default=DEFAULT_AGENCY, index=True
    )


class AssignmentRow(Base):
    """Who wore which device, from when to when, and who decided."""

    __tablename__ = "device_assignments"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    start_s: Mapped[float]
    assigned_by: Mapped[str] = mapped_column(String(100))
    end_s: Mapped[float | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (Index("ix_device_assignments_device_start", "device_id", "start_s"),)


class OrderRow(Base):
    """An order's identity and its current version; the versions keep the past."""

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_s: Mapped[float]
    updated_s: Mapped[float]


class OrderVersionRow(Base):
    __tablename__ = "order_versions"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_s: Mapped[float]
    created_by: Mapped[str] = mapped_column(String(100))


class RuleRow(Base):
    """One rule of one version of an order."""

    __tablename__ = "rules"
    order_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(16))
    zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"))
    protected_person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    distance_m: Mapped[float | None]
    schedule: Mapped[dict[str, Any] | None]
    __table_args__ = (
        ForeignKeyConstraint(["order_id", "version"], ["order_versions.order_id", "order_versions.version"]),
    )


class SettingRow(Base):
    """Site-wide values the caseload needs (time zone, device-health policy)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]


class RecordRow(Base):
    """What devices said: positions and device events, in commit order (`seq`).

    The unique key (device, time, kind) makes a resend store nothing; it is
    also the index for "positions of a device over a period"."""

    __tablename__ = "records"
    seq: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ID)
    time_s: Mapped[float]
    kind: Mapped[str] = mapped_column(String(24))  # "position", "sighting" or an event kind
    received_s: Mapped[float]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    speed_mps: Mapped[float | None]
    battery_pct: Mapped[float | None]
    course_deg: Mapped[float | None]
    altitude_m: Mapped[float | None]
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any] | None]
    __table_args__ = (UniqueConstraint("device_id", "time_s", "kind", name="uq_records_device_time_kind"),)


class EpisodeRow(Base):
    """What happened: one violation or device-health problem (engine episode)."""

    __tablename__ = "episodes"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(ID)  # the rule id, or the device id for health types
    person_id: Mapped[str | None] = mapped_column(ID, index=True)
    rule_id: Mapped[str | None] = mapped_column(ID)
    device_id: Mapped[str | None] = mapped_column(ID)
    start_s: Mapped[float]
    raised_s: Mapped[float]
    end_s: Mapped[float | None]
    __table_args__ = (
        UniqueConstraint("type", "subject", "start_s", name="uq_episodes_type_subject_start"),
        Index("ix_episodes_start", "start_s"),
    )


class AlertRow(Base):
    """The monitoring centre's work item about one episode."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(32))
    created_s: Mapped[float] = mapped_column(index=True)
    updated_s: Mapped[float]


class AlertActionRow(Base):
    """Every action on an alert (acknowledge, assign, note, resolve), in order."""

    __tablename__ = "alert_actions"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    at_s: Mapped[float]


class CheckpointRow(Base):
    """The engine's state (engine/snapshot.py JSON) after feeding every record
    up to `last_seq`, and every effect of it already stored."""

    __tablename__ = "engine_checkpoints"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    created_s: Mapped[float]
    last_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[dict[str, Any]]


# Feature areas keep their tables in their own modules (one Base, one metadata);
# importing them here registers them for Alembic and for `Base.metadata`.
from ronda.storage import (  # noqa: E402
    models_distributed,
    models_evidence,
    models_notify,
    models_prison,
    models_security,
)

__all__ = [
    "Base",
    "models_distributed",
    "models_evidence",
    "models_notify",
    "models_prison",
    "models_security",
]
