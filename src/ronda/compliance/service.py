"""A person's compliance history and step-down findings; programme figures.

Only confirmed violations (an alert resolved as `violation_confirmed`) break
a clean record; unresolved ones block a step-down until someone resolves
them (they may yet count); alerts resolved as anything else do not count.
Device-health episodes (lost signal, flat battery) are not the person's
violations and are left to the programme's device figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ronda.compliance.models import (
    CONFIRMED,
    DAY_S,
    Decision,
    DecisionKind,
    DeviceUse,
    Finding,
    Handled,
    History,
    Policy,
    Standing,
    Trend,
    ViolationRecord,
)
from ronda.errors import InvalidInput, Term
from ronda.i18n.vocabulary import LABELS

WEEKS_SHOWN = 12


def _end(v: ViolationRecord, as_of_s: float) -> float:
    return as_of_s if v.end_s is None else min(v.end_s, as_of_s)


def history(
    person: str,
    monitored_since_s: float | None,
    as_of_s: float,
    violations: Iterable[ViolationRecord],
    decisions: Sequence[Decision],
    policy: Policy,
) -> History:
    seen = sorted((v for v in violations if v.start_s <= as_of_s), key=lambda v: v.start_s)
    confirmed = [v for v in seen if v.standing is Standing.CONFIRMED]
    pending = [v for v in seen if v.standing is Standing.PENDING]
    start = monitored_since_s if monitored_since_s is not None else (seen[0].start_s if seen else None)

    # clean record: from the end of the last confirmed violation (an open one: none yet)
    clean_since: float | None = start
    longest = 0.0
    cursor = start
    for v in confirmed:
        if cursor is not None:
            longest = max(longest, v.start_s - cursor)
        end = _end(v, as_of_s)
        cursor = end if cursor is None else max(cursor, end)
        clean_since = cursor
    if cursor is not None:
        longest = max(longest, as_of_s - cursor)
    days_clean = 0 if clean_since is None else max(0, int((as_of_s - clean_since) // DAY_S))

    w = policy.trend_window_days * DAY_S
    recent = sum(1 for v in confirmed if as_of_s - w < v.start_s <= as_of_s)
    previous = sum(1 for v in confirmed if as_of_s - 2 * w < v.start_s <= as_of_s - w)
    if start is None or as_of_s - start < 2 * w:
        trend = Trend.NOT_ENOUGH_HISTORY
    elif recent < previous:
        trend = Trend.IMPROVING
    elif recent > previous:
        trend = Trend.WORSENING
    else:
        trend = Trend.STABLE

    week0 = as_of_s - WEEKS_SHOWN * 7 * DAY_S
    weekly = []
    for i in range(WEEKS_SHOWN):
        a, b = week0 + i * 7 * DAY_S, week0 + (i + 1) * 7 * DAY_S
        weekly.append((a, sum(1 for v in confirmed if a < v.start_s <= b)))

    return History(
        person=person,
        as_of_s=as_of_s,
        monitored_since_s=start,
        days_monitored=0 if start is None else max(0, int((as_of_s - start) // DAY_S)),
        days_clean=days_clean,
        clean_since_s=clean_since,
        longest_clean_days=int(longest // DAY_S),
        confirmed_by_type=dict(sorted(Counter(v.type for v in confirmed).items())),
        pending_by_type=dict(sorted(Counter(v.type for v in pending).items())),
        dismissed=sum(1 for v in seen if v.standing is Standing.DISMISSED),
        recent=recent,
        previous=previous,
        trend=trend,
        weekly=tuple(weekly),
        findings=tuple(_findings(policy, clean_since, pending, decisions, as_of_s)),
        decisions=tuple(decisions),
    )


def _findings(
    policy: Policy,
    clean_since: float | None,
    pending: Sequence[ViolationRecord],
    decisions: Sequence[Decision],
    as_of_s: float,
) -> list[Finding]:
    out: list[Finding] = []
    accepted: dict[str, Decision] = {}
    for d in decisions:
        if d.kind is DecisionKind.ACCEPTED and d.at_s <= as_of_s:
            accepted.setdefault(d.step_id, d)
    for step in policy.steps:
        if step.id in accepted:
            out.append(Finding(step, "accepted", None, 0, 0, accepted[step.id]))
            continue
        if step.after is not None and step.after not in accepted:
            out.append(Finding(step, "waiting_for_previous", None, 0, 0))
            continue
        if clean_since is None:
            out.append(Finding(step, "counting", None, 0, 0))
            continue
        # The record counts from the last of: the clean record's start, the
        # previous step's acceptance (doing well under the lighter regime),
        # and this step's last rejection (a refused step is earned afresh).
        marks = [clean_since]
        if step.after is not None:
            marks.append(accepted[step.after].at_s)
        marks += [d.at_s for d in decisions if d.step_id == step.id and d.kind is DecisionKind.REJECTED]
        since = max(m for m in marks if m <= as_of_s) if any(m <= as_of_s for m in marks) else clean_since
        days = max(0, int((as_of_s - since) // DAY_S))
        open_ = sum(1 for v in pending if _end(v, as_of_s) >= since)
        if days < step.clean_days:
            status = "counting"
        elif open_:
            status = "blocked_pending"
        else:
            status = "due"
        out.append(Finding(step, status, since, days, open_))
    return out


def decide(h: History, step_id: str, kind: DecisionKind, officer: str, reason: str, at_s: float) -> Decision:
    """An officer's answer to a suggestion: only a due suggestion can be
    answered; a rejection says why."""
    finding = next((f for f in h.findings if f.step.id == step_id), None)
    if finding is None:
        raise InvalidInput("no step-down {step} in the policy", field="step", step=repr(step_id))
    if not finding.due:
        raise InvalidInput(
            "step-down {step} is not suggested now ({status})",
            field="step",
            step=repr(step_id),
            status=Term(LABELS["step_down_status"].get(finding.status, finding.status)),
        )
    if not officer.strip():
        raise InvalidInput("the deciding officer is required", field="officer")
    if kind is DecisionKind.REJECTED and not reason.strip():
        raise InvalidInput("a rejection needs a reason", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("at most 2000 characters", field="reason")
    return Decision(step_id, kind, officer.strip(), reason.strip(), at_s)


# ------------------------------------------------------------------ programme

NO_VIOLATION = "no_violation"


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Programme:
    start_s: float
    end_s: float
    by_cause: dict[str, dict[str, int]]  # cause -> outcome (or "open") -> alerts
    response: dict[str, dict[str, Any]]  # severity -> figures
    resolved: int
    resolved_no_violation: int
    devices: dict[str, dict[str, Any]]  # kind -> figures
    step_downs: dict[str, dict[str, int]]  # step -> accepted / rejected

    @property
    def no_violation_share(self) -> float | None:
        return None if self.resolved == 0 else self.resolved_no_violation / self.resolved

    def as_json(self) -> dict[str, Any]:
        from ronda.types import to_iso

        return {
            "from": to_iso(self.start_s),
            "to": to_iso(self.end_s),
            "alerts_by_cause": self.by_cause,
            "response_times": self.response,
            "resolved": self.resolved,
            "resolved_no_violation": self.resolved_no_violation,
            "no_violation_share": None
            if self.no_violation_share is None
            else round(self.no_violation_share, 4),
            "device_failures": self.devices,
            "step_downs": self.step_downs,
        }

    def csv_rows(self) -> list[tuple[str, str, str, str]]:
        """(section, item, measure, value): one long table, easy to pivot."""
        rows: list[tuple[str, str, str, str]] = []
        for cause, outs in self.by_cause.items():
            for outcome, n in outs.items():
                rows.append(("alerts_by_cause", cause, outcome, str(n)))
        for sev, figs in self.response.items():
            for k, v in figs.items():
                rows.append(("response_times", sev, k, "" if v is None else f"{v:g}"))
        rows.append(("resolution", "all", "resolved", str(self.resolved)))
        rows.append(("resolution", "all", "resolved_no_violation", str(self.resolved_no_violation)))
        share = self.no_violation_share
        rows.append(("resolution", "all", "no_violation_share", "" if share is None else f"{share:.4f}"))
        for kind, figs in self.devices.items():
            for k, v in figs.items():
                if isinstance(v, dict):
                    rows += [("device_failures", kind, f"{k}.{t}", f"{n:g}") for t, n in v.items()]
                else:
                    rows.append(("device_failures", kind, k, f"{v:g}"))
        for step, counts in self.step_downs.items():
            rows += [("step_downs", step, k, str(n)) for k, n in counts.items()]
        return rows


def programme(
    start_s: float,
    end_s: float,
    alerts: Iterable[Handled],
    devices: Iterable[DeviceUse],
    targets_s: Mapping[str, float],
    decisions: Iterable[tuple[str, str]] = (),
) -> Programme:
    """Figures over alerts created in [start_s, end_s) and devices worn in it."""
    if not end_s > start_s:
        raise InvalidInput("the period ends before it starts", field="to")
    alerts = list(alerts)
    by_cause: dict[str, Counter[str]] = {}
    for a in alerts:
        outcome = a.outcome if a.status == "resolved" and a.outcome else "open"
        by_cause.setdefault(a.cause, Counter())[outcome] += 1
    response: dict[str, dict[str, Any]] = {}
    for sev in sorted({a.severity for a in alerts} | set(targets_s)):
        mine = [a for a in alerts if a.severity == sev]
        ack = [a.acknowledged_s - a.created_s for a in mine if a.acknowledged_s is not None]
        res = [a.resolved_s - a.created_s for a in mine if a.resolved_s is not None]
        target = targets_s.get(sev)
        within = None if target is None or not mine else sum(1 for d in ack if d <= target) / len(mine)
        response[sev] = {
            "alerts": len(mine),
            "acknowledged": len(ack),
            "target_s": target,
            "median_ack_s": _quantile(ack, 0.5),
            "p90_ack_s": _quantile(ack, 0.9),
            "within_target_share": None if within is None else round(within, 4),
            "median_resolve_s": _quantile(res, 0.5),
        }
    resolved = [a for a in alerts if a.status == "resolved"]
    devs: dict[str, dict[str, Any]] = {}
    for d in devices:
        k = devs.setdefault(
            d.kind, {"devices": 0, "device_days": 0.0, "with_failure": 0, "episodes": Counter()}
        )
        k["devices"] += 1
        k["device_days"] += d.days_worn
        k["with_failure"] += 1 if any(d.episodes.values()) else 0
        k["episodes"].update(d.episodes)
    for k in devs.values():
        days = k["device_days"]
        k["per_100_device_days"] = {
            t: round(100 * n / days, 3) if days > 0 else 0.0 for t, n in k["episodes"].items()
        }
        k["episodes"] = dict(sorted(k["episodes"].items()))
        k["device_days"] = round(days, 2)
        k["failure_share"] = round(k["with_failure"] / k["devices"], 4) if k["devices"] else 0.0
    steps: dict[str, dict[str, int]] = {}
    for step, decision in decisions:
        steps.setdefault(step, {"accepted": 0, "rejected": 0})[decision] += 1
    return Programme(
        start_s=start_s,
        end_s=end_s,
        by_cause={c: dict(sorted(v.items())) for c, v in sorted(by_cause.items())},
        response=response,
        resolved=len(resolved),
        resolved_no_violation=sum(1 for a in resolved if a.outcome != CONFIRMED),
        devices=dict(sorted(devs.items())),
        step_downs=steps,
    )
