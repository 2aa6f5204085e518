"""Geometry validity, polygon coverages and overlap measures (shapely 2)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import EQUAL_AREA, area_km2, require_crs, require_same_crs
from geo.errors import DataError

POLYGONAL = ("Polygon", "MultiPolygon")
_NATIVE_AREA_EPS = 1e-9  # relative area below which an intersection is a touching edge


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Raise :class:`DataError` listing every missing column at once."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        msg = (
            f"{name}: missing column(s) {', '.join(missing)}; add them or give the right file"
        )
        raise DataError(msg)


def require_polygons(gdf: gpd.GeoDataFrame, *, name: str, id_col: str | None = None) -> None:
    """Raise :class:`DataError` if any geometry is missing or not (Multi)Polygon."""
    types = gdf.geometry.geom_type
    bad = gdf.index[~types.isin(POLYGONAL) | gdf.geometry.is_empty]
    if len(bad):
        labels = gdf.loc[bad, id_col].astype(str).tolist() if id_col else [str(i) for i in bad]
        kinds = sorted({str(t) for t in types.loc[bad]})
        msg = (
            f"{name}: {len(bad)} feature(s) are not polygons ({', '.join(kinds)}): "
            f"{', '.join(labels[:5])}{' …' if len(labels) > 5 else ''}; "
            "give every feature a Polygon or MultiPolygon geometry"
        )
        raise DataError(msg)


def polygonal_part(geom):
    """Keep only the polygonal part of a geometry (e.g. after ``make_valid``)."""
    if geom is None or geom.geom_type in POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def repair_geometries(
    gdf: gpd.GeoDataFrame, *, name: str, id_col: str | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Repair invalid polygons with ``make_valid`` and say what was repaired.

    Returns
    -------
    repaired : GeoDataFrame
        A copy; valid geometries are untouched.
    report : list of str
        One line per repaired feature with its validity reason and area change.
    """
    out = gdf.copy()
    invalid = ~out.geometry.is_valid
    report: list[str] = []
    if not invalid.any():
        return out, report
    before = out.geometry[invalid]
    reasons = shapely.is_valid_reason(before.to_numpy())
    fixed = gpd.GeoSeries(_made_valid(before.to_numpy()), index=before.index, crs=out.crs)
    area_before = before.to_crs(EQUAL_AREA).area if out.crs else before.area
    area_after = fixed.to_crs(EQUAL_AREA).area if out.crs else fixed.area
    for idx, reason in zip(before.index, reasons, strict=True):
        label = out.at[idx, id_col] if id_col else idx
        delta = (area_after[idx] - area_before[idx]) / 1e6
        report.append(f"{name}: repaired {label} ({reason}); area change {delta:+.3f} km²")
    out.loc[invalid, out.geometry.name] = fixed
    return out, report


@dataclass(frozen=True)
class CoverageReport:
    """How far a set of polygons is from a clean coverage (no overlaps, no gaps)."""

    is_valid: bool
    invalid_edges: int
    invalid_polygons: int
    overlap_km2: float
    overlap_pairs: int
    gap_km2: float
    gaps: int
    #: The overlapping pairs (``left``, ``right`` labels, ``overlap_km2``), as
    #: :func:`overlap_pairs` returns them; pass to :func:`resolve_overlaps`.
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        state = "valid" if self.is_valid else "not a clean coverage"
        return (
            f"coverage {state}: {self.invalid_edges} invalid edge(s) "
            f"on {self.invalid_polygons} polygon(s), "
            f"{self.overlap_pairs} overlapping pair(s) totalling {self.overlap_km2:.2f} km², "
            f"{self.gaps} interior gap(s) totalling {self.gap_km2:.2f} km²"
        )


