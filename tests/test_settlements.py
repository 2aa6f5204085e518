"""Tests of inputs.settlements: the schema and the loaders (population parsing: test_population)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import DataError
from inputs.settlements import load_hotosm, load_settlements_file

# --------------------------------------------------------------------------- HOT loader


def _hot_fixture(tmp_path: Path) -> Path:
    def feature(osm_id, lon, lat, *, osm_type="nodes", **props):
        base = {"name": None, "name:en": None, "name:kk": None, "name:ru": None}
        props = {**base, "place": "village", "population": None, **props}
        props.update(osm_id=osm_id, osm_type=osm_type)
        return {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }

    features = [
        feature(1, 76.9, 43.2, name="Алматы", **{"name:en": "Almaty"}, population="2 228 515"),
        feature(2, 77.2, 43.3, **{"name:ru": "Талгар"}, population="0"),
        feature(3, 70.0, 45.0, place="hamlet", population="about a hundred"),
        feature(3, 70.1, 45.1, osm_type="ways", place="hamlet"),
    ]
    path = tmp_path / "hot.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def test_load_hotosm_fixture(tmp_path, check_schema):
    gdf = load_hotosm(_hot_fixture(tmp_path))
    check_schema(gdf)
    assert gdf["id"].tolist() == ["osm:1", "osm:2", "osm:3", "osm:way/3"]
    assert gdf["osm_id"].tolist() == [1, 2, 3, 3]
    assert (gdf["source"] == "hotosm").all()
    # the display name falls back to name:ru when the OSM name tag is absent
    assert gdf["name"].iloc[1] == "Талгар"
    assert gdf["name_en"].iloc[0] == "Almaty"
    assert gdf["population"].iloc[0] == 2228515
    assert gdf["population_status"].tolist() == ["tagged", "unparsed", "unparsed", "missing"]
    assert gdf["population_raw"].iloc[2] == "about a hundred"


def test_load_hotosm_requires_osm_id(tmp_path):
    path = tmp_path / "no_id.csv"
    path.write_text("name,lon,lat\nA,70,45\n", encoding="utf-8")
    with pytest.raises(DataError, match="no 'osm_id' column"):
        load_hotosm(path)


def test_load_hotosm_rejects_rows_without_osm_id(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("osm_id,lon,lat\n1,70,45\n,71,46\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"1 row\(s\) without an integer osm_id \(rows 2"):
        load_hotosm(path)


# --------------------------------------------------------------------------- file loader


def test_load_settlements_file_maps_columns(tmp_path, check_schema):
    path = tmp_path / "mine.geojson"
    feature = {
        "type": "Feature",
        "properties": {"Name": "Есік", "name:en": "Esik", "POP": "41 517", "place": "town"},
        "geometry": {"type": "Point", "coordinates": [77.45, 43.36]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    gdf = load_settlements_file(path)
    check_schema(gdf)
    row = gdf.iloc[0]
    assert (row["id"], row["source"], row["name"], row["name_en"]) == (
        "file:1",
        "file",
        "Есік",
        "Esik",
    )
    assert row["population"] == 41517 and row["population_raw"] == "41 517"
    assert row["place"] == "town" and pd.isna(row["osm_id"])


def test_load_settlements_file_ids(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,name,lon,lat\nb7,A,70,45\nc9,B,71,46\n", encoding="utf-8")
    assert load_settlements_file(path)["id"].tolist() == ["file:b7", "file:c9"]
    path.write_text("id,name,lon,lat\nb7,A,70,45\nb7,B,71,46\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'id' repeats values \(b7\)"):
        load_settlements_file(path)
    path.write_text("id,name,lon,lat\nb7,A,70,45\n,B,71,46\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"1 row\(s\) without 'id' \(rows 2\)"):
        load_settlements_file(path)


def test_load_settlements_file_bad_osm_id(tmp_path):
    path = tmp_path / "osm.csv"
    path.write_text("osm_id,name,lon,lat\n12,A,70,45\nn34,B,71,46\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"osm_id is not an integer in row\(s\) 2"):
        load_settlements_file(path)


def test_load_settlements_file_rejects_metres(tmp_path):
    path = tmp_path / "metres.csv"
    path.write_text("name,x,y\nAlmaty,8566000,5350000\n", encoding="utf-8")
    with pytest.raises(DataError, match="looks like projected metres"):
        load_settlements_file(path)


# --------------------------------------------------------------------------- real data


def test_real_hot(hot, check_schema):
    check_schema(hot)
    assert len(hot) == 9899
    assert hot["id"].str.startswith("osm:").all()
    assert hot["population_raw"].notna().sum() == 3547
    counts = hot["population_status"].value_counts()
    # every tag in this export is a plain integer; the four "0" tags count as unparsed
    assert counts["tagged"] == 3543 and counts["unparsed"] == 4
    # SOURCES.md gives "about 16.8 million", i.e. rounded to 0.1 million: ±0.05 million
    assert hot["population"].sum() == pytest.approx(16.8e6, abs=0.05e6)
    assert hot["place"].value_counts().to_dict() == {
        "village": 3856,
        "hamlet": 3518,
        "isolated_dwelling": 2320,
        "town": 183,
        "city": 22,
    }


def test_real_geonames(geonames, check_schema):
    check_schema(geonames)
    assert len(geonames) == 351
    assert geonames["id"].str.startswith("geonames:").all()
    uzyn = geonames.loc[geonames["name"] == "Uzunagach"].iloc[0]
    assert np.isnan(uzyn["population"]) and uzyn["population_status"] == "missing"
    assert uzyn["population_raw"] == "0"
    assert "Ұзынағаш" in uzyn["alt_names"].split("|")
    assert uzyn["geonames_admin1"] == "01"
    # GeoNames writes 0 for unknown; no place is left with population 0
    assert not (geonames["population"] == 0).any()


def test_real_csv_round_trip(hot, tmp_path, check_schema):
    table = pd.DataFrame(
        {
            "osm_id": hot["osm_id"],
            "name": hot["name"],
            "name:en": hot["name_en"],
            "name:kk": hot["name_kk"],
            "name:ru": hot["name_ru"],
            "place": hot["place"],
            "population": hot["population_raw"],
            "lon": hot.geometry.x,
            "lat": hot.geometry.y,
        }
    )
    path = tmp_path / "hot.csv"
    table.to_csv(path, index=False)
    back = load_settlements_file(path)
    check_schema(back)
    assert len(back) == len(hot)
    assert (back["id"] == "file:" + hot["osm_id"].astype("string")).all()
    assert (back["source"] == "file").all()
    for column in ("osm_id", "name", "name_en", "name_kk", "name_ru", "place", "population_raw"):
        pd.testing.assert_series_equal(back[column], hot[column], check_names=False)
    pd.testing.assert_series_equal(back["population"], hot["population"])
    pd.testing.assert_series_equal(back["population_status"], hot["population_status"])
    assert back.geometry.geom_equals_exact(hot.geometry, tolerance=0).all()


def test_real_schema_csv_round_trip(hot, tmp_path):
    """A frame in the module schema, written as is with lon/lat, loads back the same."""
    subset = hot.loc[hot["population"].notna()].head(200)
    path = tmp_path / "schema.csv"
    subset.drop(columns="geometry").assign(lon=subset.geometry.x, lat=subset.geometry.y).to_csv(
        path, index=False
    )
    back = load_settlements_file(path)
    assert (back["id"] == "file:" + subset["id"].reset_index(drop=True)).all()
    assert back["population"].tolist() == subset["population"].tolist()
    assert back["osm_id"].tolist() == subset["osm_id"].tolist()
