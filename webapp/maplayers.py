"""Folium maps and display data for the Streamlit app (presentation only).

Everything here reads the tables of an :class:`~analysis.pipeline.Analysis` and its
:class:`~boundaries.build.BuildResult`; nothing is recomputed except display
aggregates (colour classes, rounded coordinates, labels, one population-weighted
mean of ``delta_km`` per region for the "change" choropleth).

* :func:`display_geometry` — the build pieces as a clean coverage
  (:func:`shapely.coverage_clean`), simplified topology-preservingly with
  :func:`shapely.coverage_simplify`, then dissolved into each epoch's regions and
  the changed territories. Neighbouring regions stay seamless; downloads keep the
  full-resolution geometry.
* :func:`settlement_layer` — the settlements as one compact JSON payload drawn as
  canvas circle markers (radius ∝ √population, colour = change in distance).
* :func:`single_map` / :func:`dual_map` — the maps; epoch-dependent layers are
  returned as feature groups so streamlit-folium swaps them without reloading
  the map.

Leaflet is served from the ``django-js-lib-leaflet`` package (a plain copy of
Leaflet 1.9.4, no Django needed) as ``data:`` URIs, so the map draws with no
network; without that package the public CDN is used.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.util
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import branca.colormap as bcm
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from pyproj import Geod

#: South-west and north-east corners (lat, lon) the maps open on: Kazakhstan.
KZ_BOUNDS = ((40.5, 46.4), (55.5, 87.4))
#: Space kept free at the bottom of the map for the legends (pixels).
LEGEND_PADDING = 125
#: Coverage simplification tolerance for display geometry (degrees, ~2 km).
DISPLAY_TOLERANCE = 0.02
#: Decimals of displayed coordinates (0.001° ≈ 100 m).
DISPLAY_DECIMALS = 3
#: Zoom from which every regional centre is labelled (below it only those the reform touched).
MINOR_LABEL_ZOOM = 4.4
#: Map height in pixels.
MAP_HEIGHT = 600

_GEOD = Geod(ellps="WGS84")

# --------------------------------------------------------------------------- Leaflet assets

_CDN_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
_CDN_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _leaflet_folder() -> Path | None:
    """Folder of the Leaflet 1.9.4 copy in the ``js_lib_leaflet`` package, if installed."""
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "js_lib_leaflet"
    return (
        folder if (folder / "leaflet.js").is_file() and (folder / "leaflet.css").is_file() else None
    )


@functools.cache
def _inline_leaflet(folder: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Leaflet as ``data:`` URIs (CSS images inlined), for maps saved outside a Streamlit server."""
    js = re.sub(
        r"//# sourceMappingURL=\S+\s*$", "", (folder / "leaflet.js").read_text(encoding="utf-8")
    )

    def inline_image(match: re.Match[str]) -> str:
        path = folder / match.group(1)
        return (
            f"url(data:image/png;base64,{_b64(path.read_bytes())})"
            if path.exists()
            else match.group(0)
        )

    css = re.sub(
        r"url\((images/[^)]+\.png)\)",
        inline_image,
        (folder / "leaflet.css").read_text(encoding="utf-8"),
    )
    return (
        [("leaflet", "data:text/javascript;base64," + _b64(js.encode("utf-8")))],
        [("leaflet_css", "data:text/css;base64," + _b64(css.encode("utf-8")))],
    )


