import json

import geopandas as gpd
import pytest
import shapely

from geo.errors import DataError
from geo.io import geojson_text, read_vector, write_geojson
from geo.outdir import atomic_output_dir


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


def test_geojson_text_matches_geopandas_and_keeps_awkward_values():
    import numpy as np
    import pandas as pd

    gdf = gpd.GeoDataFrame(
        {
            "name": ["a/b", "back\\slash/", 'quote "q" },{"name":"z', "line\nbreak", None],
            "kind": pd.Categorical(["x", "y", None, "x", "y"]),
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "flag": [True, False, True, False, True],
            "km": [1.0, np.nan, 1234567.1234564, -0.0000004, 2.5],
        },
        geometry=[
            shapely.Point(76.1234564, 43.2),
            shapely.Point(0, 0),
            None,
            shapely.Polygon(),  # empty: written as a null geometry
            shapely.Point(-1.5, 89.9999999),
        ],
        crs="EPSG:4326",
    )
    text = geojson_text(gdf)
    assert "\\/" not in text.replace("\\\\", "")  # slashes are not escaped
    doc = json.loads(text)
    props = [f["properties"] for f in doc["features"]]
    assert [p["name"] for p in props] == [
        "a/b",
        "back\\slash/",
        'quote "q" },{"name":"z',
        "line\nbreak",
        None,
    ]
    assert [p["kind"] for p in props] == ["x", "y", None, "x", "y"]
    assert [p["n"] for p in props] == [1, None, 3, 4, 5]
    assert [p["flag"] for p in props] == [True, False, True, False, True]
    assert props[2]["km"] == pytest.approx(1234567.123456, abs=1e-7)
    assert props[1]["km"] is None and props[3]["km"] == 0
    geoms = [f["geometry"] for f in doc["features"]]
    assert geoms[0] == {"type": "Point", "coordinates": [76.123456, 43.2]}
    assert geoms[2] is None and geoms[3] is None
    assert geoms[4]["coordinates"] == [-1.5, 90.0]
    # the same content as geopandas' own writer, property for property
    reference = json.loads(gdf.iloc[[0, 1, 4]].to_json(drop_id=True, na="null"))
    for mine, ref in zip(
        [doc["features"][i] for i in (0, 1, 4)], reference["features"], strict=True
    ):
        assert list(mine["properties"]) == list(ref["properties"])
        assert mine["properties"]["name"] == ref["properties"]["name"]


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_geojson_rows_split_apart_with_a_slash_in_the_first_key(rows):
    """The properties are serialised at once and split into rows on their first key."""
    gdf = gpd.GeoDataFrame(
        {"a/b": [f"x/{i}" for i in range(rows)], "c": list(range(rows))},
        geometry=[shapely.Point(i, i) for i in range(rows)],
        crs="EPSG:4326",
    )
    text = geojson_text(gdf)
    assert '"a/b":"x/0"' in text and "\\/" not in text
    props = [f["properties"] for f in json.loads(text)["features"]]
    assert props == [{"a/b": f"x/{i}", "c": i} for i in range(rows)]


def test_geojson_text_of_no_features_is_a_feature_collection():
    gdf = gpd.GeoDataFrame({"a": []}, geometry=[], crs="EPSG:4326")
    assert json.loads(geojson_text(gdf)) == {"type": "FeatureCollection", "features": []}


def test_geojson_text_precision_is_bounded():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(70, 45)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="precision 16"):
        geojson_text(gdf, precision=16)


def test_write_geojson_is_the_text_and_a_bad_call_writes_no_file(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"name": ["Ұзынағаш", "a/b"]},
        geometry=[shapely.Point(76.31871, 43.22259), None],
        crs="EPSG:4326",
    )
    path = write_geojson(gdf, tmp_path / "places.geojson")
    assert path.read_text(encoding="utf-8") == geojson_text(gdf)
    with pytest.raises(ValueError, match="precision 16"):
        write_geojson(gdf, tmp_path / "bad.geojson", precision=16)
    assert not (tmp_path / "bad.geojson").exists()


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


