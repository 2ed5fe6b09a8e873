"""Episodes (what happened) and the effects the engine returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ronda.types import DeviceId, EpochS, PersonId, RuleId, to_iso


@dataclass(slots=True)
class Episode:
    """One continuous violation of a rule, or one device-health problem.

    `start` is the event time at which it began; `raised` the processing time
    at which the engine decided it; `end` the event time at which it ended
    (None while open)."""

    type: str
    person: PersonId | None
    start_s: EpochS
    raised_s: EpochS
    rule: RuleId | None = None
    device: DeviceId | None = None
    end_s: EpochS | None = None
    evidence: list[EpochS] = field(default_factory=list)  # event times of deciding records

    @property
    def key(self) -> str:
        return f"{self.type}:{self.rule or self.device}"

    def to_alert(self) -> dict[str, Any]:
        """The alert line of the scenario format (FORMAT.md)."""
        out: dict[str, Any] = {"type": self.type, "person": self.person}
        if self.rule is not None:
            out["rule"] = self.rule
        if self.device is not None:
            out["device"] = self.device
        out["start"] = to_iso(self.start_s)
        out["raised"] = to_iso(self.raised_s)
        out["end"] = None if self.end_s is None else to_iso(self.end_s)
        return out


@dataclass(frozen=True, slots=True)
class EpisodeOpened:
    episode: Episode


@dataclass(frozen=True, slots=True)
class EpisodeClosed:
    episode: Episode


Effect = EpisodeOpened | EpisodeClosed
