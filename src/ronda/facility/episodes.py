"""What the facility monitor returns: the engine's episode effects (so that
they become alerts through the same workflow and storage), moves between
zones (the movement history), and scheduled headcounts falling due."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ronda.engine.episodes import Episode, EpisodeClosed, EpisodeOpened
from ronda.types import DeviceId, EpochS, PersonId, ZoneId

KEEP_SEPARATE = "keep_separate"
OUT_OF_BOUNDS = "out_of_bounds"
NO_SIGHTING = "no_sighting"
BAND_TAMPER = "band_tamper"
BAND_REMOVED = "band_removed"
DURESS = "duress"
READER_OFFLINE = "reader_offline"
FEED_LOSS = "feed_loss"

EPISODE_TYPES = (
    KEEP_SEPARATE,
    OUT_OF_BOUNDS,
    NO_SIGHTING,
    BAND_TAMPER,
    BAND_REMOVED,
    DURESS,
    READER_OFFLINE,
    FEED_LOSS,
)
INMATE_TYPES = frozenset({KEEP_SEPARATE, OUT_OF_BOUNDS, NO_SIGHTING, BAND_TAMPER, BAND_REMOVED})
TECHNICAL_TYPES = frozenset({READER_OFFLINE, FEED_LOSS})


@dataclass(slots=True)
class FacilityEpisode(Episode):
    """An engine episode with where it happened: the facility, the zone, and
    what an officer needs to act (the other inmates, the reader)."""

    facility: str = ""
    zone: ZoneId | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Moved:
    facility: str
    person: PersonId
    role: str  # "inmate" or "staff"
    band: DeviceId
    from_zone: ZoneId | None
    to_zone: ZoneId
    at_s: EpochS
    by: str  # "sightings" or "door"


@dataclass(frozen=True, slots=True)
class HeadcountDue:
    facility: str
    at_s: EpochS


FacilityEffect = EpisodeOpened | EpisodeClosed | Moved | HeadcountDue
