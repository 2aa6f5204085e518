"""The report's figures as PNG bytes: the map, the distance distributions and the flows.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with an Agg canvas
(no pyplot state); regions and settlements with :meth:`geopandas.GeoSeries.plot`
in :data:`MAP_CRS`, the flows with :func:`ausankey.sankey`. The numbers come
from :mod:`analysis.summary`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import ausankey
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.ops import polylabel

from analysis.stats import weighted_ecdf, weighted_mean
from analysis.summary import (
    affected_codes,
    centre_changes,
    changed_regions,
    new_regions,
)
from boundaries.schema import CHANGE_KM, DELTA_KM, POPULATION_EST, dist_col, region_col
from geo.crs import WGS84

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from analysis.pipeline import Analysis
    from analysis.summary import CentreChange
    from boundaries.build import BuildResult

#: Albers equal-area conic fitted to Kazakhstan (standard parallels 42° and 52° N).
MAP_CRS = "+proj=aea +lat_0=48 +lat_1=42 +lat_2=52 +lon_0=68 +datum=WGS84 +units=m +no_defs"
#: Resolution of the embedded PNG figures.
DPI = 110
_COLOURS = {"new": "#f4c98e", "reduced": "#fbe6c8", "other": "#ececec"}
_BEFORE_COLOUR, _AFTER_COLOUR, _MOVE_COLOUR = "#d9822b", "#2166ac", "#b2182b"
_EDGE, _DASH = "#8c8c8c", (0, (4, 3))
#: Colours of the regions the reform touched in the flow chart (the rest are grey).
_FLOW_PALETTE = ("#d9822b", "#2166ac", "#1b9e77", "#e7298a", "#7570b3", "#66a61e", "#a6761d")
_FLOW_GREY = "#bdbdbd"


def png(fig: Figure) -> bytes:
    """Render ``fig`` as PNG bytes (no timestamp or software tag, so output is stable)."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    fig.clear()
    return buf.getvalue()


# ---------------------------------------------------------------- map


def centre_points(build: BuildResult) -> gpd.GeoDataFrame:
    """Centres of every epoch, one row per place, in :data:`MAP_CRS`.

    Columns ``names`` (newest first), ``label`` (``Astana / Nur-Sultan``) and
    ``epochs`` (the epochs it serves); centres at the same place under different
    names share a row.
    """
    rows: dict[tuple[float, float], dict[str, Any]] = {}
    for epoch in sorted(build.regions, reverse=True):
        for r in build.regions[epoch].itertuples(index=False):
            key = (round(float(r.centre_lon), 2), round(float(r.centre_lat), 2))
            entry = rows.setdefault(
                key, {"lon": r.centre_lon, "lat": r.centre_lat, "names": [], "epochs": set()}
            )
            if r.centre_name_en not in entry["names"]:
                entry["names"].append(r.centre_name_en)
            entry["epochs"].add(epoch)
    frame = pd.DataFrame(list(rows.values()))
    points = gpd.GeoDataFrame(
        frame.assign(label=frame["names"].map(" / ".join)),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=WGS84,
    ).to_crs(MAP_CRS)
    return points.assign(x=points.geometry.x, y=points.geometry.y)


def _label_offset(i: int, xy: np.ndarray, direction: tuple[float, float] | None):
    """Offset (points) and alignment of centre ``i``'s label."""
    if direction is not None:
        dx, dy = direction
        offset = (5 if dx >= 0 else -5, 3 if dy >= 0 else -4)
        return offset, ("left" if dx >= 0 else "right"), ("bottom" if dy >= 0 else "top")
    d = np.hypot(*(xy - xy[i]).T)
    north = ((d > 0) & (d < 150_000) & (xy[:, 1] > xy[i, 1])).any()
    return ((4, -5), "left", "top") if north else ((4, 3), "left", "bottom")


def _label_centres(
    ax: Axes, centres: pd.DataFrame, emphasis: set[str], away: dict[str, tuple[float, float]]
) -> None:
    """Label centres to the upper right, below when another centre sits just north.

    ``away`` maps a centre name to a direction its label must take (away from an arrow).
    """
    xy = centres[["x", "y"]].to_numpy()
    for i, c in enumerate(centres.itertuples(index=False)):
        direction = next((away[n] for n in c.names if n in away), None)
        offset, ha, va = _label_offset(i, xy, direction)
        bold = any(n in emphasis for n in c.names)
        ax.annotate(
            c.label,
            (c.x, c.y),
            xytext=offset,
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=8 if bold else 7.5,
            fontweight="bold" if bold else "normal",
            color="#111",
            zorder=9,
            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.7},
        )


