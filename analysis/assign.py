"""Assign settlements to the regions of both epochs by point in polygon.

One point-in-polygon pass against the atomic pieces of the build (2018 districts,
split ones cut in two) gives both epochs at once, since every piece carries its
``region_<before>`` and ``region_<after>``.

Rule for points in no piece (on a lake or the coast, in a digitising gap, or just
outside the country outline): the nearest piece within ``max_km`` (default 1 km,
geodesic; about the largest digitising difference between the geokz layers) is
taken and the row is marked ``assignment = "nearest"``; beyond that the row is kept
with no region and marked ``"unassigned"``. No row is ever dropped. The HOT export
holds several hundred places across the border (Tokmok in Kyrgyzstan, 1.8 km out;
Chinese towns near Khorgos): a wider radius would count them in Kazakh regions.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.schema import MAX_NEAREST_KM, region_col
from geo.crs import to_lonlat
from geo.distance import geodesic_km

_DEG_MARGIN = 0.1  # ≈ 8–11 km in Kazakhstan: generous bound for the candidate search


def assign_regions(
    settlements: gpd.GeoDataFrame,
    pieces: gpd.GeoDataFrame,
    *,
    epochs: tuple[int, int],
    max_km: float = MAX_NEAREST_KM,
) -> gpd.GeoDataFrame:
    """Return a copy of ``settlements`` with the region of each epoch.

    Parameters
    ----------
    settlements : GeoDataFrame
        Points with a CRS.
    pieces : GeoDataFrame
        Build pieces with ``region_<epoch>`` columns (see :func:`boundaries.build.apply_spec`).
    epochs : tuple of int
        ``(before, after)``.
    max_km : float
        Largest geodesic distance (km) at which a point outside every piece is
        given the nearest piece.

    Returns
    -------
    GeoDataFrame
        Adds ``region_<before>``, ``region_<after>``, ``assignment``
        (``inside``/``nearest``/``unassigned``), ``assign_km`` (0 inside) and
        ``piece_index`` (row position in ``pieces``, -1 if unassigned), so a
        what-if reassignment of pieces needs no new point-in-polygon pass.
    """
    piece_of, assign_km = _locate(settlements, pieces, max_km=max_km)
    return with_pieces(settlements, pieces, piece_of, assign_km, epochs=epochs)


def with_pieces(
    settlements: gpd.GeoDataFrame,
    pieces: gpd.GeoDataFrame,
    piece_of: np.ndarray,
    assign_km: np.ndarray,
    *,
    epochs: tuple[int, int],
) -> gpd.GeoDataFrame:
    """Return a copy of ``settlements`` with the columns of :func:`assign_regions`.

    ``piece_of`` (row position in ``pieces``, -1 for none) and ``assign_km`` (NaN for
    none) are an assignment already made, e.g. the ``piece_index`` and ``assign_km``
    of rows assigned before.
    """
    piece_of = np.asarray(piece_of, dtype="int64")
    assign_km = np.asarray(assign_km, dtype="float64")
    out = settlements.copy()
    assignment = np.where(piece_of < 0, "unassigned", np.where(assign_km > 0, "nearest", "inside"))
    for epoch in epochs:
        codes, uniques = pd.factorize(pieces[region_col(epoch)], sort=True)
        region_codes = np.where(piece_of >= 0, codes[np.maximum(piece_of, 0)], -1)
        out[region_col(epoch)] = pd.Categorical.from_codes(
            region_codes, categories=pd.Index(uniques, dtype=object)
        )
    out["assignment"] = pd.Categorical(assignment, categories=["inside", "nearest", "unassigned"])
    out["piece_index"] = piece_of
    out["assign_km"] = assign_km
    return out


def _locate(
    settlements: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, *, max_km: float
) -> tuple[np.ndarray, np.ndarray]:
    """Piece (row position, -1 for none) and distance to it (km, 0 inside) of every point."""
    pts = to_lonlat(settlements.geometry, name="settlements", copy=False).to_numpy()
    polys, (cells, cell_piece) = _pieces_and_grid(pieces)
    piece_of = np.full(len(pts), -1, dtype="int64")
    p_idx, c_idx = shapely.STRtree(cells).query(pts, predicate="intersects")
    # a point on a shared edge touches two pieces: keep the lowest piece, deterministically
    order = np.lexsort((cell_piece[c_idx], p_idx))
    p_idx, g_idx = p_idx[order], cell_piece[c_idx][order]
    first = np.r_[True, p_idx[1:] != p_idx[:-1]] if p_idx.size else np.array([], dtype=bool)
    piece_of[p_idx[first]] = g_idx[first]
    assign_km = np.where(piece_of >= 0, 0.0, np.nan)
    missing = np.flatnonzero((piece_of < 0) & ~shapely.is_missing(pts) & ~shapely.is_empty(pts))
    if missing.size:
        near_p, near_g = shapely.STRtree(polys).query_nearest(
            pts[missing], max_distance=_DEG_MARGIN + max_km / 80.0, all_matches=False
        )
        if near_p.size:
            rows = missing[near_p]
            lines = shapely.shortest_line(pts[rows], polys[near_g])
            coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
            km = geodesic_km(coords[:, 0, 0], coords[:, 0, 1], coords[:, 1, 0], coords[:, 1, 1])
            ok = km <= max_km
            piece_of[rows[ok]] = near_g[ok]
            assign_km[rows[ok]] = km[ok]
    return piece_of, assign_km


def grid_of_pieces(pieces: gpd.GeoDataFrame) -> None:
    """Cut the pieces along the grid of :func:`subdivide` now, for the assignments to come.

    The cut is remembered; a caller with time to spare (waiting for the settlements)
    saves it from the first :func:`assign_regions`.
    """
    _pieces_and_grid(pieces)


def _pieces_and_grid(pieces: gpd.GeoDataFrame) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    polys = to_lonlat(pieces.geometry, name="pieces", copy=False).to_numpy()
    return polys, subdivide(polys)


def subdivide(polys: np.ndarray, *, cell_deg: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons along a ``cell_deg`` grid so each part has few vertices.

    Point-in-polygon cost grows with the vertices of the polygon tested; clipping
    large districts to grid cells (as PostGIS ``ST_Subdivide`` does) makes each
    test cheap. Returns the parts and, for each, the index of its polygon (read-only
    arrays: the last few results are kept, since one analysis assigns points to the
    same pieces up to three times and each cut costs about 0.1 s).
    """
    return _subdivided(tuple(polys), cell_deg)


