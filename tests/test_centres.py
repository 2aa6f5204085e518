"""Tests for analysis.centres against brute force (pyproj.Geod.inv in plain loops)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DATA, km
from shapely.geometry import Point

from analysis.centres import centre_rank_of, distance_matrix_km, rank_centres
from geo.errors import CRSError, DataError


def brute_rank(towns, region, min_population):
    sub = towns[towns["region"] == region]
    demand = [
        ((p.x, p.y), w)
        for p, w in zip(sub.geometry, sub["population"], strict=True)
        if not np.isnan(w) and w > 0
    ]
    total = sum(w for _, w in demand)
    out = {}
    for p, name, pop in zip(sub.geometry, sub["name"], sub["population"], strict=True):
        if pop >= min_population:
            out[name] = sum(w * km((p.x, p.y), q) for q, w in demand) / total
    return pd.Series(out).sort_values()


def test_rank_centres_matches_brute_force(towns):
    before = towns.copy()
    ranking = rank_centres(towns, region="R1", region_col="region", min_population=5000)
    pd.testing.assert_frame_equal(towns, before)
    expected = brute_rank(towns, "R1", 5000)
    assert list(ranking.columns) == [
        "candidate",
        "id",
        "population",
        "pop_weighted_mean_km",
        "rank",
    ]
    assert ranking["candidate"].tolist() == list(expected.index)
    assert ranking["pop_weighted_mean_km"].to_numpy() == pytest.approx(
        expected.to_numpy(), rel=1e-9
    )
    assert ranking["rank"].tolist() == [1, 2, 3]


def test_rank_centres_keeps_osm_id(towns):
    towns = towns.assign(osm_id=np.arange(100, 108))
    ranking = rank_centres(towns, region="R1", region_col="region")
    assert "osm_id" in ranking.columns
    assert set(ranking["osm_id"]) == {100, 101, 102}


def test_rank_centres_with_given_candidates_in_other_crs(towns):
    cands = gpd.GeoDataFrame(
        {"name": ["Mid-point", "Far away"]},
        geometry=[Point(68.1, 48.1), Point(70.0, 45.0)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    ranking = rank_centres(towns, region="R1", region_col="region", candidates=cands)
    demand = [
        ((68.0, 48.0), 50_000),
        ((68.6, 48.2), 20_000),
        ((67.5, 47.7), 6_000),
        ((68.3, 48.9), 900),
        ((67.2, 48.5), 4_000),
    ]
    total = sum(w for _, w in demand)
    best = sum(w * km((68.1, 48.1), q) for q, w in demand) / total
    assert ranking["candidate"].tolist() == ["Mid-point", "Far away"]
    assert ranking["pop_weighted_mean_km"].iloc[0] == pytest.approx(best, rel=1e-6)
    assert ranking["id"].tolist() == ["0", "1"]  # index used when no id column


def test_centre_rank_of(towns):
    ranking = rank_centres(towns, region="R1", region_col="region")
    expected = brute_rank(towns, "R1", 5000)
    rank, behind = centre_rank_of(ranking, "Small")
    assert rank == list(expected.index).index("Small") + 1
    assert behind == pytest.approx(expected["Small"] - expected.iloc[0], rel=1e-9)
    assert centre_rank_of(ranking, ranking["id"].iloc[0]) == (1, 0.0)
    assert centre_rank_of(ranking, "big")[0] == list(expected.index).index("Big") + 1
    with pytest.raises(DataError, match="not among"):
        centre_rank_of(ranking, "Hamlet")


def test_centre_rank_of_ambiguous_name(towns):
    towns = towns.assign(name=["Dostyk"] * 3 + list(towns["name"][3:]))
    ranking = rank_centres(towns, region="R1", region_col="region")
    with pytest.raises(DataError, match="pass the id"):
        centre_rank_of(ranking, "Dostyk")


def test_rank_centres_errors(towns):
    with pytest.raises(DataError, match="no settlement with population >= "):
        rank_centres(towns, region="R1", region_col="region", min_population=1e9)
    no_pop = towns.assign(population=np.where(towns["region"] == "R1", np.nan, 1.0))
    with pytest.raises(DataError, match="known positive population"):
        rank_centres(no_pop, region="R1", region_col="region")
    with pytest.raises(DataError, match="R9"):
        rank_centres(towns, region="R9", region_col="region")
    with pytest.raises(CRSError, match="set_crs"):
        rank_centres(towns.set_crs(None, allow_override=True), region="R1", region_col="region")


def test_distance_matrix_chunking_is_invisible():
    rng = np.random.default_rng(1)
    a = rng.uniform([50, 40], [87, 55], size=(7, 2))
    b = rng.uniform([50, 40], [87, 55], size=(5, 2))
    full = distance_matrix_km(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    chunked = distance_matrix_km(a[:, 0], a[:, 1], b[:, 0], b[:, 1], max_cells=3)
    np.testing.assert_array_equal(full, chunked)
    assert full[2, 4] == pytest.approx(km(a[2], b[4]), rel=1e-12)


# ------------------------------------------------------------------ real data
HOTOSM = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"
ADM1 = DATA / "geokz" / "kaz_admbnda_adm1_2024.shp"


@pytest.mark.skipif(
    not (HOTOSM.exists() and ADM1.exists()), reason=f"real data not found under {DATA}"
)
def test_real_taldykorgan_ranks_first_in_zhetysu():
    regions = gpd.read_file(ADM1)
    regions["geometry"] = regions.geometry.make_valid()
    places = gpd.read_file(HOTOSM)
    places["population"] = pd.to_numeric(
        places["population"].astype("string").str.replace(r"[\s,]", "", regex=True),
        errors="coerce",
    )
    places["id"] = places["osm_id"].astype("string")
    joined = gpd.sjoin(places, regions[["ADM1_PCODE", "geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated()].drop(columns="index_right")
    ranking = rank_centres(joined, region="KZ33", region_col="ADM1_PCODE")
    # OSM node 241679356 is Taldykorgan, the enacted centre of Zhetysu
    assert centre_rank_of(ranking, "241679356")[0] == 1
    assert len(ranking) > 5
