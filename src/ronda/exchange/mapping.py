"""Reading another system's files through a column mapping (TOML).

A mapping names, for each exchange table, the source file, its format, which
source column holds each exchange column, how its times are written, and
how values translate. Anything it does not name is read as the exchange
format itself. See docs/exchange-format.md for an example.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.errors import InvalidInput
from ronda.exchange import format as fm

TABLE_NAMES = (
    "persons",
    "devices",
    "assignments",
    "zones",
    "orders",
    "positions",
    "events",
    "sightings",
    "alerts",
    "alert_actions",
)
FORMATS = ("csv", "jsonl", "geojsonl", "geojson")


@dataclass(frozen=True)
class TableMapping:
    table: str
    file: str
    format: str
    columns: dict[str, str] = field(default_factory=dict)  # exchange column -> source column
    time_format: str | None = None  # strptime pattern; None: ISO 8601
    timezone: ZoneInfo | None = None  # for source times without an offset
    scale: dict[str, float] = field(default_factory=dict)  # multiply numbers (units)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> source value -> ours
    defaults: dict[str, Any] = field(default_factory=dict)  # constant values for missing columns

    def convert(self, source: dict[str, Any], where: str) -> dict[str, Any]:
        """One source row as an exchange row (times as ISO 8601 UTC)."""
        row: dict[str, Any] = {}
        names = set(self.columns) | set(self.defaults)
        unmapped = {k: v for k, v in source.items() if k not in self.columns.values()}
        for name in names:
            src = self.columns.get(name)
            value = source.get(src) if src is not None else None
            if (value is None or value == "") and name in self.defaults:
                value = self.defaults[name]
            row[name] = value
        for k, v in unmapped.items():  # columns already named as ours pass through
            row.setdefault(k, v)
        for name, table in self.values.items():
            v = row.get(name)
            if v is not None and str(v) in table:
                row[name] = table[str(v)]
        for name, factor in self.scale.items():
            v = row.get(name)
            if v not in (None, ""):
                try:
                    row[name] = float(v) * factor
                except (TypeError, ValueError) as exc:
                    raise InvalidInput(
                        "not a number: {value}", source=where, field=name, value=repr(str(v)[:40])
                    ) from exc
        for name in fm.TIME_COLUMNS & set(row):
            v = row[name]
            if v in (None, ""):
                continue
            row[name] = self._time(str(v), f"{where}: {name}")
        return row

    def _time(self, text: str, where: str) -> str:
        try:
            if self.time_format is not None:
                value = dt.datetime.strptime(text.strip(), self.time_format)
            else:
                value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                "time {time} does not match {format}",
                field=where,
                time=repr(text[:40]),
                format=self.time_format or "ISO 8601",
            ) from exc
        if value.tzinfo is None:
            if self.timezone is None:
                raise InvalidInput(
                    "time {time} has no offset and the mapping names no timezone",
                    field=where,
                    time=repr(text[:40]),
                )
            value = value.replace(tzinfo=self.timezone)
        return fm.iso(value.timestamp()) or ""


def load_mapping(path: Path) -> dict[str, TableMapping]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput("cannot read the mapping: {error}", source=str(path), error=str(exc)) from exc
    out: dict[str, TableMapping] = {}
    for table, spec in raw.items():
        where = f"{path.name}: [{table}]"
        if table not in TABLE_NAMES:
            raise InvalidInput(
                "unknown table {table} (one of {tables})",
                source=str(path),
                table=repr(table),
                tables=", ".join(TABLE_NAMES),
            )
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise InvalidInput('needs file = "..."', source=where)
        fmt = str(spec.get("format") or Path(spec["file"]).suffix.lstrip("."))
        if fmt not in FORMATS:
            raise InvalidInput(
                "format {format} is not one of {formats}",
                source=where,
                field="format",
                format=repr(fmt),
                formats=", ".join(FORMATS),
            )
        tz = None
        if spec.get("timezone"):
            try:
                tz = ZoneInfo(str(spec["timezone"]))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise InvalidInput(
                    "unknown time zone {timezone}",
                    source=where,
                    field="timezone",
                    timezone=repr(spec["timezone"]),
                ) from exc
        try:
            scale = {str(k): float(v) for k, v in (spec.get("scale") or {}).items()}
        except (TypeError, ValueError) as exc:
            raise InvalidInput("scale values must be numbers", source=where, field="scale") from exc
        out[table] = TableMapping(
            table=table,
            file=spec["file"],
            format=fmt,
            columns={str(k): str(v) for k, v in (spec.get("columns") or {}).items()},
            time_format=spec.get("time_format"),
            timezone=tz,
            scale=scale,
            values={
                str(k): {str(a): str(b) for a, b in v.items()} for k, v in (spec.get("values") or {}).items()
            },
            defaults=dict(spec.get("defaults") or {}),
        )
    return out
