"""Evidence over the API: a person's court report (PDF) and evidence bundle
(ZIP). Both are exports: the access policy requires a stated purpose
(`X-Ronda-Purpose`) and audits the request; the handler adds an audit entry
with the SHA-256 digests of what it handed out."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ronda.api import schemas as sc
from ronda.api.deps import epoch, service
from ronda.api.policy import CallerDep
from ronda.errors import InvalidInput

router = APIRouter(prefix="/api", tags=["evidence"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]
Start = Annotated[dt.datetime, Query(description="from (ISO 8601; no zone means UTC)")]
End = Annotated[dt.datetime, Query(description="to, excluded")]
MAX_PERIOD_S = 400 * 86400.0


def _period(start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
    a, b = epoch(start, "start"), epoch(end, "end")
    assert a is not None and b is not None
    if b <= a:
        raise InvalidInput("must be after start", field="query.end")
    if b - a > MAX_PERIOD_S:
        raise InvalidInput("a period of at most 400 days", field="query.end")
    return a, b


@router.get(
    "/persons/{person_id}/court-report",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the court report (PDF/A-3b)"}},
)
async def court_report_route(
    request: Request,
    caller: CallerDep,
    person_id: PathId,
    start: Start,
    end: End,
    lang: Annotated[
        str | None, Query(pattern="^[a-z]{2}$", description="default: the caller's language")
    ] = None,
) -> Response:
    """The court report of a person over a period, with its data attached and
    their SHA-256 digests printed (docs/evidence.md). Needs `X-Ronda-Purpose`."""
    from ronda.reports.bundle import EXPORT_ACTION, audit_export
    from ronda.reports.casefile import gather
    from ronda.reports.court import court_report

    a, b = _period(start, end)
    svc = service(request)

    def build() -> Response:
        with svc.sessions() as s:
            case = gather(s, person_id, a, b)
        who = caller.display_name or caller.username
        rep = court_report(
            case, actor=who, purpose=caller.purpose or "", lang=lang or caller.language or "en"
        )
        audit_export(
            svc.db,
            caller.entry(
                EXPORT_ACTION,
                f"court report of person {person_id}",
                person=person_id,
                detail={
                    "data_manifest_sha256": rep.digests["manifest.json"],
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                },
            ),
        )
        name = f"court-report-{person_id}-{dt.datetime.fromtimestamp(a, dt.UTC):%Y%m%d}.pdf"
        return Response(
            rep.pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Ronda-Data-SHA256": rep.digests["manifest.json"],
            },
        )

    return await run_in_threadpool(build)


@router.get(
    "/persons/{person_id}/evidence-bundle",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "the evidence bundle (ZIP)"}},
)
async def evidence_bundle_route(
    request: Request, caller: CallerDep, person_id: PathId, start: Start, end: End
) -> Response:
    """A person's evidence bundle: positions, events, episodes, alerts, who
    handled them, the audit excerpt and a manifest of SHA-256 digests. Check
    it with `ronda evidence verify`. Needs `X-Ronda-Purpose`."""
    from ronda.reports.bundle import Requester, export_bundle
    from ronda.storage import cases

    a, b = _period(start, end)
    svc = service(request)
    with svc.sessions() as s:
        cases.get_person(s, person_id)  # 404 before any work
    who = Requester(caller.user_id, str(caller.role), caller.agency_id, caller.source or None)

    def build() -> tuple[bytes, str]:
        return export_bundle(
            svc.db, person_id, a, b, purpose=caller.purpose or "", who=who, now_s=time.time()
        )

    data, digest = await run_in_threadpool(build)
    name = f"evidence-{person_id}-{dt.datetime.fromtimestamp(a, dt.UTC):%Y%m%d}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Ronda-Manifest-SHA256": digest},
    )
