"""Matching BNS units to geokz polygons and BNS settlements to settlement points."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.errors import DataError
from inputs.bns_match import (
    is_city_kato,
    match_districts,
    match_settlements,
    read_aliases,
)


def test_alias_table_has_a_reason_and_source_for_every_row():
    table = read_aliases()
    assert table[["reason", "source"]].notna().all().all()
    assert "Сауран ауданы" in set(table["bns_name"])


def test_kato_numbering_tells_cities_from_districts():
    assert is_city_kato("391000000")  # Kostanay city
    assert not is_city_kato("395400000")  # Kostanay district


def _toy_districts():
    units = pd.DataFrame(
        {
            "region": ["KZ-39", "KZ-39"],
            "name_kk": ["Қостанай қ.ә.", "Қостанай ауданы"],
            "name": ["Қостанай", "Қостанай"],
            "kind": ["city", "district"],
            "population": [264_446, 73_157],
            "row": [136, 149],
        }
    )
    polys = pd.DataFrame(
        {
            "KATO": ["395400000", "391000000"],
            "ADM2_KK": ["Қостанай", "Қостанай"],
            "ADM2_RU": ["Костанайский", "Костанай"],
            "ADM2_EN": ["Kostanay", "Kostanay"],
            "region": ["KZ-39", "KZ-39"],
        }
    )
    no_aliases = pd.DataFrame(columns=["region", "bns_name", "kato", "reason", "source"])
    return units, polys, no_aliases


def test_city_and_district_of_the_same_name():
    units, polys, aliases = _toy_districts()
    match = match_districts(units, polys, aliases=aliases)
    links = dict(zip(match.links["bns_name"], match.links["kato"], strict=True))
    assert links == {"Қостанай қ.ә.": "391000000", "Қостанай ауданы": "395400000"}
    assert sorted(match.units["population"]) == [73_157, 264_446]


def test_unmatched_unit_is_reported():
    units, polys, aliases = _toy_districts()
    with pytest.raises(
        DataError, match=r"no match for KZ-39 Қостанай ауданы.*bns_district_aliases.csv"
    ):
        match_districts(units, polys.iloc[1:], aliases=aliases)


def test_settlements_by_transliteration_type_and_unit():
    places = pd.DataFrame(
        {
            "row": [1, 2, 3, 4],
            "region": ["KZ-19"] * 4,
            "unit": ["u1", "u1", "u1", "u1"],
            "name_kk": ["Талғар қ.", "Ұзынағаш а.", "Приозер қаласы", "Жоқ а."],
            "name": ["Талғар", "Ұзынағаш", "Приозер", "Жоқ"],
            "kind": ["city", "village", "city", "village"],
            "population": [64_898, 47_820, 11_151, 10],
        }
    )
    pts = gpd.GeoDataFrame(
        {
            "name": ["Talgar", "Талгар", "Uzunagach", "Приозерск"],
            "place": ["hamlet", "town", None, "town"],
            "unit": ["u1", "u1", "u1", "u1"],
            "region": ["KZ-19"] * 4,
            "prior": [10.0, 60_000.0, 449.0, 10_000.0],
        },
        geometry=[Point(77.2, 43.3), Point(77.24, 43.3), Point(76.3, 43.2), Point(73.6, 46.0)],
        crs="EPSG:4326",
    )
    out = match_settlements(places, pts, unit_col="unit", region_col="region", weight_col="prior")
    got = dict(zip(out["name_kk"], zip(out["match"], out["status"], strict=True), strict=True))
    assert got["Талғар қ."] == (1, "matched")  # the town, not the same-named hamlet
    assert got["Ұзынағаш а."] == (2, "matched")
    assert got["Приозер қаласы"] == (3, "matched")  # Kazakh name without the Russian -sk
    assert got["Жоқ а."] == (-1, "missing")
