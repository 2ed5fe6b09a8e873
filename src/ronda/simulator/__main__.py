"""python -m ronda.simulator OUT_DIR --seed N --persons N --days N --city NAME"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from ronda.simulator.build import simulate
from ronda.simulator.config import CITIES, SimulationConfig, local_midnight


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        prog="python -m ronda.simulator", description="Simulate a city under monitoring."
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--persons", type=int, default=10)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--city", choices=sorted(CITIES), default="madrid")
    ap.add_argument("--start", help="first local date, YYYY-MM-DD (default 2026-06-01)")
    ap.add_argument("--noise", type=float, default=1.0, help="noise level (1.0 typical)")
    ap.add_argument("--name", help="scenario name (default CITY-SEED)")
    a = ap.parse_args(argv)
    city = CITIES[a.city]
    start = local_midnight(dt.date.fromisoformat(a.start), city.timezone) if a.start else None
    config = SimulationConfig.for_city(
        a.city,
        seed=a.seed,
        persons=a.persons,
        days=a.days,
        start=start,
        noise_level=a.noise,
        name=a.name or f"{a.city}-{a.seed}",
    )
    out = simulate(a.out_dir, config)
    print(out)
    return out


if __name__ == "__main__":
    main()
