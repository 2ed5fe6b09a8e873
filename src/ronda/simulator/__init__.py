"""A deterministic simulator of a small city under electronic monitoring.

`simulate(out_dir, config)` writes a scenario folder in the shared format
(scenario.json, arrivals.jsonl.gz, truth.json; see shared/scenarios/FORMAT.md).
"""

from ronda.simulator.build import simulate
from ronda.simulator.config import CITIES, City, SimulationConfig, local_midnight

__all__ = ["CITIES", "City", "SimulationConfig", "local_midnight", "simulate"]
