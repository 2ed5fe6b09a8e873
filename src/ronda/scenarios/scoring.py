"""Scoring an engine's alerts against a scenario's truth (shared/scenarios/FORMAT.md).

Per alert type:
- recall: clear episodes with an alert of the same rule (or device and type)
  that overlaps them, with `SLACK_S` of slack at either side;
- false alarms: alerts that overlap no episode (clear or marginal, with the
  same slack), or that stay open too long beyond the episodes they touch: the
  part of the alert outside every touched episode's [start - SLACK_S,
  end + STALE_S] (their union) exceeds `STALE_S`; also per 100 person-days;
- fragmentation: matching alerts per detected clear episode;
- latency p50/p95: seconds from an episode's `available` (its start when
  absent) to the first `raised` of an alert matching it.
Device-type alerts about protected persons' phones are ignored.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ronda.types import from_iso

SLACK_S = 300.0
STALE_S = 900.0
RULE_TYPES = ("exclusion", "inclusion", "proximity")
DEVICE_TYPES = ("tamper", "low_battery", "comms_loss", "no_fix")
TYPES = RULE_TYPES + DEVICE_TYPES


@dataclass(frozen=True, slots=True)
class TruthEpisode:
    key: tuple[str, str]
    type: str
    start_s: float
    end_s: float
    clear: bool
    available_s: float | None
    raw: dict[str, Any]


@dataclass
class TypeScore:
    clear: int = 0
    detected: int = 0
    alerts: int = 0
    false_alarms: int = 0
    matched_alerts: int = 0
    latencies_s: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.clear if self.clear else math.nan

    @property
    def fragmentation(self) -> float:
        return self.matched_alerts / self.detected if self.detected else math.nan

    def latency_pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q)) if self.latencies_s else math.nan

    def add(self, other: TypeScore) -> None:
        self.clear += other.clear
        self.detected += other.detected
        self.alerts += other.alerts
        self.false_alarms += other.false_alarms
        self.matched_alerts += other.matched_alerts
        self.latencies_s += other.latencies_s


@dataclass
class ScoreReport:
    scenario: str
    person_days: float
    per_type: dict[str, TypeScore]
    missed: list[dict[str, Any]] = field(default_factory=list)  # clear episodes without alert
    false_alarms: list[dict[str, Any]] = field(default_factory=list)  # the alerts counted false

    @property
    def total(self) -> TypeScore:
        tot = TypeScore()
        for s in self.per_type.values():
            tot.add(s)
        return tot

    def fa_per_100pd(self, score: TypeScore) -> float:
        return 100.0 * score.false_alarms / self.person_days if self.person_days else math.nan


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    if obj["type"] in RULE_TYPES:
        return ("rule", str(obj.get("rule")))
    return (str(obj.get("device")), str(obj["type"]))


def _t(text: str | None) -> float | None:
    return None if text is None else from_iso(text)


def _uncovered_s(a: float, b: float, windows: list[tuple[float, float]]) -> float:
    """Length of [a, b] outside the union of `windows`."""
    covered = 0.0
    cur_a, cur_b = math.nan, math.nan
    for wa, wb in sorted((max(wa, a), min(wb, b)) for wa, wb in windows):
        if wb <= wa:
            continue
        if math.isnan(cur_a) or wa > cur_b:
            if not math.isnan(cur_a):
                covered += cur_b - cur_a
            cur_a, cur_b = wa, wb
        else:
            cur_b = max(cur_b, wb)
    if not math.isnan(cur_a):
        covered += cur_b - cur_a
    return (b - a) - covered


def score_alerts(
    scenario: dict[str, Any], truth: dict[str, Any], alerts: list[dict[str, Any]]
) -> ScoreReport:
    end_s = from_iso(scenario["end"])
    phones = {d["id"] for d in scenario.get("devices", []) if d.get("kind") == "phone"}
    episodes: dict[tuple[str, str], list[TruthEpisode]] = defaultdict(list)
    per: dict[str, TypeScore] = {t: TypeScore() for t in TYPES}
    for e in truth["episodes"]:
        ep = TruthEpisode(
            _key(e),
            e["type"],
            from_iso(e["start"]),
            from_iso(e["end"]),
            e["class"] == "clear",
            _t(e.get("available")),
            e,
        )
        episodes[ep.key].append(ep)
        if ep.clear:
            per[ep.type].clear += 1
    report = ScoreReport(str(truth.get("scenario", "")), float(truth["person_days"]), per)
    raised: dict[int, list[float]] = defaultdict(list)  # id(clear episode) -> raised times
    for al in alerts:
        typ = al.get("type")
        if typ not in TYPES or (typ in DEVICE_TYPES and al.get("device") in phones):
            continue
        s = from_iso(al["start"])
        r = from_iso(al["raised"])
        e = max(_t(al.get("end")) or end_s, s)
        per[typ].alerts += 1
        touching = [
            ep for ep in episodes.get(_key(al), []) if s - SLACK_S <= ep.end_s and e + SLACK_S >= ep.start_s
        ]
        windows = [(ep.start_s - SLACK_S, ep.end_s + STALE_S) for ep in touching]
        if not touching or _uncovered_s(s, e, windows) > STALE_S:
            per[typ].false_alarms += 1
            report.false_alarms.append(al)
        for ep in touching:
            if ep.clear:
                raised[id(ep)].append(r)
                per[typ].matched_alerts += 1
    for lst in episodes.values():
        for ep in lst:
            if not ep.clear:
                continue
            times = raised.get(id(ep))
            if not times:
                report.missed.append(ep.raw)
                continue
            per[ep.type].detected += 1
            ref = ep.available_s if ep.available_s is not None else ep.start_s
            per[ep.type].latencies_s.append(max(0.0, min(times) - ref))
    return report


def score(scenario_dir: Path, alerts: list[dict[str, Any]]) -> ScoreReport:
    scenario = json.loads((scenario_dir / "scenario.json").read_text(encoding="utf-8"))
    truth = json.loads((scenario_dir / "truth.json").read_text(encoding="utf-8"))
    return score_alerts(scenario, truth, alerts)


def read_alerts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def format_table(report: ScoreReport) -> str:
    head = (
        f"{'type':12} {'clear':>5} {'recall':>7} {'false':>6} {'FA/100pd':>8} "
        f"{'frag':>5} {'lat p50':>7} {'lat p95':>7}"
    )
    lines = [f"{report.scenario} ({report.person_days:g} person-days)", head]
    rows = [(t, s) for t, s in report.per_type.items() if s.clear or s.alerts]
    for name, s in [*rows, ("ALL", report.total)]:
        lines.append(
            f"{name:12} {s.clear:5d} {s.recall:7.3f} {s.false_alarms:6d} "
            f"{report.fa_per_100pd(s):8.2f} {s.fragmentation:5.2f} "
            f"{s.latency_pct(50):7.0f} {s.latency_pct(95):7.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Score alerts against a scenario's truth.")
    ap.add_argument("scenario", type=Path)
    ap.add_argument("alerts", type=Path)
    a = ap.parse_args(argv)
    print(format_table(score(a.scenario, read_alerts(a.alerts))))


if __name__ == "__main__":
    main()
