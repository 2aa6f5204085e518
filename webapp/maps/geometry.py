"""Display geometry: the build pieces as a clean, simplified coverage, dissolved per epoch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from boundaries.schema import region_col

#: Coverage simplification tolerance for display geometry (degrees, ~2 km).
DISPLAY_TOLERANCE = 0.02
#: Decimals of displayed coordinates (0.001° ≈ 100 m).
DISPLAY_DECIMALS = 3


@dataclass
class DisplayGeometry:
    """Simplified geometry for drawing; full resolution stays in the build."""

    regions: dict[int, gpd.GeoDataFrame]
    changed: gpd.GeoDataFrame
    checks: dict[str, object] = field(default_factory=dict)


def display_geometry(build, *, tolerance: float = DISPLAY_TOLERANCE) -> DisplayGeometry:
    """Regions of both epochs and changed territories, simplified as one coverage.

    The build pieces (the common refinement of both epochs) are first made a valid
    coverage with :func:`shapely.coverage_clean` (slivers narrower than half the
    tolerance merged into the neighbour with the longest shared border), then
    simplified with :func:`shapely.coverage_simplify`, so shared borders stay
    shared in both epochs and no gap or overlap opens between neighbours. Pieces
    are then dissolved per epoch with :func:`shapely.coverage_union_all`.
    """
    pieces = build.pieces
    before, after = build.spec.epochs
    geoms = pieces.geometry.to_numpy()
    cleaned = shapely.coverage_clean(geoms, gap_width=tolerance / 2)
    simple = shapely.coverage_simplify(cleaned, tolerance)
    regions = {}
    for epoch in (before, after):
        col = pieces[region_col(epoch)].astype(str).to_numpy()
        codes = build.regions[epoch]["code"].tolist()
        geoms_e = [shapely.coverage_union_all(simple[col == code]) for code in codes]
        regions[epoch] = gpd.GeoDataFrame({"code": codes}, geometry=geoms_e, crs=pieces.crs)
    b_col = pieces[region_col(before)].astype(str).to_numpy()
    a_col = pieces[region_col(after)].astype(str).to_numpy()
    moved = b_col != a_col
    rows, parts = [], []
    for pair in sorted({(b, a) for b, a in zip(b_col[moved], a_col[moved], strict=True)}):
        mask = moved & (b_col == pair[0]) & (a_col == pair[1])
        rows.append({"from": pair[0], "to": pair[1]})
        parts.append(shapely.coverage_union_all(simple[mask]))
    changed = gpd.GeoDataFrame(rows or {"from": [], "to": []}, geometry=parts, crs=pieces.crs)
    full_area = float(shapely.area(geoms).sum())
    outline = shapely.coverage_union_all(simple)
    holes = int(sum(len(part.interiors) for part in getattr(outline, "geoms", [outline])))
    checks = {
        "input_coverage_valid": bool(shapely.coverage_is_valid(geoms)),
        "display_coverage_valid": bool(shapely.coverage_is_valid(simple)),
        "display_holes": holes,
        "vertices_full": int(shapely.get_num_coordinates(geoms).sum()),
        "vertices_display": int(shapely.get_num_coordinates(simple).sum()),
        "area_change_share": abs(float(shapely.area(simple).sum()) - full_area) / full_area,
        "tolerance_deg": tolerance,
    }
    return DisplayGeometry(regions=regions, changed=changed, checks=checks)


def geometry_json(geom, decimals: int = DISPLAY_DECIMALS) -> dict:
    """GeoJSON geometry with coordinates rounded for display (shared vertices stay shared)."""
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    return json.loads(shapely.to_geojson(rounded))



def preview_regions(sources, spec, *, tolerance: float = DISPLAY_TOLERANCE) -> gpd.GeoDataFrame | None:
    """Return the source's published regions of the spec's ``after`` epoch, simplified as one coverage.

    Drawn while the first analysis runs: reading and simplifying the published layer takes a
    tenth of the time of a build. None when the source publishes no such layer (the embedded
    default, whose regions are its units).
    """
    published = sources.reference.get(spec.after)
    if published is None or published.empty:
        return None
    geoms = shapely.coverage_simplify(published.geometry.to_numpy(), tolerance)
    return gpd.GeoDataFrame({"code": published["code"].astype(str).to_numpy()}, geometry=geoms, crs=published.crs)
