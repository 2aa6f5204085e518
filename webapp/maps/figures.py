"""The maps: one epoch with its legend, the synced before/after pair, the first-load preview.

Epoch-dependent layers are returned as feature groups, so streamlit-folium swaps them
without reloading the map. Every map opens on the whole country, keeps it in reach (a
minimum zoom and a "whole country" button) and zooms with the wheel only once it has
focus or with Ctrl/Cmd held (``RA.behave`` in ``static/ra.js``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import ClassVar

import folium
import folium.plugins
import pandas as pd
from folium.template import Template

from webapp.labels import epoch_period, reform_year
from webapp.maps.assets import offline
from webapp.maps.colours import (
    METRICS,
    legend_html,
    legend_strip_html,
    metric_colormap,
    region_values,
)
from webapp.maps.features import centre_moves, centre_points, region_features
from webapp.maps.geometry import DisplayGeometry, geometry_json
from webapp.maps.script import JsCall, Json, to_json
from webapp.maps.selection import LEGEND_PADDING, Selection, selection_layer
from webapp.maps.settlements import SettlementLayer

#: South-west and north-east corners (lat, lon) the maps open on: Kazakhstan.
KZ_BOUNDS = ((40.5, 46.4), (55.5, 87.4))
#: Zoom from which every regional centre is labelled (below it only those the reform touched).
MINOR_LABEL_ZOOM = 4.4
#: Least zoom: the whole country stays a usable size.
MIN_ZOOM = 3.5
#: Basemaps: name → (tile URL, attribution); None draws no tiles (works offline, the default).
BASEMAPS: dict[str, tuple[str, str] | None] = {
    "None (offline)": None,
    "OpenStreetMap (online)": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    ),
    "CartoDB Positron (online)": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors '
        '&copy; <a href="https://carto.com/attributions">CARTO</a>',
    ),
}
DEFAULT_BASEMAP = "None (offline)"
#: What the map says about its wheel and its reset button.
BEHAVIOUR = {
    "hint": "Click the map, or hold Ctrl (⌘), to zoom with the wheel",
    "title": "Whole country",
}


@dataclass
class MapLayers:
    """Everything a map draws, serialised once per dataset and metric (the app caches it)."""

    analysis: object
    regions_json: dict[int, Json]
    changed_json: Json | None
    legend: str
    settlements: SettlementLayer | None
    basemap: str = DEFAULT_BASEMAP
    attribution: str = ""
    #: Whether the settlements show: a switch in the feature groups, so the map frame stays when it flips.
    show_settlements: bool = True


@dataclass
class MetricLayers:
    """Choropleth GeoJSON text per epoch, with its legend for the map and for under it."""

    regions_json: dict[int, Json]
    legend: str
    legend_strip: str


def metric_layers(analysis, geometry: DisplayGeometry, metric_key: str) -> MetricLayers:
    """Choropleth GeoJSON text per epoch and the legends of one metric."""
    metric = METRICS[metric_key]
    if metric.diverging:  # the change over this analysis' reform: its epochs in the legend
        before, after = analysis.epochs
        metric = replace(metric, label=metric.label.replace("over the reform", f"{before} → {after}"))
    values = region_values(analysis, metric_key)
    cmap = metric_colormap(metric, values)
    regions = {
        e: Json(to_json(region_features(analysis, geometry, e, metric, values[e], cmap)))
        for e in analysis.epochs
    }
    missing = bool(pd.concat(list(values.values())).isna().any())
    note = "one scale for both epochs; hatched: territory that changed region"
    return MetricLayers(
        regions,
        legend_html(cmap, metric, missing=missing, note=note),
        legend_strip_html(cmap, metric, missing=missing, note=note),
    )


def _home(bottom: int) -> dict:
    return {
        **BEHAVIOUR,
        "padTopLeft": [8, 40],
        "padBottomRight": [8, bottom],
        "minZoom": MIN_ZOOM,  # folium gives min_zoom to tile layers only; there may be none
    }


def prepare_map(m: folium.Map, basemap: str, *, bottom: int = LEGEND_PADDING, scripts=("ra.js",)):
    """Load the scripts, add the tiles, open on the country and set the wheel and home button."""
    offline(m, scripts=scripts)
    tiles = BASEMAPS.get(basemap)
    if tiles:
        folium.TileLayer(tiles[0], attr=tiles[1], name=basemap, control=False, max_zoom=18).add_to(m)
    bounds = [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])]
    m.fit_bounds(bounds, padding_top_left=(8, 40), padding_bottom_right=(8, bottom))
    m.add_child(JsCall("RA.behave", bounds, _home(bottom), name="ra_behave"))
    return m


#: Options of every map: Kazakhstan, canvas rendering, quarter zoom steps, tiles added separately.
MAP_OPTIONS = {
    "location": [48.0, 67.0],
    "tiles": None,
    "prefer_canvas": True,
    "zoom_snap": 0.25,
    "zoom_delta": 0.5,
    "min_zoom": MIN_ZOOM,
}


def new_map(basemap: str, **kwargs) -> folium.Map:
    """One map of Kazakhstan."""
    return prepare_map(folium.Map(zoom_start=5, **MAP_OPTIONS, **kwargs), basemap)


def _box(parent, html_text: str, position: str, cls: str, name: str) -> None:
    parent.add_child(JsCall("RA.box", html_text, position, cls, name=name))


def _base_layers(m: folium.Map, layers: MapLayers, *, first: bool) -> None:
    """Add the attribution and the settlement layer to one map (static per dataset).

    The settlements' data is in the map's own script whether they show or not (:func:`_display`
    switches them), so that the map's script, and with it the map frame, stays the same.
    """
    if layers.attribution:
        m.add_child(JsCall("RA.attribution", layers.attribution, name="ra_attr"))
    if layers.settlements is not None:
        # the right map of a pair reuses the data of the left one (null: no second copy)
        data = Json(layers.settlements.payload) if first else None
        m.add_child(JsCall("RA.settlementsLater", data, name="ra_settlements"))


def _display(layers: MapLayers) -> folium.FeatureGroup:
    """Feature group of what the map's switches change without a new map frame (settlements shown)."""
    group = folium.FeatureGroup(name="display", control=False)
    group.add_child(JsCall("RA.showSettlements", bool(layers.show_settlements), name="ra_show"))
    return group


