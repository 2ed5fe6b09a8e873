"""What the API takes and gives. Strings refuse NUL and control characters;
numbers refuse NaN and infinities; ids have one shape everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Name = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=200)]
Note = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$", max_length=4000)]
Seconds = Annotated[float, Field(gt=0, le=30 * 86400)]
Role = Literal["monitored", "protected"]
DeviceKindIn = Literal["gps_tag", "home_unit", "phone", "wristband"]
DeviceStatus = Literal["in_stock", "active", "faulty", "retired"]
DAYS = Literal["mo", "tu", "we", "th", "fr", "sa", "su"]
Clock = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PersonIn(Model):
    id: Id | None = None
    role: Role
    name: Name = ""


class PersonPatch(Model):
    role: Role | None = None
    name: Name | None = None


class PersonOut(BaseModel):
    id: str
    role: str
    name: str
    created: dt.datetime


class DeviceIn(Model):
    id: Id
    kind: DeviceKindIn
    serial: Name = ""
    status: DeviceStatus = "in_stock"
    report_interval_s: Seconds | None = None
    comms_timeout_s: Seconds | None = None
    home_zone: Id | None = None


class DevicePatch(Model):
    serial: Name | None = None
    status: DeviceStatus | None = None
    report_interval_s: Seconds | None = None
    comms_timeout_s: Seconds | None = None
    home_zone: Id | None = None


class DeviceOut(BaseModel):
    id: str
    kind: str
    serial: str
    status: str
    person: str | None
    home_zone: str | None
    report_interval_s: float | None
    comms_timeout_s: float | None
    has_token: bool
    created: dt.datetime


class AssignIn(Model):
    person: Id | None = Field(description="the person who will wear it; null takes it back")
    by: Name = "operator"


class AssignmentOut(BaseModel):
    device: str
    person: str
    start: dt.datetime
    assigned_by: str
    end: dt.datetime | None
    ended_by: str | None


class TokenOut(BaseModel):
    device: str
    token: str = Field(description="shown once: only its hash is stored")


class ZoneProperties(Model):
    name: Name = ""
    radius_m: Annotated[float, Field(gt=0, le=100_000)] | None = None


class ZoneFeatureIn(Model):
    """A GeoJSON Feature: a Polygon, a MultiPolygon, or a Point with properties.radius_m."""

    type: Literal["Feature"] = "Feature"
    id: Id | None = None
    geometry: dict[str, Any]
    properties: ZoneProperties = Field(default_factory=ZoneProperties)


class WindowIn(Model):
    days: list[DAYS] = Field(min_length=1, max_length=7)
    start: Clock
    end: Clock


class IntervalIn(Model):
    start: dt.datetime
    end: dt.datetime


class ScheduleIn(Model):
    weekly: list[WindowIn] | None = Field(default=None, max_length=50)
    exceptions: list[IntervalIn] = Field(default_factory=list, max_length=500)


class RuleIn(Model):
    id: Id
    type: Literal["exclusion", "inclusion", "proximity"]
    zone: Id | None = None
    person: Id | None = None
    distance_m: Annotated[float, Field(gt=0, le=100_000)] | None = None
    schedule: ScheduleIn | None = None


class OrderIn(Model):
    id: Id | None = None
    person: Id
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"
    rules: list[RuleIn] = Field(default_factory=list, max_length=200)
    by: Name = "operator"


class OrderUpdate(Model):
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    rules: list[RuleIn] | None = Field(default=None, max_length=200)
    active: bool | None = None
    by: Name = "operator"


class OrderOut(BaseModel):
    id: str
    person: str
    version: int
    active: bool
    timezone: str
    rules: list[dict[str, Any]]
    updated: dt.datetime


class AlertOut(BaseModel):
    id: int
    episode: int
    type: str
    person: str | None
    rule: str | None
    device: str | None
    start: dt.datetime
    raised: dt.datetime
    end: dt.datetime | None
    status: str
    severity: str
    owner: str | None
    outcome: str | None
    created: dt.datetime
    updated: dt.datetime


class ActionOut(BaseModel):
    action: str
    actor: str
    from_status: str
    to_status: str
    text: str
    at: dt.datetime


class AlertDetail(AlertOut):
    actions: list[ActionOut]


class AckIn(Model):
    by: Name = "operator"
    text: Note = ""


class AssignAlertIn(Model):
    owner: Name = Field(min_length=1)
    by: Name = "operator"


class NoteIn(Model):
    text: Note = Field(min_length=1)
    by: Name = "operator"


class ResolveIn(Model):
    outcome: Literal["violation_confirmed", "false_alarm", "technical_issue", "authorised", "other"]
    text: Note = ""
    by: Name = "operator"


class ProblemOut(BaseModel):
    error: str
    field: str | None = None
