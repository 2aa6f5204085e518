"""Tests for analysis.shape on hand-made shapes with known answers, and on real data.

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

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import DATA, KM, LAEA, shapes, square
from shapely.geometry import MultiPolygon, Point, Polygon, box

from analysis.shape import contiguity, convex_hull_ratio, enclaves, polsby_popper, reock
from geo.errors import CRSError, DataError

HOTOSM = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"


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


# ------------------------------------------------------------------ real data
def test_real_compactness_in_unit_interval(regions_2024):
    assert len(regions_2024) == 20
    for func in (polsby_popper, reock, convex_hull_ratio):
        values = func(regions_2024)
        assert values.notna().all()
        assert ((values > 0) & (values <= 1)).all(), func.__name__


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


def test_real_enclaves(regions_2024):
    pairs = set(map(tuple, enclaves(regions_2024)[["enclave_code", "host_code"]].values))
    # Astana in Akmola, Almaty city in Almaty region, Shymkent in Turkestan
    assert pairs == {("KZ71", "KZ11"), ("KZ75", "KZ19"), ("KZ79", "KZ61")}
