"""The scenario lab's two maps: the scenario (left, districts clickable) and the enacted reform.

The data of both maps is one JSON argument of ``LAB.draw`` (``static/lab.js``), rebuilt
per edit from geometry prepared once per data source (:class:`webapp.lab_model.Lab`).
"""

from __future__ import annotations

import functools
import html

import numpy as np
import streamlit as st

from webapp.lab_model import Lab
from webapp.lab_state import MAP_KEY, on_map_click

MAP_HEIGHT = 400
COLOUR_BY = {
    "region": "Region",
    "pop_weighted_mean_km": "Pop.-weighted mean distance to the centre (km)",
    "pop_deviation_pct": "Deviation from the mean region population (%)",
}
HATCH_NOTE = "hatched: districts in another region than in the enacted reform"


def outline(lab: Lab, members: frozenset) -> dict:
    """Display outline (GeoJSON geometry) of a set of pieces (coverage union), memoised."""
    import shapely

    from webapp.maps.geometry import geometry_json

    geom = lab.memo.get(members)
    if geom is None:
        geom = geometry_json(shapely.coverage_union_all(lab.simple[sorted(members)]))
        lab.memo[members] = geom
    return geom


def feature(properties: dict, geometry: dict) -> dict:
    """Return a GeoJSON Feature."""
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(features: list[dict]) -> dict:
    """Return a GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}


def colour_scale(lab: Lab, result, colour_by: str):
    """Fill colour per region code for both maps, and the legend HTML (None for region colours).

    A metric gets one step scale for both maps (:func:`webapp.maps.colours.metric_colormap`);
    its legend is a strip drawn under the maps, so it hides no part of the country.
    """
    from webapp.maps.colours import Metric, colour_of, legend_strip_html, metric_colormap

    if colour_by == "region":
        return lab.colours, lab.colours, None
    enacted = lab.base.metrics[colour_by].astype(float)
    scenario = result.metrics[colour_by].astype(float)
    diverging = colour_by == "pop_deviation_pct"
    unit = "%; − = below the mean" if diverging else "km"
    metric = Metric(colour_by, COLOUR_BY[colour_by].rsplit(" (", 1)[0], unit, diverging=diverging)
    cmap = metric_colormap(metric, {0: enacted, 1: scenario})
    return (
        {c: colour_of(cmap, v) for c, v in enacted.items()},
        {c: colour_of(cmap, v) for c, v in scenario.items()},
        legend_strip_html(cmap, metric, note="one scale for both maps"),
    )


def fmt_metric(colour_by: str, value: float) -> str:
    """Return a region's value of the colouring metric with its unit."""
    if colour_by == "pop_weighted_mean_km":
        return f"{value:,.1f} km"
    return f"{value:+,.1f} %"


def centre_points(lab: Lab, result, *, scenario: bool) -> list[dict]:
    """Regional centres for a map: changed ones (vs enacted) flagged and labelled."""
    from webapp.maps.features import centre_label

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
        out.append({"la": round(c.lat, 4), "lo": round(c.lon, 4), "label": label,
                    "isnew": bool(moved and scenario), "key": bool(moved), "dir": "right", "offset": [7, 0]})

    # a label goes left when another centre sits just to its right (Kaskelen, Almaty) or when it
    # would run off the east edge of the map (east of 75° E at the opening zoom)
    def near(p: dict, side: int) -> bool:
        return any(0 < side * (q["lo"] - p["lo"]) < 1.5 and abs(q["la"] - p["la"]) < 0.6 for q in out if q is not p)

    for p in out:
        if near(p, 1) or (p["lo"] > 75 and not near(p, -1)):
            p["dir"], p["offset"] = "left", [-7, 0]
    return sorted(out, key=lambda p: p["key"])


def region_labels(lab: Lab, region_of: np.ndarray) -> list[dict]:
    """Return a name label inside each region (its largest piece's representative point)."""
    import shapely

    out = []
    for code in lab.base.codes:
        members = np.flatnonzero(region_of == code)
        if not len(members):
            continue
        biggest = members[int(np.argmax(shapely.area(lab.simple[members])))]
        point = shapely.point_on_surface(lab.simple[biggest])
        out.append({"la": round(point.y, 3), "lo": round(point.x, 3), "label": lab.region_name(code)})
    return out