def _region_labels(
    ax: Axes, regions: gpd.GeoDataFrame, codes: pd.Series, centres: pd.DataFrame
) -> None:
    """Name regions at the pole of inaccessibility of their part clear of centre labels."""
    # roughly where each centre's marker and label sit (about 18 km per character at this scale)
    half = 18_000 * centres["label"].str.len().to_numpy() + 20_000
    keep_clear = shapely.union_all(
        shapely.box(
            centres["x"] - half, centres["y"] - 45_000, centres["x"] + half, centres["y"] + 45_000
        )
    )
    projected = regions.set_index("code").geometry.to_crs(MAP_CRS).simplify(2000).make_valid()
    names = regions.set_index("code")["name_en"]
    for code in codes:
        if code not in projected.index or projected[code].is_empty:
            continue
        free = projected[code].difference(keep_clear)
        parts = shapely.get_parts(free if not free.is_empty else projected[code])
        at = polylabel(max(parts, key=lambda g: g.area), tolerance=5_000)
        ax.text(
            at.x,
            at.y,
            names[code],
            fontsize=9,
            style="italic",
            color="#7a4300",
            ha="center",
            va="center",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.5},
        )


def delta_norm(delta: np.ndarray) -> tuple[CenteredNorm, str]:
    """Build a colour scale symmetric around 0 km.

    It reaches the 90th percentile of ``|delta|`` rounded up to 50 km; returns the
    norm and the colorbar ``extend`` value.
    """
    if delta.size == 0:
        return CenteredNorm(vcenter=0.0, halfrange=50.0), "neither"
    top = float(np.abs(delta).max())
    half = max(50.0, float(np.ceil(np.percentile(np.abs(delta), 90) / 50.0) * 50.0))
    return CenteredNorm(vcenter=0.0, halfrange=half), ("both" if top > half else "neither")


def _draw_regions(ax: Axes, analysis: Analysis) -> None:
    """Post-reform regions filled by their part in the reform; pre-reform boundaries dashed."""
    before, after = analysis.epochs
    kinds = changed_regions(analysis)
    regions = analysis.build.regions
    filled = regions[after].to_crs(MAP_CRS).simplify(1500)
    faces = [_COLOURS[kinds.get(c, "other")] for c in regions[after]["code"]]
    filled.plot(ax=ax, color=faces, edgecolor=_EDGE, linewidth=0.6, zorder=1)
    regions[before].to_crs(MAP_CRS).simplify(1500).plot(
        ax=ax, facecolor="none", edgecolor="#1a1a1a", linewidth=1.1, linestyle=_DASH, zorder=3
    )


def _draw_settlements(ax: Axes, settlements: gpd.GeoDataFrame) -> tuple[CenteredNorm, str]:
    """Settlements grey when their distance did not change, else coloured by the change."""
    points = settlements.geometry.to_crs(MAP_CRS)
    delta = settlements[DELTA_KM].to_numpy(dtype="float64")
    moved = np.isfinite(delta) & (np.abs(delta) > CHANGE_KM)
    points[~moved].plot(ax=ax, markersize=1.0, color="#7a7a7a", alpha=0.45, linewidth=0, zorder=2)
    order = np.flatnonzero(moved)[np.argsort(np.abs(delta[moved]), kind="stable")]
    norm, extend = delta_norm(delta[moved])
    gpd.GeoDataFrame({DELTA_KM: delta[order]}, geometry=points.iloc[order].to_numpy()).plot(
        ax=ax,
        column=DELTA_KM,
        cmap="RdBu_r",
        norm=norm,
        markersize=9,
        edgecolor="#3a3a3a",
        linewidth=0.25,
        zorder=4,
    )
    return norm, extend


def _draw_centres(ax: Axes, build: BuildResult, changes: list[CentreChange]) -> None:
    """Centres of both epochs, an arrow per moved centre, and labels."""
    before, after = build.spec.epochs
    centres = centre_points(build)
    _region_labels(ax, build.regions[after], new_regions(build)["code"], centres)
    serves = centres["epochs"]
    centres[serves.map(lambda e: before in e)].plot(
        ax=ax,
        marker="s",
        markersize=52,
        facecolor="none",
        edgecolor="#111",
        linewidth=1.2,
        zorder=6,
    )
    centres[serves.map(lambda e: after in e)].plot(
        ax=ax, marker="o", markersize=18, color="#111", zorder=7
    )
    at = {n: (c.x, c.y) for c in centres.itertuples(index=False) for n in c.names}
    away: dict[str, tuple[float, float]] = {}
    for c in changes:
        (x0, y0), (x1, y1) = at[c.old], at[c.new]
        arrow = {"arrowstyle": "-|>", "color": _MOVE_COLOUR, "lw": 2.0, "shrinkA": 6, "shrinkB": 6}
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=8, arrowprops=arrow)
        away[c.new], away[c.old] = (x1 - x0, y1 - y0), (x0 - x1, y0 - y1)
    emphasis = {c.old for c in changes} | {c.new for c in changes}
    _label_centres(ax, centres, emphasis | set(new_regions(build)["centre_name_en"]), away)


