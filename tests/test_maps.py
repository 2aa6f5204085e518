"""Map building (webapp.maps): display geometry, colour scales, settlements, clicks, selection, assets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely


def test_display_geometry_is_a_seamless_coverage(embedded_build):
    from webapp.maps.geometry import display_geometry

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
    from webapp.maps.geometry import display_geometry

    checks = display_geometry(geokz_build).checks
    assert not checks["input_coverage_valid"]  # the geokz districts do not match exactly …
    assert checks["display_coverage_valid"]  # … the displayed coverage does
    assert checks["display_holes"] == 0


def test_clicks_resolve_to_settlements_and_regions(embedded_analysis):
    from webapp.maps.settlements import parse_click, settlement_layer

    layer = settlement_layer(embedded_analysis)
    payload = json.loads(layer.payload)
    assert payload["n"] == len(embedded_analysis.settlements)
    i = int(np.flatnonzero(layer.labels == "Talghar (Talgar)")[0])  # the GeoNames name, then its Latin name
    click = {"last_object_clicked": {"lat": 43.3, "lng": 77.2}, "last_object_clicked_tooltip": f"ra:s:{i}"}
    kind, key = parse_click(click)
    assert kind == "s" and layer.settlement_id(key) == layer.ids[i]
    row = embedded_analysis.settlements[embedded_analysis.settlements["id"].astype(str) == layer.ids[i]]
    assert row["name_en"].tolist() == ["Talghar"]
    assert parse_click({"last_object_clicked_tooltip": "ra:r:KZ-19"}) == ("r", "KZ-19")
    # what streamlit-folium itself writes (a tooltip's text) or nothing at all is no click of ours
    assert parse_click({"last_object_clicked_tooltip": "Talghar\n2018: 211 km"}) is None
    assert parse_click(None) is None and parse_click({"last_object_clicked_tooltip": "ra:s:"}) is None
    assert layer.settlement_id("999999") is None and layer.settlement_id("x") is None


def test_selection_and_legends(embedded_analysis):
    from webapp.maps.colours import METRICS, metric_colormap, region_values
    from webapp.maps.selection import selection, view_for

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


def test_maps_call_the_static_helpers_with_json(embedded_analysis):
    """Every layer is a call of a function of static/*.js with JSON arguments; the map is offline."""
    from webapp.maps.figures import MapLayers, metric_layers, single_map
    from webapp.maps.geometry import display_geometry
    from webapp.maps.settlements import settlement_layer

    choropleth = metric_layers(embedded_analysis, display_geometry(embedded_analysis.build), "population")
    layers = MapLayers(embedded_analysis, choropleth.regions_json, None, choropleth.legend,
                       settlement_layer(embedded_analysis))
    m, groups = single_map(layers, 2018)
    for group in groups:
        m.add_child(group)
    html = m.get_root().render()
    assert "RA.behave(" in html and "RA.settlementsLater(" in html and "RA.regions(" in html
    assert "tile.openstreetmap.org" not in html  # no online basemap by default
    assert "June 2018 – June 2022 · before the 2022 reform · 17 regions" in html
    assert "</script>" not in html.split("RA.regions(", 1)[1].split(");", 1)[0]  # JSON safe in a script
    assert all(link.startswith("data:") for _, link in m.default_js + m.default_css)


def test_static_scripts_are_files_and_report_clicks():
    from webapp.maps.assets import STATIC

    ra = (STATIC / "ra.js").read_text(encoding="utf-8")
    for helper in ("RA.report", "RA.regions", "RA.settlements", "RA.behave", "RA.box", "RA.sync"):
        assert f"{helper} = function" in ra, helper
    assert "last_object_clicked_count" in ra
    assert "LAB.draw = function" in (STATIC / "lab.js").read_text(encoding="utf-8")


def test_leaflet_is_bundled_for_offline_use():
    from webapp.maps.assets import leaflet_assets

    pytest.importorskip("js_lib_leaflet", reason="django-js-lib-leaflet is not installed (maps use the CDN)")
    js, css, origin = leaflet_assets()  # outside a script run: inlined
    assert js[0][1].startswith("data:text/javascript;base64,") and css[0][1].startswith("data:text/css;base64,")
    assert "1.9.4" in origin