def piece_heads(lab: Lab) -> list[str]:
    """First tooltip line of every build piece (``Alakol (east part) · KZ193400``), memoised."""
    heads = lab.memo.get("piece_heads")
    if heads is None:
        base = lab.base
        kinds = base.build.pieces["piece"].astype(str).to_numpy()
        heads = []
        for unit, kind in zip(base.piece_unit.astype(str), kinds, strict=True):
            part = "" if kind == "whole" else f" ({html.escape(kind)} part)"
            heads.append(f"<b>{html.escape(base.unit_names.get(unit, unit))}</b>{part} · {html.escape(unit)}")
        lab.memo["piece_heads"] = heads
    return heads


def piece_tips(lab: Lab, result, metric_text: dict) -> list[str]:
    """Tooltip HTML of every build piece on the scenario map."""
    base = lab.base
    before = base.build.regions[base.epochs[0]].set_index("code")["name_en"]
    names = {c: html.escape(lab.region_name(c)) for c in base.codes}
    tips = []
    for i, head in enumerate(piece_heads(lab)):
        code, enacted = str(result.piece_region[i]), str(base.piece_region[i])
        lines = [head, f"Scenario: <b>{names[code]}</b> ({code})"]
        if enacted != code:
            lines.append(f"<i>moved; enacted {base.after}: {names[enacted]} ({enacted})</i>")
        elif base.can_move:
            lines.append(f"{base.epochs[0]}: {html.escape(str(before.get(base.piece_before[i], '')))}")
        lines.append(f"≈{lab.piece_population[i]:,.0f} people (est.) in {lab.piece_settlements[i]:,} settlements")
        if metric_text:
            lines.append(f"Region: {html.escape(metric_text[code])}")
        if base.can_move:
            lines.append("<span style='color:#666'>click to select this district</span>")
        tips.append("<br>".join(lines))
    return tips


def summary(result) -> str:
    """``1 district moved · 0 centres changed`` (or ``no change yet``)."""
    n_moved = len(result.moved_units)
    n_centres = sum(1 for c in result.changed if c in result.centres)
    if not (n_moved or n_centres):
        return "no change yet"
    return (f"{n_moved} district{'s' if n_moved != 1 else ''} moved · {n_centres} "
            f"centre{'s' if n_centres != 1 else ''} changed")


def scenario_layers(lab: Lab, result, *, colour_by: str, selected: str | None) -> dict:
    """Layers of the scenario map: pieces, moved ones hatched, region outlines, centres, title."""
    from webapp.maps.features import geodesic_points
    from webapp.maps.figures import MINOR_LABEL_ZOOM

    base = lab.base
    fills = colour_scale(lab, result, colour_by)[1]
    metric_text = {}
    if colour_by != "region":
        metric_text = {c: fmt_metric(colour_by, v) for c, v in result.metrics[colour_by].items()}
    moved = np.flatnonzero(result.piece_region != base.piece_region)
    units = base.piece_unit.astype(str)
    regions = result.piece_region.astype(str)
    tips = piece_tips(lab, result, metric_text)
    pieces = [
        feature({"unit": units[i], "fill": fills[regions[i]], "tip": tips[i]}, geom)
        for i, geom in enumerate(lab.piece_geometry)
    ]
    chosen = [feature({}, lab.piece_geometry[i]) for i in np.flatnonzero(units == selected)]
    outlines = [feature({}, outline(lab, frozenset(np.flatnonzero(result.piece_region == c).tolist())))
                for c in base.codes]
    shifts = []
    for code in result.changed:
        e, s = base.centre(code), result.centre(code)
        if (e.lon, e.lat) != (s.lon, s.lat):
            tip = f"{lab.region_name(code)}: centre {e.name_en} (enacted) → {s.name_en} (scenario)"
            shifts.append({"pts": geodesic_points(e.lat, e.lon, s.lat, s.lon, 12), "tip": tip})
    return {
        "pieces": collection(pieces),
        "moved": collection([feature({}, lab.piece_geometry[i]) for i in moved]),
        "outlines": collection(outlines),
        "selected": collection(chosen) if chosen else None,
        "shifts": shifts,
        "names": region_labels(lab, result.piece_region),
        "centres": centre_points(lab, result, scenario=True),
        "minZoom": MINOR_LABEL_ZOOM,
        "opacity": 0.78,
        "title": f'<div class="ra-epoch">Scenario</div><div class="ra-sub">{html.escape(summary(result))}</div>',
    }