def _map_legend(fig: Figure, epochs: tuple[int, int], changes: list[CentreChange]) -> None:
    before, after = epochs
    moves = ", ".join(f"{c.old} → {c.new}" for c in changes) or "none"
    patches = (
        ("new", f"new region ({after})"),
        ("reduced", "region that lost territory or its centre"),
        ("other", "region not touched by the reform"),
    )
    handles = [Patch(facecolor=_COLOURS[k], edgecolor=_EDGE, label=label) for k, label in patches]
    handles += [
        Line2D([], [], color=_EDGE, lw=0.8, label=f"{after} region boundary"),
        Line2D([], [], color="#1a1a1a", lw=1.1, ls=_DASH, label=f"{before} region boundary"),
        Line2D(
            [],
            [],
            ls="none",
            marker="s",
            mfc="none",
            mec="#111",
            ms=7,
            label=f"{before} regional centre",
        ),
        Line2D(
            [], [], ls="none", marker="o", color="#111", ms=4.5, label=f"{after} regional centre"
        ),
        Line2D([], [], color=_MOVE_COLOUR, lw=2.0, label=f"centre moved: {moves}"),
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            color="#7a7a7a",
            ms=2.5,
            label=f"settlement, distance unchanged (±{CHANGE_KM} km)",
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)


