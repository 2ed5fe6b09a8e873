"""Zones: where a rule applies. GeoJSON in and out, coordinates [lon, lat]."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ronda.types import ZoneId

GeoJSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Zone:
    """A Polygon, a MultiPolygon, or a circle (a GeoJSON Point with `radius_m`)."""

    id: ZoneId
    name: str
    geometry: GeoJSON
    radius_m: float | None = None

    @property
    def is_circle(self) -> bool:
        return bool(self.geometry["type"] == "Point")

    def to_geojson(self) -> GeoJSON:
        """A GeoJSON Feature; a circle keeps its centre as a Point and its radius."""
        props: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.radius_m is not None:
            props["radius_m"] = self.radius_m
        return {"type": "Feature", "id": self.id, "geometry": self.geometry, "properties": props}
