import json

import geopandas as gpd
import pytest
import shapely

from geo.errors import DataError
from geo.io import atomic_output_dir, geojson_text, read_vector, write_geojson


def test_geojson_is_rfc7946(tmp_path):
    cw_square = shapely.Polygon([(70, 45), (70, 46), (71.123456789, 46), (71, 45)])  # clockwise
    assert not shapely.is_ccw(cw_square.exterior)
    gdf = gpd.GeoDataFrame(
        {"name": ["Ақсу"], "v": [1.23456789]}, geometry=[cw_square], crs="EPSG:4326"
    )
    path = write_geojson(gdf.to_crs("EPSG:3857"), tmp_path / "x.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc
    feat = doc["features"][0]
    assert feat["properties"] == {"name": "Ақсу", "v": 1.234568}
    ring = feat["geometry"]["coordinates"][0]
    assert shapely.is_ccw(shapely.LinearRing(ring))
    assert all(len(f"{c:.10f}".rstrip("0").split(".")[1]) <= 6 for xy in ring for c in xy)
    assert 71.123457 in [xy[0] for xy in ring]


def test_geojson_text_needs_crs():
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)])
    with pytest.raises(Exception, match="set_crs"):
        geojson_text(gdf)


def test_atomic_output_dir_success_and_failure(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("1", encoding="utf-8")
        assert not out.exists()
    assert (out / "a.txt").read_text(encoding="utf-8") == "1"
    (out / "user.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("2", encoding="utf-8")
        raise RuntimeError("boom")
    assert (out / "a.txt").read_text(encoding="utf-8") == "1"
    assert (out / "user.txt").read_text(encoding="utf-8") == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_read_vector_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_vector(tmp_path / "none.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.geojson: cannot read"):
        read_vector(bad)
