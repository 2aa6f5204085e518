"""The analysis written up: a self-contained ``report.html`` and a ``report.md``.

Both files are rendered from one list of blocks (headings, paragraphs, quotes,
bullet lists, tables and figures) built by :func:`report_blocks`, so they carry
the same content; the Markdown file names the figures but does not embed them.

The HTML opens offline: styles are inline and figures are matplotlib PNGs
embedded as ``data:`` URIs. Figures are drawn on :class:`matplotlib.figure.Figure`
objects (Agg canvas, no pyplot and no global state).

Nothing here changes the :class:`~analysis.pipeline.Analysis` it is given.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from pyproj import Transformer
from shapely.ops import polylabel

import analysis.population as population_module
from analysis.assign import MAX_NEAREST_KM
from geo.distance import geodesic_km

if TYPE_CHECKING:
    import geopandas as gpd

    from analysis.pipeline import Analysis
    from boundaries.build import BuildResult

#: Albers equal-area conic fitted to Kazakhstan (standard parallels 42° and 52° N).
MAP_CRS = "+proj=aea +lat_0=48 +lat_1=42 +lat_2=52 +lon_0=68 +datum=WGS84 +units=m +no_defs"
#: Resolution of the embedded PNG figures.
DPI = 110
#: A trip counts as shorter or longer when it changes by more than this (km), as in
#: :func:`analysis.stats.affected_regions`.
CHANGE_KM = 0.5
#: Quotes of the address of 16 March 2022 answered by the report.
QUOTE_PLACES = "It is not easy to solve problems of Uzynagash or Talgar from Taldykorgan"
QUOTE_DISTANCE = "People have to travel long distances to get to the centre of the region"
#: Places of :data:`analysis.pipeline.CLAIM_PLACES` the first quote names.
QUOTED_PLACES = ("Uzynagash", "Talgar")
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_COLOURS = {"new": "#f4c98e", "reduced": "#fbe6c8", "other": "#ececec"}
_BEFORE_COLOUR, _AFTER_COLOUR, _MOVE_COLOUR = "#d9822b", "#2166ac", "#b2182b"


# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 is the title)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Plain text; ``**bold**`` is the only markup."""

    text: str


@dataclass(frozen=True)
class Quote:
    """A quotation and where it comes from."""

    text: str
    source: str


@dataclass(frozen=True)
class Bullets:
    """A bullet list; items take the same markup as :class:`Paragraph`."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells.

    ``numeric`` marks right-aligned columns, ``highlight`` the rows to stand out
    and ``total`` an optional closing row.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    highlight: tuple[bool, ...] = ()
    total: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Chart:
    """A PNG figure with its caption and alternative text."""

    png: bytes
    caption: str
    alt: str


Block = Heading | Paragraph | Quote | Bullets | Table | Chart


# ---------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def fmt_int(value: Any) -> str:
    """Whole number with thousands separators (``–`` when missing)."""
    return "–" if _missing(value) else f"{float(value):,.0f}"


def fmt_km(value: Any) -> str:
    """Distance in km with one decimal (``–`` when missing)."""
    return "–" if _missing(value) else f"{float(value):,.1f}"


def fmt_delta(value: Any) -> str:
    """Signed change in km with one decimal (``–`` when missing)."""
    if _missing(value):
        return "–"
    return "0.0" if abs(float(value)) < 0.05 else f"{float(value):+,.1f}"


def fmt_pct(value: Any) -> str:
    """Format a share as a percentage with one decimal (``–`` when missing)."""
    return "–" if _missing(value) else f"{float(value):.1%}"


def fmt_date(iso: str) -> str:
    """``2022-03-16`` → ``16 March 2022`` (locale independent)."""
    day = dt.date.fromisoformat(str(iso))
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


# ---------------------------------------------------------------- small helpers


def region_names(build: BuildResult) -> dict[int, dict[str, str]]:
    """Epoch → region code → English name."""
    return {e: dict(zip(r["code"], r["name_en"], strict=True)) for e, r in build.regions.items()}


def region_label(code: Any, names: dict[str, str]) -> str:
    """``KZ-19 Almaty Region``; ``unassigned`` for a missing code."""
    if _missing(code) or code == "unassigned":
        return "unassigned"
    name = names.get(str(code))
    return f"{code} {name}" if name else str(code)


def settlement_label(row: dict[str, Any]) -> str:
    """Settlement name with its English form in parentheses when it differs."""
    name, name_en = _text(row.get("name")), _text(row.get("name_en"))
    if name_en and name_en != name:
        return f"{name} ({name_en})"
    return name or name_en or "?"


def weighted_quantile(
    values: Sequence[float] | pd.Series, weights: Sequence[float] | pd.Series, q: float
) -> float:
    """Weighted quantile ``q`` of ``values`` (NaN and non-positive weights ignored)."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    if not ok.any():
        return float("nan")
    order = np.argsort(v[ok], kind="stable")
    v, w = v[ok][order], w[ok][order]
    cum = np.cumsum(w) / w.sum()
    return float(v[min(int(np.searchsorted(cum, q)), len(v) - 1)])


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Mean of ``values`` weighted by ``weights`` (NaN and non-positive weights ignored)."""
    v, w = values.to_numpy(dtype="float64"), weights.to_numpy(dtype="float64")
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")


def weighted_ecdf(values: pd.Series, weights: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the cumulative share of weight at each (for a step plot)."""
    v, w = values.to_numpy(dtype="float64"), weights.to_numpy(dtype="float64")
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    order = np.argsort(v[ok], kind="stable")
    v, w = v[ok][order], w[ok][order]
    total = w.sum()
    return v, (np.cumsum(w) / total if total else np.zeros_like(w))


def distance_verdict(delta: Any) -> str:
    """Words for a change in distance (km)."""
    if _missing(delta):
        return "no distance (unassigned)"
    d = float(delta)
    if abs(d) < 0.05:
        return "unchanged"
    if abs(d) <= CHANGE_KM:
        return f"slightly {'farther' if d > 0 else 'nearer'} ({fmt_delta(d)} km)"
    return f"{'farther' if d > 0 else 'nearer'} by {abs(d):,.1f} km"


