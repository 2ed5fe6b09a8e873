"""Inside the prison: facilities, zones, readers, the roll, sightings ingest,
occupancy, headcounts and their reconciliation, an inmate's movement history;
and the facility page (`/prison`)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from ronda.api.deps import epoch, service, settings, tx
from ronda.api.policy import current_caller
from ronda.errors import InvalidInput
from ronda.facility.records import (
    BandEvent,
    BandEventKind,
    Direction,
    DoorCrossing,
    FacilityRecord,
    ReaderHeartbeat,
)
from ronda.pipeline.prison import PrisonService, headcount_summary
from ronda.storage import prison as store
from ronda.storage.errors import NotFound
from ronda.tracking.records import Sighting
from ronda.types import DeviceId, to_iso

router = APIRouter(tags=["prison"])
ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
FacilityId = Annotated[str, Path(pattern=ID, max_length=64)]
Key = Annotated[str, Path(pattern=ID, max_length=64)]
MAX_RECORDS = 20_000
WEB = FilePath(__file__).resolve().parents[1] / "web" / "prison"
_LOCK = threading.Lock()


def prison(request: Request) -> PrisonService:
    """The app's prison service, made on first use over the live service's
    database, live stream and effect listeners."""
    app = request.app
    got: PrisonService | None = getattr(app.state, "prison", None)
    if got is not None:
        return got
    with _LOCK:
        got = getattr(app.state, "prison", None)
        if got is None:
            svc = service(request)
            got = PrisonService(
                svc.sessions,
                bus=svc.bus,
                settings=settings(request).prison,
                listeners=getattr(svc, "listeners", ()),
                severity=getattr(svc, "severity", None),
            )
            got.start_ticker()
            app.state.prison = got
    return got


def _actor(request: Request) -> str:
    caller = current_caller(request)
    return str(getattr(caller, "username", None) or getattr(caller, "user_id", "") or "api")


# ------------------------------------------------------------------ facilities


def _summary(row: Any) -> dict[str, Any]:
    doc = row.document
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "version": row.version,
        "zones": len(doc.get("zones", [])),
        "readers": len(doc.get("readers", [])),
        "inmates": sum(1 for i in doc.get("inmates", []) if i.get("on_roll", True)),
        "updated": to_iso(row.updated_s),
        "updated_by": row.updated_by,
    }


@router.get("/api/prison/facilities")
def list_facilities(request: Request) -> list[dict[str, Any]]:
    """Facilities: name, time zone, document version, how many zones, readers and inmates."""
    with tx(request) as s:
        return [_summary(r) for r in store.list_facilities(s)]


@router.get("/api/prison/facilities/{facility_id}")
def get_facility(request: Request, facility_id: FacilityId) -> dict[str, Any]:
    """The facility's document: buildings, zones (metric polygons), readers,
    regimes, the roll with bands, staff badges, keep-separate groups, count times."""
    with tx(request) as s:
        row = store.get_facility(s, facility_id)
        return {"version": row.version, "document": row.document}


@router.put("/api/prison/facilities/{facility_id}")
def put_facility(
    request: Request, facility_id: FacilityId, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Create or replace a facility from its document (docs/prison.md); checked
    as a whole, refused with the field at fault."""
    if body.get("id", facility_id) != facility_id:
        raise InvalidInput("the document's id is not the one in the path", field="id")
    body = {**body, "id": facility_id}
    with tx(request) as s:
        row, _ = store.save_facility(s, body, _actor(request))
        out = _summary(row)
    prison(request).facility_changed(facility_id)
    return out


def _edit(request: Request, facility_id: str, part: str, key: str, item: dict[str, Any]) -> dict[str, Any]:
    """Add or replace one item of a document list (zones, readers, inmates) by id."""
    if item.get("id", key) != key:
        raise InvalidInput("the id is not the one in the path", field="id")
    item = {**item, "id": key}
    with tx(request) as s:
        row = store.get_facility(s, facility_id)
        doc = dict(row.document)
        items = [x for x in doc.get(part, []) if x.get("id") != key]
        doc[part] = [*items, item]
        saved, _ = store.save_facility(s, doc, _actor(request))
        out = _summary(saved)
    prison(request).facility_changed(facility_id)
    return out


