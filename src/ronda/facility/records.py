"""What a facility's readers say, as canonical records.

A reader sighting is `ronda.tracking.records.Sighting` (band, reader, time,
signal strength), the same record the rest of Ronda knows. A door reader adds
crossings with a direction; readers send heartbeats (so that a reader over an
empty yard is known to be alive); bands and badges send events (tamper,
removal, the staff duress button).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ronda.tracking.records import DeviceEvent, EventKind, Sighting
from ronda.types import DeviceId, EpochS


class Direction(StrEnum):
    IN = "in"  # door_from -> door_to
    OUT = "out"  # door_to -> door_from


@dataclass(frozen=True, slots=True)
class DoorCrossing:
    device: DeviceId  # the band or badge
    time_s: EpochS
    received_s: EpochS
    reader: str
    direction: Direction


@dataclass(frozen=True, slots=True)
class ReaderHeartbeat:
    reader: str
    time_s: EpochS
    received_s: EpochS


class BandEventKind(StrEnum):
    TAMPER = "tamper"  # strap or case opened, tampering detected
    REMOVED = "removed"  # off the wrist (skin contact lost)
    RESTORED = "restored"  # refitted / tamper cleared by an officer
    DURESS = "duress"  # staff badge: duress button
    DURESS_CLEARED = "duress_cleared"


@dataclass(frozen=True, slots=True)
class BandEvent:
    device: DeviceId
    time_s: EpochS
    received_s: EpochS
    kind: BandEventKind


FacilityRecord = Sighting | DoorCrossing | ReaderHeartbeat | BandEvent

_FROM_DEVICE_EVENT = {
    EventKind.STRAP_TAMPER: BandEventKind.TAMPER,
    EventKind.STRAP_RESTORED: BandEventKind.RESTORED,
    EventKind.DURESS: BandEventKind.DURESS,
    EventKind.SOS: BandEventKind.DURESS,
}


def band_event(ev: DeviceEvent) -> BandEvent | None:
    """A community device event in prison terms (None: no meaning here)."""
    kind = _FROM_DEVICE_EVENT.get(ev.kind)
    return None if kind is None else BandEvent(ev.device, ev.time_s, ev.received_s, kind)
