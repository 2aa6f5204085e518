"""Tests for geo.crs: the CRS guard, reprojection to lon/lat and equal-area areas."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.crs import EQUAL_AREA, WGS84, area_km2, require_crs, require_same_crs, to_lonlat
from geo.errors import CRSError

LAEA = "+proj=laea +lat_0=48 +lon_0=68 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"


def test_require_crs_raises_with_the_fix():
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0)])
    with pytest.raises(CRSError, match=r"regions: geometry has no CRS; set one with set_crs"):
        require_crs(gdf, name="regions")
    assert require_crs(gdf.set_crs(4326)) == WGS84


def test_require_same_crs_names_both():
    a = gpd.GeoSeries([Point(0, 0)], crs=4326)
    b = gpd.GeoSeries([Point(0, 0)], crs=3857)
    with pytest.raises(CRSError, match=r"settlements is in .* but regions is in .*to_crs"):
        require_same_crs(a, b, names=("settlements", "regions"))
    assert require_same_crs(a, a.copy()) == WGS84


def test_to_lonlat_reprojects_and_copies_on_request():
    pts = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=LAEA)
    lonlat = to_lonlat(pts)
    assert lonlat.crs == WGS84
    assert lonlat.geometry.x.iloc[0] == pytest.approx(68.0)
    assert lonlat.geometry.y.iloc[0] == pytest.approx(48.0)
    already = pts.to_crs(WGS84)
    assert to_lonlat(already) is not already
    assert to_lonlat(already, copy=False) is already
    series = to_lonlat(pts.geometry, copy=False)
    assert isinstance(series, gpd.GeoSeries) and series.crs == WGS84
    with pytest.raises(CRSError):
        to_lonlat(gpd.GeoSeries([Point(0, 0)]), name="points")


def test_area_km2_is_equal_area_whatever_the_input_crs():
    square = gpd.GeoDataFrame(geometry=[box(-5000, -5000, 5000, 5000)], crs=LAEA)  # 100 km²
    assert EQUAL_AREA.is_projected
    assert area_km2(square).iloc[0] == pytest.approx(100.0, rel=1e-6)
    assert area_km2(square.to_crs(WGS84)).iloc[0] == pytest.approx(100.0, rel=1e-3)
    assert area_km2(square).name == "area_km2"
