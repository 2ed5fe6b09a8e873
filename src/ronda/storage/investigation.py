"""Investigation data: trails of monitored persons for a window, correlation
runs as recorded, compliance histories and decisions, programme figures."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ronda.cases.models import DeviceKind, PersonRole
from ronda.compliance.models import (
    Decision,
    DecisionKind,
    DeviceUse,
    Finding,
    Handled,
    Policy,
    ViolationRecord,
)
from ronda.correlation import ALGORITHM_VERSION, Incident, Params, Result, Trail, TrailIndex, correlate
from ronda.geo.projection import FloatArray, LocalProjection
from ronda.storage.errors import NotFound
from ronda.storage.models import (
    AlertActionRow,
    AlertRow,
    AssignmentRow,
    DeviceRow,
    EpisodeRow,
    PersonRow,
    RecordRow,
    SettingRow,
)
from ronda.storage.models_evidence import ComplianceDecisionRow, CorrelationRunRow

if TYPE_CHECKING:
    from ronda.storage.trail_cache import TrailCache

POSITION = "position"
TRACKED_KINDS = (DeviceKind.GPS_TAG.value,)  # devices that place their wearer (not home units, not phones)
IN_CHUNK = 500  # device ids per IN (...) list


# ------------------------------------------------------------ correlation


@dataclass
class Fixes:
    """Position fixes as columns: `dev` codes into `devices`; accuracy NaN
    when not stated. What a window of trails is read from (the database, or
    the warm cache of `storage.trail_cache`)."""

    devices: list[str]
    dev: npt.NDArray[np.int64]
    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    acc: FloatArray


@dataclass(frozen=True)
class Worn:
    """Who wore which tracked device around a window: per device its spans
    (person, from, to) in assignment order, per person the period covered."""

    spans: dict[str, list[tuple[str, float, float]]]
    cover: dict[str, tuple[float, float]]

    @property
    def devices(self) -> list[str]:
        return sorted(self.spans)


def read_worn(s: Session, lo: float, hi: float, now_s: float, persons: set[str] | None = None) -> Worn:
    """GPS tags worn by monitored persons in [lo, hi] (never a protected
    person, never a device before or after it was worn); `persons` limits the
    answer to those the caller may see."""
    stmt = (
        select(AssignmentRow.device_id, AssignmentRow.person_id, AssignmentRow.start_s, AssignmentRow.end_s)
        .join(DeviceRow, DeviceRow.id == AssignmentRow.device_id)
        .join(PersonRow, PersonRow.id == AssignmentRow.person_id)
        .where(
            DeviceRow.kind.in_(TRACKED_KINDS),
            PersonRow.role == PersonRole.MONITORED.value,
            AssignmentRow.start_s <= min(hi, now_s),
            or_(AssignmentRow.end_s.is_(None), AssignmentRow.end_s >= lo),
        )
        .order_by(AssignmentRow.start_s, AssignmentRow.id)
    )
    worn: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for device, person, a0, a1 in s.connection().execute(stmt):  # rows, not ORM objects
        if persons is not None and person not in persons:
            continue
        worn[device].append((person, float(a0), math.inf if a1 is None else float(a1)))
    cover: dict[str, list[float]] = {}
    for spans in worn.values():
        for person, a0, a1 in spans:
            c = cover.setdefault(person, [math.inf, -math.inf])
            c[0] = min(c[0], max(a0, lo))
            c[1] = max(c[1], min(a1, hi, now_s))
    return Worn(dict(worn), {p: (c[0], c[1]) for p, c in cover.items()})


def read_fixes(s: Session, devices: Sequence[str], lo: float, hi: float) -> Fixes:
    """The devices' valid fixes in [lo, hi], straight from the database:
    columns from the driver (no ORM rows), then numpy (a window of a large
    caseload is ~10^5-10^6 fixes)."""
    code = {d: i for i, d in enumerate(devices)}
    cols: list[list[Any]] = [[], [], [], [], []]
    conn = s.connection()
    for i in range(0, len(devices), IN_CHUNK):
        rows = conn.execute(
            select(
                RecordRow.device_id, RecordRow.time_s, RecordRow.lat, RecordRow.lon, RecordRow.accuracy_m
            ).where(
                RecordRow.device_id.in_(devices[i : i + IN_CHUNK]),
                RecordRow.kind == POSITION,
                RecordRow.valid.is_(True),
                RecordRow.lat.is_not(None),
                RecordRow.lon.is_not(None),
                RecordRow.time_s >= lo,
                RecordRow.time_s <= hi,
            )
        ).all()
        if rows:
            for col, values in zip(cols, zip(*rows, strict=True), strict=True):
                col.extend(values)
    return Fixes(
        devices=list(devices),
        dev=np.fromiter((code[d] for d in cols[0]), np.int64, len(cols[0])),
        t=np.asarray(cols[1], float),
        lat=np.asarray(cols[2], float),
        lon=np.asarray(cols[3], float),
        acc=np.array([math.nan if a is None else a for a in cols[4]], float),
    )


@dataclass(frozen=True)
class Window:
    """The trails of a window as columns, person by person in time order:
    what `TrailIndex.build` would concatenate from one `Trail` per person."""

    persons: list[str]
    offsets: npt.NDArray[np.int64]
    covered_from_s: FloatArray
    covered_to_s: FloatArray
    fixes: Fixes


def assemble(worn: Worn, fixes: Fixes) -> Window:
    """Give each fix to whoever wore its device at the time ([start, end): at a
    handover, the new wearer's; the first assignment in order wins an
    overlap), drop the rest, and order person by person, then by time (then
    device: fixes of two tags at the same instant keep one order)."""
    devices = fixes.devices
    person_ids = sorted(p for p, (c0, c1) in worn.cover.items() if c1 >= c0)
    pcode = {p: i for i, p in enumerate(person_ids)}
    dcode = {d: i for i, d in enumerate(devices)}
    t, dev = fixes.t, fixes.dev
    owner = np.full(len(t), -1, np.int64)
    # Spans per device, taken rank by rank (most devices have one): vectorised
    # over the fixes, same answer as looping device by device in order.
    ranked: list[list[tuple[int, int, float, float]]] = []
    for d, spans in worn.spans.items():
        if d not in dcode:
            continue
        for r, (person, a0, a1) in enumerate(spans):
            while len(ranked) <= r:
                ranked.append([])
            ranked[r].append((dcode[d], pcode.get(person, -2), a0, a1))
    for level in ranked:
        a0s = np.full(len(devices), np.inf)
        a1s = np.full(len(devices), -np.inf)
        who = np.full(len(devices), -1, np.int64)
        for d_i, p_i, a0, a1 in level:
            a0s[d_i], a1s[d_i], who[d_i] = a0, a1, p_i
        free = owner == -1
        hit = free & (t >= a0s[dev]) & (t < a1s[dev])
        owner[hit] = who[dev[hit]]
    keep = np.flatnonzero(owner >= 0)  # -2: worn by someone not covered in the window
    idx = _by_owner_time_device(owner[keep], t[keep], dev[keep], len(person_ids))
    idx = keep[idx]
    owner_sorted = owner[idx]
    offsets = np.searchsorted(owner_sorted, np.arange(len(person_ids) + 1)).astype(np.int64)
    return Window(
        persons=person_ids,
        offsets=offsets,
        covered_from_s=np.array([worn.cover[p][0] for p in person_ids], float),
        covered_to_s=np.array([worn.cover[p][1] for p in person_ids], float),
        fixes=Fixes(devices, dev[idx], t[idx], fixes.lat[idx], fixes.lon[idx], fixes.acc[idx]),
    )


def _by_owner_time_device(
    owner: npt.NDArray[np.int64], t: FloatArray, dev: npt.NDArray[np.int64], n_persons: int
) -> npt.NDArray[np.int64]:
    """The order of `np.lexsort((dev, t, owner))`, faster: two stable sorts
    (time, then owner: a radix sort for a caseload under 32,768, and time is
    already in runs when it comes from the warm cache), then the full sort
    only if one person has two fixes at the same instant (two tags)."""
    by_t = np.argsort(t, kind="stable")
    small = owner[by_t].astype(np.int16 if n_persons < 2**15 else np.int32)
    order = by_t[np.argsort(small, kind="stable")]
    o, tt = owner[order], t[order]
    if bool(np.any((o[1:] == o[:-1]) & (tt[1:] == tt[:-1]))):
        return np.lexsort((dev, t, owner)).astype(np.int64)
    return order.astype(np.int64)


def index_window(w: Window, params: Params) -> TrailIndex:
    """The index `TrailIndex.build` makes of the window's trails (projected
    around the middle of their fixes), without a Python object per fix."""
    f = w.fixes
    ok = np.isfinite(f.lat) & np.isfinite(f.lon)
    if ok.any():
        projection = LocalProjection.around(
            [float(f.lon[ok].min()), float(f.lon[ok].max())], [float(f.lat[ok].min()), float(f.lat[ok].max())]
        )
    else:
        projection = LocalProjection(0.0, 0.0)
    x, y = projection.to_xy(f.lon, f.lat)
    return TrailIndex.from_xy(
        list(w.persons),
        w.offsets,
        f.t,
        x,
        y,
        f.acc,
        f.dev.astype(np.int32),
        list(f.devices),
        w.covered_from_s,
        w.covered_to_s,
        projection,
        params,
        max_gap_s=np.full(len(w.persons), params.max_gap_s),
    )


def window_span(start_s: float, end_s: float, params: Params) -> tuple[float, float]:
    """What a window reads: one gap before to one gap after."""
    return start_s - params.max_gap_s, end_s + params.max_gap_s


def load_window(
    s: Session,
    start_s: float,
    end_s: float,
    params: Params,
    now_s: float,
    persons: set[str] | None = None,
    cache: TrailCache | None = None,
) -> tuple[Window, str]:
    """The window's trails, from the warm cache when it holds the whole span
    (see `storage.trail_cache`), else from the database; and which it was."""
    lo, hi = window_span(start_s, end_s, params)
    worn = read_worn(s, lo, hi, now_s, persons)
    fixes = cache.fixes(s.connection(), worn.devices, lo, hi) if cache is not None else None
    source = "warm"
    if fixes is None:
        fixes, source = read_fixes(s, worn.devices, lo, hi), "database"
    return assemble(worn, fixes), source


def load_trails(
    s: Session,
    start_s: float,
    end_s: float,
    params: Params,
    now_s: float,
    persons: set[str] | None = None,
) -> list[Trail]:
    """The GPS trails of monitored persons around [start_s, end_s] from the
    database, one `Trail` per person: their tags' valid fixes from one gap
    before to one gap after, within the periods each wore the tag."""
    w, _ = load_window(s, start_s, end_s, params, now_s, persons)
    f = w.fixes
    out = []
    for j, person in enumerate(w.persons):
        sel = slice(int(w.offsets[j]), int(w.offsets[j + 1]))
        out.append(
            Trail(
                person,
                f.t[sel],
                f.lat[sel],
                f.lon[sel],
                f.acc[sel],
                [f.devices[k] for k in f.dev[sel].tolist()],
                float(w.covered_from_s[j]),
                float(w.covered_to_s[j]),
            )
        )
    return out


GROUP_SPAN_S = 6 * 3600.0  # incidents within this span share one read of the trails


def group_incidents(incidents: Sequence[Incident]) -> list[tuple[float, float, list[Incident]]]:
    """Incidents close in time, so that a batch (a series of burglaries in
    one night) reads the database once per group rather than per incident."""
    groups: list[tuple[float, float, list[Incident]]] = []
    for inc in sorted(incidents, key=lambda i: (i.start_s, i.end_s)):
        if groups and max(groups[-1][1], inc.end_s) - groups[-1][0] <= GROUP_SPAN_S:
            lo, hi, members = groups[-1]
            groups[-1] = (lo, max(hi, inc.end_s), [*members, inc])
        else:
            groups.append((inc.start_s, inc.end_s, [inc]))
    return groups


@dataclass(frozen=True)
class Requester:
    user: str
    role: str
    agency: str | None
    purpose: str


def run_correlation(
    s: Session,
    incidents: Sequence[Incident],
    params: Params,
    who: Requester,
    persons: set[str] | None = None,
    now_s: float | None = None,
    cache: TrailCache | None = None,
) -> tuple[CorrelationRunRow, list[Result]]:
    """Correlate each incident with the trails of its window and record the
    run (method, parameters, requester, purpose, incidents, answer). With a
    warm `cache`, windows it holds are read from memory, others from the
    database; the answer is the same either way."""
    if not who.purpose.strip():
        from ronda.errors import InvalidInput

        raise InvalidInput("a purpose is required (why these trails are being searched)", field="purpose")
    started = time.perf_counter()
    now = time.time() if now_s is None else now_s
    by_id: dict[str, Result] = {}
    source: dict[str, str] = {}
    for lo, hi, group in group_incidents(incidents):
        window, src = load_window(s, lo, hi, params, now, persons, cache)
        index = index_window(window, params)
        for inc in group:
            by_id[inc.id] = correlate(index, inc)
            source[inc.id] = src
    results = [by_id[inc.id] for inc in incidents]
    answer = [r.as_json() for r in results]
    row = CorrelationRunRow(
        created_s=now,
        requester=who.user,
        requester_role=who.role,
        agency_id=who.agency,
        purpose=who.purpose.strip(),
        algorithm=ALGORITHM_VERSION,
        parameters=params.as_dict(),
        incidents={"items": [i.describe() for i in incidents]},
        summary={
            "items": [
                {
                    "incident": r.incident.id,
                    "considered": r.persons_considered,
                    "near": len(r.near),
                    "unplaced": len(r.unplaced),
                    "trails_from": source[r.incident.id],  # "warm" (memory) or "database"
                }
                for r in results
            ]
        },
        results={"items": answer},
        persons_listed=len(
            {m.person for r in results for m in r.near} | {u.person for r in results for u in r.unplaced}
        ),
        duration_s=time.perf_counter() - started,
    )
    s.add(row)
    s.flush()
    return row, results


def run_json(row: CorrelationRunRow, *, with_results: bool = True) -> dict[str, Any]:
    from ronda.types import to_iso

    out: dict[str, Any] = {
        "id": row.id,
        "created": to_iso(row.created_s),
        "requester": row.requester,
        "requester_role": row.requester_role,
        "agency": row.agency_id,
        "purpose": row.purpose,
        "algorithm": row.algorithm,
        "parameters": row.parameters,
        "incidents": row.incidents.get("items", []),
        "summary": row.summary.get("items", []),
        "persons_listed": row.persons_listed,
        "duration_s": round(row.duration_s, 3),
    }
    if with_results:
        out["results"] = row.results.get("items", [])
    return out


def list_runs(s: Session, agency: str | None, limit: int = 100, offset: int = 0) -> list[CorrelationRunRow]:
    stmt = select(CorrelationRunRow).order_by(CorrelationRunRow.id.desc()).limit(limit).offset(offset)
    if agency is not None:
        stmt = stmt.where(CorrelationRunRow.agency_id == agency)
    return list(s.execute(stmt).scalars())


def get_run(s: Session, run_id: int, agency: str | None) -> CorrelationRunRow:
    row = s.get(CorrelationRunRow, run_id)
    if row is None or (agency is not None and row.agency_id != agency):
        raise NotFound("correlation run", run_id)
    return row


# ------------------------------------------------------------ compliance

POLICY_KEY = "compliance.step_down"
VIOLATION_TYPES = ("exclusion", "inclusion", "proximity", "tamper")


def load_policy(s: Session) -> Policy:
    row = s.get(SettingRow, POLICY_KEY)
    return Policy.default() if row is None else Policy.from_json(row.value)


def save_policy(s: Session, policy: Policy) -> None:
    row = s.get(SettingRow, POLICY_KEY)
    if row is None:
        s.add(SettingRow(key=POLICY_KEY, value=policy.as_json()))
    else:
        row.value = policy.as_json()
    s.flush()


def monitored_since(s: Session, person_id: str) -> float | None:
    return s.execute(
        select(func.min(AssignmentRow.start_s)).where(AssignmentRow.person_id == person_id)
    ).scalar_one_or_none()


def person_violations(s: Session, person_id: str) -> list[ViolationRecord]:
    rows = s.execute(
        select(EpisodeRow.type, EpisodeRow.start_s, EpisodeRow.end_s, AlertRow.status, AlertRow.outcome)
        .outerjoin(AlertRow, AlertRow.episode_id == EpisodeRow.id)
        .where(EpisodeRow.person_id == person_id, EpisodeRow.type.in_(VIOLATION_TYPES))
        .order_by(EpisodeRow.start_s)
    )
    return [
        ViolationRecord(
            type=t, start_s=float(a), end_s=None if b is None else float(b), outcome=o, status=st or "new"
        )
        for t, a, b, st, o in rows
    ]


def person_decisions(s: Session, person_id: str) -> list[Decision]:
    rows = s.execute(
        select(ComplianceDecisionRow)
        .where(ComplianceDecisionRow.person_id == person_id)
        .order_by(ComplianceDecisionRow.at_s, ComplianceDecisionRow.id)
    ).scalars()
    return [
        Decision(
            step_id=r.step_id,
            kind=DecisionKind(r.decision),
            officer=r.officer,
            reason=r.reason,
            at_s=r.at_s,
            id=r.id,
        )
        for r in rows
    ]


def require_person(s: Session, person_id: str) -> PersonRow:
    p = s.get(PersonRow, person_id)
    if p is None:
        raise NotFound("person", person_id)
    return p


def record_decision(
    s: Session, person_id: str, finding: Finding, kind: DecisionKind, officer: str, reason: str, at_s: float
) -> ComplianceDecisionRow:
    row = ComplianceDecisionRow(
        person_id=person_id,
        step_id=finding.step.id,
        decision=kind.value,
        officer=officer,
        reason=reason,
        at_s=at_s,
        facts=finding.as_json(),
    )
    s.add(row)
    s.flush()
    return row


def handled_alerts(s: Session, start_s: float, end_s: float, agency: str | None) -> list[Handled]:
    """Every alert raised in [start_s, end_s), with when it was first
    acknowledged and when it was (last) resolved."""
    stmt = (
        select(
            AlertRow.id,
            EpisodeRow.type,
            AlertRow.severity,
            AlertRow.status,
            AlertRow.outcome,
            AlertRow.created_s,
        )
        .join(EpisodeRow, EpisodeRow.id == AlertRow.episode_id)
        # the period is when the engine raised the episode (event time): the
        # alert's created_s is when it was stored, which for an imported
        # history is the import
        .where(EpisodeRow.raised_s >= start_s, EpisodeRow.raised_s < end_s)
    )
    if agency is not None:
        stmt = stmt.join(PersonRow, PersonRow.id == EpisodeRow.person_id).where(PersonRow.agency_id == agency)
    rows = s.execute(stmt).all()
    firsts: dict[int, dict[str, float]] = defaultdict(dict)
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), IN_CHUNK):
        acts = s.execute(
            select(AlertActionRow.alert_id, AlertActionRow.action, AlertActionRow.at_s)
            .where(AlertActionRow.alert_id.in_(ids[i : i + IN_CHUNK]))
            .order_by(AlertActionRow.at_s, AlertActionRow.id)
        )
        for alert_id, action, at_s in acts:
            seen = firsts[alert_id]
            if action in ("acknowledge", "resolve") and "ack" not in seen:
                seen["ack"] = at_s  # resolving a new alert answers it too
            if action == "resolve":
                seen["resolve"] = at_s
            if action == "reopen":
                seen.pop("resolve", None)
    return [
        Handled(
            alert_id=a,
            cause=t,
            severity=sev,
            status=st,
            outcome=o,
            created_s=c,
            acknowledged_s=firsts.get(a, {}).get("ack"),
            resolved_s=firsts.get(a, {}).get("resolve"),
        )
        for a, t, sev, st, o, c in rows
    ]


def device_use(s: Session, start_s: float, end_s: float, agency: str | None) -> list[DeviceUse]:
    """Per device kind: device-days worn in [start_s, end_s) and device-health
    episodes that started in it."""
    stmt = (
        select(DeviceRow.id, DeviceRow.kind, AssignmentRow.start_s, AssignmentRow.end_s)
        .join(AssignmentRow, AssignmentRow.device_id == DeviceRow.id)
        .where(
            AssignmentRow.start_s < end_s, or_(AssignmentRow.end_s.is_(None), AssignmentRow.end_s > start_s)
        )
    )
    if agency is not None:
        stmt = stmt.where(DeviceRow.agency_id == agency)
    worn: dict[str, float] = defaultdict(float)
    kind_of: dict[str, str] = {}
    for dev, kind, a0, a1 in s.execute(stmt):
        kind_of[dev] = kind
        worn[dev] += max(0.0, min(end_s, math.inf if a1 is None else a1) - max(start_s, a0)) / 86400.0
    eps = s.execute(
        select(EpisodeRow.device_id, EpisodeRow.type).where(
            EpisodeRow.start_s >= start_s,
            EpisodeRow.start_s < end_s,
            EpisodeRow.type.in_(("comms_loss", "no_fix", "low_battery", "tamper")),
            EpisodeRow.device_id.is_not(None),
        )
    ).all()
    failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ep_device, ep_type in eps:
        if ep_device is not None and ep_device in kind_of:
            failures[ep_device][ep_type] += 1
    return [
        DeviceUse(device=d, kind=kind_of[d], days_worn=worn[d], episodes=dict(failures.get(d, {})))
        for d in sorted(kind_of)
    ]


def decisions_in(s: Session, start_s: float, end_s: float, agency: str | None) -> Iterable[tuple[str, str]]:
    stmt = select(ComplianceDecisionRow.step_id, ComplianceDecisionRow.decision).where(
        ComplianceDecisionRow.at_s >= start_s, ComplianceDecisionRow.at_s < end_s
    )
    if agency is not None:
        stmt = stmt.join(PersonRow, PersonRow.id == ComplianceDecisionRow.person_id).where(
            PersonRow.agency_id == agency
        )
    return [(a, b) for a, b in s.execute(stmt)]
