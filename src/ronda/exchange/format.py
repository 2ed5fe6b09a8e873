"""The exchange format's files and columns, and how values are written.

Instants are ISO 8601 UTC with a `Z` (to the second when whole, else to the
microsecond); empty cells are nulls; booleans are `true`/`false`; numbers
are written in their shortest exact form. The same value always gives the
same bytes, so two exports of the same data are byte-identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ronda.errors import InvalidInput

FORMAT = "ronda-exchange/1"
MANIFEST = "manifest.json"

PERSONS = ("id", "role", "name")
DEVICES = ("id", "kind", "serial", "status", "person", "home_zone", "report_interval_s", "comms_timeout_s")
ASSIGNMENTS = ("device", "person", "start", "end", "assigned_by", "ended_by")
POSITIONS = (
    "device",
    "person",
    "time",
    "received",
    "lat",
    "lon",
    "accuracy_m",
    "speed_mps",
    "battery_pct",
    "course_deg",
    "altitude_m",
    "valid",
)
EVENTS = ("device", "person", "time", "received", "kind", "battery_pct")
SIGHTINGS = ("device", "person", "time", "received", "reader", "zone", "rssi_dbm")
ALERTS = (
    "id",
    "type",
    "person",
    "rule",
    "device",
    "start",
    "raised",
    "end",
    "status",
    "severity",
    "owner",
    "outcome",
    "created",
    "updated",
)
ALERT_ACTIONS = ("alert", "action", "actor", "from_status", "to_status", "text", "at")

TABLES: dict[str, Sequence[str]] = {
    "persons.csv": PERSONS,
    "devices.csv": DEVICES,
    "assignments.csv": ASSIGNMENTS,
    "positions.csv": POSITIONS,
    "events.csv": EVENTS,
    "sightings.csv": SIGHTINGS,
    "alerts.csv": ALERTS,
    "alert_actions.csv": ALERT_ACTIONS,
}
TIME_COLUMNS = {"start", "end", "time", "received", "raised", "created", "updated", "at"}


def iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    value = dt.datetime.fromtimestamp(epoch_s, dt.UTC)
    spec = "seconds" if value.microsecond == 0 else "microseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_instant(text: str, where: str) -> float:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("not an ISO 8601 instant: {text}", field=where, text=repr(text[:40])) from exc
    if value.tzinfo is None:
        raise InvalidInput("instant without a time zone: {text}", field=where, text=repr(text[:40]))
    return value.timestamp()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([cell(r.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def csv_row(columns: Sequence[str], row: Mapping[str, Any]) -> bytes:
    """One CSV line (as `csv_bytes` writes it, without the header)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def jsonl_bytes(items: Iterable[Any]) -> bytes:
    return "".join(json_line(v) for v in items).encode("utf-8")


def clean(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe values: no NaN or infinity (null instead)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def point_feature(row: Mapping[str, Any], lon: float | None, lat: float | None) -> dict[str, Any]:
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
    return {"type": "Feature", "geometry": geometry, "properties": clean(row)}


def feature_row(feature: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature's properties, with lat/lon from a Point geometry."""
    row = dict(feature.get("properties") or {})
    g = feature.get("geometry")
    if isinstance(g, dict) and g.get("type") == "Point":
        coords = g.get("coordinates") or [None, None]
        row.setdefault("lon", coords[0])
        row.setdefault("lat", coords[1])
    return row
