import json
import re
import shutil
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cli.main import main

REGION_PROPS = {
    "code",
    "name_en",
    "name_kk",
    "name_ru",
    "centre_name_en",
    "centre_lon",
    "centre_lat",
    "area_km2",
}


def test_build_on_shared_data(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "geokz" in printed and "IoU min" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "crosswalk.csv",
        "regions_2018.geojson",
        "regions_2024.geojson",
        "validation.csv",
    ]
    for epoch, n in ((2018, 17), (2024, 20)):
        doc = json.loads((out / f"regions_{epoch}.geojson").read_text(encoding="utf-8"))
        assert "crs" not in doc
        assert len(doc["features"]) == n
        assert REGION_PROPS <= set(doc["features"][0]["properties"])
        gdf = gpd.read_file(out / f"regions_{epoch}.geojson")
        assert gdf.is_valid.all()
        rings = [p.exterior for g in gdf.geometry for p in shapely.get_parts(g)]
        assert all(shapely.is_ccw(r) for r in rings)
    validation = pd.read_csv(out / "validation.csv")
    assert len(validation) == 37 and validation["iou"].min() >= 0.998
    cw = pd.read_csv(out / "crosswalk.csv")
    assert {
        "region_2018",
        "region_2024",
        "area_km2",
        "share_of_2018_area",
        "share_of_2024_area",
    } <= set(cw.columns)


def test_build_embedded_default(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "emb"
    assert main(["build", "--out", str(out)]) == 0
    assert "embedded default" in capsys.readouterr().out
    assert len(gpd.read_file(out / "regions_2018.geojson")) == 17
    assert len(gpd.read_file(out / "regions_2024.geojson")) == 20
    assert pd.read_csv(out / "validation.csv").empty


def test_data_dir_from_environment(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REFORM_ATLAS_DATA_DIR", str(data_dir))
    assert main(["build", "--out", str(tmp_path / "o")]) == 0
    assert "geokz" in capsys.readouterr().out


# ---------------------------------------------------------------- bad input
@pytest.fixture
def data_copy(data_dir, tmp_path):
    dest = tmp_path / "data"
    shutil.copytree(data_dir / "geokz", dest / "geokz")
    return dest


def _rewrite_districts(path, transform):
    gdf = gpd.read_file(path)
    gdf = transform(gdf)
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        path.with_suffix(ext).unlink(missing_ok=True)
    gdf.to_file(path, engine="pyogrio")


def _break_missing_file(d):
    (d / "geokz" / "kaz_admbnda_adm2_2018.shp").unlink()
    return "kaz_admbnda_adm2_2018.shp: file not found"


def _break_missing_sidecar(d):
    (d / "geokz" / "kaz_admbnda_adm2_2018.dbf").unlink()
    return "kaz_admbnda_adm2_2018.dbf: missing part of shapefile"


def _break_truncated(d):
    p = d / "geokz" / "kaz_admbnda_adm2_2018.shp"
    p.write_bytes(p.read_bytes()[:50_000])
    return r"kaz_admbnda_adm2_2018.shp: (cannot read|\d+ of 216 features have no geometry)"


def _break_missing_field(d):
    _rewrite_districts(
        d / "geokz" / "kaz_admbnda_adm2_2018.shp", lambda g: g.drop(columns="ADM2_PCODE")
    )
    return r"kaz_admbnda_adm2_2018.shp: missing field\(s\) ADM2_PCODE"


def _break_points(d):
    _rewrite_districts(
        d / "geokz" / "kaz_admbnda_adm2_2018.shp",
        lambda g: g.set_geometry(g.representative_point()),
    )
    return r"kaz_admbnda_adm2_2018.shp: 216 feature\(s\) are not polygons \(Point\)"


def _break_spec(d):
    return "missing"  # handled in the test through --spec


@pytest.mark.parametrize(
    "breaker",
    [
        _break_missing_file,
        _break_missing_sidecar,
        _break_truncated,
        _break_missing_field,
        _break_points,
    ],
    ids=["missing-file", "missing-dbf", "truncated-shp", "missing-field", "point-districts"],
)
def test_bad_data_exits_2_with_one_line_and_no_output(breaker, data_copy, tmp_path, capsys):
    expected = breaker(data_copy)
    out = tmp_path / "out"
    code = main(["build", "--data-dir", str(data_copy), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(expected, err), err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_spec_error_leaves_existing_out_untouched(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    bad = tmp_path / "bad.toml"
    text = (pytest.importorskip("boundaries.spec").REFORMS_DIR / "kz-2022.toml").read_text(
        encoding="utf-8"
    )
    bad.write_text(text.replace('"KZ191000", # Taldykorgan city', '"KZ999999",'), encoding="utf-8")
    code = main(["build", "--data-dir", str(data_dir), "--spec", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.toml" in err and "KZ999999" in err and "fix the code" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_analyze_reports_a_settlements_error_before_a_build_error(data_dir, tmp_path, capsys):
    # the settlements are read while the regions build; errors keep the order of the steps
    bad = tmp_path / "bad.toml"
    text = (pytest.importorskip("boundaries.spec").REFORMS_DIR / "kz-2022.toml").read_text(
        encoding="utf-8"
    )
    bad.write_text(text.replace('"KZ191000", # Taldykorgan city', '"KZ999999",'), encoding="utf-8")
    common = ["analyze", "--data-dir", str(data_dir), "--spec", str(bad), "--out"]
    code = main([*common, str(tmp_path / "o1"), "--settlements", str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "nope.csv" in err and "KZ999999" not in err
    code = main([*common, str(tmp_path / "o2")])  # good settlements: the spec error shows
    err = capsys.readouterr().err
    assert code == 2 and "bad.toml" in err and "KZ999999" in err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_missing_data_dir(tmp_path, capsys):
    code = main(["build", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "data directory not found" in err and "--data-dir" in err


def test_console_script_and_module_entry_point(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "build",
            "--data-dir",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("reform-atlas: error:") and "Traceback" not in proc.stderr