@lru_cache(maxsize=8)
def _subdivided(polys: tuple, cell_deg: float) -> tuple[np.ndarray, np.ndarray]:
    parts, owner = [], []
    for i, poly in enumerate(polys):
        xmin, ymin, xmax, ymax = poly.bounds
        xs = np.arange(np.floor(xmin / cell_deg) * cell_deg, xmax, cell_deg)
        ys = np.arange(np.floor(ymin / cell_deg) * cell_deg, ymax, cell_deg)
        gx, gy = np.meshgrid(xs, ys)
        clipped = np.array(
            [
                shapely.clip_by_rect(poly, x, y, x + cell_deg, y + cell_deg)
                for x, y in zip(gx.ravel(), gy.ravel(), strict=True)
            ],
            dtype=object,
        )
        keep = ~shapely.is_empty(clipped)
        parts.append(clipped[keep])
        owner.append(np.full(int(keep.sum()), i))
    cells, owners = np.concatenate(parts), np.concatenate(owner)
    cells.flags.writeable = owners.flags.writeable = False
    return cells, owners


def assignment_counts(assigned: pd.DataFrame) -> dict[str, int]:
    """How many settlements were assigned inside, by nearest piece, or not at all."""
    counts = assigned["assignment"].value_counts()
    return {k: int(counts.get(k, 0)) for k in ("inside", "nearest", "unassigned")}