def epoch_title(analysis, epoch: int) -> str:
    """``June 2018 – June 2022 · before the 2022 reform · 17 regions`` (approximate epochs say so)."""
    spec = analysis.build.spec
    n = len(analysis.build.regions[epoch])
    when = "before" if epoch == spec.before else "after"
    return f"{epoch_period(spec, epoch)} · {when} the {reform_year(spec)} reform · {n} regions"


def _epoch_layers(parent, layers: MapLayers, epoch: int, *, legend: bool, zoom: float = 4.75, pair: bool = False) -> None:
    """Choropleth, changed territories, centres, centre moves, legend and title for one epoch.

    On a pair of maps every centre is labelled at every zoom, and the title is shorter.
    """
    analysis = layers.analysis
    side = analysis.epochs.index(epoch)
    # lighter under the settlements; a pair keeps one opacity (its regions are in the map's own script)
    opacity = 0.6 if layers.settlements is not None and (layers.show_settlements or pair) else 0.8
    options = {"fillOpacity": opacity, "side": side}
    regions = JsCall("RA.regions", layers.regions_json[epoch], layers.changed_json, options)
    parent.add_child(regions)
    centres = centre_points(analysis, epoch, zoom=zoom)
    parent.add_child(JsCall("RA.centres", centres, 0 if pair else MINOR_LABEL_ZOOM, name="ra_centres"))
    if epoch == analysis.epochs[1] and (moves := centre_moves(analysis)):
        parent.add_child(JsCall("RA.moves", moves, name="ra_moves"))
    if legend:
        _box(parent, layers.legend, "bottomleft", "ra-legend", "ra_legend")
    text = epoch_title(analysis, epoch)
    if pair:  # "June 2018 – June 2022 · 17 regions": room for the other map's zoom buttons
        text = " · ".join(part for part in text.split(" · ") if "reform" not in part)
    _box(parent, f'<div class="ra-epoch">{html.escape(text)}</div>', "topright", "ra-title", "ra_title")


