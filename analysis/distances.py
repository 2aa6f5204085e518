"""Distance from every settlement to its regional centre, before and after.

The kernel is :func:`geo.distance.geodesic_km` (pyproj ``Geod`` on WGS 84). Work is
not repeated: the ``before`` distance is only measured where the centre changed,
and the nearest ``after`` centre reuses the own-centre distance whenever the chord
screen leaves no other candidate.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.schema import (
    centre_col,
    centre_lat_col,
    centre_lon_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from geo.crs import to_lonlat
from geo.distance import geodesic_km, nearest_km


def settlement_distances(
    settlements: gpd.GeoDataFrame,
    regions: dict[int, gpd.GeoDataFrame],
    *,
    before: int,
    after: int,
) -> gpd.GeoDataFrame:
    """Add centre and distance columns for both epochs.

    Parameters
    ----------
    settlements : GeoDataFrame
        Points with ``region_<before>`` and ``region_<after>`` (see
        :func:`analysis.assign.assign_regions`).
    regions : dict
        Epoch → built regions with ``code``, ``centre_name_en``, ``centre_lon``, ``centre_lat``.

    Returns
    -------
    GeoDataFrame
        A copy with ``centre_<e>``, ``centre_<e>_lon``, ``centre_<e>_lat``,
        ``dist_<e>_km`` for both epochs, ``delta_km`` (after − before; negative =
        nearer), ``changed_region``, ``nearest_centre_<after>``,
        ``nearest_centre_<after>_km`` and ``farther_than_other_centre`` (own
        ``after`` centre farther than another region's centre).
    """
    pts = to_lonlat(settlements.geometry, name="settlements", copy=False).to_numpy()
    # a shallow copy is enough: columns are only ever replaced whole, never edited in place
    out = settlements.copy(deep=False)
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)

    coords, region_idx = {}, {}
    for epoch in (before, after):
        region_idx[epoch], *coords[epoch] = _add_centre(out, regions[epoch], epoch=epoch)

    a_lon, a_lat = coords[after]
    b_lon, b_lat = coords[before]
    dist_after = geodesic_km(lon, lat, a_lon, a_lat)
    same = (a_lon == b_lon) & (a_lat == b_lat)
    dist_before = dist_after.copy()
    redo = ~same & ~np.isnan(b_lon)
    dist_before[redo] = geodesic_km(lon[redo], lat[redo], b_lon[redo], b_lat[redo])
    dist_before[np.isnan(b_lon)] = np.nan

    out[dist_col(before)] = dist_before
    out[dist_col(after)] = dist_after
    out["delta_km"] = dist_after - dist_before
    ib, ia = region_idx[before], region_idx[after]
    # position in the after table of each before region's code (-1: no such region after)
    kept_at = pd.Index(regions[after]["code"]).get_indexer(regions[before]["code"])
    out["changed_region"] = (ib >= 0) & (ia >= 0) & (kept_at[np.maximum(ib, 0)] != ia)

    table = regions[after].reset_index(drop=True)
    idx, km = nearest_km(
        lon,
        lat,
        table["centre_lon"].to_numpy(),
        table["centre_lat"].to_numpy(),
        known_index=ia,
        known_km=dist_after,
    )
    out[nearest_centre_col(after)] = _centre_names(table, idx)
    out[nearest_centre_km_col(after)] = km
    out["farther_than_other_centre"] = (
        (ia >= 0) & (idx >= 0) & (idx != ia) & (dist_after - km > 1e-6)
    )
    return out


def epoch_distances(
    settlements: gpd.GeoDataFrame, regions: dict[int, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """Add centre and distance columns for every epoch of ``regions`` (a reform chain).

    Parameters
    ----------
    settlements : GeoDataFrame
        Points with ``region_<epoch>`` for every epoch (see
        :func:`analysis.assign.assign_regions`).
    regions : dict
        Epoch → built regions with ``code``, ``centre_name_en``, ``centre_lon``, ``centre_lat``.

    Returns
    -------
    GeoDataFrame
        A copy with ``centre_<e>``, ``centre_<e>_lon``, ``centre_<e>_lat`` and
        ``dist_<e>_km`` for every epoch (NaN where a point has no region). A distance
        to a centre already measured for an earlier epoch is reused, not measured again.
    """
    pts = to_lonlat(settlements.geometry, name="settlements", copy=False).to_numpy()
    out = settlements.copy(deep=False)  # columns are only replaced whole
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    measured: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for epoch in sorted(regions):
        _, clon, clat = _add_centre(out, regions[epoch], epoch=epoch)
        dist = np.full(len(out), np.nan)
        todo = ~np.isnan(clon)
        for mlon, mlat, mdist in measured:
            same = todo & (mlon == clon) & (mlat == clat)
            dist[same] = mdist[same]
            todo &= ~same
        dist[todo] = geodesic_km(lon[todo], lat[todo], clon[todo], clat[todo])
        measured.append((clon, clat, dist))
        out[dist_col(epoch)] = dist
    return out


def _add_centre(
    out: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, *, epoch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Set ``centre_<epoch>`` and its ``_lon``/``_lat`` on ``out``; return region positions and coordinates."""
    table = regions.reset_index(drop=True)
    idx = _positions(out[region_col(epoch)], table["code"])  # -1: no region
    out[centre_col(epoch)] = _centre_names(table, idx)
    # one gather per column: position -1 picks the NaN appended at the end
    clon = np.append(table["centre_lon"].to_numpy(dtype="float64"), np.nan)[idx]
    clat = np.append(table["centre_lat"].to_numpy(dtype="float64"), np.nan)[idx]
    out[centre_lon_col(epoch)], out[centre_lat_col(epoch)] = clon, clat
    return idx, clon, clat


def _positions(codes: pd.Series, table_codes: pd.Series) -> np.ndarray:
    """Position of each code in ``table_codes`` (-1 where missing), via categorical codes."""
    cat = pd.Categorical(codes)
    lookup = pd.Index(table_codes).get_indexer(cat.categories.astype(object))
    lookup = np.append(lookup, -1)  # categorical code -1 (missing) indexes this last slot
    return lookup[cat.codes]


def _centre_names(table: pd.DataFrame, positions: np.ndarray) -> pd.Categorical:
    """Centre name of the region at each table position (missing where -1), as a categorical."""
    names = _unique(table["centre_name_en"])
    codes = np.append(names.get_indexer(table["centre_name_en"]), -1)  # -1 → missing
    return pd.Categorical.from_codes(codes[positions], categories=names)


def _unique(values: pd.Series) -> pd.Index:
    return pd.Index(pd.unique(values.to_numpy(dtype=object)), dtype=object)
