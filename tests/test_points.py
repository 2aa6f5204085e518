"""Tests of geo.points.read_points: formats, CRS handling and every bad-input case."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from shapely.geometry import MultiPoint, Point, Polygon

from geo.errors import DataError
from geo.points import read_points

HOT = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"


def _feature(geometry: dict | None, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    collection: dict = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _raises(path: Path, match: str) -> str:
    with pytest.raises(DataError, match=match) as info:
        read_points(path)
    message = str(info.value)
    assert "\n" not in message, "messages must be one line"
    assert path.name in message, "messages must name the file"
    return message


# --------------------------------------------------------------------------- good input


def test_geojson_points_are_returned_in_wgs84(tmp_path):
    path = _write_geojson(
        tmp_path / "towns.geojson",
        [
            _feature(_point(76.95, 43.24), name="Almaty"),
            _feature(_point(71.43, 51.13), name="Astana"),
        ],
    )
    gdf = read_points(path)
    assert gdf.crs == "EPSG:4326"
    assert list(gdf["name"]) == ["Almaty", "Astana"]
    assert isinstance(gdf.index, pd.RangeIndex)
    assert gdf.geometry.x.tolist() == [76.95, 71.43]


def test_geojson_with_declared_projected_crs_is_reprojected(tmp_path):
    # Almaty in Web Mercator metres, with the legacy GeoJSON "crs" member.
    almaty = gpd.GeoSeries([Point(76.95, 43.24)], crs=4326).to_crs(3857).iloc[0]
    path = _write_geojson(
        tmp_path / "mercator.geojson",
        [_feature(_point(almaty.x, almaty.y), name="Almaty")],
        crs="urn:ogc:def:crs:EPSG::3857",
    )
    gdf = read_points(path)
    assert gdf.crs == "EPSG:4326"
    assert gdf.geometry.x.iloc[0] == pytest.approx(76.95, abs=1e-9)
    assert gdf.geometry.y.iloc[0] == pytest.approx(43.24, abs=1e-9)


def test_geopackage_in_utm_is_reprojected(tmp_path):
    path = tmp_path / "towns.gpkg"
    src = gpd.GeoDataFrame({"name": ["Almaty"]}, geometry=[Point(76.95, 43.24)], crs=4326)
    src.to_crs(32643).to_file(path, layer="towns")
    gdf = read_points(path)
    assert gdf.crs == "EPSG:4326"
    assert gdf.geometry.x.iloc[0] == pytest.approx(76.95, abs=1e-7)


def test_geopackage_layer_selection(tmp_path):
    path = tmp_path / "two.gpkg"
    towns = gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(70, 45)], crs=4326)
    areas = gpd.GeoDataFrame({"name": ["B"]}, geometry=[Point(70, 45).buffer(1)], crs=4326)
    towns.to_file(path, layer="towns")
    areas.to_file(path, layer="areas")
    # the only point layer is chosen without a warning
    assert read_points(path)["name"].tolist() == ["A"]
    assert read_points(path, layer="towns")["name"].tolist() == ["A"]
    with pytest.raises(DataError, match=r"no layer 'nope'; available layers: towns, areas"):
        read_points(path, layer="nope")
    towns.to_file(path, layer="more_towns")
    with pytest.raises(DataError, match=r"3 layers .*save the points layer alone"):
        read_points(path)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [("lon", "lat"), ("Longitude", "Latitude"), ("LNG", "LAT"), ("long", "lat"), ("x", "y")],
)
def test_csv_coordinate_columns_are_detected(tmp_path, lon, lat):
    path = tmp_path / "towns.csv"
    path.write_text(f"name,{lon},{lat}\nAlmaty,76.95,43.24\nNA,71.43,51.13\n", encoding="utf-8")
    gdf = read_points(path)
    assert gdf.crs == "EPSG:4326"
    assert gdf.columns.tolist() == ["name", "geometry"]
    # "NA" is a possible name, not a missing value
    assert gdf["name"].tolist() == ["Almaty", "NA"]
    assert gdf.geometry.y.tolist() == [43.24, 51.13]


def test_csv_wkt_column(tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text('name,WKT\nAlmaty,"POINT (76.95 43.24)"\n', encoding="utf-8")
    gdf = read_points(path)
    assert gdf.geometry.iloc[0].equals(Point(76.95, 43.24))


def test_csv_attributes_stay_text(tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text('name,population,lon,lat\nA,"12 345",70,45\nB,007,71,46\n', encoding="utf-8")
    gdf = read_points(path)
    assert gdf["population"].tolist() == ["12 345", "007"]


def test_single_part_multipoint_becomes_point(tmp_path):
    path = _write_geojson(
        tmp_path / "multi.geojson",
        [
            _feature({"type": "MultiPoint", "coordinates": [[70, 45]]}, name="A"),
            _feature(_point(71, 46), name="B"),
        ],
    )
    gdf = read_points(path)
    assert gdf.geom_type.tolist() == ["Point", "Point"]
    assert gdf.geometry.iloc[0].equals(Point(70, 45))


def test_3d_points_are_flattened(tmp_path):
    path = _write_geojson(
        tmp_path / "z.geojson", [_feature({"type": "Point", "coordinates": [70, 45, 500]})]
    )
    gdf = read_points(path)
    assert not gdf.geometry.has_z.any()


# --------------------------------------------------------------------------- bad input


def test_missing_path(tmp_path):
    _raises(tmp_path / "nowhere.geojson", "file not found")


@pytest.mark.parametrize("name", ["empty.geojson", "empty.csv", "empty.gpkg"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    _raises(path, r"file is empty \(0 bytes\)")


def test_truncated_geojson(tmp_path):
    path = tmp_path / "cut.geojson"
    full = json.dumps(
        {"type": "FeatureCollection", "features": [_feature(_point(70, 45), name="A")]}
    )
    path.write_text(full[: len(full) // 2], encoding="utf-8")
    _raises(path, "unreadable or truncated file")


def test_json_that_is_not_geojson(tmp_path):
    path = tmp_path / "plain.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    _raises(path, "unreadable or truncated file")


def test_features_without_geometry(tmp_path):
    path = tmp_path / "nogeom.geojson"
    path.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": 1}}]}
        ),
        encoding="utf-8",
    )
    _raises(path, "no geometry found in 1 feature")


def test_all_geometries_null(tmp_path):
    path = _write_geojson(tmp_path / "null.geojson", [_feature(None, a=1), _feature(None, a=2)])
    _raises(path, "no geometry found in 2 feature")


def test_empty_feature_collection(tmp_path):
    path = _write_geojson(tmp_path / "none.geojson", [])
    _raises(path, "no features")


def test_some_null_geometries_are_listed_not_dropped(tmp_path):
    features = [_feature(_point(70, 45), a=i) for i in range(10)]
    for i in (1, 3, 4, 5, 6, 8):
        features[i] = _feature(None, a=i)
    path = _write_geojson(tmp_path / "gaps.geojson", features)
    message = _raises(path, r"6 of 10 row\(s\) have no geometry")
    assert "rows 2, 4, 5, 6, 7, …" in message


def test_empty_point_geometry_is_an_error(tmp_path):
    path = tmp_path / "empty_point.csv"
    path.write_text('name,wkt\nA,"POINT (70 45)"\nB,"POINT EMPTY"\n', encoding="utf-8")
    _raises(path, r"1 of 2 row\(s\) have no geometry \(row 2")


def test_csv_without_coordinate_columns(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,population\nAlmaty,2000000\n", encoding="utf-8")
    _raises(path, "no coordinate columns.*add 'lon' and 'lat' columns")


def test_csv_with_other_delimiter(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("name;lon;lat\nA;70;45\n", encoding="utf-8")
    _raises(path, "is one column; save the file comma-separated")


def test_csv_lonlat_wins_over_wkt(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text('name,lon,lat,geometry\nA,70,45,"POINT (1 2)"\n', encoding="utf-8")
    gdf = read_points(path)
    assert gdf.columns.tolist() == ["name", "geometry"]
    assert gdf.geometry.iloc[0].equals(Point(70, 45))


def test_unreadable_csv(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('name,lon,lat\n"A,70,45\n', encoding="utf-8")
    _raises(path, "unreadable CSV")


def test_csv_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("name,lon,lat\n", encoding="utf-8")
    _raises(path, "header but no rows")


def test_csv_blank_coordinates(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("name,lon,lat\nA,70,45\nB,,\nC,71,46\n", encoding="utf-8")
    _raises(path, r"1 of 3 row\(s\) have no geometry \(row 2")


def test_csv_non_numeric_coordinates(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("name,lon,lat\nA,70,45\nB,east,46\n", encoding="utf-8")
    _raises(path, "non-numeric 'lon'/'lat' .*row 2")


def test_csv_invalid_wkt(tmp_path):
    path = tmp_path / "wkt.csv"
    path.write_text('name,geometry\nA,"POINT (70 45)"\nB,"POINT (70"\n', encoding="utf-8")
    _raises(path, "invalid WKT in 'geometry' .*row 2")


def test_csv_in_metres_is_rejected(tmp_path):
    path = tmp_path / "metres.csv"
    path.write_text("name,x,y\nAlmaty,8566000,5350000\n", encoding="utf-8")
    _raises(path, "looks like projected metres; reproject to EPSG:4326 or give the file a CRS")


def test_geopackage_without_crs_in_metres_is_rejected(tmp_path):
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"a": [1]}, geometry=[Point(500000, 4800000)]).to_file(path)
    _raises(path, "looks like projected metres")


def test_polygons_are_rejected_naming_the_type(tmp_path):
    path = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame(
        {"a": [1, 2]}, geometry=[Point(70, 45), Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326
    ).to_file(path)
    _raises(path, r"expected Point geometries but found 1 Polygon \(row 2")


def test_multipart_multipoint_is_rejected(tmp_path):
    path = tmp_path / "multi.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[MultiPoint([(70, 45), (71, 46)])], crs=4326).to_file(
        path
    )
    _raises(path, r"found 1 MultiPoint \(several parts\)")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def hot_path() -> Path:
    if not HOT.exists():
        pytest.skip(f"shared data not found at {HOT}; see SOURCES.md for the download")
    return HOT


def test_real_hot_file_keeps_every_point(hot_path):
    gdf = read_points(hot_path)
    assert len(gdf) == 9899
    assert gdf.crs == "EPSG:4326"
    assert (gdf.geom_type == "Point").all()
    lon, lat = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    # Kazakhstan and its immediate borderlands
    assert np.all((lon > 45) & (lon < 88) & (lat > 39) & (lat < 56))
