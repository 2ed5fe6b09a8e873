"""Positions of a device or a person over a period, as GeoJSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from ronda.api import schemas as sc
from ronda.api.auth import PROTECTED_VIEWERS, protected_windows
from ronda.api.deps import epoch, tx
from ronda.api.policy import CallerDep, authenticator
from ronda.errors import InvalidInput
from ronda.storage import cases, records
from ronda.storage.models import RecordRow
from ronda.types import to_iso

router = APIRouter(prefix="/api", tags=["positions"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]
Format = Literal["geojson", "csv"]
CSV_FIELDS = ("device", "time", "received", "lat", "lon", "accuracy_m", "speed_mps", "battery_pct", "valid")


def positions_geojson(rows: list[RecordRow]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
            "properties": {
                "device": r.device_id,
                "time": to_iso(r.time_s),
                "received": to_iso(r.received_s),
                "accuracy_m": r.accuracy_m,
                "speed_mps": r.speed_mps,
                "battery_pct": r.battery_pct,
            },
        }
        for r in rows
        if r.valid and r.lat is not None and r.lon is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def positions_csv(rows: list[RecordRow]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in rows:
        w.writerow(
            [
                r.device_id,
                to_iso(r.time_s),
                to_iso(r.received_s),
                r.lat,
                r.lon,
                r.accuracy_m,
                r.speed_mps,
                r.battery_pct,
                str(r.valid).lower(),
            ]
        )
    return out.getvalue()


def _period(start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
    a, b = epoch(start, "start"), epoch(end, "end")
    assert a is not None and b is not None
    if b <= a:
        raise InvalidInput("must be after start", field="end")
    return a, b


def person_positions(s: Session, person: str, start_s: float, end_s: float, limit: int) -> list[RecordRow]:
    """Positions of the devices the person wore, each within its assignment."""
    cases.get_person(s, person)
    out: list[RecordRow] = []
    for a in cases.assignments(s, person=person):
        lo, hi = max(start_s, a.start_s), min(end_s, a.end_s if a.end_s is not None else end_s)
        if lo < hi:
            out += records.device_records(s, [a.device_id], lo, hi, limit=limit)
    out.sort(key=lambda r: (r.time_s, r.device_id))
    return out[:limit]


def shown(request: Request, caller: CallerDep, s: Session, rows: list[RecordRow]) -> list[RecordRow]:
    """A protected person's positions only around their proximity episodes, and
    only to the roles that act on them (policy: `location=True` routes)."""
    owners = getattr(request.state, "owners", [])
    protected = [o for o in owners if o.protected and o.person_id]
    if not protected:
        return rows
    if caller.role not in PROTECTED_VIEWERS:
        return []
    auth = authenticator(request)
    windows = protected_windows(s, protected[0].person_id, auth.settings.protected_margin_s, auth.clock())
    return [r for r in rows if any(a <= r.time_s <= b for a, b in windows)]


def _respond(rows: list[RecordRow], fmt: Format) -> Any:
    if fmt == "csv":
        return Response(positions_csv(rows), media_type="text/csv")
    return positions_geojson(rows)


Start = Annotated[dt.datetime, Query(description="from (ISO 8601; no zone means UTC)")]
End = Annotated[dt.datetime, Query(description="to, excluded")]
Limit = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/devices/{device_id}/positions", responses={200: {"content": {"text/csv": {}}}})
def device_positions(
    request: Request,
    caller: CallerDep,
    device_id: PathId,
    start: Start,
    end: End,
    format: Format = "geojson",
    limit: Limit = 10_000,
) -> Any:
    a, b = _period(start, end)
    with tx(request) as s:
        cases.get_device(s, device_id)
        return _respond(
            shown(request, caller, s, records.device_records(s, [device_id], a, b, limit=limit)), format
        )


@router.get("/persons/{person_id}/positions", responses={200: {"content": {"text/csv": {}}}})
def person_positions_route(
    request: Request,
    caller: CallerDep,
    person_id: PathId,
    start: Start,
    end: End,
    format: Format = "geojson",
    limit: Limit = 10_000,
) -> Any:
    a, b = _period(start, end)
    with tx(request) as s:
        return _respond(shown(request, caller, s, person_positions(s, person_id, a, b, limit)), format)
