"""Zone geometry: signed depth in metres, accuracy at the boundary, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ronda.errors import InvalidInput
from ronda.geo.projection import LocalProjection, geodesic_distance_m
from ronda.types import ZoneId
from ronda.zones.geometry import project_zone, validate_zone_geometry
from ronda.zones.models import Zone

CITIES = [  # (name, lat, lon): north, far north, southern hemisphere, date line
    ("madrid", 40.4168, -3.7038),
    ("oslo", 59.9139, 10.7522),
    ("santiago", -33.4489, -70.6693),
    ("auckland", -36.8485, 174.7633),
]


def square(proj: LocalProjection, half_m: float, hole_m: float | None = None) -> dict[str, object]:
    def ring(h: float) -> list[list[float]]:
        pts = [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
        lon, lat = proj.to_lonlat([p[0] for p in pts], [p[1] for p in pts])
        return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]

    rings = [ring(half_m)]
    if hole_m is not None:
        rings.append(list(reversed(ring(hole_m))))
    return {"type": "Polygon", "coordinates": rings}


@pytest.mark.parametrize(("name", "lat", "lon"), CITIES)
def test_projected_distances_agree_with_the_ellipsoid(name: str, lat: float, lon: float) -> None:
    proj = LocalProjection(lat, lon)
    # 5 km east and 3 km north of the centre, both ways round
    for dx, dy in [(5000.0, 3000.0), (-4000.0, -2500.0)]:
        lon2, lat2 = proj.to_lonlat([dx], [dy])
        d_geo = geodesic_distance_m(lon, lat, float(lon2[0]), float(lat2[0]))
        assert d_geo == pytest.approx(math.hypot(dx, dy), rel=1e-3)


@pytest.mark.parametrize(("name", "lat", "lon"), CITIES)
def test_circle_depth_is_radius_minus_distance_in_metres(name: str, lat: float, lon: float) -> None:
    proj = LocalProjection(lat, lon)
    zone = Zone(ZoneId("home"), "home", {"type": "Point", "coordinates": [lon, lat]}, 100.0)
    shape = project_zone(zone, proj)
    depth = shape.depth_m(np.array([0.0, 60.0, 0.0, 250.0]), np.array([0.0, 0.0, -100.0, 0.0]))
    assert depth.tolist() == pytest.approx([100.0, 40.0, 0.0, -150.0], abs=0.01)


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0.0, 0.0, -100.0),  # in the hole: outside the zone, 100 m from the hole's edge
        (150.0, 0.0, 50.0),  # in the ring: 50 m from either edge
        (195.0, 0.0, 5.0),  # just inside the outer edge
        (230.0, 0.0, -30.0),  # outside
        (300.0, 300.0, -100.0 * math.sqrt(2)),  # beyond a corner
    ],
)
def test_polygon_with_a_hole(x: float, y: float, expected: float) -> None:
    proj = LocalProjection(-33.45, -70.66)
    zone = Zone(ZoneId("z"), "ring", square(proj, 200.0, hole_m=100.0))
    depth = project_zone(zone, proj).depth_m(np.array([x]), np.array([y]))
    assert depth[0] == pytest.approx(expected, abs=0.5)


def test_multipolygon_uses_the_nearest_part() -> None:
    proj = LocalProjection(59.91, 10.75)
    a = square(proj, 50.0)["coordinates"]
    far_lon, far_lat = proj.to_lonlat([1000.0], [0.0])
    b = square(LocalProjection(float(far_lat[0]), float(far_lon[0])), 50.0)["coordinates"]
    zone = Zone(ZoneId("m"), "two parts", {"type": "MultiPolygon", "coordinates": [a, b]})
    depth = project_zone(zone, proj).depth_m(np.array([0.0, 1000.0, 500.0]), np.array([0.0, 0.0, 0.0]))
    assert depth[0] == pytest.approx(50.0, abs=1.0)
    assert depth[1] == pytest.approx(50.0, abs=1.0)
    assert depth[2] == pytest.approx(-450.0, abs=1.0)


def test_depth_against_accuracy_decides_at_the_boundary() -> None:
    """A fix 20 m inside with 30 m accuracy is not evidence of being inside;
    one 20 m inside with 5 m accuracy is. (What the engine asks of depth.)"""
    proj = LocalProjection(40.4, -3.7)
    zone = Zone(ZoneId("z"), "square", square(proj, 100.0))
    depth = float(project_zone(zone, proj).depth_m(np.array([80.0]), np.array([0.0]))[0])
    assert depth == pytest.approx(20.0, abs=0.1)
    assert depth < 30.0 and depth > 5.0


@pytest.mark.parametrize(
    ("geometry", "radius", "field", "message"),
    [
        ({"type": "Point", "coordinates": [-3.7, 95.0]}, 100.0, "geometry.coordinates", "latitude 95"),
        ({"type": "Point", "coordinates": [-190.0, 40.0]}, 100.0, "geometry.coordinates", "longitude"),
        ({"type": "Point", "coordinates": [-3.7, 40.0]}, None, "radius_m", "radius"),
        ({"type": "Point", "coordinates": [-3.7, 40.0]}, -5, "radius_m", "radius"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            None,
            "geometry",
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            None,
            "geometry.coordinates[0]",
            "end where it starts",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
            None,
            "geometry.coordinates[0]",
            "at least 4",
        ),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, None, "geometry.type", "unsupported"),
        ("not geojson", None, "geometry", "GeoJSON"),
    ],
)
def test_invalid_geometry_is_refused_naming_the_field(
    geometry: object, radius: object, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_zone_geometry(geometry, radius)
    assert info.value.field == field
    assert message in str(info.value)


def test_zone_round_trips_as_geojson_feature() -> None:
    zone = Zone(ZoneId("z42"), "home of p3", {"type": "Point", "coordinates": [-70.6, -33.4]}, 100.0)
    feature = zone.to_geojson()
    assert feature["geometry"]["coordinates"] == [-70.6, -33.4]  # [lon, lat]
    assert feature["properties"]["radius_m"] == 100.0
