"""Region metrics the maps colour by, their step colour scales and legends."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import branca.colormap as bcm
import numpy as np
import pandas as pd

from boundaries.schema import region_col


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
            return f"{signed(value, 1)} km"
        return f"{value:,.1f} km"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("population", "Population", "persons"),
        Metric("area_km2", "Area", "km²"),
        Metric(
            "pop_weighted_mean_km",
            "Mean distance to the regional centre, population-weighted",
            "km",
        ),
        Metric(
            "change_km",
            "Change in distance to the regional centre over the reform, population-weighted",
            "km; − = nearer",
            diverging=True,
        ),
    )
}


def signed(value: float, decimals: int = 0) -> str:
    """``+12``, ``−3``, ``±0``: a value with its sign (a real minus)."""
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
            col = s[region_col(epoch)].astype(object)
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


def short(value: float) -> str:
    """``1.2 M``, ``35 k``: a value in few characters for legends."""
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


def legend_classes(cmap: bcm.StepColormap, metric: Metric, *, missing: bool = False) -> list[tuple[str, str]]:
    """``(colour, text)`` of each class of a step colormap (and "no data" when values are missing)."""
    out = []
    for lo, hi in itertools.pairwise(list(cmap.index)):
        text = f"{signed(lo)} to {signed(hi)}" if metric.diverging else f"{short(lo)} – {short(hi)}"
        out.append((cmap.rgb_hex_str((lo + hi) / 2), text))
    return [*out, (NO_DATA_COLOUR, "no data")] if missing else out


def legend_html(cmap: bcm.StepColormap, metric: Metric, *, missing: bool = False, note: str = "") -> str:
    """HTML legend of a step colormap for on the map: the caption (with units), one row per class, collapsible."""
    rows = "".join(
        f'<div class="ra-row"><i style="background:{colour}"></i>{html.escape(text)}</div>'
        for colour, text in legend_classes(cmap, metric, missing=missing)
    )
    sub = f'<div class="ra-sub">{html.escape(note)}</div>' if note else ""
    return f'<details open><summary class="ra-head">{html.escape(cmap.caption)}</summary>{sub}{rows}</details>'


def legend_strip_html(cmap: bcm.StepColormap, metric: Metric, *, missing: bool = False, note: str = "") -> str:
    """Render the same legend as one line of HTML for under the map (inline styles)."""
    items = "".join(swatch(c, t, square=True) for c, t in legend_classes(cmap, metric, missing=missing))
    sub = f" <span style='color:#808495'>({html.escape(note)})</span>" if note else ""
    return f'<div style="{STRIP_FONT}"><b>{html.escape(cmap.caption)}:</b> {items}{sub}</div>'


STRIP_FONT = (
    "font-family: 'Source Sans Pro', sans-serif; font-size: 13px; color: #31333f; line-height: 1.7"
)


def swatch(colour: str, text: str, *, square: bool = False, count: int | None = None) -> str:
    """One legend item (a colour chip and its text) as inline-styled HTML."""
    radius = "2px" if square else "50%"
    n = f" <span style='color:#808495'>({count:,})</span>" if count is not None else ""
    return (
        f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:12px;"
        f"height:12px;border-radius:{radius};background:{colour};border:1px solid #555;vertical-align:-1px;"
        f"margin-right:4px'></span>{html.escape(text)}{n}</span>"
    )


