"""Incidents from what people type or upload: one point, or a CSV batch.

CSV columns (header row, names in any order, case-insensitive):

- `id`: the incident's reference (the police case number, for example);
- `from`, `to`: ISO 8601 instants with a zone (`2026-06-01T14:00:00+02:00`);
- either `lat`, `lon` and `radius_m` (a point and how far from it counts),
- or `area`: a polygon as WKT (`POLYGON((lon lat, ...))`) or GeoJSON, with an
  optional `distance_m` margin around it (0 by default: inside it);
- `label` (optional): free text kept with the result.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from ronda.correlation.models import Incident
from ronda.errors import InvalidInput
from ronda.types import from_iso

MAX_INCIDENTS = 10_000
MAX_ERRORS = 50


@dataclass
class Parsed:
    incidents: list[Incident] = field(default_factory=list)
    # The first MAX_ERRORS, each with its line (and field): rendered for a reader
    # with ronda.i18n.errors.error_text, "line 4, field 'lat': expected a number".
    errors: list[InvalidInput] = field(default_factory=list)
    bad_lines: int = 0


def instant(text: str, name: str) -> float:
    try:
        return from_iso(text.strip())
    except ValueError as exc:
        raise InvalidInput("not an instant with a time zone: {text}", field=name, text=repr(text)) from exc


def number(text: str, name: str) -> float:
    try:
        v = float(text)
    except ValueError as exc:
        raise InvalidInput("not a number: {value}", field=name, value=repr(text)) from exc
    if not math.isfinite(v):
        raise InvalidInput("not a finite number", field=name)
    return v


def point_incident(
    id: str, lat: float, lon: float, radius_m: float, start_s: float, end_s: float, label: str = ""
) -> Incident:
    if not (-90 <= lat <= 90):
        raise InvalidInput("latitude outside -90..90", field="lat")
    if not (-180 <= lon <= 180):
        raise InvalidInput("longitude outside -180..180", field="lon")
    return Incident(id, start_s, end_s, Point(lon, lat), radius_m, label)


def parse_area(text: str) -> BaseGeometry:
    """A polygon in longitude/latitude from WKT or a GeoJSON geometry."""
    text = text.strip()
    try:
        geom = shape(json.loads(text)) if text.startswith("{") else shapely.from_wkt(text)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InvalidInput("area: expected a WKT or GeoJSON polygon", field="area") from exc
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput("area must be a Polygon or MultiPolygon", field="area")
    if not geom.is_valid:
        raise InvalidInput(
            "area is not a valid polygon ({reason})", field="area", reason=shapely.is_valid_reason(geom)
        )
    return geom


def _row(row: dict[str, str]) -> Incident:
    def get(name: str) -> str:
        v = (row.get(name) or "").strip()
        if not v:
            raise InvalidInput("missing", field=name)
        return v

    start_s = instant(row.get("from") or row.get("start") or get("from"), "from")
    end_s = instant(row.get("to") or row.get("end") or get("to"), "to")
    label = (row.get("label") or "").strip()[:200]
    if (row.get("area") or "").strip():
        area = parse_area(get("area"))
        margin = number(row["distance_m"], "distance_m") if (row.get("distance_m") or "").strip() else 0.0
        return Incident(get("id"), start_s, end_s, area, margin, label)
    return point_incident(
        get("id"),
        number(get("lat"), "lat"),
        number(get("lon"), "lon"),
        number(get("radius_m"), "radius_m"),
        start_s,
        end_s,
        label,
    )


def parse_csv(text: str) -> Parsed:
    """Every incident of a CSV batch, and every line that is not one (with why)."""
    out = Parsed()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        out.errors.append(InvalidInput("the file is empty (a header row is needed)", line=1))
        out.bad_lines = 1
        return out
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        try:
            if None in row:
                raise InvalidInput("more values than columns")
            inc = _row({k: v or "" for k, v in row.items() if k is not None})
            if inc.id in seen:
                raise InvalidInput("incident {incident} appears twice", field="id", incident=repr(inc.id))
            if len(out.incidents) >= MAX_INCIDENTS:
                raise InvalidInput("more than {limit} incidents in one batch", limit=MAX_INCIDENTS)
            seen.add(inc.id)
            out.incidents.append(inc)
        except InvalidInput as exc:
            out.bad_lines += 1
            if len(out.errors) < MAX_ERRORS:
                values: dict[str, Any] = dict(exc.values)
                out.errors.append(InvalidInput(exc.template, line=line, field=exc.field, **values))
    if not out.incidents and not out.errors:
        out.errors.append(InvalidInput("no incidents in the file"))
    return out
