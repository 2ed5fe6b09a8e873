"""A RecordSink that appends records to a JSON Lines file (the native shape of
``FORMAT.md``, with ``received``), fsynced before ``accept`` returns.

The stand-in for the database sink until the server provides one: ``ronda
gateway --out records.jsonl`` writes here, and the file replays with the
scenario tools. Idempotent like every sink: a record already in the file
(same device, time and kind) is not written again; the keys of an existing
file are read when the sink opens.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ronda.errors import InvalidInput
from ronda.pipeline.memory import record_key
from ronda.pipeline.ports import Accepted
from ronda.scenarios.loader import record_from_json
from ronda.tracking.records import DeviceEvent, Position, Record, Sighting
from ronda.types import to_iso


def record_to_json(rec: Record) -> dict[str, Any]:
    """The native JSON object of a record (FORMAT.md), ``received`` first."""
    out: dict[str, Any] = {
        "received": to_iso(rec.received_s),
        "device": rec.device,
        "time": to_iso(rec.time_s),
    }
    if isinstance(rec, DeviceEvent):
        out["event"] = rec.kind.value
        if rec.battery_pct is not None:
            out["battery"] = rec.battery_pct
    elif isinstance(rec, Position):
        if not rec.valid:
            out["valid"] = False
        else:
            out["lat"], out["lon"] = rec.lat, rec.lon
        optional = (
            ("accuracy", rec.accuracy_m),
            ("speed", rec.speed_mps),
            ("battery", rec.battery_pct),
            ("course", rec.course_deg),
            ("altitude", rec.altitude_m),
        )
        out.update({k: v for k, v in optional if v is not None and (rec.valid or k == "battery")})
    elif isinstance(rec, Sighting):
        out["reader"] = rec.reader
        if rec.zone is not None:
            out["zone"] = rec.zone
        if rec.rssi_dbm is not None:
            out["rssi"] = rec.rssi_dbm
    return out


class JsonLinesSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[tuple[str, float, str]] = set()
        self._lock = asyncio.Lock()
        if path.exists():
            self._load()

    def _load(self) -> None:
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = record_from_json(
                        json.loads(line), source=str(self.path), line=number, received_s=0.0
                    )
                except (json.JSONDecodeError, InvalidInput):
                    continue  # a torn last line after a crash, or a record kind we do not reload
                self._seen.add(record_key(rec))

    async def accept(self, records: Sequence[Record]) -> Accepted:
        async with self._lock:
            lines: list[str] = []
            duplicates = 0
            keys: set[tuple[str, float, str]] = set()
            for rec in records:
                key = record_key(rec)
                if key in self._seen or key in keys:
                    duplicates += 1
                    continue
                keys.add(key)
                lines.append(json.dumps(record_to_json(rec), separators=(",", ":")) + "\n")
            if lines:
                await asyncio.to_thread(self._append, "".join(lines))
                self._seen.update(keys)
            return Accepted(len(lines), duplicates)

    def _append(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
