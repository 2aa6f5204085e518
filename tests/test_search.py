"""Tests of inputs.search: finding the places a person means by a name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.distance import geodesic_km
from inputs.names import name_skeletons
from inputs.search import (
    SEARCH_COLUMNS,
    find_settlement,
    ranking_columns,
    relevance,
    search_settlements,
    touched_regions,
)

#: Where Uzynagash (Ұзынағаш, Zhambyl district, Almaty region) is, per GeoNames 1517563.
UZYNAGASH = (76.31871, 43.22259)

#: Talgar (Талғар), centre of Talgar district, Almaty region (OSM node 27522202).
TALGAR = (77.2395, 43.3027)

# --------------------------------------------------------------------------- synthetic


def test_find_settlement_orders_by_population_then_exact(make_places):
    places = make_places(
        [
            ("Aksu", 70, 45, 500),
            ("Ақсу", 71, 46, 40000),
            ("Аксу", 72, 47),
            ("Aksuat", 73, 48, 9000),
            ("Ақсу", 74, 48, 40000),
        ]
    )
    before = places.copy()
    found = find_settlement(places, "Aksu")
    pd.testing.assert_frame_equal(places, before)
    # larger first; among equals the exact spelling first, then input order
    assert found["id"].tolist() == ["p:1", "p:4", "p:0", "p:2"]
    assert isinstance(found.index, pd.RangeIndex)
    assert find_settlement(places, "Аксу")["id"].tolist() == ["p:1", "p:4", "p:0", "p:2"]
    assert find_settlement(places, "Nowhere").empty
    assert find_settlement(places, "  ").empty
    # several searches can share one skeleton index; it must be the frame's own
    skeletons = name_skeletons(places)
    for query in ("Aksu", "Аксу", "Aksuat"):
        assert find_settlement(places, query, skeletons=skeletons)["id"].tolist() == (
            find_settlement(places, query)["id"].tolist()
        )
    with pytest.raises(ValueError, match="name_skeletons"):
        find_settlement(places, "Aksu", skeletons=skeletons.iloc[1:])


def _analysed(make_places, rows, regions, delta_km):
    """Places with the analysis columns relevance reads (region_<year>, delta_km)."""
    places = make_places(rows)
    return places.assign(
        region_2018=pd.array(regions, dtype="string"),
        region_2024=pd.array(regions, dtype="string"),
        delta_km=delta_km,
        changed_region=False,
        population_est=places["population"].fillna(100.0),
    )


def test_places_in_touched_regions_rank_as_ten_times_larger(make_places):
    places = _analysed(
        make_places,
        [("Ұзынағаш", 76, 43, 449), ("Узынагаш", 64, 54, 944), ("Алматы", 77, 43, 2e6)],
        ["KZ-19", "KZ-39", "KZ-19"],
        [-168.0, 0.0, -150.0],
    )
    assert touched_regions(places) == {"KZ-19"}
    score = relevance(places)
    assert score.iloc[0] == pytest.approx(np.log10(450) + 1)
    assert score.iloc[1] == pytest.approx(np.log10(945))
    for query in ("Uzynagash", "Узынагаш", "Узынағаш"):
        assert find_settlement(places, query)["id"].tolist() == ["p:0", "p:1"], query
    # without the reform's columns, size alone decides
    plain = places.drop(columns=["delta_km", "changed_region"])
    assert find_settlement(plain, "Uzynagash")["id"].tolist() == ["p:1", "p:0"]
    # an explicit set of touched regions overrides the frame's own
    assert find_settlement(places, "Uzynagash", touched=["KZ-39"])["id"].tolist() == [
        "p:1",
        "p:0",
    ]


def test_search_table_names_regions_and_lists_name_starts_after(make_places):
    places = _analysed(
        make_places,
        [("Талдықорған", 78.4, 45.0, 169462), ("Талдык", 59.8, 49.1), ("Алматы", 77, 43, 2e6)],
        ["KZ-33", "KZ-15", "KZ-75"],
        [0.0, 0.0, 0.0],
    )
    table = search_settlements(places, "Taldyk", region_names={"KZ-33": "Zhetysu Region"})
    assert tuple(table.columns) == SEARCH_COLUMNS
    assert table["id"].tolist() == ["p:1", "p:0"]
    assert table["match"].tolist() == ["name", "start of name"]
    assert table["name_latn"].tolist() == ["Taldyk", "Taldykorgan"]
    # a region without a name is shown by its code
    assert table["region_name"].tolist() == ["KZ-15", "Zhetysu Region"]
    assert table["population"].tolist() == [100.0, 169462.0]
    assert table["population_known"].tolist() == [False, True]
    assert table[["lon", "lat"]].iloc[1].tolist() == [78.4, 45.0]
    # two letters are too few for a name start; unknown names give an empty table
    assert search_settlements(places, "Ta").empty
    empty = search_settlements(places, "Nowhere")
    assert empty.empty and tuple(empty.columns) == SEARCH_COLUMNS
    assert len(search_settlements(places, "Taldyk", limit=1)) == 1


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real(geokz_analysis):
    settlements = geokz_analysis.settlements
    after = geokz_analysis.epochs[1]
    names = geokz_analysis.build.regions[after].set_index("code")["name_en"]
    return settlements, name_skeletons(settlements), names


def _km(row, lon, lat) -> float:
    return float(geodesic_km([row["lon"]], [row["lat"]], lon, lat)[0])


@pytest.mark.parametrize("query", ["Uzynagash", "Узынагаш", "Узынағаш", "Ұзынағаш", "Uzunagach"])
def test_real_uzynagash_is_the_almaty_region_village(real, query):
    settlements, skeletons, names = real
    table = search_settlements(settlements, query, region_names=names, skeletons=skeletons)
    first = table.iloc[0]
    assert _km(first, *UZYNAGASH) < 1, table.head(3)
    assert first["region"] == "KZ-19" and first["region_name"] == "Almaty Region"
    assert first["name_latn"] == "Uzynagash"
    # the namesake in Kostanay region is still listed, after it
    assert "Kostanay Region" in table["region_name"].tolist()[1:]


@pytest.mark.parametrize("query", ["Talgar", "Талгар", "Талғар", "Talghar"])
def test_real_talgar(real, query):
    settlements, skeletons, names = real
    table = search_settlements(settlements, query, region_names=names, skeletons=skeletons)
    first = table.iloc[0]
    assert _km(first, *TALGAR) < 2
    assert (first["name_latn"], first["region_name"]) == ("Talgar", "Almaty Region")
    assert first["population_known"] and first["population"] > 40_000


def test_real_large_city_beats_namesakes_in_touched_regions(real):
    """Aktobe the regional centre comes before villages called Ақтөбе in reformed regions."""
    settlements, skeletons, names = real
    table = search_settlements(settlements, "Aktobe", region_names=names, skeletons=skeletons)
    assert table.iloc[0]["region_name"] == "Aktobe Region"
    assert table.iloc[0]["population"] > 300_000
    assert len(table) > 3


def test_real_touched_regions_are_the_reformed_ones(geokz_analysis):
    """Almaty, East Kazakhstan and Karaganda regions (2018) and the three regions made of them."""
    assert touched_regions(geokz_analysis.settlements) == {
        "KZ-19",
        "KZ-63",
        "KZ-35",
        "KZ-10",
        "KZ-33",
        "KZ-62",
    }


def test_real_find_settlement_callers_see_the_same_first_place(real):
    settlements, skeletons, _ = real
    found = find_settlement(settlements, "Узынагаш", skeletons=skeletons)
    assert found.iloc[0]["region_2024"] == "KZ-19"
    assert found["id"].is_unique and len(found) >= 2


@pytest.mark.parametrize("query", ["Ұзынағаш", "Aktobe", "Talgar", "Kurchatov", "Новоишимское"])
def test_real_ranking_columns_rank_as_the_whole_frame(real, query):
    """Searching only :func:`ranking_columns` finds the same places in the same order."""
    settlements, skeletons, _ = real
    touched = touched_regions(settlements)
    whole = find_settlement(settlements, query, skeletons=skeletons, touched=touched)
    narrow = pd.DataFrame(settlements[ranking_columns(settlements)])
    found = find_settlement(narrow, query, skeletons=skeletons, touched=touched)
    assert len(whole) >= 1
    assert found["name"].tolist() == whole["name"].tolist()
    assert found["population_est"].tolist() == whole["population_est"].tolist()
    assert "region_2018" in found.columns and "geometry" not in found.columns