def test_write_csv_round_trips_values(tmp_path):
    import numpy as np
    import pandas as pd

    from geo.io import write_csv

    frame = pd.DataFrame(
        {
            "name": pd.array(['Ақсу, "old"', None, "Talgar"], dtype="string"),
            "region": pd.Categorical(["KZ-19", "KZ-33", None]),
            "population": pd.array([11, None, 2_000_000], dtype="Int64"),
            "dist_km": [62.312, np.nan, 0.5],
            "changed": [True, False, True],
        }
    )
    back = pd.read_csv(write_csv(frame, tmp_path / "a.csv"))
    assert list(back.columns) == list(frame.columns)
    assert back["name"].tolist()[::2] == ['Ақсу, "old"', "Talgar"] and pd.isna(back["name"][1])
    assert back["region"].tolist()[:2] == ["KZ-19", "KZ-33"] and pd.isna(back["region"][2])
    assert back["population"].tolist()[::2] == [11, 2_000_000] and pd.isna(back["population"][1])
    assert back["dist_km"].tolist()[::2] == [62.312, 0.5] and pd.isna(back["dist_km"][1])
    assert back["changed"].tolist() == [True, False, True]
    # one column: a missing value must not become a blank line that readers skip
    single = pd.DataFrame({"s": ["", None, "x"]})
    assert len(pd.read_csv(write_csv(single, tmp_path / "s.csv"))) == 3
    # a column mixing text and numbers (which Arrow refuses) is still written
    mixed = pd.DataFrame({"value": ["a", 1, 2.5]}, dtype=object)
    assert pd.read_csv(write_csv(mixed, tmp_path / "m.csv"))["value"].tolist() == ["a", "1", "2.5"]


def test_write_csv_neutralises_formulas_in_text_columns_only(tmp_path):
    import pandas as pd

    from geo.io import write_csv

    frame = pd.DataFrame(
        {
            "name": ["=HYPERLINK(\"http://x\",\"click\")", "+1", "-x", "@sum", "\tcmd", "Almaty"],
            "delta_km": [-5.0, 1.0, -0.5, 2.0, 3.0, 0.0],
        }
    )
    back = pd.read_csv(write_csv(frame, tmp_path / "f.csv"))
    assert back["name"].tolist() == [
        "'=HYPERLINK(\"http://x\",\"click\")", "'+1", "'-x", "'@sum", "'\tcmd", "Almaty"
    ]
    assert back["delta_km"].tolist() == [-5.0, 1.0, -0.5, 2.0, 3.0, 0.0]


def test_write_csv_writes_a_boolean_the_same_way_in_every_table(tmp_path):
    import pandas as pd

    from geo.io import write_csv

    typed = pd.DataFrame({"a": [True, False], "b": [1, 2]})
    mixed = pd.DataFrame({"a": [True, "n/a"], "b": [1, 2]})  # a column Arrow cannot type
    single = pd.DataFrame({"a": [True, False]})
    lines = [
        write_csv(f, tmp_path / f"{i}.csv").read_text(encoding="utf-8").splitlines()[1]
        for i, f in enumerate((typed, mixed, single))
    ]
    assert [line.split(",")[0].strip('"') for line in lines] == ["true", "true", "true"]


def test_temp_sibling_is_removed_on_any_exit_and_stale_ones_first(tmp_path):
    import os
    import subprocess
    import sys

    from geo.outdir import temp_sibling

    target = tmp_path / "file.bin"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".file.bin.tmp-{dead}-x"
    stale.mkdir()
    other = tmp_path / f".other.bin.tmp-{dead}-x"  # another file's: not touched
    other.mkdir()
    with pytest.raises(KeyboardInterrupt), temp_sibling(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f".file.bin.tmp-{os.getpid()}-")
        (tmp / "part").write_bytes(b"x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name]
