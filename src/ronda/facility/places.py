"""Place tokens of a regime, resolved to zones for one inmate.

- `own_cell`: his cell;
- `own_wing`: his cell and his wing's zones that are not cells (landings,
  day room, showers), never another man's cell;
- `wing:<name>`: that wing's zones that are not cells;
- `zone:<id>`: that zone;
- a zone kind (`yard`, `workshop`, `medical`, `visits`, `dining`,
  `corridor`, ...): every zone of that kind.
"""

from __future__ import annotations

from ronda.errors import InvalidInput
from ronda.facility.model import Facility, Inmate, ZoneKind
from ronda.types import ZoneId

KINDS = frozenset(k.value for k in ZoneKind)


def check_token(token: str, facility: Facility | None = None) -> None:
    """Raise InvalidInput for a token that names nothing."""
    if token in ("own_cell", "own_wing") or token in KINDS:
        return
    head, sep, rest = token.partition(":")
    if sep and head == "wing" and rest:
        return
    if sep and head == "zone" and rest:
        if facility is not None and ZoneId(rest) not in facility.zones:
            raise InvalidInput("unknown zone {zone}", field="allowed", zone=repr(rest))
        return
    raise InvalidInput(
        "unknown place {place} (own_cell, own_wing, wing:NAME, zone:ID or a zone kind)",
        field="allowed",
        place=repr(token),
    )


class PlaceResolver:
    """Resolves token sets to zone sets, remembering each answer (a regime has
    a handful of distinct token sets, a facility a few wings)."""

    def __init__(self, facility: Facility) -> None:
        self.f = facility
        self._by_kind: dict[str, frozenset[ZoneId]] = {}
        self._wing: dict[str, frozenset[ZoneId]] = {}
        for z in facility.zones.values():
            self._by_kind[z.kind.value] = self._by_kind.get(z.kind.value, frozenset()) | {z.id}
            if z.wing is not None and z.kind != ZoneKind.CELL:
                self._wing[z.wing] = self._wing.get(z.wing, frozenset()) | {z.id}
        self._cache: dict[tuple[frozenset[str], str, ZoneId], frozenset[ZoneId]] = {}

    def zones(self, tokens: frozenset[str], inmate: Inmate) -> frozenset[ZoneId]:
        key = (tokens, inmate.wing, inmate.cell)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out: set[ZoneId] = set()
        for tok in tokens:
            if tok == "own_cell":
                out.add(inmate.cell)
            elif tok == "own_wing":
                out.add(inmate.cell)
                out |= self._wing.get(inmate.wing, frozenset())
            elif tok.startswith("wing:"):
                out |= self._wing.get(tok[5:], frozenset())
            elif tok.startswith("zone:"):
                out.add(ZoneId(tok[5:]))
            else:
                out |= self._by_kind.get(tok, frozenset())
        result = frozenset(out)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = result
        return result
