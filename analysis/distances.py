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

from geo.crs import WGS84, require_crs
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
    require_crs(settlements, name="settlements")
    out = settlements.copy()
    pts = out.geometry.to_crs(WGS84) if out.crs != WGS84 else out.geometry
    xy = shapely.get_coordinates(pts.to_numpy())
    lon, lat = xy[:, 0], xy[:, 1]

    coords, region_idx = {}, {}
    for epoch in (before, after):
        table = regions[epoch].reset_index(drop=True)
        idx = _positions(out[f"region_{epoch}"], table["code"])
        region_idx[epoch] = idx
        valid = idx >= 0
        names = pd.Categorical.from_codes(
            np.where(valid, idx, -1), categories=_unique(table["centre_name_en"])
        )
        out[f"centre_{epoch}"] = names
        clon = np.where(valid, table["centre_lon"].to_numpy()[np.maximum(idx, 0)], np.nan)
        clat = np.where(valid, table["centre_lat"].to_numpy()[np.maximum(idx, 0)], np.nan)
        out[f"centre_{epoch}_lon"], out[f"centre_{epoch}_lat"] = clon, clat
        coords[epoch] = (clon, clat)

    a_lon, a_lat = coords[after]
    b_lon, b_lat = coords[before]
    dist_after = geodesic_km(lon, lat, a_lon, a_lat)
    same = (a_lon == b_lon) & (a_lat == b_lat)
    dist_before = dist_after.copy()
    redo = ~same & ~np.isnan(b_lon)
    dist_before[redo] = geodesic_km(lon[redo], lat[redo], b_lon[redo], b_lat[redo])
    dist_before[np.isnan(b_lon)] = np.nan

    out[f"dist_{before}_km"] = dist_before
    out[f"dist_{after}_km"] = dist_after
    out["delta_km"] = dist_after - dist_before
    ib, ia = region_idx[before], region_idx[after]
    code_b = regions[before]["code"].to_numpy(dtype=object)
    code_a = regions[after]["code"].to_numpy(dtype=object)
    out["changed_region"] = (
        (ib >= 0) & (ia >= 0) & (code_b[np.maximum(ib, 0)] != code_a[np.maximum(ia, 0)])
    )

    table = regions[after].reset_index(drop=True)
    idx, km = nearest_km(
        lon,
        lat,
        table["centre_lon"].to_numpy(),
        table["centre_lat"].to_numpy(),
        known_index=ia,
        known_km=dist_after,
    )
    centre_names = _unique(table["centre_name_en"])
    name_codes = pd.Index(centre_names).get_indexer(table["centre_name_en"])
    out[f"nearest_centre_{after}"] = pd.Categorical.from_codes(
        np.where(idx >= 0, name_codes[np.maximum(idx, 0)], -1), categories=centre_names
    )
    out[f"nearest_centre_{after}_km"] = km
    out["farther_than_other_centre"] = (
        (ia >= 0) & (idx >= 0) & (idx != ia) & (dist_after - km > 1e-6)
    )
    return out


def _positions(codes: pd.Series, table_codes: pd.Series) -> np.ndarray:
    """Position of each code in ``table_codes`` (-1 where missing), via categorical codes."""
    cat = pd.Categorical(codes)
    lookup = pd.Index(table_codes).get_indexer(cat.categories.astype(object))
    lookup = np.append(lookup, -1)  # categorical code -1 (missing) indexes this last slot
    return lookup[cat.codes]


def _unique(values: pd.Series) -> pd.Index:
    return pd.Index(pd.unique(values.to_numpy(dtype=object)), dtype=object)
