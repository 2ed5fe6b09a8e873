"""The audit trail, for auditors: read and verify. There is no route that
changes it: it is only ever appended to, by the server itself."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from ronda.api import schemas as sc
from ronda.api.deps import epoch, service, tx, when
from ronda.api.policy import CallerDep
from ronda.storage import security as repo

router = APIRouter(prefix="/api", tags=["audit"])
IdQ = Annotated[str | None, Query(max_length=64, pattern=sc.ID_PATTERN)]


class AuditOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    role: str
    agency: str | None
    action: str
    target: str
    person: str | None
    purpose: str | None
    source: str | None
    outcome: str
    detail: str
    hash: str


@router.get("/audit")
def read_audit(
    request: Request,
    caller: CallerDep,
    person: IdQ = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="entries after this seq (paging)")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditOut]:
    """Entries in order; an auditor of an agency sees that agency's entries."""
    q = repo.AuditQuery(
        person, actor, action, caller.agency_id, epoch(start, "start"), epoch(end, "end"), after
    )
    with tx(request) as s:
        return [
            AuditOut(
                seq=r.seq,
                at=when(r.at_s),
                actor=r.actor,
                role=r.role,
                agency=r.agency,
                action=r.action,
                target=r.target,
                person=r.person,
                purpose=r.purpose,
                source=r.source,
                outcome=r.outcome,
                detail=r.detail,
                hash=r.hash,
            )
            for r in repo.read_audit(s, q, limit)
        ]


@router.get("/audit/verify")
def verify_audit(request: Request) -> dict[str, Any]:
    """Checks the whole chain (as `ronda audit verify`): the first row that was
    altered, removed or moved, or the tail cut, if any."""
    v = repo.verify_audit(service(request).sessions.kw["bind"])
    f = v.finding
    return {
        "ok": v.ok,
        "rows": v.rows,
        "head_seq": v.head_seq,
        "head_hash": v.head_hash,
        "finding": None if f is None else {"kind": str(f.kind), "seq": f.seq, "message": f.message},
    }