def overlap_pairs(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pairs of rows whose interiors overlap, with the overlap area in km².

    Relations are computed in the data's own CRS (where the geometry is edited);
    only the areas are measured in :data:`~geo.crs.EQUAL_AREA`.
    """
    crs = require_crs(gdf, name="coverage")
    geoms = gdf.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    # only pairs whose interiors meet in an area (DE-9IM "2********") can overlap;
    # neighbours that merely share an edge are dropped before the costlier overlay
    keep = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[keep], right[keep]
    inter = [polygonal_part(g) for g in shapely.intersection(geoms[left], geoms[right])]
    area = gpd.GeoSeries(inter, crs=crs).to_crs(EQUAL_AREA).area.to_numpy() / 1e6
    # a sliver with no area in the native CRS (collinear vertices along a shared
    # edge) gains a spurious area when only its vertices are projected: skip it
    keep = shapely.area(np.asarray(inter, dtype=object)) > _NATIVE_AREA_EPS * shapely.area(
        geoms[left]
    )
    left, right, area = left[keep], right[keep], area[keep]
    return pd.DataFrame({"left": gdf.index[left], "right": gdf.index[right], "overlap_km2": area})


def coverage_report(gdf: gpd.GeoDataFrame, *, gap_max_km2: float = 50.0) -> CoverageReport:
    """Check a polygon coverage with :func:`shapely.coverage_invalid_edges`.

    Overlaps are measured pairwise in :data:`~geo.crs.EQUAL_AREA`; gaps are the
    holes of the union smaller than ``gap_max_km2`` (larger holes are real
    enclaves of other territory, such as a city inside its region).
    """
    require_crs(gdf, name="coverage")
    geoms = gdf.geometry.to_numpy()
    # the union for the gaps is the costliest step and independent of the rest:
    # GEOS releases the GIL, so it runs on a second core meanwhile
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coverage") as pool:
        pending = pool.submit(_hole_areas_km2, gdf.geometry)
        edges = shapely.coverage_invalid_edges(geoms)
        # one (Multi)LineString per polygon, empty where all its edges are valid; the
        # coverage is valid exactly when none has any (what coverage_is_valid recomputes)
        bad = ~shapely.is_empty(edges) & ~shapely.is_missing(edges)
        n_polygons = int(bad.sum())
        n_edges = int(shapely.get_num_geometries(edges[bad]).sum())
        pairs = overlap_pairs(gdf)
        hole_areas = pending.result()
    small = hole_areas[hole_areas < gap_max_km2]
    return CoverageReport(
        is_valid=n_polygons == 0,
        invalid_edges=n_edges,
        invalid_polygons=n_polygons,
        overlap_km2=float(pairs["overlap_km2"].sum()),
        overlap_pairs=len(pairs),
        gap_km2=float(small.sum()),
        gaps=int(small.size),
        pairs=pairs,
    )


def _hole_areas_km2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Areas (km², :data:`~geo.crs.EQUAL_AREA`) of the holes in the union of ``geoms``."""
    union = shapely.union_all(geoms.to_crs(EQUAL_AREA).to_numpy())
    rings = [ring for poly in shapely.get_parts(union) for ring in poly.interiors]
    return shapely.area(shapely.polygons(rings)) / 1e6 if rings else np.zeros(0)


def _made_valid(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with the invalid ones (only) repaired to their polygonal part."""
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return geoms
    out = geoms.copy()
    out[bad] = [polygonal_part(g) for g in shapely.make_valid(geoms[bad])]
    return out


def resolve_overlaps(
    gdf: gpd.GeoDataFrame, *, priority: str | None = None, pairs: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Return a copy whose polygons no longer overlap.

    Each overlapping area is kept by one polygon only: the one that comes first in
    ``priority`` order (a column, ascending) or in row order, and cut from the
    other. Total area therefore equals the area of the union.

    ``pairs`` are the overlapping pairs of ``gdf`` if already known (e.g.
    :attr:`CoverageReport.pairs`); by default they are found with :func:`overlap_pairs`.
    """
    require_crs(gdf, name="coverage")
    out = gdf.copy()
    order = out[priority].rank(method="first").to_numpy() if priority else np.arange(len(out))
    pairs = overlap_pairs(out) if pairs is None else pairs
    pos = {label: i for i, label in enumerate(out.index)}
    geoms = out.geometry.to_numpy().copy()
    for left, right in zip(pairs["left"], pairs["right"], strict=True):
        i, j = pos[left], pos[right]
        winner, loser = (i, j) if order[i] < order[j] else (j, i)
        geoms[loser] = polygonal_part(shapely.difference(geoms[loser], geoms[winner]))
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def iou(a, b) -> float:
    """Intersection over union of two shapely geometries (same CRS, planar).

    The union's area is ``area(a) + area(b) - area(a ∩ b)``, so only the
    intersection is computed.
    """
    inter = shapely.intersection(a, b).area
    union = a.area + b.area - inter
    return float(inter / union) if union else float("nan")


def iou_by_key(
    built: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    *,
    key: str,
    reference_key: str | None = None,
) -> pd.Series:
    """IoU of each reference feature against the built feature with the same key.

    The intersection is computed in the data's own CRS, on polygons made valid
    there (projecting first leaves self-touching rings that the overlay rejects,
    and repairing every projected region costs more than the overlay); its area and both inputs' areas are measured in
    :data:`~geo.crs.EQUAL_AREA` (:func:`~geo.crs.area_km2`), so the ratio is one
    of true areas.

    Returns
    -------
    pandas.Series
        Named ``iou``, indexed by key (NaN where ``built`` has no such key).
    """
    crs = require_same_crs(built, reference, names=("built regions", "reference regions"))
    rkey = reference_key or key
    keys = pd.Index(reference[rkey].to_numpy())
    pos = pd.Index(built[key].to_numpy()).get_indexer(keys)
    found = pos >= 0
    b = _made_valid(built.geometry.iloc[pos[found]].to_numpy())
    r = _made_valid(reference.geometry.iloc[np.flatnonzero(found)].to_numpy())
    inter = area_km2(gpd.GeoSeries(shapely.intersection(b, r), crs=crs)).to_numpy()
    union = (
        area_km2(gpd.GeoSeries(b, crs=crs)).to_numpy()
        + area_km2(gpd.GeoSeries(r, crs=crs)).to_numpy()
        - inter
    )
    values = np.full(len(keys), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        values[found] = np.where(union > 0, inter / union, np.nan)
    return pd.Series(values, index=keys, name="iou", dtype="float64")