def affected_codes(analysis: Analysis) -> list[str]:
    """Pre-reform regions where some settlement's centre changed."""
    col = f"region_{analysis.epochs[0]}"
    return [] if analysis.affected.empty else [str(c) for c in analysis.affected[col]]


def changed_regions(analysis: Analysis) -> dict[str, str]:
    """Post-reform region code → ``"new"`` or ``"reduced"`` for regions touched by the reform."""
    before, after = analysis.epochs
    old = set(analysis.build.regions[before]["code"])
    cw = analysis.build.crosswalk
    touched = cw.loc[cw[f"region_{before}"].isin(affected_codes(analysis)), f"region_{after}"]
    return {str(c): ("reduced" if c in old else "new") for c in sorted(set(touched))}


@dataclass(frozen=True)
class CentreChange:
    """A region present in both epochs whose centre changed place or name."""

    code: str
    region: str
    old: str
    new: str
    former_name: str | None
    moved_km: float


def centre_changes(build: BuildResult) -> list[CentreChange]:
    """Regions of both epochs whose centre moved (or was renamed, ``moved_km`` ≈ 0)."""
    before, after = build.spec.epochs
    old = build.regions[before].set_index("code")
    out = []
    for r in build.regions[after].itertuples(index=False):
        if r.code not in old.index:
            continue
        o = old.loc[r.code]
        if o["centre_name_en"] == r.centre_name_en:
            continue
        km = float(
            geodesic_km([o["centre_lon"]], [o["centre_lat"]], [r.centre_lon], [r.centre_lat])[0]
        )
        former = build.spec.centre_of(r.code, epoch=after).former_name_en
        out.append(
            CentreChange(r.code, r.name_en, o["centre_name_en"], r.centre_name_en, former, km)
        )
    return out


def new_regions(build: BuildResult) -> pd.DataFrame:
    """Post-reform regions absent before, with centre and parent region."""
    before, after = build.spec.epochs
    regions = build.regions[after]
    fresh = regions[~regions["code"].isin(build.regions[before]["code"])]
    out = pd.DataFrame(fresh[["code", "name_en", "centre_name_en"]])
    return out.assign(parent=[build.spec.parent_of(c) for c in out["code"]])


def top_lists(analysis: Analysis) -> pd.DataFrame:
    """Winners and losers with gainers strictly nearer and losers strictly farther."""
    wl = analysis.winners_losers
    if wl.empty:
        return wl
    keep = ((wl["kind"] == "gainer") & (wl["delta_km"] < -CHANGE_KM)) | (
        (wl["kind"] == "loser") & (wl["delta_km"] > CHANGE_KM)
    )
    return pd.DataFrame(wl[keep]).reset_index(drop=True)


# ---------------------------------------------------------------- figures


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    fig.clear()
    return buf.getvalue()


def polygon_path(geom: shapely.Geometry) -> MplPath | None:
    """Convert a (multi)polygon with holes to a matplotlib path; None when empty."""
    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if not isinstance(poly, shapely.Polygon) or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 4:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    return MplPath(np.concatenate(verts), np.concatenate(codes)) if verts else None


def _projected(regions: gpd.GeoDataFrame, tolerance_m: float = 1500) -> list[MplPath | None]:
    geoms = regions.geometry.to_crs(MAP_CRS).simplify(tolerance_m)
    return [polygon_path(g) for g in geoms]


