"""A map drawn by Ronda itself, as SVG: zones, the trail, every fix with its
accuracy circle, and a scale bar. No tiles, no network: a court's PDF must
not depend on a map server, and the drawing must show only what Ronda holds.

Coordinates go through the same local metric projection as the engine's, so
a 100 m accuracy circle is drawn 100 m wide whatever the latitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from ronda.evidence.model import Fix
from ronda.geo.projection import LocalProjection
from ronda.zones.models import Zone

VIOLATING = "#c0392b"
FIX = "#1f5fa8"
OTHER = "#7b3fa0"


@dataclass(frozen=True, slots=True)
class MapZone:
    zone: Zone
    role: str  # "exclusion", "inclusion" or "home": sets the colour


_ZONE_STYLE = {
    "exclusion": ("#c0392b", "#c0392b"),
    "inclusion": ("#1e8449", "#1e8449"),
    "home": ("#b9770e", "#b9770e"),
}


def _nice_length(max_m: float) -> float:
    """The longest 1, 2 or 5 × 10^n metres not above `max_m`."""
    if max_m <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(max_m))
    return max(float(m) * base for m in (1, 2, 5) if m * base <= max_m)


def _rings(zone: Zone) -> list[list[list[float]]]:
    g = zone.geometry
    if g["type"] == "Polygon":
        return [list(r) for r in g["coordinates"]]
    if g["type"] == "MultiPolygon":
        return [list(r) for poly in g["coordinates"] for r in poly]
    return []


def draw_map(
    fixes: Sequence[Fix],
    zones: Sequence[MapZone],
    *,
    highlight: set[tuple[str, float]] | None = None,
    other_fixes: Sequence[Fix] = (),
    width_px: int = 680,
    height_px: int = 460,
    title: str = "",
    focus: Sequence[Fix] | None = None,
    frame_zones: bool = False,
) -> str:
    """An SVG document of the fixes (trail in time order) over the zones.

    The view fits `focus` (default: all fixes) and the circles among the
    home circles (and with `frame_zones`, every circle and exclusion zone), with a margin;
    larger zones are clipped at the frame. Fixes in
    `highlight` (device, time) are drawn as violating."""
    highlight = highlight or set()
    located = sorted((f for f in fixes if f.located), key=lambda f: f.time_s)
    others = [f for f in other_fixes if f.located]
    framed = [f for f in (focus if focus is not None else located) if f.located] or located
    lons = [float(f.lon) for f in [*framed, *others] if f.lon is not None]
    lats = [float(f.lat) for f in [*framed, *others] if f.lat is not None]
    for mz in zones:
        g = mz.zone.geometry
        if g["type"] == "Point" and (mz.role == "home" or frame_zones or not lons):
            lons.append(g["coordinates"][0])
            lats.append(g["coordinates"][1])
        elif frame_zones and mz.role == "exclusion":  # places to avoid are small: show them whole
            for ring in _rings(mz.zone)[:1]:
                lons += [p[0] for p in ring]
                lats += [p[1] for p in ring]
    if not lons:
        for mz in zones:
            for ring in _rings(mz.zone):
                lons += [p[0] for p in ring]
                lats += [p[1] for p in ring]
    proj = LocalProjection.around(lons, lats) if lons else LocalProjection(0.0, 0.0)

    # extent in metres: the framed points and home circles, at least 400 m across
    xs, ys = proj.to_xy(lons, lats) if lons else (np.zeros(1), np.zeros(1))
    pad_m = 60.0
    x0, x1 = float(xs.min()) - pad_m, float(xs.max()) + pad_m
    y0, y1 = float(ys.min()) - pad_m, float(ys.max()) + pad_m
    for mz in zones:
        g = mz.zone.geometry
        if g["type"] == "Point" and (mz.role == "home" or frame_zones):
            cx, cy = proj.point_xy(g["coordinates"][0], g["coordinates"][1])
            r = float(mz.zone.radius_m or 0) + pad_m
            x0, x1, y0, y1 = min(x0, cx - r), max(x1, cx + r), min(y0, cy - r), max(y1, cy + r)
    cx_m, cy_m = (x0 + x1) / 2, (y0 + y1) / 2
    scale = min(width_px / max(x1 - x0, 400.0), height_px / max(y1 - y0, 400.0))  # px per metre

    def px(x: float, y: float) -> tuple[float, float]:
        return width_px / 2 + (x - cx_m) * scale, height_px / 2 - (y - cy_m) * scale

    def lonlat_px(lon: float, lat: float) -> tuple[float, float]:
        x, y = proj.point_xy(lon, lat)
        return px(x, y)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        '<defs><clipPath id="frame"><rect x="0" y="0" '
        f'width="{width_px}" height="{height_px}"/></clipPath></defs>',
        f'<rect x="0" y="0" width="{width_px}" height="{height_px}" fill="#fbfbf8" stroke="#888"/>',
        '<g clip-path="url(#frame)">',
    ]
    # zones
    for mz in zones:
        stroke, fill = _ZONE_STYLE.get(mz.role, ("#555", "#555"))
        g = mz.zone.geometry
        label_at: tuple[float, float] | None = None
        if g["type"] == "Point":
            cx, cy = lonlat_px(g["coordinates"][0], g["coordinates"][1])
            r = float(mz.zone.radius_m or 0) * scale
            out.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" fill-opacity="0.12" '
                f'stroke="{stroke}" stroke-width="1.5" stroke-dasharray="5,3"/>'
            )
            label_at = (cx, cy - r - 3)
        else:
            polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            for poly in polys:
                d = ""
                for ring in poly:
                    ring_px = [lonlat_px(p[0], p[1]) for p in ring]
                    d += "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in ring_px) + " Z "
                out.append(
                    f'<path d="{d.strip()}" fill="{fill}" fill-opacity="0.10" fill-rule="evenodd" '
                    f'stroke="{stroke}" stroke-width="1.5"/>'
                )
                if label_at is None and poly and poly[0]:
                    xs_r = [lonlat_px(p[0], p[1]) for p in poly[0]]
                    label_at = (sum(x for x, _ in xs_r) / len(xs_r), sum(y for _, y in xs_r) / len(xs_r))
        if label_at is not None and 0 <= label_at[0] <= width_px and 0 <= label_at[1] <= height_px:
            out.append(
                f'<text x="{label_at[0]:.1f}" y="{label_at[1]:.1f}" fill="{stroke}" text-anchor="middle">'
                f"{escape(mz.zone.name)}</text>"
            )
    # the protected person's fixes (proximity), then the accuracy circles, the trail and the fixes
    # Marks that would print on top of an identical one (a person at home sends
    # hundreds of fixes from one spot) are drawn once: the picture is the same,
    # the PDF much lighter. Every fix stays in the attached data.
    drawn: set[tuple[str, int, int, int]] = set()

    def first(kind: str, x: float, y: float, size: float) -> bool:
        key = (kind, round(x * 2), round(y * 2), round(size * 2))
        if key in drawn:
            return False
        drawn.add(key)
        return True

    for f in others:
        x, y = lonlat_px(float(f.lon or 0), float(f.lat or 0))
        if first("other", x, y, 0):
            out.append(f'<rect x="{x - 2.5:.1f}" y="{y - 2.5:.1f}" width="5" height="5" fill="{OTHER}"/>')
    marks = [
        (f, *lonlat_px(float(f.lon or 0), float(f.lat or 0)), (f.device, f.time_s) in highlight)
        for f in located
    ]
    for f, x, y, bad in marks:
        r = max(float(f.accuracy_m or 0.0) * scale, 0.0)
        colour = VIOLATING if bad else FIX
        if r >= 1.0 and first(colour, x, y, r):  # under a pixel, the dot itself says as much
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.06" '
                f'stroke="{colour}" stroke-opacity="0.25" stroke-width="0.5"/>'
            )
    if len(marks) > 1:
        pts = " ".join(f"{x:.1f},{y:.1f}" for _, x, y, _ in marks)
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="#34495e" stroke-width="0.8" stroke-opacity="0.7"/>'
        )
    for _, x, y, bad in marks:
        if first("dot", x, y, 2.6 if bad else 1.6):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.6 if bad else 1.6}" '
                f'fill="{VIOLATING if bad else FIX}"/>'
            )
    out.append("</g>")
    # scale bar (bottom left) and north arrow (top right)
    bar_m = _nice_length(width_px * 0.3 / scale)
    bar_px = bar_m * scale
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    y = height_px - 14
    out.append(
        f'<rect x="8" y="{y - 14}" width="{bar_px + 16:.1f}" height="22" fill="#fff" fill-opacity="0.85"/>'
        f'<path d="M16,{y - 4} L16,{y} L{16 + bar_px:.1f},{y} L{16 + bar_px:.1f},{y - 4}" fill="none" '
        f'stroke="#000" stroke-width="1.5"/>'
        f'<text x="{16 + bar_px / 2:.1f}" y="{y - 5}" text-anchor="middle">{label}</text>'
    )
    nx = width_px - 20
    out.append(
        f'<path d="M{nx},12 L{nx - 6},30 L{nx},26 L{nx + 6},30 Z" fill="#000"/>'
        f'<text x="{nx}" y="42" text-anchor="middle" font-weight="bold">N</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