def single_map(
    layers: MapLayers, epoch: int, *, selected: Selection | None = None
) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """One map: a static base (tiles, settlements) plus feature groups for ``epoch`` and the selection.

    The feature groups are meant for ``st_folium(feature_group_to_add=...)``: changing
    the epoch, metric or selection then swaps layers without reloading the map.
    """
    m = new_map(layers.basemap, control_scale=True)
    _base_layers(m, layers, first=True)
    png = {"title": "Download this map as PNG (with its title and legend)", "name": "reform-atlas-map.png",
           "credit": f"Reform Atlas · {layers.attribution}".strip(" ·")}
    m.add_child(JsCall("RA.pngButton", png, name="ra_png"))
    regions = folium.FeatureGroup(name="regions", control=False)
    _epoch_layers(regions, layers, epoch, legend=True)
    groups = [regions, _display(layers)]
    if selected is not None:
        sel = folium.FeatureGroup(name="selection", control=False)
        sel.add_child(selection_layer(selected, dual=False))
        groups.append(sel)
    return m, groups


class SyncedMaps(folium.plugins.DualMap):
    """Two side-by-side maps kept in step (DualMap without Leaflet.Sync from a CDN)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RA.sync({{ this.m1.get_name() }}, {{ this.m2.get_name() }});
        {% endmacro %}
        """
    )
    default_js: ClassVar[list[tuple[str, str]]] = []


def synced_maps(basemap: str, *, bottom: int = 30, scripts=("ra.js",)) -> SyncedMaps:
    """Two maps of Kazakhstan side by side, panning and zooming together.

    No zoom animation: both maps move in one synchronous step and cannot race each other.
    """
    dm = SyncedMaps(zoom_start=4, zoom_animation=False, **MAP_OPTIONS)
    for m in (dm.m1, dm.m2):
        prepare_map(m, basemap, bottom=bottom, scripts=scripts)
    return dm


def dual_map(
    layers: MapLayers, *, selected: Selection | None = None
) -> tuple[folium.plugins.DualMap, list[folium.FeatureGroup]]:
    """Before (left) and after (right) side by side, panning and zooming together."""
    before, after = layers.analysis.epochs
    dm = synced_maps(layers.basemap)
    _base_layers(dm.m1, layers, first=True)
    _base_layers(dm.m2, layers, first=False)
    # half-width maps leave no room for the legend: the app shows it under the pair
    _epoch_layers(dm.m1, layers, before, legend=False, zoom=4.25, pair=True)
    _epoch_layers(dm.m2, layers, after, legend=False, zoom=4.25, pair=True)
    groups = [_display(layers)]
    if selected is not None:
        sel = folium.FeatureGroup(name="selection", control=False)
        sel.add_child(selection_layer(selected, dual=True))
        groups.append(sel)
    return dm, groups


def preview_map(spec, regions, *, basemap: str = DEFAULT_BASEMAP) -> folium.Map:
    """Regions only, shown while the settlements are still being analysed (first load).

    ``regions``: ``code`` and display geometry of the spec's ``after`` regions
    (:func:`webapp.maps.geometry.preview_regions`, or a build's display geometry).
    """
    m = new_map(basemap)
    epoch = spec.after
    meta = spec.regions_of(epoch)
    feats = []
    for row in regions.itertuples(index=False):
        r = meta.get(row.code)
        name_en, name_kk = (r.name_en, r.name_kk) if r is not None else (row.code, "")
        tip = f"<b>{html.escape(name_en)}</b> · {html.escape(row.code)}<br>{html.escape(name_kk)}"
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": row.code, "fill": "#b9d3e6", "isnew": False, "tip": tip},
                "geometry": geometry_json(row.geometry),
            }
        )
    fc = {"type": "FeatureCollection", "features": feats}
    m.add_child(JsCall("RA.regions", fc, None, {"fillOpacity": 0.55}, name="ra_regions"))
    period = epoch_period(spec, epoch)
    title = f'<div class="ra-epoch">{period} · {len(feats)} regions · computing distances…</div>'
    _box(m, title, "topright", "ra-title", "ra_title")
    return m


#: What a click on a map sends back to the app (``RA.report`` in ``static/ra.js`` fills them).
CLICK_FIELDS = ["last_object_clicked", "last_object_clicked_tooltip", "last_object_clicked_count"]


def show(fig, groups: list, *, key: str, height: int, on_change, center=None, zoom=None) -> None:
    """Draw a map with streamlit-folium; clicks come back through ``on_change``."""
    from streamlit_folium import st_folium

    st_folium(fig, key=key, height=height, use_container_width=True, returned_objects=CLICK_FIELDS,
              feature_group_to_add=groups, center=center, zoom=zoom, on_change=on_change)
