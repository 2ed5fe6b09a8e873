"""Instants, numbers, distances and durations as a reader of a locale expects
them (CLDR through Babel). Instants are always shown in a named time zone (the
order's or the facility's), with the zone written out, never in the server's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal
from babel.units import format_unit

from ronda.i18n.catalog import normalize

# The CLDR locale each shipped language is formatted in: Portuguese is written
# for Portugal (01/07/2026, 13 456,5), as its translations are; Spanish in the
# generic form Latin American courts read (1 jul 2026, 13.456,5).
CLDR_LOCALE: dict[str, str] = {"en": "en", "es": "es", "pt": "pt_PT"}


def cldr_locale(language: str | None) -> str:
    lang = normalize(language)
    return CLDR_LOCALE.get(lang, lang)


def format_instant(epoch_s: float, timezone: str, language: str | None, *, seconds: bool = False) -> str:
    """`29 nov 2026 21:53 (America/Santiago)` in Spanish, `Nov 29, 2026 9:53 PM
    (America/Santiago)` in English: the reader's way, in `timezone`, zone named."""
    lang = cldr_locale(language)
    local = dt.datetime.fromtimestamp(epoch_s, dt.UTC).astimezone(ZoneInfo(timezone))
    time = format_time(local, "medium" if seconds else "short", locale=lang)
    return f"{format_date(local, 'medium', locale=lang)} {time} ({timezone})"


def format_wall_clock(epoch_s: float, tz: ZoneInfo, language: str | None, *, seconds: bool = True) -> str:
    """An instant as wall-clock time in `tz` with the zone's abbreviation (its
    UTC offset when it has none), for documents and messages where the zone
    itself is named once: `2026-06-01 12:24:50 WEST` in English (sortable, as
    courts and logs expect), `1 jun 2026 12:24:50 WEST` in Spanish, `01/06/2026
    12:24:50 WEST` in (European) Portuguese."""
    value = dt.datetime.fromtimestamp(epoch_s, tz)
    name = value.tzname() or ""
    if not name or name[0] in "+-":
        off = value.strftime("%z")
        name = f"UTC{off[:3]}:{off[3:]}"
    lang = cldr_locale(language)
    if lang == "en":
        return f"{value.strftime('%Y-%m-%d %H:%M:%S' if seconds else '%Y-%m-%d %H:%M')} {name}"
    wall = value.replace(tzinfo=None)
    day = format_date(wall.date(), "medium", locale=lang)
    clock = format_time(wall.time(), "medium" if seconds else "short", locale=lang)
    return f"{day} {clock} {name}"


def format_number(value: float, language: str | None, *, digits: int = 0) -> str:
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=fmt, locale=cldr_locale(language))


def format_distance(metres: float, language: str | None) -> str:
    """Metres below a kilometre, else kilometres with one decimal: `850 m`, `1,2 km`."""
    lang = cldr_locale(language)
    if abs(metres) < 1000:
        return format_unit(round(metres), "length-meter", length="short", locale=lang)
    return format_unit(round(metres / 1000, 1), "length-kilometer", length="short", locale=lang)


def format_duration(seconds: float, language: str | None) -> str:
    """`4 minutes`, `4 minutos`: the nearest unit, as a person would say it."""
    return format_timedelta(dt.timedelta(seconds=seconds), threshold=1.0, locale=cldr_locale(language))
