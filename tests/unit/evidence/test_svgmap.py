"""The map: valid SVG, accuracy drawn to scale, violating fixes marked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ronda.evidence.model import Fix
from ronda.evidence.svgmap import VIOLATING, MapZone, draw_map
from ronda.types import ZoneId
from ronda.zones.models import Zone

NS = "{http://www.w3.org/2000/svg}"
HOME = Zone(ZoneId("h"), "home <of> p1", {"type": "Point", "coordinates": [-3.0, 40.0]}, 100.0)


def test_map_draws_zones_fixes_and_scale() -> None:
    fixes = [
        Fix("t", 0, 1, 40.0, -3.0, 10.0),
        Fix("t", 60, 61, 40.001, -3.0, 40.0),
        Fix("t", 120, 121, 40.002, -3.001, 20.0, valid=True),
        Fix("t", 180, 181, None, None, None, valid=False),
    ]
    svg = draw_map(fixes, [MapZone(HOME, "home")], highlight={("t", 60.0)}, title="map")
    root = ET.fromstring(svg)  # well-formed, names escaped
    assert root.tag == f"{NS}svg"
    circles = root.iter(f"{NS}circle")
    accuracy = [c for c in circles if c.get("fill-opacity") == "0.06"]
    assert len(accuracy) == 3  # one per located fix
    r = [float(c.get("r", 0)) for c in accuracy]
    assert abs(r[1] / r[0] - 4.0) < 0.01 and abs(r[2] / r[0] - 2.0) < 0.01  # to scale
    home = [c for c in root.iter(f"{NS}circle") if c.get("stroke-dasharray")]
    assert len(home) == 1 and abs(float(home[0].get("r", 0)) / r[0] - 10.0) < 0.01  # 100 m vs 10 m
    dots = [
        c for c in root.iter(f"{NS}circle") if c.get("fill") == VIOLATING and c.get("fill-opacity") is None
    ]
    assert len(dots) == 1
    assert "home &lt;of&gt; p1" in svg
    assert re.search(r">\d+ (m|km)</text>", svg)  # a scale bar with its length


def test_empty_map_is_still_valid() -> None:
    ET.fromstring(draw_map([], []))
