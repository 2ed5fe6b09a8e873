"""Orders and rules in words, schedules in the order's local time."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ronda.evidence.text import Words, local_time, metres, msg
from ronda.types import from_iso
from ronda.zones.models import Zone

_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
DAY_NAMES = {
    "mo": msg("Monday"),
    "tu": msg("Tuesday"),
    "we": msg("Wednesday"),
    "th": msg("Thursday"),
    "fr": msg("Friday"),
    "sa": msg("Saturday"),
    "su": msg("Sunday"),
}
EPISODE_TYPES = {
    "exclusion": msg("Entered an exclusion zone"),
    "inclusion": msg("Left an inclusion zone"),
    "proximity": msg("Came too close to a protected person"),
    "tamper": msg("Strap tampered with"),
    "low_battery": msg("Low battery"),
    "comms_loss": msg("Lost communication"),
    "no_fix": msg("No GPS fix"),
}
DEVICE_KINDS = {
    "gps_tag": msg("GPS tag"),
    "home_unit": msg("Home unit"),
    "phone": msg("Phone"),
    "wristband": msg("Wristband"),
}
EVENT_KINDS = {
    "strap_tamper": msg("strap tampered with"),
    "strap_restored": msg("strap restored"),
    "tag_present": msg("tag at home"),
    "tag_absent": msg("tag not at home"),
    "heartbeat": msg("heartbeat"),
    "sos": msg("SOS"),
    "low_battery": msg("low battery"),
    "power_cut": msg("power cut"),
    "power_restored": msg("power restored"),
    "duress": msg("duress"),
}


def named(table: dict[str, str], key: str | None, tr: Words) -> str:
    """A code in words, or the code itself when the table does not know it."""
    if key is None:
        return tr("none")
    return tr(table[key]) if key in table else key


def zone_words(zone: Zone | None, zone_id: str, tr: Words) -> str:
    if zone is None:
        return tr("zone {zone}", zone=zone_id)
    if zone.is_circle:
        lon, lat = zone.geometry["coordinates"][:2]
        return tr(
            "“{name}” (a circle of {radius} around {lat}, {lon})",
            name=zone.name,
            radius=metres(zone.radius_m or 0.0),
            lat=format(lat, ".5f"),
            lon=format(lon, ".5f"),
        )
    return tr("“{name}” (an area shown on the map)", name=zone.name)


def days_words(days: list[str], tr: Words) -> str:
    keys = sorted({d.strip().lower()[:2] for d in days if d.strip().lower()[:2] in _DAYS}, key=_DAYS.index)
    if len(keys) == 7:
        return tr("every day")
    if keys == list(_DAYS[:5]):
        return tr("Monday to Friday")
    if keys == list(_DAYS[5:]):
        return tr("Saturday and Sunday")
    names = [tr(DAY_NAMES[k]) for k in keys]
    if len(names) == 1:
        return names[0]
    return tr("{a} and {b}", a=", ".join(names[:-1]), b=names[-1])


def schedule_words(schedule: dict[str, Any] | None, tz: ZoneInfo, tr: Words) -> str:
    """'every day from 22:00 to 06:00 the next day; except from ... to ...'"""
    if not schedule:
        return tr("at all times")
    parts: list[str] = []
    for w in schedule.get("weekly") or []:
        start, end = str(w.get("start", "")), str(w.get("end", ""))
        days = days_words(list(w.get("days", [])), tr)
        if end <= start:
            parts.append(tr("{days} from {start} to {end} the next day", days=days, start=start, end=end))
        else:
            parts.append(tr("{days} from {start} to {end}", days=days, start=start, end=end))
    if not parts:
        parts.append(tr("at all times"))
    text = "; ".join(parts)
    for e in schedule.get("exceptions") or []:
        try:
            a, b = from_iso(str(e["start"])), from_iso(str(e["end"]))
        except (KeyError, ValueError):
            continue
        text += "; " + tr(
            "except from {start} to {end} (an approved absence)",
            start=local_time(a, tz, seconds=False, lang=tr.lang),
            end=local_time(b, tz, seconds=False, lang=tr.lang),
        )
    return text


def rule_words(
    rule: dict[str, Any],
    zones: dict[str, Zone],
    tz: ZoneInfo,
    tr: Words,
    person_names: dict[str, str] | None = None,
) -> str:
    """One rule as a sentence a court can read: what, where, when (local time)."""
    kind = rule.get("type")
    when = schedule_words(rule.get("schedule"), tz, tr)
    if kind == "proximity":
        other = str(rule.get("person", ""))
        name = (person_names or {}).get(other) or other
        head = tr(
            "Must stay at least {distance} away from {person}",
            distance=metres(float(rule.get("distance_m") or 0)),
            person=name,
        )
    else:
        zid = str(rule.get("zone", ""))
        where = zone_words(zones.get(zid), zid, tr)
        head = (
            tr("Must not enter {zone}", zone=where)
            if kind == "exclusion"
            else tr("Must stay inside {zone}", zone=where)
        )
    if schedule_is_curfew(rule):
        head = tr("Curfew") + ": " + head
    return f"{head}, {when}."


def schedule_is_curfew(rule: dict[str, Any]) -> bool:
    """An inclusion rule with weekly hours is what staff call a curfew."""
    return rule.get("type") == "inclusion" and bool((rule.get("schedule") or {}).get("weekly"))
