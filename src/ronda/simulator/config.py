"""Parameters of a simulated city, and a few cities to start from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class City:
    name: str
    lat: float
    lon: float
    timezone: str


CITIES: dict[str, City] = {
    c.name: c
    for c in (
        City("santiago", -33.4489, -70.6693, "America/Santiago"),
        City("lisbon", 38.7223, -9.1393, "Europe/Lisbon"),
        City("madrid", 40.4168, -3.7038, "Europe/Madrid"),
        City("oslo", 59.9139, 10.7522, "Europe/Oslo"),
        City("auckland", -36.8485, 174.7633, "Pacific/Auckland"),
        City("chicago", 41.8781, -87.6298, "America/Chicago"),
    )
}


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate. `start` is an aware instant; None means local midnight
    of 2026-06-01 in `timezone`. `noise_level` scales GPS errors, spikes,
    biased runs and fix losses (1.0 is a typical city)."""

    seed: int = 1
    lat: float = 40.4168
    lon: float = -3.7038
    timezone: str = "Europe/Madrid"
    persons: int = 10
    days: int = 2
    start: dt.datetime | None = None
    noise_level: float = 1.0
    name: str | None = None
    city_radius_m: float = 9000.0
    violation_rate: float = 0.35  # chance per person-day of breaking an order on purpose
    ensure_variety: bool = True  # the first persons each show one kind of violation

    @classmethod
    def for_city(cls, city: str, **kwargs: object) -> SimulationConfig:
        c = CITIES[city.lower()]
        kwargs.setdefault("name", f"{c.name}-{kwargs.get('seed', 1)}")
        return cls(lat=c.lat, lon=c.lon, timezone=c.timezone, **kwargs)  # type: ignore[arg-type]

    def start_s(self) -> float:
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError("start must be an aware datetime")
            return self.start.timestamp()
        local = dt.datetime(2026, 6, 1, tzinfo=ZoneInfo(self.timezone))
        return local.timestamp()

    def end_s(self) -> float:
        return self.start_s() + self.days * 86400.0

    def scenario_name(self) -> str:
        return self.name or f"sim-{self.seed}"


def local_midnight(date: dt.date, timezone: str) -> dt.datetime:
    """The aware instant of local midnight on `date` (for `start`)."""
    return dt.datetime.combine(date, dt.time(0, 0), ZoneInfo(timezone))
