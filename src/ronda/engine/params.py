"""Thresholds of the engine, passed in (the engine reads no settings).

The defaults are argued from GPS physics and from what a clear violation is
(minutes long, tens of metres deep, several fixes), not fitted to a data set.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineParams:
    # Reordering: a device's uploads are buffered until it has been quiet this
    # long, then processed in event-time order (batches trickle in over seconds).
    reorder_hold_s: float = 5.0
    # ... but never held longer than this (a device reporting every second
    # is never quiet for long)
    reorder_max_hold_s: float = 30.0

    # A fix counts as evidence of a violation only when it lies beyond the
    # boundary by more than its uncertainty: k * accuracy + margin.
    accuracy_k: float = 1.0
    margin_m: float = 15.0  # proximity (two fixes' accuracies are combined already)
    # Zone rules take a wider margin: in urban canyons and indoors a tag can
    # report runs of fixes 25-40 m off while claiming 10-15 m, and a home
    # circle of 100 m is crossed by such a run. A clear violation is tens of
    # metres deep (50 m and more), so the wider margin delays real ones by a
    # fix or two at most (measured in docs/alert-quality.md).
    zone_margin_m: float = 25.0
    min_accuracy_m: float = 5.0  # claimed accuracies below this are not believed
    # ... and as evidence of compliance when on the right side by this much.
    compliant_margin_m: float = 0.0

    # Hysteresis: open after this many violating fixes spanning this long ...
    open_fixes: int = 3
    open_min_span_s: float = 90.0
    # ... or after this many fixes beyond strong_k * accuracy + margin (each
    # unlikely to be noise: indoor and canyon errors stay within ~3.5 accuracies)
    open_strong_fixes: int = 2
    strong_k: float = 2.5
    # ... or at once on a fix beyond decisive_k * accuracy + decisive_m, or
    # beyond decisive_k * accuracy + margin when its movement agrees with its
    # reported speed (within corroborate_max_gap_s of the previous fix).
    decisive_k: float = 4.0
    decisive_m: float = 150.0
    corroborate_max_gap_s: float = 180.0
    # Close after this many compliant fixes spanning this long (biased fixes
    # come in runs of minutes), or at once on a clear, corroborated exit.
    close_fixes: int = 2
    close_min_span_s: float = 240.0

    # Implausible jumps: faster than this between fixes (after allowing for
    # both fixes' accuracy) is a multipath spike, not a movement.
    max_speed_mps: float = 60.0
    # A jump this long while both fixes report standing still is also a spike.
    still_speed_mps: float = 1.0
    still_jump_m: float = 150.0
    # After this many rejected fixes that agree with each other, believe them.
    spike_confirm_fixes: int = 3

    # Proximity: pair fixes of the two devices at most this far apart in time,
    # widening the uncertainty by the other's reported speed (at least this
    # much, as reported speeds can be low) times the gap.
    pair_max_age_s: float = 300.0
    pair_speed_mps: float = 0.5

    # Low battery closes only once the level is this much above the threshold.
    battery_hysteresis_pct: float = 2.0
