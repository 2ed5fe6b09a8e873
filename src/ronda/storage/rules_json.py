"""Rules and schedules in their JSON shape (the scenario format), to domain objects.

Errors are InvalidInput naming the field, e.g. `rules[1].schedule.weekly[0].start`.
"""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.errors import InvalidInput
from ronda.rules.models import Rule, RuleType
from ronda.rules.schedule import Interval, Schedule, WeeklyWindow, parse_clock, parse_days
from ronda.types import PersonId, RuleId, ZoneId, from_iso


def timezone(name: Any, field: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidInput("expected an IANA time zone name", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("unknown time zone {zone}", field=field, zone=repr(name[:64])) from exc


def schedule_from_json(raw: Any, tz: ZoneInfo, where: str) -> Schedule:
    if not isinstance(raw, dict):
        raise InvalidInput("expected an object", field=where)
    weekly: tuple[WeeklyWindow, ...] | None = None
    if raw.get("weekly") is not None:
        items = raw["weekly"]
        if not isinstance(items, list):
            raise InvalidInput("expected a list", field=f"{where}.weekly")
        windows = []
        for i, w in enumerate(items):
            wf = f"{where}.weekly[{i}]"
            if not isinstance(w, dict):
                raise InvalidInput("expected an object", field=wf)
            days = w.get("days")
            if not isinstance(days, list) or not all(isinstance(d, str) for d in days):
                raise InvalidInput("expected a list of day names (mo..su)", field=f"{wf}.days")
            try:
                parsed_days = parse_days(days)
            except ValueError as exc:
                raise InvalidInput("invalid days: {error}", field=f"{wf}.days", error=str(exc)) from exc
            times = []
            for key in ("start", "end"):
                value = w.get(key)
                if not isinstance(value, str):
                    raise InvalidInput("expected HH:MM", field=f"{wf}.{key}")
                try:
                    times.append(parse_clock(value))
                except ValueError as exc:
                    raise InvalidInput(
                        "invalid time of day: {error}", field=f"{wf}.{key}", error=str(exc)
                    ) from exc
            windows.append(WeeklyWindow(parsed_days, times[0], times[1]))
        weekly = tuple(windows)
    exceptions = []
    raw_exc = raw.get("exceptions") or []
    if not isinstance(raw_exc, list):
        raise InvalidInput("expected a list", field=f"{where}.exceptions")
    for i, e in enumerate(raw_exc):
        ef = f"{where}.exceptions[{i}]"
        if not isinstance(e, dict):
            raise InvalidInput("expected an object", field=ef)
        bounds = []
        for key in ("start", "end"):
            value = e.get(key)
            try:
                bounds.append(from_iso(value) if isinstance(value, str) else math.nan)
            except ValueError:
                bounds.append(math.nan)
            if math.isnan(bounds[-1]):
                raise InvalidInput("expected an ISO 8601 instant with a zone", field=f"{ef}.{key}")
        if bounds[1] <= bounds[0]:
            raise InvalidInput("must be after start", field=f"{ef}.end")
        exceptions.append(Interval(bounds[0], bounds[1]))
    return Schedule(tz, weekly, tuple(exceptions))


def rule_from_json(raw: Any, tz: ZoneInfo, where: str) -> Rule:
    """A rule `{id, type, zone | person + distance_m, schedule?}`; references are
    not checked here (the repository checks them against what is stored)."""
    if not isinstance(raw, dict):
        raise InvalidInput("expected an object", field=where)
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise InvalidInput("expected a non-empty string", field=f"{where}.id")
    kind = raw.get("type")
    if kind not in RuleType.__members__.values():
        raise InvalidInput("expected exclusion, inclusion or proximity", field=f"{where}.type")
    schedule = schedule_from_json(raw["schedule"], tz, f"{where}.schedule") if raw.get("schedule") else None
    if kind == RuleType.PROXIMITY:
        other = raw.get("person")
        if not isinstance(other, str) or not other:
            raise InvalidInput("a proximity rule needs the protected person", field=f"{where}.person")
        distance = raw.get("distance_m")
        if (
            isinstance(distance, bool)
            or not isinstance(distance, int | float)
            or not math.isfinite(distance)
            or not 0 < distance <= 100_000
        ):
            raise InvalidInput("expected metres in (0, 100000]", field=f"{where}.distance_m")
        return Rule(
            RuleId(rid),
            RuleType.PROXIMITY,
            schedule,
            protected_person=PersonId(other),
            distance_m=float(distance),
        )
    zone = raw.get("zone")
    if not isinstance(zone, str) or not zone:
        raise InvalidInput("expected a zone id", field=f"{where}.zone")
    return Rule(RuleId(rid), RuleType(str(kind)), schedule, zone=ZoneId(zone))
