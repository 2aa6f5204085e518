"""The scenario lab's two maps: the scenario (left, districts clickable) and the enacted reform.

What never changes for a data source (the pieces' geometry, their tooltip lines, the enacted
regions) is one JSON argument of ``LAB.base`` in the map's own script, made once per data
source and sent once per map frame; each edit sends only ``LAB.draw``'s small argument (the
region of every piece, fills, outlines of the regions that differ from the enacted reform,
labels), made once per scenario state (:meth:`webapp.lab_model.Lab.per_state`).
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


def summary(result) -> str:
    """``1 district moved · 0 centres changed`` (or ``no change yet``)."""
    n_moved = len(result.moved_units)
    n_centres = sum(1 for c in result.changed if c in result.centres)
    if not (n_moved or n_centres):
        return "no change yet"
    return (f"{n_moved} district{'s' if n_moved != 1 else ''} moved · {n_centres} "
            f"centre{'s' if n_centres != 1 else ''} changed")


def static_data(lab: Lab):
    """Return the argument of ``LAB.base``: the pieces (geometry, tooltip lines) and the enacted regions (JSON, memoised)."""
    from webapp.maps.figures import MINOR_LABEL_ZOOM
    from webapp.maps.script import Json, to_json

    data = lab.memo.get("static_json")
    if data is not None:
        return data
    base = lab.base
    before = base.build.regions[base.epochs[0]].set_index("code")["name_en"]
    pop = [f"≈{p:,.0f} people (est.) in {n:,} settlements"
           for p, n in zip(lab.piece_population, lab.piece_settlements, strict=True)]
    static = {
        "pieces": lab.piece_geometry,
        "units": base.piece_unit.astype(str).tolist(),
        "enacted": base.piece_region.astype(str).tolist(),
        "heads": piece_heads(lab),
        "before": [str(before.get(b, "")) for b in base.piece_before],
        "pop": pop,
        "codes": list(base.codes),
        "names": {c: lab.region_name(c) for c in base.codes},
        "centreNames": {c: base.centre(c).name_en for c in base.codes},
        "outlines": {c: outline(lab, frozenset(np.flatnonzero(base.piece_region == c).tolist())) for c in base.codes},
        "enactedNames": region_labels(lab, base.piece_region),
        "enactedTitle": f'<div class="ra-epoch">Enacted {base.after}</div><div class="ra-sub">'
        f"{html.escape(base.spec.id)}, for comparison</div>",
        "canMove": bool(base.can_move),
        "after": base.after,
        "beforeEpoch": base.epochs[0],
        "minZoom": MINOR_LABEL_ZOOM,
        "opacity": 0.78,
    }
    data = lab.memo["static_json"] = Json(to_json(static))
    return data


def changed_outlines(lab: Lab, result) -> dict:
    """Outline of every region whose pieces differ from the enacted reform (the others are in the base)."""
    base = lab.base
    out = {}
    for code in base.codes:
        members = np.flatnonzero(result.piece_region == code)
        if not np.array_equal(members, np.flatnonzero(base.piece_region == code)):
            out[code] = outline(lab, frozenset(members.tolist()))
    return out


def centre_shifts(lab: Lab, result) -> list[dict]:
    """Dotted lines from each enacted centre to the scenario's, where they differ."""
    from webapp.maps.features import geodesic_points

    base = lab.base
    shifts = []
    for code in result.changed:
        e, s = base.centre(code), result.centre(code)
        if (e.lon, e.lat) != (s.lon, s.lat):
            tip = f"{lab.region_name(code)}: centre {e.name_en} (enacted) → {s.name_en} (scenario)"
            shifts.append({"pts": geodesic_points(e.lat, e.lon, s.lat, s.lon, 12), "tip": tip})
    return shifts


def moved_tips(lab: Lab, result, moved: np.ndarray) -> dict[int, str]:
    """Tooltip of each moved piece on the enacted map."""
    base = lab.base
    return {
        int(i): f"<b>{html.escape(base.unit_names.get(str(base.piece_unit[i]), ''))}</b>: "
        f"{html.escape(lab.region_name(str(base.piece_region[i])))} → "
        f"{html.escape(lab.region_name(str(result.piece_region[i])))} in the scenario"
        for i in moved
    }


def map_data(lab: Lab, result, *, colour_by: str, selected: str | None) -> dict:
    """Return the argument of ``LAB.draw``: what one scenario state changes on both maps."""
    from webapp.maps.figures import KZ_BOUNDS

    base = lab.base
    enacted_fills, fills, _ = colour_scale(lab, result, colour_by)
    metric = enacted_metric = None
    if colour_by != "region":
        metric = {c: fmt_metric(colour_by, v) for c, v in result.metrics[colour_by].items()}
        enacted_metric = {c: fmt_metric(colour_by, float(v)) for c, v in base.metrics[colour_by].items()}
    moved = np.flatnonzero(result.piece_region != base.piece_region)
    units = base.piece_unit.astype(str)
    return {
        # streamlit-folium names the right map map_div2 (and lays out two maps when the base
        # script mentions that name, so it appears only here)
        "target": "map_div" + "2",
        "bounds": [list(KZ_BOUNDS[0]), list(KZ_BOUNDS[1])],
        "region": result.piece_region.astype(str).tolist(),
        "fills": fills,
        "enactedFills": enacted_fills,
        "metric": metric,
        "enactedMetric": enacted_metric,
        "moved": moved.tolist(),
        "movedTips": moved_tips(lab, result, moved),
        "selected": np.flatnonzero(units == selected).tolist() if selected else [],
        "outlines": changed_outlines(lab, result),
        "shifts": centre_shifts(lab, result),
        "names": region_labels(lab, result.piece_region),
        "centres": centre_points(lab, result, scenario=True),
        "enactedCentres": centre_points(lab, result, scenario=False),
        "title": f'<div class="ra-epoch">Scenario</div><div class="ra-sub">{html.escape(summary(result))}</div>',
    }


def region_legend_html(lab: Lab) -> str:
    """Colour key of the region colouring: each region's colour chip and name (the same on both maps)."""
    from webapp.maps.colours import STRIP_FONT, swatch

    items = "".join(swatch(lab.colours[c], lab.region_name(c), square=True) for c in lab.base.codes)
    note = "each region keeps its colour on both maps; " + HATCH_NOTE
    return (f'<div style="{STRIP_FONT}"><b>Regions:</b> {items} '
            f"<span style='color:#808495'>({html.escape(note)})</span></div>")


def render_map(lab: Lab, state_key: str, result, *, colour_by: str, selected: str | None, basemap: str) -> None:
    """Draw the scenario (clickable) and the enacted reform side by side, and the colour key under them."""
    import folium

    from webapp.maps.figures import show, synced_maps
    from webapp.maps.script import JsCall, Json, to_json

    fig = synced_maps(basemap, bottom=6, scripts=("ra.js", "lab.js"))
    fig.m1.add_child(JsCall("LAB.base", static_data(lab), name="lab_base"))
    draw = lab.per_state(state_key, ("map", colour_by, selected),
                         lambda: Json(to_json(map_data(lab, result, colour_by=colour_by, selected=selected))))
    group = folium.FeatureGroup(name="lab", control=False)
    group.add_child(JsCall("LAB.draw", draw, name="lab_layers"))
    show(fig, [group], key=MAP_KEY, height=MAP_HEIGHT, on_change=functools.partial(on_map_click, lab))
    legend = lab.per_state(state_key, ("legend", colour_by), lambda: colour_scale(lab, result, colour_by)[2])
    st.html(legend or region_legend_html(lab))
