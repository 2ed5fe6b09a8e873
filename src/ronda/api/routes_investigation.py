"""Investigation: crime-scene correlation runs, compliance histories and
step-down decisions, programme figures (JSON and CSV), and the figures page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from shapely.geometry import shape

from ronda.alerts.policy import DEFAULT_TARGETS_S
from ronda.api import auth
from ronda.api import schemas as sc
from ronda.api.deps import epoch, service, settings, tx
from ronda.api.policy import authenticator, current_caller, scope_of
from ronda.api.refusal import reader_language
from ronda.compliance import DecisionKind, Policy, decide, history, programme
from ronda.correlation import Incident, Params
from ronda.correlation.incidents import parse_csv, point_incident
from ronda.errors import InvalidInput
from ronda.i18n.catalog import N_, gettext
from ronda.i18n.errors import error_text
from ronda.storage import investigation as repo
from ronda.storage.investigation import Requester
from ronda.storage.trail_cache import TrailCache
from ronda.zones.geometry import validate_zone_geometry

router = APIRouter(tags=["investigation"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]
WEB = FilePath(__file__).resolve().parent.parent / "web"
PAGE, SCRIPT = WEB / "compliance.html", WEB / "compliance.js"
MAX_BODY_CSV = 2_000_000


class ParamsIn(BaseModel):
    """Any of the method's parameters (docs/investigation.md); the rest keep their defaults."""

    max_gap_s: float | None = None
    default_accuracy_m: float | None = None
    max_accuracy_m: float | None = None
    accuracy_factor: float | None = None
    max_speed_mps: float | None = None
    interpolation_slack_mps: float | None = None
    short_interpolation_s: float | None = None
    max_supporting_fixes: int | None = None

    def params(self) -> Params:
        return Params(**{k: v for k, v in self.model_dump().items() if v is not None})


class IncidentIn(BaseModel):
    id: str = Field("incident-1", min_length=1, max_length=64)
    start: dt.datetime = Field(description="window start (naive means UTC)")
    end: dt.datetime
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = Field(None, description="with lat/lon: how far from the point counts")
    area: dict[str, Any] | None = Field(
        None, description="a GeoJSON Polygon or MultiPolygon, instead of a point"
    )
    distance_m: float = Field(0.0, description="with an area: a margin around it")
    label: str = Field("", max_length=200)

    def incident(self, i: int) -> Incident:
        start_s, end_s = epoch(self.start, f"incidents[{i}].start"), epoch(self.end, f"incidents[{i}].end")
        assert start_s is not None and end_s is not None
        try:
            if self.area is not None:
                validate_zone_geometry(self.area, field="area")
                if self.area.get("type") not in ("Polygon", "MultiPolygon"):
                    raise InvalidInput("the area must be a Polygon or MultiPolygon", field="area")
                return Incident(self.id, start_s, end_s, shape(self.area), self.distance_m, self.label)
            if self.lat is None or self.lon is None or self.radius_m is None:
                raise InvalidInput("give lat, lon and radius_m, or an area", field="lat")
            return point_incident(self.id, self.lat, self.lon, self.radius_m, start_s, end_s, self.label)
        except InvalidInput as exc:  # the same message, the field named within the body
            exc.field = f"incidents[{i}].{exc.field or ''}".rstrip(".")
            raise


class CorrelateIn(BaseModel):
    purpose: str | None = Field(
        None, max_length=500, description="why (a case number, a warrant); else the X-Ronda-Purpose header"
    )
    incidents: list[IncidentIn] = Field(min_length=1, max_length=1000)
    parameters: ParamsIn = Field(default_factory=ParamsIn)


def _requester(request: Request, purpose: str | None) -> Requester:
    caller = current_caller(request)
    why = (purpose or caller.purpose or "").strip()
    if len(why) < 3:
        raise InvalidInput(
            "a purpose is required: why these trails are searched (a case or warrant reference)",
            field="purpose",
        )
    return Requester(caller.user_id, str(caller.role), caller.agency_id, why)


_cache_lock = threading.Lock()


