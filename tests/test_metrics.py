"""Tests for analysis.metrics: the per-region metrics table against brute force, and real data.

Shapes are drawn as in tests/test_shape.py (LAEA squares around 68 E, 48 N).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DATA, KM, LAEA, shapes, square
from pyproj import Geod
from shapely.geometry import Point

from analysis.distances import settlement_distances
from analysis.metrics import overall_metrics, region_metrics
from geo.errors import CRSError, DataError

GEOKZ = DATA / "geokz"
HOTOSM = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"


# ------------------------------------------------------------ region metrics
GEOD = Geod(ellps="WGS84")


@pytest.fixture
def world():
    regions = shapes(
        [square(), square(20 * KM, 0)],
        codes=["A", "B"],
        name_en=["Alpha", "Beta"],
        centre_name_en=["A-town", "B-town"],
    )
    centres = gpd.GeoSeries([Point(0, 0), Point(20 * KM, 0)], crs=LAEA).to_crs("EPSG:4326")
    regions["centre_lon"] = centres.x.to_numpy()
    regions["centre_lat"] = centres.y.to_numpy()
    pts_laea = [(3, 4), (-6, 0), (0, 8), (22, 1), (27, -5), (5, 5)]
    pts = gpd.GeoSeries([Point(x * KM, y * KM) for x, y in pts_laea], crs=LAEA)
    settlements = gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(6)],
            "name": ["a1", "a2", "a3", "b1", "b2", "orphan"],
            "population": [100.0, 300.0, np.nan, 50.0, 50.0, 1e6],
            "reg": ["A", "A", "A", "B", "B", None],
        },
        geometry=pts.to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )
    return regions, settlements


def brute_distances(regions, settlements, col="reg"):
    centre = regions.set_index("code")[["centre_lon", "centre_lat"]]
    out = {}
    for idx, row in settlements.iterrows():
        if pd.isna(row[col]):
            continue
        lon, lat = centre.loc[row[col]]
        _, _, d = GEOD.inv(row.geometry.x, row.geometry.y, lon, lat)
        out[idx] = d / 1000.0
    return pd.Series(out)


def analysed(regions, settlements, *, col="reg", epoch=2024):
    """Settlements as the analysis leaves them: region, distance (analysis.distances), weight."""
    s = settlements.rename(columns={col: f"region_{epoch}"})
    s = settlement_distances(s, {epoch: regions}, before=epoch, after=epoch)
    s["population_est"] = s["population"]
    return s


def test_region_metrics_against_brute_force(world):
    regions, settlements = world
    settlements = analysed(regions, settlements)
    before_r, before_s = regions.copy(), settlements.copy()
    out = region_metrics(regions, settlements, epoch=2024, thresholds_km=(5.5, 7.5))
    pd.testing.assert_frame_equal(regions, before_r)
    pd.testing.assert_frame_equal(settlements, before_s)

    d = brute_distances(regions, settlements, col="region_2024")
    assert list(out.index) == ["A", "B"]
    assert out.index.name == "code"
    a, b = out.loc["A"], out.loc["B"]
    assert (a["population"], b["population"]) == (400.0, 100.0)
    # mean of 400 and 100 is 250: +60 % and -60 %
    assert out["pop_deviation_pct"].tolist() == pytest.approx([60.0, -60.0])
    assert out["settlements"].tolist() == [3, 2]  # NaN population counted, NaN region not
    assert a["mean_dist_km"] == pytest.approx(d[[0, 1, 2]].mean(), rel=1e-9)
    assert a["pop_weighted_mean_km"] == pytest.approx((100 * d[0] + 300 * d[1]) / 400, rel=1e-9)
    assert b["pop_weighted_mean_km"] == pytest.approx((d[3] + d[4]) / 2, rel=1e-9)
    assert a["max_dist_km"] == pytest.approx(d[[0, 1, 2]].max(), rel=1e-9)
    # d ~ 5, 6, 8 (A) and 2.2, 8.6 (B) km
    assert d[0] < 5.5 < d[1] < 7.5 < d[2]
    assert d[3] < 7.5 < d[4]
    assert a["share_pop_beyond_5.5km"] == pytest.approx(300 / 400)
    assert a["share_pop_beyond_7.5km"] == 0.0  # the 8 km settlement has no population
    assert b["share_pop_beyond_7.5km"] == pytest.approx(0.5)
    assert a["area_km2"] == pytest.approx(400.0, rel=1e-3)
    assert a["polsby_popper"] == pytest.approx(math.pi / 4, rel=1e-4)
    assert out["n_parts"].tolist() == [1, 1]
    assert out["is_contiguous"].tolist() == [True, True]
    assert out["name_en"].tolist() == ["Alpha", "Beta"]


def test_overall_metrics_pools_settlements(world):
    regions, settlements = world
    out = region_metrics(regions, analysed(regions, settlements), epoch=2024, thresholds_km=(5,))
    overall = overall_metrics(out)
    d = brute_distances(regions, settlements)
    w = {0: 100, 1: 300, 3: 50, 4: 50}
    pooled = sum(w[i] * d[i] for i in w) / sum(w.values())
    assert overall["pop_weighted_mean_km"] == pytest.approx(pooled, rel=1e-9)
    beyond = sum(w[i] for i in w if d[i] > 5) / sum(w.values())
    assert overall["share_pop_beyond_5km"] == pytest.approx(beyond)
    assert overall["max_abs_deviation_pct"] == pytest.approx(60.0)
    assert overall["population"] == 500.0
    assert overall["mean_polsby_popper"] == pytest.approx(out["polsby_popper"].mean())
    assert overall["non_contiguous"] == 0


def test_region_metrics_rejects_unknown_codes(world):
    regions, settlements = world
    settlements = settlements.assign(reg=["A", "A", "A", "KZ-99", "B", None])
    with pytest.raises(DataError, match="KZ-99"):
        region_metrics(regions, analysed(regions, settlements), epoch=2024)


def test_region_metrics_reads_the_analysis_distances(world):
    regions, settlements = world
    settlements = analysed(regions, settlements)
    # the distances are the analysis' own: halving them halves the mean, no recomputation
    halved = settlements.assign(dist_2024_km=settlements["dist_2024_km"] / 2)
    full = region_metrics(regions, settlements, epoch=2024)
    half = region_metrics(regions, halved, epoch=2024)
    assert half["mean_dist_km"].to_numpy() == pytest.approx(full["mean_dist_km"].to_numpy() / 2)
    with pytest.raises(DataError, match="dist_2024_km"):
        region_metrics(regions, settlements.drop(columns="dist_2024_km"), epoch=2024)


def test_region_metrics_missing_column(world):
    regions, settlements = world
    settlements = analysed(regions, settlements)
    with pytest.raises(DataError, match="centre_name_en"):
        region_metrics(regions.drop(columns="centre_name_en"), settlements, epoch=2024)
    with pytest.raises(DataError, match="region_2018"):
        region_metrics(regions, settlements, epoch=2018)


def test_region_metrics_regions_without_crs(world):
    regions, settlements = world
    settlements = analysed(regions, settlements)
    with pytest.raises(CRSError, match="set_crs"):
        region_metrics(regions.set_crs(None, allow_override=True), settlements, epoch=2024)


# ------------------------------------------------------------------ real data
@pytest.mark.skipif(not HOTOSM.exists(), reason=f"real data not found at {HOTOSM}")
def test_real_region_metrics(regions_2024):
    centres = gpd.read_file(GEOKZ / "kaz_admbnda_cnt1_2022.shp")
    centres = centres[centres["TYPE_CNT1"] != 4]  # drop Baikonur, keep one per region
    table = pd.DataFrame(
        {
            "code": centres["ADM1_PCODE"],
            "centre_name_en": centres["NAME_EN"],
            "centre_lon": centres.geometry.x,
            "centre_lat": centres.geometry.y,
        }
    )
    regions = regions_2024.merge(table, on="code")
    places = gpd.read_file(HOTOSM)
    places["population"] = pd.to_numeric(
        places["population"].astype("string").str.replace(r"[\s,]", "", regex=True),
        errors="coerce",
    )
    joined = gpd.sjoin(places, regions[["code", "geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated()].drop(columns="index_right")
    out = region_metrics(regions, analysed(regions, joined, col="code"), epoch=2024)
    assert len(out) == 20
    assert out["population"].sum() > 15e6
    assert (out["pop_weighted_mean_km"] <= out["max_dist_km"]).all()
    assert out.loc[["KZ71", "KZ75", "KZ79"], "pop_weighted_mean_km"].max() < 30
    overall = overall_metrics(out)
    assert 0 < overall["share_pop_beyond_300km"] < overall["share_pop_beyond_100km"] < 1