def map_figure(analysis: Analysis) -> bytes:
    """Draw the map as PNG bytes.

    Post-reform regions filled (the reform's highlighted), pre-reform boundaries
    dashed, centres of both epochs with an arrow for each moved centre, settlements
    coloured by the change in distance to their own centre, in :data:`MAP_CRS`.
    """
    build = analysis.build
    xmin, ymin, xmax, ymax = build.regions[analysis.epochs[1]].to_crs(MAP_CRS).total_bounds
    fig = Figure(figsize=(11, 11 * (ymax - ymin) / (xmax - xmin) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    changes = [c for c in centre_changes(build) if c.moved_km > 1]
    _draw_regions(ax, analysis)
    norm, extend = _draw_settlements(ax, analysis.settlements)
    _draw_centres(ax, build, changes)
    ax.set_xlim(xmin - 20_000, xmax + 20_000)
    ax.set_ylim(ymin - 20_000, ymax + 20_000)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _map_legend(fig, analysis.epochs, changes)
    fig.colorbar(
        ScalarMappable(norm=norm, cmap="RdBu_r"),
        ax=ax,
        orientation="horizontal",
        fraction=0.04,
        pad=0.01,
        aspect=50,
        shrink=0.8,
        extend=extend,
        label="change in distance to regional centre, km (blue nearer, red farther)",
    )
    return png(fig)


# ---------------------------------------------------------------- distances


def _ecdf_panel(ax: Axes, group: pd.DataFrame, epochs: tuple[int, int], title: str) -> None:
    w = group[POPULATION_EST]
    for epoch, colour in zip(epochs, (_BEFORE_COLOUR, _AFTER_COLOUR), strict=True):
        d = group[dist_col(epoch)]
        x, y = weighted_ecdf(d, w)
        if not len(x):
            continue
        mean = weighted_mean(d, w)
        label = f"{epoch}: mean {mean:,.1f} km"
        ax.step(np.r_[0.0, x], np.r_[0.0, y], where="post", color=colour, lw=1.8, label=label)
        ax.axvline(mean, color=colour, lw=0.9, ls=":")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("distance to own regional centre, km")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, title="pop-weighted", title_fontsize=8)


def distance_figure(analysis: Analysis) -> bytes | None:
    """Draw population-weighted ECDFs of distance before and after, one panel per affected region.

    Returns None when no region was affected.
    """
    codes = affected_codes(analysis)
    if not codes:
        return None
    before = analysis.epochs[0]
    names = dict(
        zip(*(analysis.build.regions[before][c] for c in ("code", "name_en")), strict=True)
    )
    s = analysis.settlements
    fig = Figure(figsize=(11, 3.7), layout="constrained")
    axes = fig.subplots(1, len(codes), sharey=True, squeeze=False)[0]
    for ax, code in zip(axes, codes, strict=True):
        title = f"{names.get(code, code)} ({before} borders)"
        _ecdf_panel(ax, s[s[region_col(before)] == code], analysis.epochs, title)
    axes[0].set_ylabel("share of population within distance")
    return png(fig)


# ---------------------------------------------------------------- flows


def flow_colours(analysis: Analysis, nodes: pd.DataFrame) -> dict[str, str]:
    """Node key → colour: one colour per region the reform touched (same in both epochs), grey else."""
    touched = sorted(set(changed_regions(analysis)) | set(affected_codes(analysis)))
    palette = dict(
        zip(touched, _FLOW_PALETTE * (len(touched) // len(_FLOW_PALETTE) + 1), strict=False)
    )
    return {
        k: palette.get(code, _FLOW_GREY)
        for k, code in zip(nodes["key"], nodes["code"], strict=True)
    }


def flow_figure(analysis: Analysis) -> bytes | None:
    """Draw the population flows between the regions of both epochs as an alluvial (Sankey) chart.

    Bands are the rows of :attr:`~analysis.pipeline.Analysis.shifts` with people in
    them, as wide as their population; regions the reform touched are coloured.
    Returns None when no flow carries people.
    """
    before, after = analysis.epochs
    f = analysis.shifts[analysis.shifts["population"] > 0]
    if f.empty:
        return None
    # ausankey stacks the first row at the bottom: reverse so the smallest code is on top
    f = f.sort_values([region_col(before), region_col(after)], ascending=False)
    names = {
        e: dict(zip(r["code"], r["name_en"], strict=True))
        for e, r in analysis.build.regions.items()
    }
    nodes = pd.DataFrame(
        [
            {"key": f"{e}:{c}", "code": c, "label": f"{c} {names[e].get(c, '')}".strip()}
            for e in (before, after)
            for c in dict.fromkeys(f[region_col(e)])
        ]
    )
    people = f["population"].to_numpy(dtype="float64") / 1e3
    data = pd.DataFrame(
        {
            "from": [f"{before}:{c}" for c in f[region_col(before)]],
            "from_k": people,
            "to": [f"{after}:{c}" for c in f[region_col(after)]],
            "to_k": people,
        }
    )
    fig = Figure(figsize=(11, 0.3 * len(nodes) / 2 + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ausankey.sankey(
        data,
        ax=ax,
        sort="none",
        titles=[f"Regions of {before}", f"Regions of {after}"],
        color_dict=flow_colours(analysis, nodes),
        label_dict=dict(zip(nodes["key"], nodes["label"], strict=True)),
        label_values=True,
        value_fn=lambda k: f" ({k:,.0f}k)",
        value_loc="none",
        label_width=0.22,
        node_gap=0.012,
        flow_alpha=0.55,
        fontsize=8,
        valign="top",
    )
    return png(fig)


# ---------------------------------------------------------------- official series


def series_figure(series: pd.DataFrame, names: dict[str, str], *, marks: tuple[int, ...]) -> bytes:
    """Draw the official population of each region by year, one small panel per region.

    ``series`` is the BNS regional series (long form: ``region``, ``year``,
    ``population``; the national row ``KZ`` is left out); each region is drawn in the
    years it existed, in the borders of each date. ``marks`` are reform years drawn
    as dotted lines.
    """
    regions = series[series["region"] != "KZ"].dropna(subset=["population"])
    codes = sorted(regions["region"].unique())
    cols = 5
    rows = -(-len(codes) // cols)
    fig = Figure(figsize=(11, 1.7 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel()
    for ax, code in zip(axes, codes, strict=False):
        part = regions[regions["region"] == code].sort_values("year")
        ax.plot(
            part["year"],
            part["population"].astype("float64") / 1e6,
            color=_AFTER_COLOUR,
            lw=1.5,
            marker=".",
            ms=3,
        )
        for year in marks:
            ax.axvline(year, color=_MOVE_COLOUR, lw=0.8, ls=":")
        ax.set_title(f"{code} {names.get(code, '')}".strip(), fontsize=8)
        ax.set_ylim(bottom=0)  # from zero: a region's size reads at a glance
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(codes) :]:
        ax.set_axis_off()
    fig.supylabel("population on 1 January, millions", fontsize=8)
    return png(fig)
