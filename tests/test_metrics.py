"""Tests for analysis.metrics on hand-made shapes with known answers, and on real data.

Shapes are drawn in a Lambert azimuthal equal-area CRS centred in Kazakhstan
(68 E, 48 N), densified every 250 m and reprojected to EPSG:4326. Within 20 km of
the projection centre its scale error is below (20/6371)**2 / 8 ~ 1.2e-6, so a
square drawn there is a square on the ellipsoid to about 1e-6: Polsby-Popper and
Reock (measured geodesically and in a re-centred LAEA) are held to rel 1e-4.
The convex-hull ratio is measured in EPSG:6933, where a straight LAEA edge of length
L bends by a sagitta of about L**2 tan(lat) / (8 R) (~9 m for L = 20 km at 48 N);
the hull fills that bend, adding about (2/3) * 9 m * 20 km ~ 0.12 km2 on 400 km2, so
hull ratios are held to abs 1e-3.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box

from analysis.distances import settlement_distances
from analysis.metrics import (
    contiguity,
    convex_hull_ratio,
    enclaves,
    overall_metrics,
    polsby_popper,
    region_metrics,
    reock,
)
from geo.errors import CRSError, DataError

LAEA = CRS.from_user_input(
    "+proj=laea +lat_0=48 +lon_0=68 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"
)
KM = 1000.0
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GEOKZ = DATA / "geokz"
HOTOSM = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"


def shapes(geoms, codes=None, **columns) -> gpd.GeoDataFrame:
    """Regions from LAEA geometries (metres), densified and returned in EPSG:4326."""
    codes = codes or [f"R{i}" for i in range(len(geoms))]
    dense = [shapely.segmentize(g, 250.0) for g in geoms]
    gdf = gpd.GeoDataFrame({"code": codes, **columns}, geometry=dense, crs=LAEA)
    return gdf.to_crs("EPSG:4326")


def square(cx=0.0, cy=0.0, side=20 * KM) -> Polygon:
    h = side / 2
    return box(cx - h, cy - h, cx + h, cy + h)


# ------------------------------------------------------------------ compactness
def test_square_scores():
    gdf = shapes([square()])
    assert polsby_popper(gdf).iloc[0] == pytest.approx(math.pi / 4, rel=1e-4)
    assert reock(gdf).iloc[0] == pytest.approx(2 / math.pi, rel=1e-4)
    assert convex_hull_ratio(gdf).iloc[0] == pytest.approx(1.0, abs=1e-3)


def test_circle_scores():
    # a 1024-gon inscribed in a 10 km circle: PP = pi cos(pi/N) / (N sin(pi/N)) and
    # Reock = N sin(2 pi/N) / (2 pi), both 1 - O(1e-5)
    n = 1024
    gdf = shapes([Point(0, 0).buffer(10 * KM, quad_segs=n // 4)])
    pp = math.pi * math.cos(math.pi / n) / (n * math.sin(math.pi / n))
    rk = n * math.sin(2 * math.pi / n) / (2 * math.pi)
    assert polsby_popper(gdf).iloc[0] == pytest.approx(pp, rel=1e-4)
    assert reock(gdf).iloc[0] == pytest.approx(rk, rel=1e-4)
    assert convex_hull_ratio(gdf).iloc[0] == pytest.approx(1.0, abs=1e-3)


def test_rectangle_polsby_popper_is_orientation_free():
    # a 4:1 rectangle scores 4 pi * 4 / 100 whichever way it lies; a perimeter
    # measured in EPSG:6933 would tell the two apart (E-W stretch ~1.35 at 48 N)
    wide = box(-20 * KM, -5 * KM, 20 * KM, 5 * KM)
    tall = box(-5 * KM, -20 * KM, 5 * KM, 20 * KM)
    pp = polsby_popper(shapes([wide, tall]))
    assert pp.to_numpy() == pytest.approx([4 * math.pi * 4 / 100] * 2, rel=1e-4)


def test_l_shape_and_hole_hull_ratio():
    s = 10 * KM
    ell = shapely.union_all([box(0, 0, 2 * s, s), box(0, s, s, 2 * s)])  # 3 of 4 cells
    holed = Polygon(square(side=4 * s).exterior.coords, [square(side=2 * s).exterior.coords])
    ratio = convex_hull_ratio(shapes([ell, holed]))
    # L: area 3 over hull 4 - 1/2; holed: (16 - 4) / 16
    assert ratio.to_numpy() == pytest.approx([3 / 3.5, 12 / 16], abs=1e-3)
    # PP counts the hole's boundary: 4 pi * 12 s^2 / (16 s + 8 s)^2
    assert polsby_popper(shapes([holed])).iloc[0] == pytest.approx(
        4 * math.pi * 12 / 24**2, rel=1e-4
    )


def test_measures_are_named_series_on_input_index_and_pure():
    gdf = shapes([square(), square(50 * KM)]).set_index(pd.Index([7, 3]))
    before = gdf.copy()
    for func, name in [
        (polsby_popper, "polsby_popper"),
        (reock, "reock"),
        (convex_hull_ratio, "convex_hull_ratio"),
    ]:
        out = func(gdf)
        assert out.name == name
        assert list(out.index) == [7, 3]
    pd.testing.assert_frame_equal(gdf, before)


def test_projected_input_gives_same_answer():
    gdf = shapes([square()])
    assert polsby_popper(gdf.to_crs(LAEA)).iloc[0] == pytest.approx(
        polsby_popper(gdf).iloc[0], rel=1e-9
    )


@pytest.mark.parametrize(
    "func",
    [polsby_popper, reock, convex_hull_ratio, contiguity, enclaves],
)
def test_missing_crs_raises(func):
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(68, 48, 68.1, 48.1)])
    with pytest.raises(CRSError, match="set_crs"):
        func(gdf)


def test_invalid_geometry_raises_with_fix():
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[bowtie], crs="EPSG:4326")
    with pytest.raises(DataError, match="make_valid"):
        polsby_popper(gdf)


def test_empty_geometry_gives_nan():
    gdf = shapes([square()])
    gdf = pd.concat(
        [gdf, gpd.GeoDataFrame({"code": ["E"]}, geometry=[Polygon()], crs="EPSG:4326")],
        ignore_index=True,
    )
    assert np.isnan(polsby_popper(gdf).iloc[1])
    assert np.isnan(reock(gdf).iloc[1])
    assert np.isnan(convex_hull_ratio(gdf).iloc[1])


# ----------------------------------------------------------------- contiguity
def two_squares(sliver=False):
    parts = [square(), square(50 * KM, 0)]
    if sliver:  # 50 m x 50 m = 0.0025 km2, below the 0.01 km2 default
        parts.append(box(100 * KM, 0, 100 * KM + 50, 50))
    return shapes([MultiPolygon(parts), square(0, 50 * KM)], codes=["A", "B"])


def test_two_disjoint_squares_not_contiguous():
    out = contiguity(two_squares())
    a, b = out.iloc[0], out.iloc[1]
    assert (a["n_parts"], a["is_contiguous"], a["n_slivers"]) == (2, False, 0)
    assert a["exclave_km2"] == pytest.approx((400.0,), rel=1e-3)
    assert a["exclave_total_km2"] == pytest.approx(400.0, rel=1e-3)
    assert (b["n_parts"], b["is_contiguous"], b["exclave_km2"]) == (1, True, ())


def test_allowed_exclave_makes_contiguous():
    out = contiguity(two_squares(), allowed_exclaves={"A": 1})
    assert out["is_contiguous"].tolist() == [True, True]
    assert out["allowed_exclaves"].tolist() == [1, 0]


def test_slivers_are_counted_not_parts():
    out = contiguity(two_squares(sliver=True), allowed_exclaves={"A": 1})
    assert out.iloc[0][["n_parts", "n_slivers", "is_contiguous"]].tolist() == [2, 1, True]
    strict = contiguity(two_squares(sliver=True), min_part_km2=0.0)
    assert strict.iloc[0][["n_parts", "n_slivers"]].tolist() == [3, 0]


def test_allowed_exclaves_unknown_code_raises():
    with pytest.raises(DataError, match="KZ99"):
        contiguity(two_squares(), allowed_exclaves={"KZ99": 1})


def test_duplicate_codes_raise():
    gdf = shapes([square(), square(50 * KM)], codes=["A", "A"])
    with pytest.raises(DataError, match="duplicate"):
        contiguity(gdf)


# ------------------------------------------------------------------- enclaves
def test_enclave_in_hole_found():
    hole = square(side=10 * KM)
    host = Polygon(square(side=40 * KM).exterior.coords, [hole.exterior.coords])
    far = square(100 * KM, 0)
    gdf = shapes([host, hole, far], codes=["HOST", "IN", "FAR"])
    out = enclaves(gdf)
    assert out[["enclave_code", "host_code"]].values.tolist() == [["IN", "HOST"]]
    assert out["share"].iloc[0] == pytest.approx(1.0, abs=1e-9)


def test_multipart_enclave_found():
    holes = [square(-8 * KM, 0, 4 * KM), square(8 * KM, 0, 4 * KM)]
    host = Polygon(square(side=40 * KM).exterior.coords, [h.exterior.coords for h in holes])
    gdf = shapes([host, MultiPolygon(holes)], codes=["HOST", "IN"])
    assert enclaves(gdf)[["enclave_code", "host_code"]].values.tolist() == [["IN", "HOST"]]


def test_adjacent_and_overlapping_are_not_enclaves():
    adjacent = shapes([square(), square(20 * KM, 0)], codes=["A", "B"])
    assert enclaves(adjacent).empty
    assert list(enclaves(adjacent).columns) == ["enclave_code", "host_code", "share"]
    # a small square on top of a big one (no hole) is overlapping data, not an enclave
    overlap = shapes([square(side=40 * KM), square(side=5 * KM)], codes=["BIG", "SMALL"])
    assert enclaves(overlap).empty


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
needs_geokz = pytest.mark.skipif(
    not (GEOKZ / "kaz_admbnda_adm1_2024.shp").exists(),
    reason=f"real data not found at {GEOKZ}",
)


@pytest.fixture(scope="module")
def regions_2024():
    gdf = gpd.read_file(GEOKZ / "kaz_admbnda_adm1_2024.shp")
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf.rename(columns={"ADM1_PCODE": "code", "ADM1_EN": "name_en"})


@needs_geokz
def test_real_compactness_in_unit_interval(regions_2024):
    assert len(regions_2024) == 20
    for func in (polsby_popper, reock, convex_hull_ratio):
        values = func(regions_2024)
        assert values.notna().all()
        assert ((values > 0) & (values <= 1)).all(), func.__name__


@needs_geokz
def test_real_contiguity(regions_2024):
    out = contiguity(regions_2024).set_index("code")
    # Baikonur (leased to Russia) is NOT cut out of Kyzylorda in geokz: the region is
    # one polygon and the Baikonur centre point lies inside it.
    assert out.loc["KZ43", "n_parts"] == 1
    kyzylorda = regions_2024.set_index("code").geometry["KZ43"]
    assert kyzylorda.contains(Point(63.29998, 45.62739))
    # Almaty region carries one 114 m2 artefact part: a sliver, not an exclave
    assert out.loc["KZ19", ["n_parts", "n_slivers"]].tolist() == [1, 1]
    # the data's real multi-part regions: Caspian islands (Atyrau, Mangystau) and
    # city exclaves in their surrounding region (Astana: 4, Almaty city: 1)
    multi = out[out["n_parts"] > 1]["n_parts"].to_dict()
    assert multi == {"KZ23": 24, "KZ47": 10, "KZ71": 5, "KZ75": 2}


@needs_geokz
def test_real_enclaves(regions_2024):
    pairs = set(map(tuple, enclaves(regions_2024)[["enclave_code", "host_code"]].values))
    # Astana in Akmola, Almaty city in Almaty region, Shymkent in Turkestan
    assert pairs == {("KZ71", "KZ11"), ("KZ75", "KZ19"), ("KZ79", "KZ61")}


@needs_geokz
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
