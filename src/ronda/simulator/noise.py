"""What a GPS receiver reports about a true position.

Outdoors a few metres of error with an honest accuracy; indoors tens of
metres and frequent reports without a fix; multipath spikes that jump
hundreds of metres to kilometres while claiming a small accuracy and speed 0;
minutes-long biased runs (urban canyons) whose claimed accuracy is too small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ronda.simulator.movement import BoolArray, FloatArray, Path


@dataclass
class Fixes:
    time_s: FloatArray
    x: FloatArray
    y: FloatArray
    accuracy_m: FloatArray
    speed_mps: FloatArray
    valid: BoolArray
    good: BoolArray  # valid, neither spike nor biased: what truth may count on


def observe(
    rng: np.random.Generator,
    path: Path,
    times: FloatArray,
    noise_level: float,
    no_fix: list[tuple[float, float]],
) -> Fixes:
    n = len(times)
    tx, ty = path.at(times)
    indoor = path.indoor_at(times)
    speed = path.speed_at(times)
    acc = np.where(indoor, rng.uniform(18.0, 45.0, n), rng.uniform(4.0, 15.0, n))
    sigma = acc / 2.0 * noise_level
    x = tx + rng.normal(0.0, 1.0, n) * sigma
    y = ty + rng.normal(0.0, 1.0, n) * sigma
    p_lost = np.where(indoor, 0.18, 0.03) * min(noise_level, 2.0)
    valid = rng.uniform(0.0, 1.0, n) >= p_lost
    for a, b in no_fix:
        valid &= ~((times >= a) & (times < b))
    reported_speed = np.where(speed > 0.3, speed * rng.uniform(0.85, 1.15, n), 0.0)

    biased = np.zeros(n, bool)
    span_days = max((times[-1] - times[0]) / 86400.0, 0.1) if n else 0.0
    for _ in range(int(rng.poisson(2.5 * noise_level * span_days))):
        t0 = rng.uniform(times[0], times[-1])
        run = (times >= t0) & (times < t0 + rng.uniform(120.0, 480.0))
        mag = rng.uniform(30.0, 90.0) * noise_level
        heading = float(rng.uniform(0, 2 * np.pi))
        k = int(run.sum())
        x[run] = tx[run] + mag * np.cos(heading) + rng.normal(0, 3, k)
        y[run] = ty[run] + mag * np.sin(heading) + rng.normal(0, 3, k)
        acc[run] = rng.uniform(8.0, 20.0, k)
        biased |= run

    spike = valid & (rng.uniform(0.0, 1.0, n) < 0.004 * noise_level)
    k = int(spike.sum())
    dist = np.exp(rng.uniform(np.log(300.0), np.log(3000.0), k))
    ang = rng.uniform(0, 2 * np.pi, k)
    x[spike] = tx[spike] + dist * np.cos(ang)
    y[spike] = ty[spike] + dist * np.sin(ang)
    acc[spike] = rng.uniform(4.0, 12.0, k)
    reported_speed[spike] = 0.0
    good = valid & ~spike & ~biased
    return Fixes(times, x, y, acc, reported_speed, valid, good)