def _centre_points(build: BuildResult) -> pd.DataFrame:
    """Centres of both epochs, one row per place: label, x, y (map CRS), names and epochs served.

    Centres at the same place under different names (Nur-Sultan, Astana) share a
    row labelled with the newest name first.
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
    x, y = Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True).transform(
        frame["lon"].to_numpy(), frame["lat"].to_numpy()
    )
    return frame.assign(label=frame["names"].map(" / ".join), x=x, y=y)


def _label_centres(
    ax: Any, centres: pd.DataFrame, emphasis: set[str], away: dict[str, tuple[float, float]]
) -> None:
    """Label centres to the upper right, below when another centre sits just north.

    ``away`` maps a centre name to a direction its label must take (away from an arrow).
    """
    xy = centres[["x", "y"]].to_numpy()
    for i, c in enumerate(centres.itertuples(index=False)):
        direction = next((away[n] for n in c.names if n in away), None)
        if direction is not None:
            dx, dy = direction
            offset = (5 if dx >= 0 else -5, 3 if dy >= 0 else -4)
            ha, va = ("left" if dx >= 0 else "right"), ("bottom" if dy >= 0 else "top")
        else:
            d = np.hypot(*(xy - xy[i]).T)
            north = ((d > 0) & (d < 150_000) & (xy[:, 1] > c.y)).any()
            offset, ha, va = ((4, -5), "left", "top") if north else ((4, 3), "left", "bottom")
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
    ax: Any, regions: gpd.GeoDataFrame, codes: Iterable[str], centres: pd.DataFrame
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


def _delta_norm(delta: np.ndarray) -> tuple[CenteredNorm, str]:
    """Build a colour scale symmetric around 0 km.

    It reaches the 90th percentile of ``|delta|`` rounded up to 50 km; returns the
    norm and the colorbar ``extend`` value.
    """
    if delta.size == 0:
        return CenteredNorm(vcenter=0.0, halfrange=50.0), "neither"
    top = float(np.abs(delta).max())
    half = max(50.0, float(np.ceil(np.percentile(np.abs(delta), 90) / 50.0) * 50.0))
    return CenteredNorm(vcenter=0.0, halfrange=half), ("both" if top > half else "neither")


def map_figure(analysis: Analysis) -> bytes:
    """Draw the map as PNG bytes.

    2024 regions filled (the reform's highlighted), 2018 boundaries dashed, centres
    of both epochs with an arrow for each moved centre, settlements coloured by the
    change in distance to their own centre, in :data:`MAP_CRS`.
    """
    build = analysis.build
    before, after = analysis.epochs
    kinds = changed_regions(analysis)
    after_regions = build.regions[after]
    xmin, ymin, xmax, ymax = after_regions.to_crs(MAP_CRS).total_bounds
    fig = Figure(figsize=(11, 11 * (ymax - ymin) / (xmax - xmin) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    paths = _projected(after_regions)
    faces = [_COLOURS[kinds.get(c, "other")] for c in after_regions["code"]]
    ax.add_collection(
        PatchCollection(
            [PathPatch(p) for p in paths if p is not None],
            facecolors=[f for f, p in zip(faces, paths, strict=True) if p is not None],
            edgecolors="#8c8c8c",
            linewidths=0.6,
            zorder=1,
        )
    )
    old_paths = [p for p in _projected(build.regions[before]) if p is not None]
    ax.add_collection(
        PatchCollection(
            [PathPatch(p) for p in old_paths],
            facecolors="none",
            edgecolors="#1a1a1a",
            linewidths=1.1,
            linestyles=(0, (4, 3)),
            zorder=3,
        )
    )

    pts = analysis.settlements.geometry.to_crs(MAP_CRS)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    delta = analysis.settlements["delta_km"].to_numpy(dtype="float64")
    moved = np.isfinite(delta) & (np.abs(delta) > CHANGE_KM)
    ax.scatter(x[~moved], y[~moved], s=1.0, c="#7a7a7a", alpha=0.45, linewidths=0, zorder=2)
    order = np.flatnonzero(moved)[np.argsort(np.abs(delta[moved]), kind="stable")]
    norm, extend = _delta_norm(delta[moved])
    ax.scatter(
        x[order],
        y[order],
        s=9,
        c=delta[order],
        cmap="RdBu_r",
        norm=norm,
        edgecolors="#3a3a3a",
        linewidths=0.25,
        zorder=4,
    )

    centres = _centre_points(build)
    _region_labels(ax, after_regions, new_regions(build)["code"], centres)
    in_before = centres["epochs"].map(lambda e: before in e).to_numpy()
    in_after = centres["epochs"].map(lambda e: after in e).to_numpy()
    ax.scatter(
        centres["x"][in_before],
        centres["y"][in_before],
        s=52,
        marker="s",
        facecolors="none",
        edgecolors="#111",
        linewidths=1.2,
        zorder=6,
    )
    ax.scatter(centres["x"][in_after], centres["y"][in_after], s=18, marker="o", c="#111", zorder=7)
    changes = [c for c in centre_changes(build) if c.moved_km > 1]
    at = {n: (c.x, c.y) for c in centres.itertuples(index=False) for n in c.names}
    away: dict[str, tuple[float, float]] = {}
    for c in changes:
        (x0, y0), (x1, y1) = at[c.old], at[c.new]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            zorder=8,
            arrowprops={
                "arrowstyle": "-|>",
                "color": _MOVE_COLOUR,
                "lw": 2.0,
                "shrinkA": 6,
                "shrinkB": 6,
            },
        )
        away[c.new], away[c.old] = (x1 - x0, y1 - y0), (x0 - x1, y0 - y1)
    emphasis = (
        {c.old for c in changes}
        | {c.new for c in changes}
        | set(new_regions(build)["centre_name_en"])
    )
    _label_centres(ax, centres, emphasis, away)

    ax.set_xlim(xmin - 20_000, xmax + 20_000)
    ax.set_ylim(ymin - 20_000, ymax + 20_000)
    ax.set_aspect("equal")
    ax.set_axis_off()
    moves_text = ", ".join(f"{c.old} → {c.new}" for c in changes) or "none"
    handles = [
        Patch(facecolor=_COLOURS["new"], edgecolor="#8c8c8c", label=f"new region ({after})"),
        Patch(
            facecolor=_COLOURS["reduced"],
            edgecolor="#8c8c8c",
            label="region that lost territory or its centre",
        ),
        Patch(
            facecolor=_COLOURS["other"],
            edgecolor="#8c8c8c",
            label="region not touched by the reform",
        ),
        Line2D([], [], color="#8c8c8c", lw=0.8, label=f"{after} region boundary"),
        Line2D([], [], color="#1a1a1a", lw=1.1, ls=(0, (4, 3)), label=f"{before} region boundary"),
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
        Line2D([], [], color=_MOVE_COLOUR, lw=2.0, label=f"centre moved: {moves_text}"),
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
    return _png(fig)


def distance_figure(analysis: Analysis) -> bytes | None:
    """Draw population-weighted ECDFs of distance before and after, one panel per affected region.

    Returns None when no region was affected.
    """
    codes = affected_codes(analysis)
    if not codes:
        return None
    before, after = analysis.epochs
    names = region_names(analysis.build)[before]
    s = analysis.settlements
    fig = Figure(figsize=(11, 3.7), layout="constrained")
    axes = fig.subplots(1, len(codes), sharey=True, squeeze=False)[0]
    for ax, code in zip(axes, codes, strict=True):
        g = s[s[f"region_{before}"] == code]
        w = g["population_est"]
        for epoch, colour in ((before, _BEFORE_COLOUR), (after, _AFTER_COLOUR)):
            x, y = weighted_ecdf(g[f"dist_{epoch}_km"], w)
            if len(x):
                ax.step(
                    np.r_[0.0, x],
                    np.r_[0.0, y],
                    where="post",
                    color=colour,
                    lw=1.8,
                    label=f"{epoch}: mean {weighted_mean(g[f'dist_{epoch}_km'], w):,.1f} km",
                )
                ax.axvline(weighted_mean(g[f"dist_{epoch}_km"], w), color=colour, lw=0.9, ls=":")
        ax.set_title(f"{names.get(code, code)} ({before} borders)", fontsize=10)
        ax.set_xlabel("distance to own regional centre, km")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8, title="pop-weighted", title_fontsize=8)
    axes[0].set_ylabel("share of population within distance")
    return _png(fig)


# ---------------------------------------------------------------- sections


def intro_section(analysis: Analysis) -> list[Block]:
    """Title, what the reform did and when."""
    spec, build = analysis.build.spec, analysis.build
    before, after = analysis.epochs
    meta = dict(spec.meta)
    blocks: list[Block] = [Heading(meta.get("title", spec.title) or "Regional reform", 1)]
    names = region_names(build)[before]
    did = [
        f"{r.name_en} (centre {r.centre_name_en}, from {names.get(r.parent, r.parent)})"
        for r in new_regions(build).itertuples()
    ]
    changes = centre_changes(build)
    moved = [
        f"the centre of {c.region} from {c.old} to "
        f"{c.new}{f' (formerly {c.former_name})' if c.former_name else ''}, {c.moved_km:,.1f} km "
        "away"
        for c in changes
        if c.moved_km > 1
    ]
    renamed = [f"{c.old} was renamed {c.new}" for c in changes if c.moved_km <= 1]
    sentences = [f"This report compares the regions of {before} and {after}."]
    if did:
        sentences.append(f"The reform created {_join(did)}.")
    if moved:
        sentences.append(f"It moved {_join(moved)}.")
    if renamed:
        sentences.append(f"Between the two epochs, in the same place, {_join(renamed)}.")
    text = " ".join(sentences)
    blocks.append(Paragraph(text))
    dates = [
        f"{label}: **{fmt_date(meta[key])}**{extra}"
        for key, label, extra in (
            ("proposed", "Proposed in the President's address", ""),
            ("enacted", "Decree signed", f" ({meta['source']})" if meta.get("source") else ""),
            ("in_force", "In force", ""),
        )
        if meta.get(key)
    ]
    if dates:
        blocks.append(Bullets(tuple(dates)))
    src = analysis.settlement_source
    blocks.append(
        Paragraph(
            f"Data used: boundaries from {build.sources.description}; settlements from "
            f"{src.description}. Sources, licences and method are at the end of the report."
        )
    )
    return blocks


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _affected_frame(analysis: Analysis) -> pd.DataFrame:
    before = analysis.epochs[0]
    s = analysis.settlements
    return pd.DataFrame(s[s[f"region_{before}"].isin(affected_codes(analysis))])


def summary_section(analysis: Analysis) -> list[Block]:
    """Key numbers in a few bullets."""
    before, after = analysis.epochs
    c, p, s = analysis.counts, analysis.population, analysis.settlements
    n = {e: len(r) for e, r in analysis.build.regions.items()}
    items = [
        f"{len(s):,} settlements, {fmt_int(p['population_total'])} people "
        f"({fmt_pct(p['known_share'])} from known counts, the rest estimated).",
        f"{n[before]} regions in {before}, {n[after]} in {after}; {c.get('changed_region', 0):,} "
        "settlements changed region.",
    ]
    g = _affected_frame(analysis)
    if len(g):
        w = g["population_est"]
        items.append(
            "In the regions the reform touched, the population-weighted mean straight-line "
            "distance to the regional centre fell from "
            f"**{fmt_km(weighted_mean(g[f'dist_{before}_km'], w))} km** to "
            f"**{fmt_km(weighted_mean(g[f'dist_{after}_km'], w))} km**."
        )
    items.append(
        f"{c.get('farther_than_other_centre', 0):,} settlements are farther from their own "
        f"{after} regional centre than from another region's centre."
    )
    return [Heading("Summary"), Bullets(tuple(items))]


def _population_text(row: dict[str, Any]) -> str:
    """``pop. 65,356`` for a known count, ``pop. ≈449 (estimate)`` otherwise."""
    if not _missing(row.get("population")):
        return f"pop. {fmt_int(row['population'])}"
    return f"pop. ≈{fmt_int(row.get('population_est'))} (estimate)"


def claims_table_block(analysis: Analysis) -> Table:
    """Tabulate the claim places: distance to the centre before and after."""
    before, after = analysis.epochs
    names = region_names(analysis.build)
    rows, highlight = [], []
    for r in analysis.claims.to_dict("records"):
        if not r.get("found"):
            rows.append((r["place"], "not found in the settlement source", *("–",) * 8))
            highlight.append(False)
            continue
        nearest, nearest_km = (
            _text(r.get(f"nearest_centre_{after}")),
            r.get(f"nearest_centre_{after}_km"),
        )
        own = _text(r.get(f"centre_{after}"))
        rows.append(
            (
                r["place"],
                f"{_text(r.get('name'))}, {_population_text(r)}",
                f"{region_label(r.get(f'region_{before}'), names[before])} → "
                f"{region_label(r.get(f'region_{after}'), names[after])}",
                _text(r.get(f"centre_{before}")),
                fmt_km(r.get(f"dist_{before}_km")),
                own,
                fmt_km(r.get(f"dist_{after}_km")),
                fmt_delta(r.get("delta_km")),
                distance_verdict(r.get("delta_km")),
                f"{nearest} {fmt_km(nearest_km)}" if nearest and nearest != own else "own centre",
            )
        )
        highlight.append(_missing(r.get("delta_km")) or float(r["delta_km"]) > -CHANGE_KM)
    return Table(
        (
            "Place",
            "Settlement in data",
            f"Region {before} → {after}",
            f"Centre {before}",
            "km",
            f"Centre {after}",
            "km",
            "Change, km",
            "Verdict",
            f"Nearest {after} centre, km",
        ),
        tuple(rows),
        caption="Places named in or around the address: geodesic distance to the regional centre "
        "(highlighted: no gain)",
        numeric=(False, False, False, False, True, False, True, True, False, False),
        highlight=tuple(highlight),
    )


def _claim_sentence(
    r: dict[str, Any], *, before: int, after: int, names: dict[int, dict[str, str]]
) -> str:
    text = (
        f"{r['place']}: {distance_verdict(r.get('delta_km'))} — "
        f"{fmt_km(r.get(f'dist_{before}_km'))} km to {_text(r.get(f'centre_{before}'))} before, "
        f"{fmt_km(r.get(f'dist_{after}_km'))} km to {_text(r.get(f'centre_{after}'))} after"
    )
    rb, ra = r.get(f"region_{before}"), r.get(f"region_{after}")
    if rb != ra:
        text += (
            f"; it moved from {names[before].get(rb, rb)} to {names[after].get(ra, ra)}, whose "
            f"centre is {_text(r.get(f'centre_{after}'))}"
        )
    nearest, nearest_km = (
        _text(r.get(f"nearest_centre_{after}")),
        r.get(f"nearest_centre_{after}_km"),
    )
    if nearest and nearest != _text(r.get(f"centre_{after}")):
        text += f"; its nearest centre is {nearest}, {fmt_km(nearest_km)} km, in another region"
    return text + "."


def claims_section(analysis: Analysis) -> list[Block]:
    """Answer each of the address's claims with the numbers."""
    before, after = analysis.epochs
    names = region_names(analysis.build)
    meta = dict(analysis.build.spec.meta)
    source = "Address of the President of Kazakhstan" + (
        f", {fmt_date(meta['proposed'])}" if meta.get("proposed") else ""
    )
    claims = {r["place"]: r for r in analysis.claims.to_dict("records")}
    blocks: list[Block] = [Heading("The address's claims, checked"), Quote(QUOTE_PLACES, source)]

    quoted = [claims[p] for p in QUOTED_PLACES if p in claims and claims[p].get("found")]
    if quoted:
        gains = all(
            not _missing(r.get("delta_km")) and float(r["delta_km"]) < -CHANGE_KM for r in quoted
        )
        head = (
            "**Supported.** "
            if gains and len(quoted) == len(QUOTED_PLACES)
            else "**Not fully supported by these data.** "
        )
        blocks.append(
            Paragraph(
                head
                + " ".join(
                    _claim_sentence(r, before=before, after=after, names=names) for r in quoted
                )
            )
        )
    else:
        blocks.append(
            Paragraph(
                "Neither Uzynagash nor Talgar was found in the settlement source, so this claim "
                "cannot be checked with these data."
            )
        )

    blocks.append(Quote(QUOTE_DISTANCE, source))
    blocks.extend(_distance_claim(analysis))
    blocks.append(claims_table_block(analysis))
    blocks.append(
        Paragraph(
            "Distances are straight-line geodesic distances, not road distances or travel times; "
            "they show where the centre is, not how long the trip takes."
        )
    )
    return blocks


def _distance_claim(analysis: Analysis) -> list[Block]:
    before, after = analysis.epochs
    names = region_names(analysis.build)[before]
    aff = analysis.affected
    if aff.empty:
        return [
            Paragraph(
                "No settlement's regional centre changed, so the reform did not change any "
                "distance."
            )
        ]
    g = _affected_frame(analysis)
    w = g["population_est"]
    mb, ma = weighted_mean(g[f"dist_{before}_km"], w), weighted_mean(g[f"dist_{after}_km"], w)
    verdict = "**Supported on average.** " if ma < mb else "**Not supported on average.** "
    items = tuple(
        f"{names.get(r[f'region_{before}'], r[f'region_{before}'])}: "
        f"{fmt_km(r[f'pop_weighted_mean_{before}_km'])} km → "
        f"{fmt_km(r[f'pop_weighted_mean_{after}_km'])} km; {fmt_pct(r['share_pop_nearer'])} of "
        f"the people nearer, {fmt_pct(r['share_pop_farther'])} farther, "
        f"{fmt_pct(r['share_pop_unchanged'])} unchanged"
        for r in aff.to_dict("records")
    )
    blocks: list[Block] = [
        Paragraph(
            f"{verdict}In the {len(aff)} pre-reform regions whose centres changed "
            f"({_join([names.get(c, c) for c in affected_codes(analysis)])}; {fmt_int(w.sum())} "
            "people), the population-weighted mean distance to the own regional centre went from "
            f"**{fmt_km(mb)} km** to **{fmt_km(ma)} km**:"
        ),
        Bullets(items),
    ]
    claims = analysis.claims.to_dict("records")
    exceptions = [
        r
        for r in claims
        if r.get("found") and (_missing(r.get("delta_km")) or float(r["delta_km"]) > -CHANGE_KM)
    ]
    if exceptions:
        rnames = region_names(analysis.build)
        blocks.append(
            Paragraph(
                "Not everyone gained. "
                + " ".join(
                    _claim_sentence(r, before=before, after=after, names=rnames) for r in exceptions
                )
            )
        )
    s = analysis.settlements
    far = int(
        analysis.counts.get("farther_than_other_centre", int(s["farther_than_other_centre"].sum()))
    )
    assigned = int(s[f"region_{after}"].notna().sum())
    in_aff = int(g["farther_than_other_centre"].sum())
    blocks.append(
        Paragraph(
            f"After the reform, **{far:,}** of {assigned:,} assigned settlements "
            f"({fmt_pct(far / assigned if assigned else np.nan)}) are farther from their own "
            f"{after} regional centre than from another region's centre ({in_aff:,} of them in "
            "the regions the reform touched): for them the centre that serves them is not the "
            "nearest one."
        )
    )
    return blocks


def distribution_section(analysis: Analysis) -> list[Block]:
    """ECDF figure and a table of weighted distance quantiles per affected region."""
    before, after = analysis.epochs
    codes = affected_codes(analysis)
    blocks: list[Block] = [Heading("Distance to the regional centre, before and after")]
    png = distance_figure(analysis)
    if png is None:
        return [*blocks, Paragraph("No region's centre changed; there is nothing to compare.")]
    blocks.append(
        Chart(
            png,
            "Population-weighted cumulative distribution of each settlement's distance to its "
            f"own regional centre, {before} vs {after}, for the pre-reform regions whose centres "
            "changed (dotted lines: weighted means).",
            "Cumulative distance distributions before and after, per affected region",
        )
    )
    names = region_names(analysis.build)[before]
    s, rows = analysis.settlements, []
    for code in codes:
        g = s[s[f"region_{before}"] == code]
        w = g["population_est"]
        cells = [region_label(code, names), f"{len(g):,}"]
        for stat in ("median", "p90", "within100"):
            for epoch in (before, after):
                d = g[f"dist_{epoch}_km"]
                if stat == "within100":
                    ok = d.notna() & w.notna()
                    total = w[ok].sum()
                    cells.append(fmt_pct(w[ok & (d <= 100)].sum() / total if total else np.nan))
                else:
                    cells.append(fmt_km(weighted_quantile(d, w, 0.5 if stat == "median" else 0.9)))
        rows.append(tuple(cells))
    blocks.append(
        Table(
            (
                "Region (pre-reform borders)",
                "Settlements",
                f"Median {before}, km",
                f"Median {after}, km",
                f"90th pct {before}, km",
                f"90th pct {after}, km",
                f"Within 100 km {before}",
                f"Within 100 km {after}",
            ),
            tuple(rows),
            caption="Population-weighted distance quantiles and share of people within 100 km",
            numeric=(False, *(True,) * 7),
        )
    )
    return blocks


def conservation(analysis: Analysis) -> dict[str, Any]:
    """Totals of the flow table against totals over settlements and regions, with pass flags.

    Population and area agree when within 0.5 people and 0.01 % of the area.
    """
    before, after = analysis.epochs
    f, s = analysis.shifts, analysis.settlements
    if "abroad" in s:  # places abroad are listed but in no flow (official control)
        s = s[~s["abroad"].astype(bool)]
    area = {e: float(r["area_km2"].sum()) for e, r in analysis.build.regions.items()}
    flows_area = float(f["area_km2"].sum())
    out = {
        "settlements": len(s),
        "flow_settlements": int(f["settlements"].sum()),
        "unassigned": int(f.loc[f[f"region_{before}"] == "unassigned", "settlements"].sum()),
        "population": float(s["population_est"].sum()),
        "flow_population": float(f["population"].sum()),
        "area_flows": flows_area,
        "area_before": area[before],
        "area_after": area[after],
    }
    out["settlements_ok"] = out["flow_settlements"] == out["settlements"]
    out["population_ok"] = abs(out["flow_population"] - out["population"]) < 0.5
    out["area_ok"] = all(abs(flows_area - a) <= 1e-4 * a for a in (area[before], area[after]))
    return out


def flows_section(analysis: Analysis) -> list[Block]:
    """Tabulate settlements, population and area flowing between regions, with totals."""
    before, after = analysis.epochs
    names = region_names(analysis.build)
    f = analysis.shifts
    rows = tuple(
        (
            region_label(r[f"region_{before}"], names[before]),
            region_label(r[f"region_{after}"], names[after]),
            f"{int(r['settlements']):,}",
            fmt_int(r["population"]),
            f"{fmt_int(r['population_low'])}–{fmt_int(r['population_high'])}",
            fmt_int(r["area_km2"]),
            "yes" if r["changed"] else "",
        )
        for r in f.to_dict("records")
    )
    total = (
        "**Total**",
        "",
        f"{int(f['settlements'].sum()):,}",
        fmt_int(f["population"].sum()),
        f"{fmt_int(f['population_low'].sum())}–{fmt_int(f['population_high'].sum())}",
        fmt_int(f["area_km2"].sum()),
        "",
    )
    c = conservation(analysis)

    def eq(ok: bool) -> str:
        return "=" if ok else "≠"

    passed = c["settlements_ok"] and c["population_ok"] and c["area_ok"]
    check = (
        f"Conservation check ({'passed' if passed else 'FAILED'}): settlements in the table "
        f"{c['flow_settlements']:,} {eq(c['settlements_ok'])} {c['settlements']:,} analysed "
        f"(including {c['unassigned']:,} unassigned, kept and listed); population "
        f"{fmt_int(c['flow_population'])} {eq(c['population_ok'])} {fmt_int(c['population'])} "
        f"summed over settlements (known counts plus estimates); area {fmt_int(c['area_flows'])} "
        f"km² {eq(c['area_ok'])} the {before} regions ({fmt_int(c['area_before'])} km²) and the "
        f"{after} regions ({fmt_int(c['area_after'])} km²)."
    )
    return [
        Heading("Population flows between regions"),
        Paragraph(
            f"Each row is a pair (region in {before}, region in {after}); highlighted rows "
            "changed region. Population is known counts plus estimates, with the interquartile "
            "band of the estimates."
        ),
        Table(
            (
                f"From ({before})",
                f"To ({after})",
                "Settlements",
                "Population",
                "Population band",
                "Area, km²",
                "Changed",
            ),
            rows,
            caption="Settlements, population and area moving between regions",
            numeric=(False, False, True, True, True, True, False),
            highlight=tuple(bool(c) for c in f["changed"]),
            total=total,
        ),
        Paragraph(check),
    ]


def winners_section(analysis: Analysis) -> list[Block]:
    """Who got nearer and who farther, by affected region, with named top lists."""
    before, after = analysis.epochs
    names = region_names(analysis.build)
    blocks: list[Block] = [Heading("Winners and losers")]
    aff = analysis.affected
    if aff.empty:
        return [*blocks, Paragraph("No settlement's distance to its regional centre changed.")]
    blocks.append(
        Table(
            (
                f"Region ({before} borders)",
                "Settlements",
                "Population",
                "Nearer",
                "Farther",
                "Unchanged",
                f"Mean {before}, km",
                f"Mean {after}, km",
                "Median change, km",
            ),
            tuple(
                (
                    region_label(r[f"region_{before}"], names[before]),
                    f"{int(r['settlements']):,}",
                    fmt_int(r["population"]),
                    fmt_pct(r["share_pop_nearer"]),
                    fmt_pct(r["share_pop_farther"]),
                    fmt_pct(r["share_pop_unchanged"]),
                    fmt_km(r[f"pop_weighted_mean_{before}_km"]),
                    fmt_km(r[f"pop_weighted_mean_{after}_km"]),
                    fmt_delta(r["median_delta_km"]),
                )
                for r in aff.to_dict("records")
            ),
            caption=f"Share of population nearer / farther (by more than {CHANGE_KM} km) and "
            "population-weighted mean distance to the own regional centre",
            numeric=(False, *(True,) * 8),
        )
    )
    top = top_lists(analysis)
    for kind, title in (
        ("gainer", "Largest gains (distance cut most)"),
        ("loser", "Largest losses"),
    ):
        part = top[top["kind"] == kind] if len(top) else top
        if part.empty:
            blocks.append(
                Paragraph(
                    f"{title}: none among settlements with a known population of 1,000 or more."
                )
            )
            continue
        blocks.append(
            Table(
                (
                    f"Region ({before})",
                    "Settlement",
                    "Population",
                    "Centre",
                    f"{before}, km",
                    f"{after}, km",
                    "Change, km",
                ),
                tuple(
                    (
                        region_label(r[f"region_{before}"], names[before]),
                        settlement_label(r),
                        fmt_int(r["population"]),
                        f"{_text(r[f'centre_{before}'])} → {_text(r[f'centre_{after}'])}",
                        fmt_km(r[f"dist_{before}_km"]),
                        fmt_km(r[f"dist_{after}_km"]),
                        fmt_delta(r["delta_km"]),
                    )
                    for r in part.to_dict("records")
                ),
                caption=f"{title}: settlements with a known population of 1,000 or more, top 10 "
                "per region",
                numeric=(False, False, True, False, True, True, True),
            )
        )
    return blocks


def region_stats_section(analysis: Analysis) -> list[Block]:
    """Region statistics per epoch and, if given, official vs estimated population."""
    kinds = changed_regions(analysis)
    touched = set(kinds) | set(affected_codes(analysis))
    blocks: list[Block] = [Heading("Region statistics")]
    stats = analysis.region_stats
    for epoch in analysis.epochs:
        part = stats[stats["epoch"] == epoch]
        blocks.append(
            Table(
                (
                    "Region",
                    "Centre",
                    "Settlements",
                    "Population",
                    "Known pop.",
                    "Area, km²",
                    "Mean km",
                    "Median km",
                    "90th pct km",
                    "Max km",
                    "Pop-weighted mean km",
                ),
                tuple(
                    (
                        f"{r['region']} {r['name_en']}",
                        _text(r["centre"]),
                        f"{int(r['settlements']):,}",
                        fmt_int(r["population"]),
                        fmt_int(r["population_known"]),
                        fmt_int(r["area_km2"]),
                        fmt_km(r["mean_km"]),
                        fmt_km(r["median_km"]),
                        fmt_km(r["p90_km"]),
                        fmt_km(r["max_km"]),
                        fmt_km(r["pop_weighted_mean_km"]),
                    )
                    for r in part.to_dict("records")
                ),
                caption=f"Regions of {epoch}: distances of settlements to their own centre "
                "(highlighted: touched by the reform)",
                numeric=(False, False, *(True,) * 9),
                highlight=tuple(r in touched for r in part["region"]),
            )
        )
    if analysis.official is not None:
        after = analysis.epochs[1]
        names = region_names(analysis.build)[after]
        blocks.append(
            Table(
                ("Region", "Estimate", "Official", "Difference", "Difference, %"),
                tuple(
                    (
                        region_label(r["region"], names),
                        fmt_int(r["population"]),
                        fmt_int(r["official_population"]),
                        "–" if _missing(r["error"]) else f"{r['error']:+,.0f}",
                        "–" if _missing(r["error_pct"]) else f"{r['error_pct']:+.1f} %",
                    )
                    for r in analysis.official.to_dict("records")
                ),
                caption=f"Estimated ({after} regions) vs official population",
                numeric=(False, True, True, True, True),
            )
        )
    return blocks


def sources_section(analysis: Analysis) -> list[Block]:
    """Which data were used, with licences and attribution."""
    build, src = analysis.build, analysis.settlement_source
    attribution = list(dict.fromkeys([*build.sources.attribution, *src.attribution]))
    items = [f"Boundaries: {build.sources.description}.", f"Settlements: {src.description}."]
    if build.spec.meta.get("source"):
        items.append(
            f"Reform: {build.spec.meta['source']} (spec "
            f"{build.spec.meta.get('id', build.spec.id)})."
        )
    return [
        Heading("Data sources and licences"),
        Bullets(tuple(items)),
        Paragraph("Attribution (licences in parentheses):"),
        Bullets(tuple(attribution)),
    ]


def population_method() -> tuple[str, tuple[str, ...]]:
    """Return the imputation method's name and bullets from :mod:`analysis.population`."""
    doc = re.sub(r"\*(\w[^*]*)\*", r"\1", (population_module.__doc__ or "").replace("``", ""))
    bullets, lead = [], ""
    for chunk in re.split(r"\n\s*\n", doc):
        lines = [ln.strip() for ln in chunk.strip().splitlines()]
        if lines and lines[0].startswith("* "):
            for item in re.split(r"\n(?=\* )", "\n".join(lines)):
                bullets.append(" ".join(item.removeprefix("* ").split()))
        elif lines and lines[0].startswith("Method"):
            lead = " ".join(lines).rstrip(":")
    named = re.search(r"\((.+?)\)", lead)
    return (named.group(1) if named else "documented estimate"), tuple(bullets)


def method_section(analysis: Analysis) -> list[Block]:
    """Describe how regions, validation, distances, areas, assignment and population work."""
    build, spec = analysis.build, analysis.build.spec
    before, after = analysis.epochs
    c, p = analysis.counts, analysis.population
    if build.sources.kind == "embedded":
        regions = (
            f"Regions: the {after} regions are read whole from the embedded layer; the {before} "
            "regions are their dissolve along the spec's parent links (no district data, so "
            "district moves and splits are implied at region level)."
        )
    else:
        regions = (
            f"Regions: the {before} districts are dissolved into the {before} regions; the "
            f"{after} regions are the same districts after the spec's moves "
            f"({sum(len(m.units) for m in spec.moves)} districts and cities) and splits "
            f"({len(spec.splits)} districts) (each split cut with a published {after} layer), "
            "dissolved again, so both epochs tile the same country."
        )
    items = [regions]
    v = build.validation
    if len(v):
        worst = v.loc[v["iou"].idxmin()]
        items.append(
            "Validation: intersection over union of each built region with the published region "
            f"layers ({len(v)} regions): minimum {worst['iou']:.4f} ({worst['region']} "
            f"{int(worst['epoch'])}), median {v['iou'].median():.5f}."
        )
    else:
        items.append(
            "Validation: no published region layers come with this source, so the built regions "
            "were not validated against them."
        )
    items += [
        "Distances: geodesic (ellipsoidal) distance on the WGS 84 ellipsoid with pyproj Geod, "
        "from each settlement to the centre of its own region in each epoch; straight line, not "
        "road distance.",
        "Areas: computed in the equal-area projection EPSG:6933 (WGS 84 / NSIDC EASE-Grid 2.0 "
        "Global).",
        "Region assignment: point in polygon; a settlement in no region takes the nearest region "
        f"within {MAX_NEAREST_KM:g} km (geodesic); beyond that it is kept as unassigned and "
        f"listed. Counts: inside {c.get('inside', 0):,}, nearest within {MAX_NEAREST_KM:g} km "
        f"{c.get('nearest', 0):,}, unassigned {c.get('unassigned', 0):,}.",
        "Map: Albers equal-area conic projection for Kazakhstan (standard parallels 42° and 52° "
        "N, central meridian 68° E).",
    ]
    lead, pop_items = population_method()
    method: list[Block] = [
        Heading("Method"),
        Bullets(tuple(items)),
        Paragraph(f"Population: known counts, and for the rest an estimate by {lead}:"),
        Bullets(pop_items),
    ]
    method.append(
        Paragraph(
            f"Result: {fmt_int(p['population_total'])} people in {int(p['settlements']):,} "
            f"settlements; {int(p['with_known_population']):,} settlements have a known count, "
            f"which make {fmt_pct(p['known_share'])} of the total. The imputed part is "
            f"{fmt_int(p['imputed_est'])} people, interquartile band "
            f"{fmt_int(p['imputed_low'])}–{fmt_int(p['imputed_high'])}."
        )
    )
    if build.notes:
        method += [Paragraph("Build notes:"), Bullets(tuple(build.notes))]
    return method


def report_blocks(analysis: Analysis) -> list[Block]:
    """Every block of the report, in order."""
    sections: tuple[Callable[[Analysis], list[Block]], ...] = (
        intro_section,
        summary_section,
        claims_section,
        map_section,
        distribution_section,
        winners_section,
        flows_section,
        region_stats_section,
        sources_section,
        method_section,
    )
    return [block for section in sections for block in section(analysis)]


def map_section(analysis: Analysis) -> list[Block]:
    """Show the static map."""
    before, after = analysis.epochs
    caption = (
        f"Regions of {after} (filled; the reform's regions highlighted) with the {before} "
        "boundaries dashed, regional centres of both epochs, and settlements coloured by the "
        "change in distance to their own regional centre (blue nearer, red farther; grey "
        "unchanged)."
    )
    return [
        Heading("Map"),
        Chart(map_figure(analysis), caption, f"Map of the regions of {before} and {after}"),
    ]


# ---------------------------------------------------------------- rendering

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;
margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.3em}
h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.4em 0 1.4em;font-size:.86em}
th,td{border:1px solid #d0d0d0;padding:.25em .55em;vertical-align:top}
th{background:#f2f2f2;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.hl td{background:#fff1dc}
tr.total td{font-weight:600;border-top:2px solid #777;background:#fafafa}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
blockquote{border-left:4px solid #b2182b;margin:1em 0;padding:.3em 1em;background:#fafafa}
blockquote p{margin:.2em 0;font-size:1.05em}blockquote footer{font-size:.85em;color:#666}
"""


def _inline_html(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _html_table(t: Table) -> str:
    numeric = t.numeric or (False,) * len(t.columns)
    out = ["<table>"]
    if t.caption:
        out.append(f"<caption>{_inline_html(t.caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
        + "</tr></thead><tbody>"
    )
    highlight = t.highlight or (False,) * len(t.rows)
    for row, hl in zip(t.rows, highlight, strict=True):
        cls = ' class="hl"' if hl else ""
        out.append(
            f"<tr{cls}>"
            + "".join(_html_cell(v, n) for v, n in zip(row, numeric, strict=True))
            + "</tr>"
        )
    if t.total is not None:
        out.append(
            '<tr class="total">'
            + "".join(_html_cell(v, n) for v, n in zip(t.total, numeric, strict=True))
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _html_cell(value: str, numeric: bool) -> str:
    return (
        f'<td class="num">{_inline_html(value)}</td>'
        if numeric
        else f"<td>{_inline_html(value)}</td>"
    )


def html_block(block: Block) -> str:
    """One block as HTML."""
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline_html(block.text)}</p>"
    if isinstance(block, Quote):
        return (
            f"<blockquote><p>“{html.escape(block.text)}”</p><footer>— "
            f"{html.escape(block.source)}</footer></blockquote>"
        )
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _html_table(block)
    data = base64.b64encode(block.png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(block.alt, quote=True)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{_inline_html(block.caption)}</figcaption></figure>"
    )


def render_html(blocks: Sequence[Block]) -> str:
    """Render a complete, self-contained HTML document."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "Report")
    body = "\n".join(html_block(b) for b in blocks)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


_MD_SPECIAL = re.compile(r"([\\`_<>\[\]|])")


def md_text(text: str) -> str:
    """Escape Markdown metacharacters except ``**`` emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _md_table(t: Table) -> str:
    numeric = t.numeric or (False,) * len(t.columns)
    lines = []
    if t.caption:
        lines += [f"*{md_text(t.caption)}*", ""]
    lines.append("| " + " | ".join(md_text(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    highlight = t.highlight or (False,) * len(t.rows)
    for row, hl in zip(t.rows, highlight, strict=True):
        cells = [md_text(v) for v in row]
        if hl and cells and cells[0]:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    if t.total is not None:
        lines.append("| " + " | ".join(_md_bold(md_text(v)) for v in t.total) + " |")
    return "\n".join(lines)


def _md_bold(cell: str) -> str:
    return cell if not cell or cell.startswith("**") else f"**{cell}**"


def md_block(block: Block) -> str:
    """One block as Markdown (figures are referenced, not embedded)."""
    if isinstance(block, Heading):
        return f"{'#' * block.level} {md_text(block.text)}"
    if isinstance(block, Paragraph):
        return md_text(block.text)
    if isinstance(block, Quote):
        return f"> “{md_text(block.text)}”\n>\n> — {md_text(block.source)}"
    if isinstance(block, Bullets):
        return "\n".join(f"- {md_text(i)}" for i in block.items)
    if isinstance(block, Table):
        return _md_table(block)
    return f"*Figure (embedded in report.html only): {md_text(block.caption)}*"


def render_markdown(blocks: Sequence[Block]) -> str:
    """Render the report as Markdown."""
    return "\n\n".join(md_block(b) for b in blocks) + "\n"


def write_report(analysis: Analysis, folder: str | Path) -> list[Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` into ``folder``.

    Parameters
    ----------
    analysis : Analysis
        A finished analysis (see :func:`analysis.pipeline.analyze`); not modified.
    folder : str or Path
        Output folder (created if missing).

    Returns
    -------
    list of Path
        The two files written, HTML first.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(analysis)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_path.write_text(render_html(blocks), encoding="utf-8")
    md_path.write_text(render_markdown(blocks), encoding="utf-8")
    return [html_path, md_path]