def _served_leaflet(folder: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    """Leaflet served by the running Streamlit server itself (cached by the browser).

    The folder is declared as a (never rendered) component, which makes Streamlit
    serve its files under ``/component/<name>/``; the map iframe lives under
    ``/component/streamlit_folium.st_folium/``, so a relative link reaches them.
    None outside a script run.
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # pragma: no cover - streamlit is a dependency
        return None
    if get_script_run_ctx() is None:
        return None
    import streamlit.components.v1 as components

    name = components.declare_component("leaflet", path=str(folder)).name
    return [("leaflet", f"../{name}/leaflet.js")], [("leaflet_css", f"../{name}/leaflet.css")]


LEAFLET_ORIGIN = "Leaflet 1.9.4 bundled with the app (django-js-lib-leaflet, BSD-2-Clause)"


def leaflet_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """Leaflet JS and CSS links for the maps and where they come from.

    Returns ``(js_links, css_links, origin)``. With the ``js_lib_leaflet`` package
    nothing is fetched from the internet: inside the app the files are served by
    Streamlit (and cached by the browser), elsewhere they are inlined as ``data:``
    URIs. Without that package, the jsDelivr CDN.
    """
    folder = _leaflet_folder()
    if folder is None:
        return (
            _CDN_JS,
            _CDN_CSS,
            "Leaflet 1.9.4 from the jsDelivr CDN (install django-js-lib-leaflet to work offline)",
        )
    served = _served_leaflet(folder)
    js, css = served if served is not None else _inline_leaflet(folder)
    return js, css, LEAFLET_ORIGIN


def _offline(m: folium.Map) -> folium.Map:
    """Make a folium map load only Leaflet, from :func:`leaflet_assets`."""
    js, css, _ = leaflet_assets()
    m.default_js = list(js)
    m.default_css = list(css)
    return m


# --------------------------------------------------------------------------- JS helpers

#: Helper library shared by every layer (defined once per page as ``window.RA``).
RA_JS = r"""
window.RA = window.RA || (function () {
  var RA = {};
  if (!document.getElementById('ra-css')) {
    var css = document.createElement('style'); css.id = 'ra-css'; css.textContent = __RA_CSS__;
    document.head.appendChild(css);
  }
  RA.esc = function (s) {
    return String(s == null ? '' : s).replace(/[&<>"]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c];
    });
  };
  RA.hatch = function (colour) {
    var c = document.createElement('canvas'); c.width = c.height = 9;
    var x = c.getContext('2d'); x.strokeStyle = colour; x.lineWidth = 1.7; x.beginPath();
    x.moveTo(-1, 1); x.lineTo(1, -1); x.moveTo(0, 9); x.lineTo(9, 0); x.moveTo(8, 10); x.lineTo(10, 8);
    x.stroke();
    return x.createPattern(c, 'repeat');
  };
  RA.Box = L.Layer.extend({
    initialize: function (html, position, cls) { this._html = html; this._pos = position; this._cls = cls; },
    onAdd: function (map) {
      var html = this._html, cls = this._cls;
      this._c = L.control({position: this._pos});
      this._c.onAdd = function () {
        var d = L.DomUtil.create('div', 'ra-box ' + cls); d.innerHTML = html;
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d;
      };
      this._c.addTo(map);
    },
    onRemove: function (map) { if (this._c) { map.removeControl(this._c); } }
  });
  RA.OnMap = L.Layer.extend({  // layers shown on another map (the right map of the comparison)
    initialize: function (layers, target) { this._g = L.layerGroup(layers); this._t = target; },
    onAdd: function (map) { (window[this._t] || map).addLayer(this._g); },
    onRemove: function (map) { this._g.remove(); }
  });
  RA.add = function (parent, layer) { if (parent.addLayer) { parent.addLayer(layer); } return layer; };
  RA.bytes = function (b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  };
  RA.u16 = function (b64) {
    var b = RA.bytes(b64), out = new Uint16Array(b.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = b[2 * i] | (b[2 * i + 1] << 8); }
    return out;
  };
  RA.text = function (b64, alphabet) {
    var b = RA.bytes(b64), a = Array.from(alphabet), out = [];
    for (var i = 0; i < b.length; i++) {
      var x = b[i];
      out.push(x < 128 ? String.fromCharCode(x) : x < 255 ? a[x - 128] : a[127 + b[++i]]);
    }
    return out.join('').split('\n');
  };
  RA.settlements = function (parent, P) {
    var n = P.n, o = P.origin, la = RA.u16(P.la), lo = RA.u16(P.lo), r = RA.bytes(P.r), c = RA.bytes(P.c);
    var d = [RA.u16(P.d0), RA.u16(P.d1)], k = [RA.bytes(P.k0), RA.bytes(P.k1)], dd = RA.u16(P.dd);
    var names = RA.text(P.names, P.alphabet), E = P.epochs, C = P.centres, pal = P.palette;
    var g = L.featureGroup();
    g.raNames = names;
    var line = function (j, i) {
      return E[j] + ': ' + (d[j][i] === 65535 ? 'outside every region' : d[j][i] + ' km to ' + RA.esc(C[k[j][i]]));
    };
    var tip = function (i) {
      var html = '<b>' + RA.esc(names[i]) + '</b>\n<br>' + line(0, i) + '<br>' + line(1, i);
      if (dd[i] > 0 && c[i] !== 7 && c[i] !== P.muted) {
        html += '<br>change ' + (c[i] > P.muted ? '+' : '\u2212') + dd[i] + ' km';
      }
      return html;
    };
    for (var i = 0; i < n; i++) {
      var quiet = c[i] === P.muted;
      var m = L.circleMarker([o[0] + la[i] / o[2], o[1] + lo[i] / o[2]], {
        radius: r[i] / 10, weight: quiet ? 0.4 : 0.7, color: quiet ? '#6b6b6b' : '#2b2b2b', opacity: quiet ? 0.45 : 0.8,
        fillColor: pal[c[i]], fillOpacity: quiet ? 0.55 : 0.9, bubblingMouseEvents: false
      });
      m._raIndex = i;
      g.addLayer(m);
    }
    // one tooltip for the whole layer, built on hover: 10,000 tooltips would cost more than the markers;
    // it returns an element so that streamlit-folium can read its text when a settlement is clicked
    g.bindTooltip(function (layer) {
      var el = document.createElement('div'); el.innerHTML = tip(layer._raIndex); return el;
    }, {direction: 'top', offset: [0, -4]});
    return RA.add(parent, g);
  };
  RA.later = function (fn) {  // after the next paint, so that what is already on the map shows first
    var done = false, run = function () { if (!done) { done = true; fn(); } };
    requestAnimationFrame(function () { setTimeout(run, 0); });
    setTimeout(run, 250);  // hidden pages get no animation frames
  };
  RA.settlementsLater = function (map, P) {  // regions first; the 10,000 circles right after
    RA.later(function () {
      RA.settlements(map, P).bringToBack();
      if (map._raOrder) { map._raOrder(); }  // ... above the regions and the hatching, below the rest
    });
  };
  RA.regions = function (parent, fc, changed, opt) {
    var hatch = RA.hatch('rgba(84, 20, 120, 0.8)');
    var regions = L.geoJSON(fc, {
      style: function (f) {
        var p = f.properties;
        return {fillColor: p.fill, fillOpacity: opt.fillOpacity, color: p.isnew ? '#1d1d1d' : '#ffffff',
                weight: p.isnew ? 2.4 : 1.1, opacity: 1};
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'});
        l.on('mouseover', function () { this.setStyle({weight: 3, color: '#222'}); });
        l.on('mouseout', function () { regions.resetStyle(this); });
      }
    });
    var layers = [regions];
    var hatched = null;
    if (changed && changed.features.length) {
      hatched = L.geoJSON(changed, {
        style: {fillColor: hatch, fillOpacity: 1, color: '#541478', weight: 2.6, dashArray: '8 5', opacity: 0.95},
        onEachFeature: function (f, l) { l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'}); }
      });
      layers.push(hatched);
    }
    var order = function () {
      if (hatched) { hatched.bringToBack(); }
      regions.bringToBack();
      if (regions._map) { regions._map._raOrder = order; }
    };
    layers.forEach(function (l) { RA.add(parent, l); });
    if (parent instanceof L.Map) { order(); } else { parent.on('add', order); }
    return regions;
  };
  RA.centres = function (parent, list, minZoom) {
    var g = L.layerGroup(), markers = [];
    list.forEach(function (c) {
      var m = L.circleMarker([c.la, c.lo], {
        radius: c.isnew ? 6 : 4.5, color: '#111', weight: 1.6, fillColor: c.isnew ? '#ff8f00' : '#ffffff',
        fillOpacity: 1, interactive: false
      });
      m.bindTooltip(RA.esc(c.label), {permanent: true, direction: c.dir, offset: c.offset,
                                      className: 'ra-label' + (c.isnew ? ' ra-new' : '')});
      m._raKey = c.key;
      markers.push(m); g.addLayer(m);
    });
    var update = function () {  // at low zoom only the centres the reform touched keep a label
      var map = g._map; if (!map) { return; }
      var z = map.getZoom();
      markers.forEach(function (m) { if (m._raKey || z >= minZoom) { m.openTooltip(); } else { m.closeTooltip(); } });
    };
    g.on('add', function () { g._map.on('zoomend', update); update(); });
    g.on('remove', function () { if (g._map) { g._map.off('zoomend', update); } });
    RA.add(parent, g);
    if (parent instanceof L.Map) { update(); }
  };
  RA.moves = function (parent, list) {
    list.forEach(function (mv) {
      var l = L.polyline(mv.pts, {color: '#e65100', weight: 2.5, dashArray: '2 6', lineCap: 'round'});
      l.bindTooltip(RA.esc(mv.tip), {sticky: true, className: 'ra-tip'});
      RA.add(parent, l);
    });
  };
  RA.selection = function (parent, s) {
    var mk = function (line) {
      var ring = L.circleMarker(s.at, {radius: 10, color: '#000', weight: 2.5, fill: false, interactive: false});
      var layers = [ring];
      if (line) {
        var pl = L.polyline(line.pts, {color: line.colour, weight: 3.5, dashArray: line.dash, interactive: false});
        pl.bindTooltip(RA.esc(line.label), {permanent: true, direction: 'center', className: 'ra-dist'});
        var end = L.circleMarker(line.pts[line.pts.length - 1], {radius: 3, color: line.colour, fillOpacity: 1,
                                                                 interactive: false});
        layers.push(pl, end);
      }
      return layers;
    };
    if (s.dual) {
      mk(s.lines[0]).forEach(function (l) { RA.add(parent, l); });
      RA.add(parent, new RA.OnMap(mk(s.lines[1]), s.target));
    } else {
      RA.add(parent, mk(null)[0]);
      s.lines.forEach(function (line) { mk(line).slice(1).forEach(function (l) { RA.add(parent, l); }); });
    }
  };
  RA.sync = function (a, b) {
    var busy = false;
    var follow = function (src, dst) {
      src.on('move zoomend', function () {
        if (busy) { return; }
        busy = true; dst.setView(src.getCenter(), src.getZoom(), {animate: false}); busy = false;
      });
    };
    follow(a, b); follow(b, a);
  };
  return RA;
})();
"""

MAP_CSS = """
html, body { margin: 0; padding: 0; }
.leaflet-container { background: #e9eef2; font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; }
.ra-box { background: rgba(255, 255, 255, 0.93); padding: 5px 8px; border-radius: 5px;
          box-shadow: 0 1px 5px rgba(0, 0, 0, 0.3); font-size: 11.5px; line-height: 1.3; color: #222; }
.ra-box .ra-head { font-weight: 700; margin-bottom: 3px; max-width: 215px; cursor: pointer; }
.ra-box details:not([open]) .ra-head { margin-bottom: 0; }
.ra-box .ra-sub { color: #555; max-width: 215px; margin-bottom: 3px; }
.ra-box .ra-row { white-space: nowrap; }
.ra-box i { display: inline-block; width: 15px; height: 11px; margin-right: 6px; vertical-align: -1px;
            border: 1px solid rgba(0, 0, 0, 0.2); }
.ra-box svg { vertical-align: middle; }
.ra-epoch { font-size: 15px; font-weight: 700; }
.ra-label { background: rgba(255, 255, 255, 0.82); border: 0; border-radius: 3px; box-shadow: none;
            padding: 0 3px; font-size: 11px; font-weight: 600; color: #1b1b1b; }
.ra-label::before { display: none; }
.ra-label.ra-new { color: #a34400; }
.ra-dist { font-size: 12px; font-weight: 700; padding: 1px 5px; }
.ra-tip { font-size: 12px; line-height: 1.35; }
"""
RA_JS = RA_JS.replace("__RA_CSS__", json.dumps(MAP_CSS))


class JsLayer(MacroElement):
    """A Leaflet snippet run with its parent (map or feature group) bound to ``parent``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (parent) {
        {{ this.js }}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, js: str, *, name: str = "ra_layer"):
        super().__init__()
        self._name = name
        self.js = js

    def render(self, **kwargs) -> None:
        """Add the script to the figure without compiling it as a template (it can be large)."""
        figure = self.get_root()
        figure.script.add_child(
            _RawScript(self._template.module.script(self, kwargs)), name=self.get_name()
        )


class _RawScript(Element):
    """Literal script text (branca's Element would compile the text as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str):
        super().__init__()
        self.text = text


def _json(value) -> str:
    """Compact JSON safe to embed in a ``<script>``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --------------------------------------------------------------------------- display geometry


@dataclass
class DisplayGeometry:
    """Simplified geometry for drawing; full resolution stays in the build."""

    regions: dict[int, gpd.GeoDataFrame]
    changed: gpd.GeoDataFrame
    checks: dict[str, object] = field(default_factory=dict)


def display_geometry(build, *, tolerance: float = DISPLAY_TOLERANCE) -> DisplayGeometry:
    """Regions of both epochs and changed territories, simplified as one coverage.

    The build pieces (the common refinement of both epochs) are first made a valid
    coverage with :func:`shapely.coverage_clean` (slivers narrower than half the
    tolerance merged into the neighbour with the longest shared border), then
    simplified with :func:`shapely.coverage_simplify`, so shared borders stay
    shared in both epochs and no gap or overlap opens between neighbours. Pieces
    are then dissolved per epoch with :func:`shapely.coverage_union_all`.
    """
    pieces = build.pieces
    before, after = build.spec.epochs
    geoms = pieces.geometry.to_numpy()
    cleaned = shapely.coverage_clean(geoms, gap_width=tolerance / 2)
    simple = shapely.coverage_simplify(cleaned, tolerance)
    regions = {}
    for epoch in (before, after):
        col = pieces[f"region_{epoch}"].astype(str).to_numpy()
        codes = build.regions[epoch]["code"].tolist()
        geoms_e = [shapely.coverage_union_all(simple[col == code]) for code in codes]
        regions[epoch] = gpd.GeoDataFrame({"code": codes}, geometry=geoms_e, crs=pieces.crs)
    b_col = pieces[f"region_{before}"].astype(str).to_numpy()
    a_col = pieces[f"region_{after}"].astype(str).to_numpy()
    moved = b_col != a_col
    rows, parts = [], []
    for pair in sorted({(b, a) for b, a in zip(b_col[moved], a_col[moved], strict=True)}):
        mask = moved & (b_col == pair[0]) & (a_col == pair[1])
        rows.append({"from": pair[0], "to": pair[1]})
        parts.append(shapely.coverage_union_all(simple[mask]))
    changed = gpd.GeoDataFrame(rows or {"from": [], "to": []}, geometry=parts, crs=pieces.crs)
    full_area = float(shapely.area(geoms).sum())
    outline = shapely.coverage_union_all(simple)
    holes = int(sum(len(part.interiors) for part in getattr(outline, "geoms", [outline])))
    checks = {
        "input_coverage_valid": bool(shapely.coverage_is_valid(geoms)),
        "display_coverage_valid": bool(shapely.coverage_is_valid(simple)),
        "display_holes": holes,
        "vertices_full": int(shapely.get_num_coordinates(geoms).sum()),
        "vertices_display": int(shapely.get_num_coordinates(simple).sum()),
        "area_change_share": abs(float(shapely.area(simple).sum()) - full_area) / full_area,
        "tolerance_deg": tolerance,
    }
    return DisplayGeometry(regions=regions, changed=changed, checks=checks)


def _geometry_json(geom, decimals: int = DISPLAY_DECIMALS) -> dict:
    """GeoJSON geometry with coordinates rounded for display (shared vertices stay shared)."""
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    return json.loads(shapely.to_geojson(rounded))


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    """A region metric the choropleth can show."""

    key: str
    label: str
    unit: str
    diverging: bool = False

    @property
    def caption(self) -> str:
        """Legend title with units."""
        return f"{self.label} ({self.unit})"

    def format(self, value: float) -> str:
        """Value with units for tooltips and tables."""
        if value is None or not np.isfinite(value):
            return "no data"
        if self.key == "population":
            return f"{value:,.0f} persons"
        if self.key == "area_km2":
            return f"{value:,.0f} km²"
        if self.diverging:
            return f"{_signed(value, 1)} km"
        return f"{value:,.1f} km"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("population", "Population", "persons, estimated"),
        Metric("area_km2", "Area", "km²"),
        Metric(
            "pop_weighted_mean_km",
            "Mean distance to the regional centre, population-weighted",
            "km",
        ),
        Metric(
            "change_km",
            "Change in distance to the regional centre 2018 → 2024, population-weighted",
            "km; − = nearer",
            diverging=True,
        ),
    )
}


def _signed(value: float, decimals: int = 0) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value):,.{decimals}f}"


def region_values(analysis, metric: str) -> dict[int, pd.Series]:
    """Per epoch, the metric by region code (from ``analysis.region_stats``).

    ``change_km`` is the population-weighted mean of ``delta_km`` over the
    settlements of each region of that epoch (weights ``population_est``).
    """
    out: dict[int, pd.Series] = {}
    stats = analysis.region_stats
    for epoch in analysis.epochs:
        codes = analysis.build.regions[epoch]["code"]
        if metric == "change_km":
            s = analysis.settlements
            col = s[f"region_{epoch}"].astype(object)
            w = pd.to_numeric(s["population_est"], errors="coerce")
            d = pd.to_numeric(s["delta_km"], errors="coerce")
            ok = col.notna() & w.notna() & d.notna() & (w > 0)
            frame = pd.DataFrame({"code": col[ok], "wd": (w * d)[ok], "w": w[ok]})
            sums = frame.groupby("code")[["wd", "w"]].sum()
            values = sums["wd"] / sums["w"]
        else:
            table = stats[stats["epoch"] == epoch].set_index("region")
            values = pd.to_numeric(table[metric], errors="coerce")
        out[epoch] = values.reindex(codes.to_numpy()).astype("float64")
    return out


_SEQUENTIAL = {
    "population": ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"),
    "area_km2": ("#f7fcf0", "#ccebc5", "#7bccc4", "#2b8cbe", "#084081"),
    "pop_weighted_mean_km": ("#fff7bc", "#fec44f", "#fe9929", "#d95f0e", "#993404"),
}
_DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
NO_DATA_COLOUR = "#d9d9d9"


def _nice(value: float, *, up: bool) -> float:
    if value == 0 or not np.isfinite(value):
        return 0.0
    mag = 10 ** math.floor(math.log10(abs(value)) - 1)
    return (math.ceil if up else math.floor)(value / mag) * mag


def nice_breaks(lo: float, hi: float, *, classes: int = 5) -> list[float]:
    """Class edges on a round step (1, 2, 2.5 or 5 × 10ⁿ) covering ``[lo, hi]`` in about ``classes`` classes."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [lo if np.isfinite(lo) else 0.0, (lo if np.isfinite(lo) else 0.0) + 1.0]
    raw = (hi - lo) / classes
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    stop = math.ceil(hi / step) * step
    n = max(1, round((stop - start) / step))
    return [start + i * step for i in range(n + 1)]


def metric_colormap(metric: Metric, values: Mapping[int, pd.Series]) -> bcm.StepColormap:
    """Step colormap shared by both epochs (so the maps compare), caption with units.

    Sequential metrics get round equal-interval classes from 0 (or the minimum);
    the change metric a diverging scale symmetric around 0 with a neutral middle
    class.
    """
    data = pd.concat(list(values.values())).dropna().to_numpy(dtype="float64")
    if metric.diverging:
        top = float(np.abs(data).max()) if data.size else 1.0
        m = next(
            (s for s in (5, 10, 20, 50, 100, 200, 500, 1000, 2000) if s >= top), _nice(top, up=True)
        )
        edges = [-m, -m / 2, -m / 5, -m / 20, m / 20, m / 5, m / 2, m]
        colours = list(_DIVERGING)
    else:
        lo = float(data.min()) if data.size else 0.0
        hi = float(data.max()) if data.size else 1.0
        edges = nice_breaks(min(lo, 0.0) if lo >= 0 else lo, hi)
        anchors = bcm.LinearColormap(
            list(_SEQUENTIAL.get(metric.key, _SEQUENTIAL["population"])), vmin=0, vmax=1
        )
        n = len(edges) - 1
        colours = [anchors.rgb_hex_str(i / max(n - 1, 1)) for i in range(n)]
    return bcm.StepColormap(
        colours, index=edges, vmin=edges[0], vmax=edges[-1], caption=metric.caption
    )


def _short(value: float) -> str:
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g} M"
    if a >= 1e4:
        return f"{value / 1e3:.0f} k"
    if a >= 1e3:
        return f"{value / 1e3:.3g} k"
    if a >= 10 or a == 0:
        return f"{value:.0f}"
    return f"{value:.2g}"


def colour_of(cmap: bcm.StepColormap, value: float) -> str:
    """Hex colour of ``value`` (clipped to the scale); grey for missing."""
    if value is None or not np.isfinite(value):
        return NO_DATA_COLOUR
    return cmap.rgb_hex_str(min(max(float(value), cmap.vmin), cmap.vmax))


def legend_html(
    cmap: bcm.StepColormap, metric: Metric, *, missing: bool = False, note: str = ""
) -> str:
    """HTML legend of a step colormap: the caption (with units) and one row per class."""
    rows = []
    edges = list(cmap.index)
    for lo, hi in itertools.pairwise(edges):
        colour = cmap.rgb_hex_str((lo + hi) / 2)
        if metric.diverging:
            text = f"{_signed(lo)} to {_signed(hi)}"
        else:
            text = f"{_short(lo)} – {_short(hi)}"
        rows.append(
            f'<div class="ra-row"><i style="background:{colour}"></i>{html.escape(text)}</div>'
        )
    if missing:
        rows.append(f'<div class="ra-row"><i style="background:{NO_DATA_COLOUR}"></i>no data</div>')
    sub = f'<div class="ra-sub">{html.escape(note)}</div>' if note else ""
    return f'<details open><summary class="ra-head">{html.escape(cmap.caption)}</summary>{sub}{"".join(rows)}</details>'


def legend_strip_html(
    cmap: bcm.StepColormap, metric: Metric, *, missing: bool = False, note: str = ""
) -> str:
    """Render the same legend as one line of HTML for under the map (inline styles)."""
    items = []
    edges = list(cmap.index)
    for lo, hi in itertools.pairwise(edges):
        text = (
            f"{_signed(lo)} to {_signed(hi)}"
            if metric.diverging
            else f"{_short(lo)} – {_short(hi)}"
        )
        items.append(_swatch(cmap.rgb_hex_str((lo + hi) / 2), text, square=True))
    if missing:
        items.append(_swatch(NO_DATA_COLOUR, "no data", square=True))
    sub = f" <span style='color:#808495'>({html.escape(note)})</span>" if note else ""
    return f'<div style="{_STRIP_FONT}"><b>{html.escape(cmap.caption)}:</b> {"".join(items)}{sub}</div>'


_STRIP_FONT = (
    "font-family: 'Source Sans Pro', sans-serif; font-size: 13px; color: #31333f; line-height: 1.7"
)


def _swatch(colour: str, text: str, *, square: bool = False, count: int | None = None) -> str:
    radius = "2px" if square else "50%"
    n = f" <span style='color:#808495'>({count:,})</span>" if count is not None else ""
    return (
        f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:12px;"
        f"height:12px;border-radius:{radius};background:{colour};border:1px solid #555;vertical-align:-1px;"
        f"margin-right:4px'></span>{html.escape(text)}{n}</span>"
    )


# --------------------------------------------------------------------------- settlements

#: Classes of ``delta_km`` (km) for settlement colours; ±0.5 km is "unchanged", as in analysis.stats.
DELTA_CLASSES: tuple[tuple[str, str], ...] = (
    ("≤ −150 (nearer)", "#08519c"),
    ("−150 to −50", "#4292c6"),
    ("−50 to −0.5", "#9ecae1"),
    ("unchanged (±0.5)", "#c4c4c4"),
    ("+0.5 to +50", "#fcae91"),
    ("+50 to +150", "#ef3b2c"),
    ("≥ +150 (farther)", "#99000d"),
    ("outside every region", "#ffffff"),
)
#: Index of the "unchanged" class, drawn muted.
UNCHANGED_CLASS = 3
DELTA_CAPTION = "Settlements: change in distance to own regional centre 2018 → 2024 (km)"
SIZE_CAPTION = "circle area ∝ population (estimated)"


def delta_class(delta: np.ndarray) -> np.ndarray:
    """Index into :data:`DELTA_CLASSES` for each change in distance (km)."""
    d = np.asarray(delta, dtype="float64")
    conditions = [d <= -150, d <= -50, d < -0.5, d <= 0.5, d < 50, d < 150, d >= 150]
    return np.select(conditions, np.arange(7), default=7)


def marker_radius(population: np.ndarray) -> np.ndarray:
    """Circle radius in pixels: area proportional to population (√ scale), 1.6–18 px."""
    p = np.nan_to_num(np.asarray(population, dtype="float64"), nan=0.0).clip(min=0)
    return np.clip(0.0125 * np.sqrt(p), 1.6, 18.0)


def settlement_label(frame: pd.DataFrame) -> np.ndarray:
    """Display label of each settlement: local name, with the English one when it differs."""

    def text(col: str) -> pd.Series:
        if col not in frame.columns:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        s = frame[col].astype(object)
        return s.where(s.notna(), None)

    name, en, kk, ru = text("name"), text("name_en"), text("name_kk"), text("name_ru")
    labels = []
    for n, e, k, r in zip(name, en, kk, ru, strict=True):
        local = " ".join(str(n or k or r or e or "(unnamed)").split())
        if e and e.casefold() != str(local).casefold():
            labels.append(f"{local} ({e})")
        else:
            labels.append(str(local))
    return np.array(labels, dtype=object)


@dataclass
class SettlementLayer:
    """The settlements as drawn: JSON payload plus arrays to resolve clicks."""

    payload: str
    ids: np.ndarray
    labels: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)

    def resolve_click(
        self, click: Mapping | None, tooltip: str | None = None, *, max_deg: float = 0.05
    ) -> str | None:
        """Settlement id behind a map click (``last_object_clicked`` and its tooltip).

        With a tooltip, the settlement whose label is the tooltip's first line and
        nearest to the click; without one, the nearest within ``max_deg``.
        """
        if not click or click.get("lat") is None or click.get("lng") is None or not len(self.ids):
            return None
        lat, lng = float(click["lat"]), float(click["lng"])
        first = tooltip.split("\n", 1)[0].strip() if tooltip else ""
        candidates = np.flatnonzero(self.labels == first) if first else np.arange(len(self.ids))
        if first and not len(candidates):
            return None  # a region, centre or line was clicked
        dx = (self.lon[candidates] - lng) * math.cos(math.radians(lat))
        dy = self.lat[candidates] - lat
        dist = np.hypot(dx, dy)
        j = int(np.argmin(dist))
        if not first and dist[j] > max_deg:
            return None
        return str(self.ids[candidates[j]])


#: Sentinels of the packed integer columns (missing value).
_NO_U8, _NO_U16 = 255, 65535


def _pack(values: np.ndarray, dtype: str) -> str:
    """Base64 of little-endian unsigned integers (``dtype`` ``"u1"`` or ``"u2"``)."""
    return base64.b64encode(np.asarray(values).astype("<" + dtype).tobytes()).decode("ascii")


def _pack_text(lines: list[str]) -> tuple[str, str]:
    r"""Encode lines, joined by newlines, in a one-byte-per-character code, as ``(base64, alphabet)``.

    ASCII stays as is; the 127 most frequent other characters take one byte each
    (128–254) and up to 256 rarer ones two (255, index). Cyrillic names thus cost
    1.33 bytes a letter, where ASCII JSON (how Streamlit ships component arguments)
    would spend 6 on ``\uXXXX``.
    """
    text = "\n".join(" ".join(line.split()) for line in lines)
    counts: dict[str, int] = {}
    for ch in text:
        if ord(ch) > 127:
            counts[ch] = counts.get(ch, 0) + 1
    alphabet = sorted(counts, key=lambda ch: (-counts[ch], ch))
    if (
        len(alphabet) > 127 + 256
    ):  # too many scripts for the code: keep the most frequent, mark the rest
        alphabet = [*alphabet[: 127 + 255], "\ufffd"]
    code = {ch: i for i, ch in enumerate(alphabet)}
    out = bytearray()
    for ch in text:
        o = ord(ch)
        if o < 128:
            out.append(o)
            continue
        i = code.get(ch, len(alphabet) - 1)
        if i < 127:
            out.append(128 + i)
        else:
            out += bytes((255, i - 127))
    return base64.b64encode(bytes(out)).decode("ascii"), "".join(alphabet)


def settlement_layer(analysis) -> SettlementLayer:
    """Compact payload of every settlement: position, radius, colour class, label, distances.

    Columns are packed as base64 of unsigned integers (coordinates in 0.001° steps
    from a corner, radius in 0.1 px, distances in whole km, colour class and centre
    index in bytes) and labels in a one-byte text code, which halves the page
    payload against plain JSON.
    """
    s = analysis.settlements
    before, after = analysis.epochs
    pop = pd.to_numeric(s["population_est"], errors="coerce").to_numpy(dtype="float64")
    order = np.argsort(
        -np.nan_to_num(pop, nan=0.0), kind="stable"
    )  # big circles first (drawn below)
    s = s.iloc[order]
    pop = pop[order]
    raw_lat = s.geometry.y.to_numpy(dtype="float64")
    raw_lon = s.geometry.x.to_numpy(dtype="float64")
    lat0, lon0 = (math.floor(float(v.min())) if len(v) else 0 for v in (raw_lat, raw_lon))
    span = max(float(raw_lat.max() - lat0), float(raw_lon.max() - lon0), 1.0) if len(s) else 1.0
    scale = (
        10**DISPLAY_DECIMALS
        if span * 10**DISPLAY_DECIMALS < _NO_U16
        else math.floor(_NO_U16 / span)
    )
    qlat = np.round((raw_lat - lat0) * scale).astype(np.int64)
    qlon = np.round((raw_lon - lon0) * scale).astype(np.int64)
    lat, lon = lat0 + qlat / scale, lon0 + qlon / scale  # exactly what the browser decodes
    labels = settlement_label(s)
    delta = pd.to_numeric(s["delta_km"], errors="coerce").to_numpy(dtype="float64")
    centres: list[str] = []
    index: dict[str, int] = {}

    def centre_ids(col: str) -> np.ndarray:
        out = np.full(len(s), _NO_U8, dtype=np.int64)
        for i, name in enumerate(s[col].astype(object)):
            if _clean(name) is None:
                continue
            key = str(name)
            if key not in index:
                index[key] = len(centres)
                centres.append(key)
            out[i] = index[key]
        return out

    def km(col: str) -> np.ndarray:
        v = pd.to_numeric(s[col], errors="coerce").to_numpy(dtype="float64")
        return np.where(np.isfinite(v), np.clip(np.round(v), 0, _NO_U16 - 1), _NO_U16).astype(
            np.int64
        )

    k0, k1 = centre_ids(f"centre_{before}"), centre_ids(f"centre_{after}")
    if len(centres) >= _NO_U8:
        msg = f"{len(centres)} regional centres: too many for the packed settlement layer"
        raise ValueError(msg)
    classes = delta_class(delta)
    names, alphabet = _pack_text([str(x) for x in labels])
    payload = {
        "n": len(s),
        "epochs": [before, after],
        "centres": centres,
        "palette": [c for _, c in DELTA_CLASSES],
        "muted": UNCHANGED_CLASS,
        "origin": [lat0, lon0, scale],
        "la": _pack(qlat, "u2"),
        "lo": _pack(qlon, "u2"),
        "r": _pack(np.round(marker_radius(pop) * 10), "u1"),
        "c": _pack(classes, "u1"),
        "d0": _pack(km(f"dist_{before}_km"), "u2"),
        "d1": _pack(km(f"dist_{after}_km"), "u2"),
        "dd": _pack(
            np.where(np.isfinite(delta), np.clip(np.round(np.abs(delta)), 0, _NO_U16 - 1), 0), "u2"
        ),
        "k0": _pack(k0, "u1"),
        "k1": _pack(k1, "u1"),
        "names": names,
        "alphabet": alphabet,
    }
    counts = {label: int((classes == i).sum()) for i, (label, _) in enumerate(DELTA_CLASSES)}
    return SettlementLayer(
        payload=_json(payload),
        ids=s["id"].astype(str).to_numpy(dtype=object),
        labels=labels,
        lat=lat,
        lon=lon,
        counts=counts,
    )


def settlement_legend_html(counts: Mapping[str, int] | None = None) -> str:
    """Legend of the settlement layer as HTML for under the map (inline styles).

    Colour classes of the change in distance (with how many settlements each holds)
    and reference circles for the √ size scale.
    """
    items = []
    for label, colour in DELTA_CLASSES:
        n = counts.get(label, 0) if counts is not None else None
        if counts is not None and label == DELTA_CLASSES[-1][0] and not n:
            continue
        items.append(_swatch(colour, label, count=n))
    sizes = []
    for p in (10_000, 100_000, 1_000_000):
        d = 2 * float(marker_radius(np.array([p]))[0])
        sizes.append(
            f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:{d:.0f}px;"
            f"height:{d:.0f}px;border-radius:50%;background:#c4c4c4;border:1px solid #3b3b3b;"
            f"vertical-align:middle;margin-right:4px'></span>{_short(p)}</span>"
        )
    return (
        f'<div style="{_STRIP_FONT}"><b>{html.escape(DELTA_CAPTION)}:</b> {"".join(items)}'
        f"<br><b>Circle size</b> ({html.escape(SIZE_CAPTION)}): {''.join(sizes)}</div>"
    )


# --------------------------------------------------------------------------- regions, centres


def centre_label(spec, code: str, epoch: int) -> str:
    """Name of a region's centre, with its former name (``Konaev (former Kapshagai)``)."""
    c = spec.centre_of(code, epoch=epoch)
    return f"{c.name_en} (former {c.former_name_en})" if c.former_name_en else c.name_en


def region_features(
    analysis,
    geometry: DisplayGeometry,
    epoch: int,
    metric: Metric,
    values: pd.Series,
    cmap: bcm.StepColormap,
) -> dict:
    """GeoJSON of one epoch's regions with fill colour and a trilingual tooltip."""
    spec = analysis.build.spec
    before, after = analysis.epochs
    other = after if epoch == before else before
    meta = analysis.build.regions[epoch].set_index("code")
    other_codes = set(analysis.build.regions[other]["code"])
    feats = []
    for row in geometry.regions[epoch].itertuples(index=False):
        r = meta.loc[row.code]
        value = values.get(row.code, np.nan)
        names = [r["name_kk"]] + ([r["name_ru"]] if r["name_ru"] != r["name_kk"] else [])
        is_new = row.code not in other_codes and epoch == after
        lines = [
            f"<b>{html.escape(r['name_en'])}</b> · {html.escape(row.code)}",
            html.escape(" · ".join(names)),
            f"Centre {epoch}: {html.escape(centre_label(spec, row.code, epoch))}",
            f"{html.escape(metric.label)}: <b>{html.escape(metric.format(value))}</b>",
        ]
        if is_new:
            parent = spec.regions_of(after)[row.code].parent
            parent_name = (
                analysis.build.regions[before].set_index("code")["name_en"].get(parent, parent)
            )
            lines.append(f"<i>new region in 2022, formed from {html.escape(str(parent_name))}</i>")
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "code": row.code,
                    "fill": colour_of(cmap, value),
                    "isnew": bool(is_new),
                    "tip": "<br>".join(lines),
                },
                "geometry": _geometry_json(row.geometry),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def changed_features(analysis, geometry: DisplayGeometry) -> dict:
    """GeoJSON of the territories whose region changed, with area and population moved."""
    before, after = analysis.epochs
    names_b = analysis.build.regions[before].set_index("code")["name_en"]
    names_a = analysis.build.regions[after].set_index("code")["name_en"]
    cw = analysis.build.crosswalk.set_index([f"region_{before}", f"region_{after}"])
    shifts = analysis.shifts.set_index([f"region_{before}", f"region_{after}"])
    feats = []
    for row in geometry.changed.itertuples(index=False):
        key = (row[0], row[1])
        area = float(cw["area_km2"].get(key, np.nan)) if key in cw.index else np.nan
        moved = shifts.loc[key] if key in shifts.index else None
        people = (
            f"{moved['population']:,.0f} persons (est.) in {int(moved['settlements']):,} settlements"
            if moved is not None
            else "no settlements"
        )
        tip = (
            f"<b>Changed region in 2022</b><br>{html.escape(str(names_b.get(key[0], key[0])))} ({key[0]}) → "
            f"{html.escape(str(names_a.get(key[1], key[1])))} ({key[1]})<br>{area:,.0f} km² · {people}"
        )
        feats.append(
            {
                "type": "Feature",
                "properties": {"tip": tip},
                "geometry": _geometry_json(row.geometry),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _label_offsets(
    points: list[tuple[float, float, str]], *, zoom: float = 4.75
) -> list[tuple[str, list[int]]]:
    """Greedy placement of centre labels (right, left, below, above) to avoid overlaps."""
    world = 256 * 2**zoom

    def px(lat: float, lon: float) -> tuple[float, float]:
        x = (lon + 180) / 360 * world
        y = (
            (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi)
            / 2
            * world
        )
        return x, y

    boxes: list[tuple[float, float, float, float]] = []
    for lat, lon, _ in points:
        x, y = px(lat, lon)
        boxes.append((x - 5, y - 5, x + 5, y + 5))
    out = []
    for lat, lon, text in points:
        x, y = px(lat, lon)
        w, h = 6.3 * len(text) + 8, 15
        candidates = (
            ("right", [7, 0], (x + 7, y - h / 2, x + 7 + w, y + h / 2)),
            ("left", [-7, 0], (x - 7 - w, y - h / 2, x - 7, y + h / 2)),
            ("bottom", [0, 7], (x - w / 2, y + 7, x + w / 2, y + 7 + h)),
            ("top", [0, -7], (x - w / 2, y - 7 - h, x + w / 2, y - 7)),
        )
        choice = candidates[0]
        for cand in candidates:
            b = cand[2]
            if not any(b[0] < o[2] and b[2] > o[0] and b[1] < o[3] and b[3] > o[1] for o in boxes):
                choice = cand
                break
        boxes.append(choice[2])
        out.append((choice[0], choice[1]))
    return out


def centre_points(analysis, epoch: int, *, zoom: float = 4.75) -> list[dict]:
    """Regional centres of ``epoch`` with labels placed for ``zoom``.

    ``isnew``: a centre in ``epoch`` that was none before; ``key``: a centre the
    reform touched (new, or a region's centre that moved), labelled at every zoom.
    """
    spec = analysis.build.spec
    before, after = analysis.epochs
    other = after if epoch == before else before
    other_keys = {spec.regions_of(other)[c].centre for c in spec.regions_of(other)}
    b, a = spec.regions_of(before), spec.regions_of(after)
    moved = {
        r[code].centre
        for code in set(b) & set(a)
        for r in (b, a)
        if (spec.centres[b[code].centre].lon, spec.centres[b[code].centre].lat)
        != (spec.centres[a[code].centre].lon, spec.centres[a[code].centre].lat)
    }
    seen: dict[str, dict] = {}
    for code, region in sorted(spec.regions_of(epoch).items()):
        c = spec.centres[region.centre]
        if region.centre in seen:
            continue
        is_new = (
            epoch == after
            and region.centre not in other_keys
            and not any(
                spec.centres[k].lon == c.lon and spec.centres[k].lat == c.lat for k in other_keys
            )
        )
        seen[region.centre] = {
            "la": round(c.lat, 4),
            "lo": round(c.lon, 4),
            "label": centre_label(spec, code, epoch),
            "isnew": bool(is_new),
            "key": bool(is_new) or region.centre in moved,
        }
    points = sorted(seen.values(), key=lambda p: (-p["key"], -p["la"], p["lo"]))
    placed = _label_offsets([(p["la"], p["lo"], p["label"]) for p in points], zoom=zoom)
    for p, (direction, offset) in zip(points, placed, strict=True):
        p["dir"], p["offset"] = direction, offset
    return points


def geodesic_points(
    lat1: float, lon1: float, lat2: float, lon2: float, n: int = 24
) -> list[list[float]]:
    """Points along the geodesic between two places, as ``[lat, lon]`` pairs."""
    mid = _GEOD.npts(lon1, lat1, lon2, lat2, n) if n > 0 else []
    pts = [(lon1, lat1), *mid, (lon2, lat2)]
    return [[round(la, 4), round(lo, 4)] for lo, la in pts]


def centre_moves(analysis) -> list[dict]:
    """Regions whose centre moved to another place (Almaty Region: Taldykorgan → Konaev)."""
    spec = analysis.build.spec
    before, after = analysis.epochs
    out = []
    b, a = spec.regions_of(before), spec.regions_of(after)
    for code in sorted(set(b) & set(a)):
        cb, ca = spec.centres[b[code].centre], spec.centres[a[code].centre]
        if (cb.lon, cb.lat) == (ca.lon, ca.lat):
            continue
        out.append(
            {
                "pts": geodesic_points(cb.lat, cb.lon, ca.lat, ca.lon, 12),
                "tip": f"{a[code].name_en}: centre moved in 2022 from {cb.name_en} to {centre_label(spec, code, after)}",
            }
        )
    return out


# --------------------------------------------------------------------------- selection


@dataclass
class Selection:
    """One settlement's situation in both epochs (from ``analysis.settlements``)."""

    id: str
    label: str
    names: dict[str, str]
    lat: float
    lon: float
    population: float
    population_est: float
    epochs: tuple[int, int]
    region: dict[int, str | None]
    region_name: dict[int, str | None]
    centre: dict[int, str | None]
    centre_label: dict[int, str | None]
    centre_at: dict[int, tuple[float, float] | None]
    distance_km: dict[int, float]
    delta_km: float
    nearest_centre: str | None
    nearest_km: float
    assignment: str


def _clean(value):
    """None for missing values (None, pandas NA, NaN), else the value."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _float(value) -> float:
    value = _clean(value)
    return float("nan") if value is None else float(value)


def selection(analysis, settlement_id: str) -> Selection | None:
    """Return the row of ``settlement_id`` as a :class:`Selection`, or None if unknown."""
    s = analysis.settlements
    hit = s[s["id"].astype(str) == str(settlement_id)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    spec = analysis.build.spec
    before, after = analysis.epochs
    region, region_name, centre, label, at, dist = {}, {}, {}, {}, {}, {}
    for epoch in (before, after):
        code = _clean(row.get(f"region_{epoch}"))
        region[epoch] = code
        names = analysis.build.regions[epoch].set_index("code")["name_en"]
        region_name[epoch] = str(names.get(code, code)) if code else None
        centre[epoch] = _clean(row.get(f"centre_{epoch}"))
        label[epoch] = (
            centre_label(spec, code, epoch) if code in spec.regions_of(epoch) else centre[epoch]
        )
        lon_c, lat_c = (
            _clean(row.get(f"centre_{epoch}_lon")),
            _clean(row.get(f"centre_{epoch}_lat")),
        )
        at[epoch] = (
            (float(lat_c), float(lon_c)) if lon_c is not None and lat_c is not None else None
        )
        dist[epoch] = _float(row.get(f"dist_{epoch}_km"))
    names = {
        k: str(v)
        for k in ("name", "name_en", "name_kk", "name_ru")
        if (v := _clean(row.get(k))) is not None
    }
    return Selection(
        id=str(row["id"]),
        label=str(settlement_label(hit.iloc[[0]])[0]),
        names=names,
        lat=float(row.geometry.y),
        lon=float(row.geometry.x),
        population=_float(row.get("population")),
        population_est=_float(row.get("population_est")),
        epochs=(before, after),
        region=region,
        region_name=region_name,
        centre=centre,
        centre_label=label,
        centre_at=at,
        distance_km=dist,
        delta_km=_float(row.get("delta_km")),
        nearest_centre=_clean(row.get(f"nearest_centre_{after}")),
        nearest_km=_float(row.get(f"nearest_centre_{after}_km")),
        assignment=str(_clean(row.get("assignment")) or ""),
    )


_LINE_STYLE = {0: ("#5e35b1", "6 6"), 1: ("#c62828", None)}


def selection_layer(sel: Selection, *, dual: bool) -> JsLayer:
    """Ring on the settlement and geodesic lines to its centre in each epoch.

    On the comparison the line to the ``before`` centre goes on the left map and the
    line to the ``after`` centre on the right one.
    """
    lines: list[dict | None] = []
    for j, epoch in enumerate(sel.epochs):
        at = sel.centre_at[epoch]
        if at is None:
            lines.append(None)
            continue
        colour, dash = _LINE_STYLE[j]
        lines.append(
            {
                "pts": geodesic_points(sel.lat, sel.lon, at[0], at[1]),
                "colour": colour,
                "dash": dash,
                "label": f"{epoch}: {sel.distance_km[epoch]:,.0f} km",
            }
        )
    # streamlit-folium names the right map ``map_div2`` (and lays out two maps when the base
    # script mentions that name, so it appears only here, in the selection layer)
    data = {
        "at": [round(sel.lat, 5), round(sel.lon, 5)],
        "dual": dual,
        "target": "map_div" + "2",
        "lines": lines if dual else [x for x in lines if x is not None],
    }
    return JsLayer(f"RA.selection(parent, {_json(data)});", name="ra_selection")


def view_for(
    sel: Selection,
    *,
    width: float = 700,
    height: float = MAP_HEIGHT,
    bottom: float = LEGEND_PADDING,
) -> tuple[list[float], float]:
    """Centre and zoom showing a settlement and both its centres above the legend."""
    pts = [(sel.lat, sel.lon)] + [at for at in sel.centre_at.values() if at is not None]
    lats = [p[0] for p in pts]
    lons = [p[1] for p in pts]

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dlon = max(math.radians(max(lons) - min(lons)), 1e-4)
    dy = max(merc(max(lats)) - merc(min(lats)), 1e-4)
    z_w = math.log2((width - 120) * 2 * math.pi / (256 * dlon))
    z_h = math.log2((height - bottom - 100) * 2 * math.pi / (256 * dy))
    zoom = min(max(math.floor(min(z_w, z_h) * 4) / 4, 4.0), 9.0)
    cy = (merc(max(lats)) + merc(min(lats))) / 2 - (bottom / 2) * 2 * math.pi / (256 * 2**zoom)
    lat = math.degrees(2 * math.atan(math.exp(cy)) - math.pi / 2)
    return [round(lat, 4), round((max(lons) + min(lons)) / 2, 4)], zoom


# --------------------------------------------------------------------------- maps

#: Basemaps: name → (tile URL, attribution); None draws no tiles (works offline).
BASEMAPS: dict[str, tuple[str, str] | None] = {
    "OpenStreetMap": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    ),
    "CartoDB Positron": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors '
        '&copy; <a href="https://carto.com/attributions">CARTO</a>',
    ),
    "None": None,
}
DEFAULT_BASEMAP = "OpenStreetMap"


@dataclass
class MapLayers:
    """Everything a map draws, serialised once per dataset and metric (the app caches it)."""

    analysis: object
    regions_json: dict[int, str]
    changed_json: str
    legend: str
    settlements: SettlementLayer | None
    basemap: str = DEFAULT_BASEMAP
    attribution: str = ""


@dataclass
class MetricLayers:
    """Choropleth GeoJSON text per epoch, with its legend for the map and for under it."""

    regions_json: dict[int, str]
    legend: str
    legend_strip: str


def metric_layers(analysis, geometry: DisplayGeometry, metric_key: str) -> MetricLayers:
    """Choropleth GeoJSON text per epoch and the legends of one metric."""
    metric = METRICS[metric_key]
    values = region_values(analysis, metric_key)
    cmap = metric_colormap(metric, values)
    regions = {
        e: _json(region_features(analysis, geometry, e, metric, values[e], cmap))
        for e in analysis.epochs
    }
    missing = bool(pd.concat(list(values.values())).isna().any())
    note = "one scale for both epochs; hatched: territory that changed region"
    return MetricLayers(
        regions,
        legend_html(cmap, metric, missing=missing, note=note),
        legend_strip_html(cmap, metric, missing=missing, note=note),
    )


def _new_map(basemap: str, *, zoom: int = 5, **kwargs) -> folium.Map:
    m = folium.Map(
        location=[48.0, 67.0],
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        zoom_snap=0.25,
        zoom_delta=0.5,
        min_zoom=3,
        **kwargs,
    )
    _offline(m)
    _add_tiles(m, basemap)
    _fit(m)
    return m


def _fit(m: folium.Map, bottom: int = LEGEND_PADDING) -> None:
    """Open on Kazakhstan, leaving ``bottom`` pixels at the bottom of the map to the legend."""
    m.fit_bounds(
        [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])],
        padding_top_left=(8, 40),
        padding_bottom_right=(8, bottom),
    )


def _add_tiles(m: folium.Map, basemap: str) -> None:
    tiles = BASEMAPS.get(basemap)
    if tiles:
        folium.TileLayer(tiles[0], attr=tiles[1], name=basemap, control=False, max_zoom=18).add_to(
            m
        )


def _box(parent, html_text: str, position: str, cls: str, name: str) -> None:
    parent.add_child(
        JsLayer(
            f"RA.add(parent, new RA.Box({_json(html_text)}, '{position}', '{cls}'));", name=name
        )
    )


def _base_layers(m: folium.Map, layers: MapLayers, *, library: bool) -> None:
    """Add the helper library, attribution and settlement layer to one map (static per dataset)."""
    if library:
        m.add_child(JsLayer(RA_JS, name="ra_lib"))
    if layers.attribution:
        m.add_child(
            JsLayer(
                f"parent.attributionControl.addAttribution({_json(html.escape(layers.attribution))});",
                name="ra_attr",
            )
        )
    if layers.settlements is not None:
        if library:
            m.add_child(
                JsLayer(f"window.RA_SETTLEMENTS = {layers.settlements.payload};", name="ra_data")
            )
        m.add_child(
            JsLayer("RA.settlementsLater(parent, window.RA_SETTLEMENTS);", name="ra_settlements")
        )


def _epoch_layers(
    parent, layers: MapLayers, epoch: int, *, legend: bool, title: bool, zoom: float = 4.75
) -> None:
    """Choropleth, changed territories, centres, centre moves, legend and title for one epoch."""
    analysis = layers.analysis
    opacity = 0.6 if layers.settlements is not None else 0.8
    parent.add_child(
        JsLayer(
            f"RA.regions(parent, {layers.regions_json[epoch]}, {layers.changed_json}, {{fillOpacity: {opacity}}});",
            name="ra_regions",
        )
    )
    centres = _json(centre_points(analysis, epoch, zoom=zoom))
    parent.add_child(
        JsLayer(f"RA.centres(parent, {centres}, {MINOR_LABEL_ZOOM});", name="ra_centres")
    )
    if epoch == analysis.epochs[1]:
        moves = centre_moves(analysis)
        if moves:
            parent.add_child(JsLayer(f"RA.moves(parent, {_json(moves)});", name="ra_moves"))
    if legend:
        _box(parent, layers.legend, "bottomright", "ra-legend", "ra_legend")
    if title:
        _box(
            parent,
            f'<div class="ra-epoch">{html.escape(epoch_title(analysis, epoch))}</div>',
            "topright",
            "ra-title",
            "ra_title",
        )


def epoch_title(analysis, epoch: int) -> str:
    """``2018 · before the reform · 17 regions``."""
    before, _ = analysis.epochs
    n = len(analysis.build.regions[epoch])
    return f"{epoch} · {'before' if epoch == before else 'after'} the reform · {n} regions"


def single_map(
    layers: MapLayers, epoch: int, *, selected: Selection | None = None
) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """One map: a static base (tiles, settlements) plus feature groups for ``epoch`` and the selection.

    The feature groups are meant for ``st_folium(feature_group_to_add=...)``: changing
    the epoch, metric or selection then swaps layers without reloading the map.
    """
    m = _new_map(layers.basemap, control_scale=True)
    _base_layers(m, layers, library=True)
    regions = folium.FeatureGroup(name="regions", control=False)
    _epoch_layers(regions, layers, epoch, legend=True, title=True)
    groups = [regions]
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


def synced_maps() -> SyncedMaps:
    """Two empty maps of Kazakhstan side by side, panning and zooming together.

    No zoom animation: both maps move in one synchronous step and cannot race each other.
    """
    return SyncedMaps(
        location=[48.0, 67.0],
        zoom_start=4,
        tiles=None,
        prefer_canvas=True,
        zoom_snap=0.25,
        zoom_delta=0.5,
        min_zoom=3,
        zoom_animation=False,
    )


def dual_map(
    layers: MapLayers, *, selected: Selection | None = None
) -> tuple[folium.plugins.DualMap, list[folium.FeatureGroup]]:
    """Before (left) and after (right) side by side, panning and zooming together."""
    before, after = layers.analysis.epochs
    dm = synced_maps()
    for m in (dm.m1, dm.m2):
        _offline(m)
        _add_tiles(m, layers.basemap)
        _fit(m, bottom=30)
    _base_layers(dm.m1, layers, library=True)
    _base_layers(dm.m2, layers, library=False)
    # half-width maps leave no room for the legend: the app shows it under the pair
    _epoch_layers(dm.m1, layers, before, legend=False, title=True, zoom=3.75)
    _epoch_layers(dm.m2, layers, after, legend=False, title=True, zoom=3.75)
    groups = []
    if selected is not None:
        sel = folium.FeatureGroup(name="selection", control=False)
        sel.add_child(selection_layer(selected, dual=True))
        groups.append(sel)
    return dm, groups


def preview_map(build, geometry: DisplayGeometry, *, basemap: str = DEFAULT_BASEMAP) -> folium.Map:
    """Regions only, shown while the settlements are still being analysed (first load)."""
    m = _new_map(basemap)
    m.add_child(JsLayer(RA_JS, name="ra_lib"))
    epoch = build.spec.after
    meta = build.regions[epoch].set_index("code")
    feats = []
    for row in geometry.regions[epoch].itertuples(index=False):
        r = meta.loc[row.code]
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "code": row.code,
                    "fill": "#b9d3e6",
                    "isnew": False,
                    "tip": f"<b>{html.escape(r['name_en'])}</b> · {row.code}<br>{html.escape(r['name_kk'])}",
                },
                "geometry": _geometry_json(row.geometry),
            }
        )
    fc = _json({"type": "FeatureCollection", "features": feats})
    m.add_child(
        JsLayer(f"RA.regions(parent, {fc}, null, {{fillOpacity: 0.55}});", name="ra_regions")
    )
    title = f'<div class="ra-epoch">{epoch} · {len(feats)} regions · computing distances…</div>'
    _box(m, title, "topright", "ra-title", "ra_title")
    return m
