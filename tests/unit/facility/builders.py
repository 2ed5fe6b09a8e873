"""A small facility for unit tests: wing A (two cells and a landing), a
corridor, a yard and a workshop; one area reader per zone (two in the yard),
a door reader at the yard gate; a regime with the yard 10:00-11:00 local."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

TZ = "Europe/Madrid"
DAY = dt.date(2026, 3, 10)


def local(hh: int, mm: int = 0, ss: float = 0.0) -> float:
    return dt.datetime.combine(DAY, dt.time(hh, mm), ZoneInfo(TZ)).timestamp() + ss


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def document(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "test",
        "name": "Test prison",
        "timezone": TZ,
        "buildings": [{"id": "main", "floors": [{"level": 0}]}],
        "zones": [
            {"id": "A-01", "kind": "cell", "building": "main", "wing": "A", "polygon": rect(0, 0, 3, 4)},
            {"id": "A-02", "kind": "cell", "building": "main", "wing": "A", "polygon": rect(3, 0, 6, 4)},
            {"id": "A-landing", "kind": "wing", "building": "main", "wing": "A", "polygon": rect(0, 4, 6, 8)},
            {"id": "corridor", "kind": "corridor", "building": "main", "polygon": rect(0, 8, 40, 11)},
            {"id": "yard", "kind": "yard", "building": "main", "polygon": rect(10, 11, 40, 31)},
            {"id": "workshop", "kind": "workshop", "building": "main", "polygon": rect(0, 11, 10, 21)},
        ],
        "readers": [
            {"id": "R-A-01", "zone": "A-01", "x": 1.5, "y": 2},
            {"id": "R-A-02", "zone": "A-02", "x": 4.5, "y": 2},
            {"id": "R-land", "zone": "A-landing", "x": 3, "y": 6},
            {"id": "R-corr", "zone": "corridor", "x": 8, "y": 9.5},
            {"id": "R-yard-1", "zone": "yard", "x": 15, "y": 20},
            {"id": "R-yard-2", "zone": "yard", "x": 35, "y": 20},
            {"id": "R-shop", "zone": "workshop", "x": 5, "y": 16},
            {
                "id": "D-gate",
                "zone": "corridor",
                "x": 20,
                "y": 11,
                "kind": "door",
                "door_from": "corridor",
                "door_to": "yard",
            },
        ],
        "regimes": [
            {
                "id": "std",
                "periods": [
                    {
                        "id": "yard",
                        "activity": "yard",
                        "start": "10:00",
                        "end": "11:00",
                        "allowed": ["yard", "own_wing"],
                        "count_at": ["yard"],
                    },
                    {
                        "id": "assoc",
                        "activity": "association",
                        "start": "18:00",
                        "end": "19:00",
                        "allowed": ["own_wing"],
                    },
                ],
            }
        ],
        "wing_regimes": {"A": "std"},
        "inmates": [
            {"id": "P1", "cell": "A-01", "band": "W1"},
            {"id": "P2", "cell": "A-02", "band": "W2"},
            {"id": "P3", "cell": "A-02", "band": "W3"},
        ],
        "staff": [{"id": "S1", "badge": "B1"}],
        "keep_separate": [{"id": "KS", "members": ["P1", "P2"]}],
        "count_times": ["07:00", "21:00"],
    }
    doc.update(over)
    return doc
