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

from geo.crs import WGS84, require_crs
from geo.distance import geodesic_km, nearest_km


def centre_lookup(regions: gpd.GeoDataFrame) -> pd.DataFrame:
    """Region code → centre name and coordinates (from built regions)."""
    return regions.set_index("code")[["centre_name_en", "centre_lon", "centre_lat"]]


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
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()

    coords = {}
    for epoch in (before, after):
        table = centre_lookup(regions[epoch])
        codes = out[f"region_{epoch}"]
        out[f"centre_{epoch}"] = codes.map(table["centre_name_en"]).astype("string")
        clon = codes.map(table["centre_lon"]).astype("float64").to_numpy()
        clat = codes.map(table["centre_lat"]).astype("float64").to_numpy()
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
    rb, ra = out[f"region_{before}"], out[f"region_{after}"]
    out["changed_region"] = (rb.notna() & ra.notna() & (rb.astype(str) != ra.astype(str))).astype(bool)

    table = regions[after].reset_index(drop=True)
    own = pd.Index(table["code"]).get_indexer(ra.astype(object).where(ra.notna(), None))
    idx, km = nearest_km(
        lon,
        lat,
        table["centre_lon"].to_numpy(),
        table["centre_lat"].to_numpy(),
        known_index=own,
        known_km=dist_after,
    )
    names = table["centre_name_en"].to_numpy(dtype=object)
    out[f"nearest_centre_{after}"] = pd.array(np.where(idx >= 0, names[np.maximum(idx, 0)], None), dtype="string")
    out[f"nearest_centre_{after}_km"] = km
    out["farther_than_other_centre"] = (own >= 0) & (idx >= 0) & (idx != own) & (dist_after - km > 1e-6)
    return out
