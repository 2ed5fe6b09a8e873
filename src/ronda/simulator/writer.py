"""Writing a scenario folder: scenario.json, arrivals.jsonl.gz, truth.json.

Byte-for-byte deterministic: sorted arrivals, fixed key order, gzip without
a timestamp or file name.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from ronda.simulator.devices import Arrival
from ronda.types import to_iso


def arrival_line(a: Arrival) -> str:
    obj: dict[str, Any] = {
        "received": to_iso(a.received_s),
        "device": a.device,
        "time": to_iso(a.time_s),
    }
    obj.update(a.payload)
    return json.dumps(obj, separators=(",", ":"))


def write_scenario(
    out_dir: Path, scenario: dict[str, Any], arrivals: list[Arrival], truth: dict[str, Any]
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scenario.json").write_text(json.dumps(scenario, indent=1) + "\n", encoding="utf-8")
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    body = "".join(arrival_line(a) + "\n" for a in sorted(arrivals)).encode("utf-8")
    with (
        (out_dir / "arrivals.jsonl.gz").open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(body)
    return out_dir
