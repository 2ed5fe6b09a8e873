"""The data behind a court report, as files (CSV and GeoJSON) whose SHA-256
digests the report prints. The same case file always gives the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from ronda.evidence.analysis import Period
from ronda.evidence.manifest import sha256_hex
from ronda.evidence.model import CaseFile

REPORT_DATA_FORMAT = "ronda-court-report-data/1"


def iso(epoch_s: float | None) -> str:
    if epoch_s is None:
        return ""
    value = dt.datetime.fromtimestamp(epoch_s, dt.UTC)
    spec = "seconds" if value.microsecond == 0 else "microseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else (repr(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))
    return str(v)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return out.getvalue().encode("utf-8")


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False) + "\n").encode(
        "utf-8"
    )


def _num(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def report_files(case: CaseFile, blind: Sequence[tuple[str, Period]]) -> dict[str, bytes]:
    """positions.csv, positions.geojson, events.csv, episodes.csv, zones.geojson, gaps.csv."""
    fixes = case.fixes
    files = {
        "positions.csv": _csv(
            ("device", "time", "received", "lat", "lon", "accuracy_m", "speed_mps", "battery_pct", "valid"),
            (
                (
                    f.device,
                    iso(f.time_s),
                    iso(f.received_s),
                    f.lat,
                    f.lon,
                    f.accuracy_m,
                    f.speed_mps,
                    f.battery_pct,
                    f.valid,
                )
                for f in fixes
            ),
        ),
        "positions.geojson": _json(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [f.lon, f.lat]} if f.located else None,
                        "properties": {
                            "device": f.device,
                            "person": case.person_id,
                            "time": iso(f.time_s),
                            "received": iso(f.received_s),
                            "accuracy_m": _num(f.accuracy_m),
                            "speed_mps": _num(f.speed_mps),
                            "battery_pct": _num(f.battery_pct),
                            "valid": f.valid,
                        },
                    }
                    for f in fixes
                ],
            }
        ),
        "events.csv": _csv(
            ("device", "time", "received", "kind", "battery_pct"),
            ((e.device, iso(e.time_s), iso(e.received_s), e.kind, e.battery_pct) for e in case.events),
        ),
        "episodes.csv": _csv(
            (
                "episode",
                "alert",
                "type",
                "rule",
                "device",
                "start",
                "raised",
                "end",
                "status",
                "severity",
                "owner",
                "outcome",
            ),
            (
                (
                    e.id,
                    e.alert_id,
                    e.type,
                    e.rule,
                    e.device,
                    iso(e.start_s),
                    iso(e.raised_s),
                    iso(e.end_s),
                    e.status,
                    e.severity,
                    e.owner,
                    e.outcome,
                )
                for e in case.episodes
            ),
        ),
        "zones.geojson": _json(
            {"type": "FeatureCollection", "features": [z.to_geojson() for _, z in sorted(case.zones.items())]}
        ),
        "gaps.csv": _csv(
            ("device", "what", "start", "end", "duration_s", "reports"),
            ((p.device, what, iso(p.start_s), iso(p.end_s), p.duration_s, p.reports) for what, p in blind),
        ),
    }
    return files


def data_manifest(case: CaseFile, files: dict[str, bytes]) -> bytes:
    """Names and digests of the report's data files (itself attached, its digest printed)."""
    return _json(
        {
            "format": REPORT_DATA_FORMAT,
            "person": case.person_id,
            "start": iso(case.start_s),
            "end": iso(case.end_s),
            "files": {
                name: {"sha256": sha256_hex(data), "bytes": len(data)} for name, data in sorted(files.items())
            },
        }
    )