def enacted_layers(lab: Lab, result, *, colour_by: str) -> dict:
    """Layers of the enacted map: regions with tooltips, the scenario's moves hatched, centres."""
    from webapp.maps.figures import MINOR_LABEL_ZOOM

    base = lab.base
    fills = colour_scale(lab, result, colour_by)[0]
    regions = []
    for code in base.codes:
        tip = (f"<b>{html.escape(lab.region_name(code))}</b> · {code}<br>"
               f"Enacted centre: {html.escape(base.centre(code).name_en)}")
        if colour_by != "region":
            tip += f"<br>{html.escape(fmt_metric(colour_by, float(base.metrics.loc[code, colour_by])))}"
        members = frozenset(np.flatnonzero(base.piece_region == code).tolist())
        regions.append(feature({"code": code, "fill": fills[code], "isnew": False, "tip": tip}, outline(lab, members)))
    moved = [
        feature({"tip": f"<b>{html.escape(base.unit_names.get(str(base.piece_unit[i]), ''))}</b>: "
                        f"{html.escape(lab.region_name(str(base.piece_region[i])))} → "
                        f"{html.escape(lab.region_name(str(result.piece_region[i])))} in the scenario"},
                lab.piece_geometry[i])
        for i in np.flatnonzero(result.piece_region != base.piece_region)
    ]
    return {
        "regions": collection(regions),
        "moved": collection(moved),
        "names": region_labels(lab, base.piece_region),
        "centres": centre_points(lab, result, scenario=False),
        "minZoom": MINOR_LABEL_ZOOM,
        "opacity": 0.78,
        "title": f'<div class="ra-epoch">Enacted {base.after}</div><div class="ra-sub">'
        f"{html.escape(base.spec.id)}, for comparison</div>",
    }


def map_data(lab: Lab, result, *, colour_by: str, selected: str | None) -> dict:
    """Return the data of ``LAB.draw``: the scenario layers (this map) and the enacted ones (the other map)."""
    from webapp.maps.figures import KZ_BOUNDS

    return {
        # streamlit-folium names the right map map_div2 (and lays out two maps when the base
        # script mentions that name, so it appears only here)
        "target": "map_div" + "2",
        "bounds": [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])],
        "scenario": scenario_layers(lab, result, colour_by=colour_by, selected=selected),
        "enacted": enacted_layers(lab, result, colour_by=colour_by),
    }


def render_map(lab: Lab, result, *, colour_by: str, selected: str | None, basemap: str) -> None:
    """Draw the scenario (clickable) and the enacted reform side by side, and the legend under them."""
    import folium

    from webapp.maps.figures import show, synced_maps
    from webapp.maps.script import JsCall

    fig = synced_maps(basemap, bottom=6, scripts=("ra.js", "lab.js"))
    group = folium.FeatureGroup(name="lab", control=False)
    group.add_child(JsCall("LAB.draw", map_data(lab, result, colour_by=colour_by, selected=selected), name="lab_layers"))
    show(fig, [group], key=MAP_KEY, height=MAP_HEIGHT, on_change=functools.partial(on_map_click, lab))
    legend = colour_scale(lab, result, colour_by)[2]
    if legend:
        st.html(legend)
    else:
        st.caption("Each region keeps its colour on both maps; " + HATCH_NOTE + ".")
