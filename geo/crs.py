"""Coordinate reference systems: checks and the named equal-area CRS for areas."""

from __future__ import annotations

from typing import TypeVar

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from geo.errors import CRSError

GeoLike = TypeVar("GeoLike", gpd.GeoDataFrame, gpd.GeoSeries)

#: Geographic lon/lat on WGS 84, the CRS of every input and every GeoJSON output.
WGS84 = CRS.from_epsg(4326)

#: Named equal-area CRS used for every area: "WGS 84 / NSIDC EASE-Grid 2.0 Global"
#: (EPSG:6933), a cylindrical equal-area projection valid worldwide.
EQUAL_AREA = CRS.from_epsg(6933)


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str = "data") -> CRS:
    """Return the CRS of ``gdf`` or raise :class:`CRSError` if it has none.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Object to check.
    name : str
        What ``gdf`` is (a file name or role), used in the message.
    """
    if gdf.crs is None:
        msg = (
            f"{name}: geometry has no CRS; set one with set_crs(...), "
            "e.g. gdf.set_crs('EPSG:4326') for lon/lat degrees"
        )
        raise CRSError(msg)
    return CRS.from_user_input(gdf.crs)


def require_same_crs(
    left: gpd.GeoDataFrame | gpd.GeoSeries,
    right: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    names: tuple[str, str] = ("left", "right"),
) -> CRS:
    """Return the shared CRS of two objects or raise :class:`CRSError` naming the fix."""
    a = require_crs(left, name=names[0])
    b = require_crs(right, name=names[1])
    if a != b:
        msg = (
            f"{names[0]} is in {a.to_string()} but {names[1]} is in {b.to_string()}; "
            f"reproject one with to_crs(...) so both share a CRS"
        )
        raise CRSError(msg)
    return a


def to_lonlat(gdf: GeoLike, *, name: str = "data", copy: bool = True) -> GeoLike:
    """Return ``gdf`` in WGS 84 lon/lat (EPSG:4326): the one CRS guard before lon/lat work.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Object with a CRS (:func:`require_crs` raises otherwise).
    name : str
        What ``gdf`` is, for the message.
    copy : bool
        When ``gdf`` is already in WGS 84: return a copy (default) or ``gdf`` itself
        (for read-only use, e.g. taking coordinates).
    """
    crs = require_crs(gdf, name=name)
    if crs == WGS84:
        return gdf.copy() if copy else gdf
    return gdf.to_crs(WGS84)


def area_km2(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str = "data") -> pd.Series:
    """Area of each geometry in km², computed in :data:`EQUAL_AREA`.

    Returns
    -------
    pandas.Series
        Named ``area_km2``, on the input index.
    """
    require_crs(gdf, name=name)
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    projected = geoms.to_crs(EQUAL_AREA)
    return pd.Series(projected.area.to_numpy() / 1e6, index=gdf.index, name="area_km2")