def trail_cache(request: Request) -> TrailCache | None:
    """The API process's warm copy of recent fixes (storage.trail_cache):
    made on the first correlation, built in the background; until it is
    ready (or when RONDA_CORRELATION_WARM_DAYS=0) windows are read from the
    database."""
    state = request.app.state
    cache: TrailCache | None = getattr(state, "trail_cache", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(state, "trail_cache", None)
            if cache is None:
                cache = TrailCache(settings(request).correlation)
                state.trail_cache = cache
    if not cache.settings.enabled:
        return None
    cache.start(service(request).db)
    return cache


def _run(request: Request, incidents: list[Incident], params: Params, purpose: str | None) -> dict[str, Any]:
    who = _requester(request, purpose)
    ids = [i.id for i in incidents]
    if len(set(ids)) != len(ids):
        raise InvalidInput("incident ids must be unique", field="incidents")
    caller = current_caller(request)
    with tx(request) as s:
        visible = auth.visible_persons(s, caller, scope_of(request))
        row, _ = repo.run_correlation(s, incidents, params, who, visible, cache=trail_cache(request))
        out = repo.run_json(row)
    authenticator(request).audit(
        caller.entry(
            "correlate",
            f"correlation run {row.id}",
            detail={
                "run": row.id,
                "algorithm": row.algorithm,
                "incidents": ids[:50],
                "persons_listed": row.persons_listed,
            },
        )
    )
    return out


@router.post("/api/investigations/correlate", status_code=201)
def correlate_incidents(request: Request, body: CorrelateIn) -> dict[str, Any]:
    """Which monitored persons were near each incident, and who could not be
    placed; the run is recorded (method, parameters, requester, purpose)."""
    incidents = [inc.incident(i) for i, inc in enumerate(body.incidents)]
    return _run(request, incidents, body.parameters.params(), body.purpose)


@router.post(
    "/api/investigations/correlate/batch",
    status_code=201,
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def correlate_batch(
    request: Request,
    purpose: Annotated[str | None, Query(max_length=500)] = None,
    max_gap_s: float | None = None,
    max_speed_mps: float | None = None,
) -> Response:
    """A CSV of incidents in the body (columns in docs/investigation.md). A
    file with bad lines is refused whole, each bad line named."""
    raw = await request.body()
    if len(raw) > MAX_BODY_CSV:
        raise InvalidInput("the file is larger than {mb} MB", field="body", mb=MAX_BODY_CSV // 1_000_000)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", field="body") from exc
    parsed = parse_csv(text)
    if parsed.errors:
        lang = reader_language(request)
        return JSONResponse(
            {
                "error": gettext(
                    lang, N_("lines that are not incidents: {n}; nothing was run"), n=parsed.bad_lines
                ),
                "field": "body",
                "details": [error_text(e, lang) for e in parsed.errors],
            },
            status_code=422,
            headers={"Content-Language": lang},
        )
    params = ParamsIn(max_gap_s=max_gap_s, max_speed_mps=max_speed_mps).params()
    return JSONResponse(_run(request, parsed.incidents, params, purpose), status_code=201)


@router.get("/api/investigations/runs")
def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[dict[str, Any]]:
    """Recorded correlation runs, newest first (without their results)."""
    caller = current_caller(request)
    with tx(request) as s:
        return [
            repo.run_json(r, with_results=False) for r in repo.list_runs(s, caller.agency_id, limit, offset)
        ]


@router.get("/api/investigations/runs/{run_id}")
def get_run(request: Request, run_id: Annotated[int, Path(ge=1, le=2**62)]) -> dict[str, Any]:
    caller = current_caller(request)
    with tx(request) as s:
        return repo.run_json(repo.get_run(s, run_id, caller.agency_id))


# ------------------------------------------------------------ compliance


class DecisionIn(BaseModel):
    step: str = Field(min_length=1, max_length=64)
    decision: Literal["accepted", "rejected"]
    reason: str = Field("", max_length=2000)


def _history(request: Request, person_id: str, as_of_s: float | None = None) -> dict[str, Any]:
    with tx(request) as s:
        repo.require_person(s, person_id)
        h = history(
            person_id,
            repo.monitored_since(s, person_id),
            time.time() if as_of_s is None else as_of_s,
            repo.person_violations(s, person_id),
            repo.person_decisions(s, person_id),
            repo.load_policy(s),
        )
        return h.as_json()


@router.get("/api/persons/{person_id}/compliance")
def person_compliance(
    request: Request, person_id: PathId, as_of: Annotated[dt.datetime | None, Query()] = None
) -> dict[str, Any]:
    """Days without violation, violations by type, trend, and where the person
    stands on each step-down of the policy."""
    return _history(request, person_id, epoch(as_of, "as_of"))


@router.post("/api/persons/{person_id}/compliance/decisions", status_code=201)
def decide_step_down(request: Request, person_id: PathId, body: DecisionIn) -> dict[str, Any]:
    """Accept or reject a step-down that is suggested now (409-like 422 otherwise)."""
    caller = current_caller(request)
    now = time.time()
    with tx(request) as s:
        repo.require_person(s, person_id)
        policy = repo.load_policy(s)
        h = history(
            person_id,
            repo.monitored_since(s, person_id),
            now,
            repo.person_violations(s, person_id),
            repo.person_decisions(s, person_id),
            policy,
        )
        officer = caller.username or caller.user_id
        d = decide(h, body.step, DecisionKind(body.decision), officer, body.reason, now)
        finding = next(f for f in h.findings if f.step.id == body.step)
        row = repo.record_decision(s, person_id, finding, d.kind, d.officer, d.reason, d.at_s)
        decision_id = row.id
    authenticator(request).audit(
        caller.entry(
            "step_down",
            f"person {person_id}",
            person=person_id,
            detail={"decision": decision_id, "step": body.step, "answer": body.decision},
        )
    )
    return {"decision": {**d.as_json(), "id": decision_id}, "compliance": _history(request, person_id)}


def _period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[float, float]:
    end_s = epoch(end, "to") or time.time()
    start_s = epoch(start, "from") or end_s - 90 * 86400.0
    if end_s <= start_s:
        raise InvalidInput("the period ends before it starts", field="to")
    return start_s, end_s


@router.get("/api/compliance/programme", response_model=None)
def programme_figures(
    request: Request,
    start: Annotated[
        dt.datetime | None, Query(alias="from", description="default: 90 days before `to`")
    ] = None,
    end: Annotated[dt.datetime | None, Query(alias="to", description="default: now")] = None,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | Response:
    """Alerts by cause and outcome, response times against targets, the share
    resolved as no violation, device failure rates, step-down decisions."""
    start_s, end_s = _period(start, end)
    caller = current_caller(request)
    targets = {str(k): v for k, v in DEFAULT_TARGETS_S.items()}
    alert_policy = getattr(request.app.state, "alert_policy", None)
    if alert_policy is not None and hasattr(alert_policy, "targets_s"):
        targets = {str(k): float(v) for k, v in alert_policy.targets_s.items()}
    with tx(request) as s:
        prog = programme(
            start_s,
            end_s,
            repo.handled_alerts(s, start_s, end_s, caller.agency_id),
            repo.device_use(s, start_s, end_s, caller.agency_id),
            targets,
            repo.decisions_in(s, start_s, end_s, caller.agency_id),
        )
    if format == "json":
        return prog.as_json()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "item", "measure", "value"])
    w.writerows(prog.csv_rows())
    name = f"ronda-programme-{dt.datetime.fromtimestamp(end_s, dt.UTC).date().isoformat()}.csv"
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/compliance/policy")
def get_policy(request: Request) -> dict[str, Any]:
    with tx(request) as s:
        return repo.load_policy(s).as_json()


@router.put("/api/compliance/policy")
def put_policy(request: Request, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Replace the step-down policy: `{steps: [{id, clean_days, suggestion, after}], trend_window_days}`."""
    policy = Policy.from_json(body)
    with tx(request) as s:
        repo.save_policy(s, policy)
    return policy.as_json()


@router.get("/compliance", include_in_schema=False, response_model=None)
def compliance_page() -> FileResponse | HTMLResponse:
    """The programme and compliance figures as charts (reads the API with the
    signed-in session of the main page)."""
    if not PAGE.is_file():
        return HTMLResponse("<p>compliance.html is missing from this installation</p>", status_code=503)
    return FileResponse(PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/compliance.js", include_in_schema=False, response_model=None)
def compliance_script() -> FileResponse | HTMLResponse:
    if not SCRIPT.is_file():
        return HTMLResponse("compliance.js is missing", status_code=404)
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