@router.get("/api/prison/facilities/{facility_id}/zones")
def list_zones(request: Request, facility_id: FacilityId) -> list[dict[str, Any]]:
    """Zones with their kind, wing, polygon (metres) and readers."""
    with tx(request) as s:
        doc = store.get_facility(s, facility_id).document
    readers: dict[str, list[str]] = {}
    for r in doc.get("readers", []):
        readers.setdefault(r["zone"], []).append(r["id"])
    return [{**z, "readers": sorted(readers.get(z["id"], []))} for z in doc.get("zones", [])]


@router.put("/api/prison/facilities/{facility_id}/zones/{zone_key}")
def put_zone(
    request: Request, facility_id: FacilityId, zone_key: Key, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Add or replace one zone: `{name, kind, building, level, wing, polygon: [[x, y], ...]}`."""
    return _edit(request, facility_id, "zones", zone_key, body)


@router.get("/api/prison/facilities/{facility_id}/readers")
def list_readers(request: Request, facility_id: FacilityId) -> list[dict[str, Any]]:
    """Readers with their zone, position, kind (area/door) and health now
    (`down`: silent for longer than the facility's `reader_silent_s`)."""
    with tx(request) as s:
        doc = store.get_facility(s, facility_id).document
    p = prison(request)
    with p.lock:
        m = p.monitor(facility_id)
        return [
            {
                **r,
                "down": r["id"] in m.readers_down,
                "last_heard": to_iso(m.reader_heard[r["id"]]) if r["id"] in m.reader_heard else None,
            }
            for r in doc.get("readers", [])
        ]


@router.put("/api/prison/facilities/{facility_id}/readers/{reader_id}")
def put_reader(
    request: Request, facility_id: FacilityId, reader_id: Key, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Add or replace one reader: `{zone, x, y, kind: area|door, door_from, door_to}`."""
    return _edit(request, facility_id, "readers", reader_id, body)


@router.put("/api/prison/facilities/{facility_id}/inmates/{inmate_id}")
def put_inmate(
    request: Request, facility_id: FacilityId, inmate_id: Key, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Add or change an inmate on the roll: `{name, wing, cell, band, regime,
    periods, on_roll}` (a band is assigned by naming it here)."""
    return _edit(request, facility_id, "inmates", inmate_id, body)


# --------------------------------------------------------------------- ingest


def _time(raw: Any, field: str) -> float:
    if isinstance(raw, bool):
        raise InvalidInput("expected an ISO 8601 instant or epoch seconds", field=field)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("expected an ISO 8601 instant or epoch seconds", field=field) from None
        if value.tzinfo is None:
            raise InvalidInput("instant without a time zone: {value}", field=field, value=repr(raw[:40]))
        return value.timestamp()
    raise InvalidInput("expected an ISO 8601 instant or epoch seconds", field=field)


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput("required text (at most 64 characters)", field=f"{where}.{key}")
    return value


def parse_records(body: Any, received_s: float) -> list[FacilityRecord]:
    """The ingest format (docs/prison.md): a JSON array of
    `{type: sighting, band, reader, time, rssi}`, `{type: door, band, reader,
    time, direction: in|out}`, `{type: heartbeat, reader, time}` or
    `{type: event, band, time, event: tamper|removed|restored|duress|duress_cleared}`."""
    if not isinstance(body, list):
        raise InvalidInput("expected a JSON array of records", field="body")
    if len(body) > MAX_RECORDS:
        raise InvalidInput("at most {limit} records per request", field="body", limit=MAX_RECORDS)
    out: list[FacilityRecord] = []
    for i, item in enumerate(body):
        where = f"[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput("expected an object", field=where)
        kind = item.get("type", "sighting")
        t = _time(item.get("time"), f"{where}.time")
        if kind == "sighting":
            rssi = item.get("rssi")
            if rssi is not None and (
                isinstance(rssi, bool) or not isinstance(rssi, int | float) or not -130 <= rssi <= 20
            ):
                raise InvalidInput("signal strength in dBm, between -130 and 20", field=f"{where}.rssi")
            out.append(
                Sighting(
                    DeviceId(_text(item, "band", where)),
                    t,
                    received_s,
                    reader=_text(item, "reader", where),
                    rssi_dbm=None if rssi is None else float(rssi),
                )
            )
        elif kind == "door":
            try:
                direction = Direction(str(item.get("direction")))
            except ValueError:
                raise InvalidInput("in or out", field=f"{where}.direction") from None
            out.append(
                DoorCrossing(
                    DeviceId(_text(item, "band", where)),
                    t,
                    received_s,
                    _text(item, "reader", where),
                    direction,
                )
            )
        elif kind == "heartbeat":
            out.append(ReaderHeartbeat(_text(item, "reader", where), t, received_s))
        elif kind == "event":
            try:
                ev = BandEventKind(str(item.get("event")))
            except ValueError:
                names = ", ".join(k.value for k in BandEventKind)
                raise InvalidInput("one of {names}", field=f"{where}.event", names=names) from None
            out.append(BandEvent(DeviceId(_text(item, "band", where)), t, received_s, ev))
        else:
            raise InvalidInput("sighting, door, heartbeat or event", field=f"{where}.type")
    return out


@router.post("/api/prison/facilities/{facility_id}/sightings")
def ingest(request: Request, facility_id: FacilityId, body: Annotated[Any, Body()]) -> dict[str, Any]:
    """What a facility's reader controllers send: sightings, door crossings,
    heartbeats and band events (a JSON array). Stored before the answer; a
    resent batch stores and alerts nothing twice. Answers how many were new
    and how many alerts they raised."""
    p = prison(request)
    try:
        records = parse_records(body, time.time())
    except InvalidInput:
        p.stats.counters["refused_batches"] += 1
        raise
    with tx(request) as s:
        store.get_facility(s, facility_id)
    done = p.ingest(facility_id, records)
    return {"stored": done.stored, "duplicates": done.duplicates, "alerts": done.alerts}


# ----------------------------------------------------------------- occupancy


@router.get("/api/prison/facilities/{facility_id}/occupancy")
def get_occupancy(request: Request, facility_id: FacilityId) -> dict[str, Any]:
    """Who is in each zone now (seen lately), who was last there but has not
    been seen lately, readers down, and the facility's open episodes."""
    with tx(request) as s:
        store.get_facility(s, facility_id)
    return prison(request).occupancy(facility_id)


@router.get("/api/prison/facilities/{facility_id}/episodes")
def list_episodes(
    request: Request,
    facility_id: FacilityId,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """The facility's episodes with their alert and where they happened."""
    with tx(request) as s:
        store.get_facility(s, facility_id)
        rows = store.facility_episodes(s, facility_id, open_only=open_only, limit=limit)
        return [
            {
                "episode": e.id,
                "alert": a.id,
                "type": e.type,
                "person": e.person_id,
                "device": e.device_id,
                "zone": d.zone_id,
                "start": to_iso(e.start_s),
                "raised": to_iso(e.raised_s),
                "end": None if e.end_s is None else to_iso(e.end_s),
                "status": a.status,
                "severity": a.severity,
                "detail": d.detail,
            }
            for e, a, d in rows
        ]


# ----------------------------------------------------------------- headcounts


def _count_json(s: Any, row: Any) -> dict[str, Any]:
    recs = store.reconciliations(s, row.id)
    return {
        **headcount_summary(row),
        "zones": row.result.get("zones", []),
        "discrepancies": row.result.get("discrepancies", []),
        "reconciliations": [
            {
                "inmate": r.inmate_id,
                "resolution": r.resolution,
                "note": r.note,
                "officer": r.officer,
                "at": to_iso(r.at_s),
            }
            for r in recs
        ],
    }


@router.get("/api/prison/facilities/{facility_id}/headcounts")
def list_headcounts(
    request: Request, facility_id: FacilityId, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """Counts, latest first: scheduled ones and those asked for."""
    with tx(request) as s:
        store.get_facility(s, facility_id)
        return [headcount_summary(r) for r in store.list_headcounts(s, facility_id, limit)]


@router.post("/api/prison/facilities/{facility_id}/headcounts")
def take_headcount(
    request: Request, facility_id: FacilityId, body: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, Any]:
    """A virtual headcount now (or `{"at": instant}` within what has been
    heard): expected against observed per zone, every inmate not counted with
    his last sighting."""
    at_raw = (body or {}).get("at")
    at = None if at_raw is None else _time(at_raw, "at")
    with tx(request) as s:
        store.get_facility(s, facility_id)
    row = prison(request).take_headcount(facility_id, _actor(request), at)
    with tx(request) as s:
        return _count_json(s, store.get_headcount(s, facility_id, row.id))


@router.get("/api/prison/facilities/{facility_id}/headcounts/{headcount_id}")
def get_headcount(request: Request, facility_id: FacilityId, headcount_id: int) -> dict[str, Any]:
    with tx(request) as s:
        return _count_json(s, store.get_headcount(s, facility_id, headcount_id))


@router.post("/api/prison/facilities/{facility_id}/headcounts/{headcount_id}/reconcile")
def reconcile(
    request: Request, facility_id: FacilityId, headcount_id: int, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """An officer accounts for one inmate of the count: `{inmate, resolution:
    found|in_medical|at_court|at_hospital|visit|transferred|released|band_fault|escalated|other, note}`.
    The count is reconciled when every discrepancy is accounted for."""
    inmate, resolution = body.get("inmate"), body.get("resolution")
    note = body.get("note", "")
    if not isinstance(inmate, str) or not inmate:
        raise InvalidInput("required", field="inmate")
    if not isinstance(resolution, str):
        raise InvalidInput("required", field="resolution")
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidInput("text of at most 2000 characters", field="note")
    with tx(request) as s:
        row = store.get_headcount(s, facility_id, headcount_id)
        store.reconcile(s, row, inmate, resolution, note, _actor(request))
        return _count_json(s, row)


# ------------------------------------------------------------------ movement


@router.get("/api/prison/facilities/{facility_id}/inmates/{inmate_id}/movements")
def inmate_movements(
    request: Request,
    facility_id: FacilityId,
    inmate_id: Key,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """An inmate's movement history over a period (default: the last 24 h of
    the facility's clock): each zone entered, when and how (sightings or a
    door), where he is now and his last sighting."""
    p = prison(request)
    with tx(request) as s:
        doc = store.get_facility(s, facility_id).document
        inmate = next((i for i in doc.get("inmates", []) if i.get("id") == inmate_id), None)
        if inmate is None:
            raise NotFound("inmate", inmate_id)
        with p.lock:
            m = p.monitor(facility_id)
            now = m.now_s if m.now_s > float("-inf") else time.time()
            band = inmate.get("band")
            st = m.presence.bands.get(DeviceId(band)) if band else None
            current = (
                {
                    "zone": st.zone,
                    "since": to_iso(st.since_s) if st.since_s > float("-inf") else None,
                    "last_seen": to_iso(st.last_seen_s) if st.last_seen_s > float("-inf") else None,
                    "last_reader": st.last_reader,
                    "last_rssi": st.last_rssi_dbm,
                }
                if st is not None
                else None
            )
        a = epoch(start, "query.start")
        b = epoch(end, "query.end")
        a = now - 86400 if a is None else a
        b = now + 1 if b is None else b
        if b <= a:
            raise InvalidInput("end must be after start", field="query.end")
        before = store.last_move_before(s, facility_id, inmate_id, a)
        moves = store.movements(s, facility_id, inmate_id, a, b)
        return {
            "inmate": inmate_id,
            "band": inmate.get("band"),
            "cell": inmate.get("cell"),
            "wing": inmate.get("wing"),
            "now": current,
            "zone_at_start": before.to_zone if before is not None else None,
            "movements": [
                {"at": to_iso(x.at_s), "from": x.from_zone, "to": x.to_zone, "by": x.by} for x in moves
            ],
        }


# ------------------------------------------------------------------ the page


def _file(name: str, media: str) -> FileResponse | HTMLResponse:
    path = WEB / name
    if not path.is_file():
        return HTMLResponse(f"{name} is missing from this installation", status_code=404)
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})


@router.get("/prison", include_in_schema=False, response_model=None)
def prison_page() -> FileResponse | HTMLResponse:
    """The facility view: zone occupancy on the floor plan, the headcount
    screen, an inmate's movement history (reads the API with the session of
    the main page)."""
    return _file("index.html", "text/html")


@router.get("/prison/prison.js", include_in_schema=False, response_model=None)
def prison_script() -> FileResponse | HTMLResponse:
    return _file("prison.js", "text/javascript")


@router.get("/prison/prison.css", include_in_schema=False, response_model=None)
def prison_style() -> FileResponse | HTMLResponse:
    return _file("prison.css", "text/css")
