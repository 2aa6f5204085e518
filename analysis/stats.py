"""The per-region table of every epoch and scenario, and winners and losers of the reform.

One engine for per-region figures: :func:`distance_summary` is the kernel (one
region's settlements → counts, population, distance statistics), :func:`region_table`
applies it to every region of one epoch of an analysed table, and
:func:`region_stats` (the ``region_stats.csv`` table) and
:func:`analysis.metrics.region_metrics` (the scenario ``metrics.csv`` table) are
selections of it. The scenario lab (:mod:`analysis.whatif`) calls the same kernel
on the regions a change touches. Distances are never recomputed here: they are
the ``dist_<epoch>_km`` columns of :func:`analysis.distances.settlement_distances`.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.schema import (
    CHANGE_KM,
    POPULATION,
    POPULATION_EST,
    PW_MEAN_KM,
    THRESHOLDS_KM,
    change_cols,
    dist_col,
    pw_mean_col,
    region_col,
    share_beyond_col,
)
from geo.errors import DataError


def weighted_mean(values, weights) -> float:
    """Weighted mean, the one rule of the project.

    Pairs whose value or weight is NaN (or infinite), and pairs with a weight of
    zero or less, are left out; with no pair left the mean is NaN.

    Parameters
    ----------
    values, weights : array-like of float
        Same length.

    Returns
    -------
    float
    """
    v, w = _valid(values, weights)
    return float(np.average(v, weights=w)) if len(v) else float("nan")


def _valid(values, weights) -> tuple[np.ndarray, np.ndarray]:
    """Return values and weights as floats, without NaN and non-positive weights."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    return (v, w) if ok.all() else (v[ok], w[ok])


def weighted_quantile(
    values: Sequence[float] | pd.Series, weights: Sequence[float] | pd.Series, q: float
) -> float:
    """Weighted quantile ``q`` of ``values`` (NaN and non-positive weights ignored)."""
    v, w = _valid(values, weights)
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[min(int(np.searchsorted(cum, q)), len(v) - 1)])


def weighted_ecdf(
    values: Sequence[float] | pd.Series, weights: Sequence[float] | pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the cumulative share of weight at each (for a step plot)."""
    v, w = _valid(values, weights)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    total = w.sum()
    return v, (np.cumsum(w) / total if total else np.zeros_like(w))


def weighted_share(mask: pd.Series, weights: pd.Series) -> float:
    """Share of the total weight where ``mask`` holds (NaN when there is no weight)."""
    total = float(weights.sum())
    return float(weights[mask].sum()) / total if total else float("nan")


def distance_summary(
    dist_km: np.ndarray,
    weight: np.ndarray,
    *,
    known: np.ndarray | None = None,
    thresholds_km: Sequence[float] = THRESHOLDS_KM,
) -> dict[str, float]:
    """Summarise one region's settlements: counts, population and distance statistics.

    Parameters
    ----------
    dist_km : ndarray
        Distance (km) of each settlement to the region's centre.
    weight : ndarray
        Population of each settlement used as weight (``population_est``; NaN unknown).
    known : ndarray, optional
        Known (counted) population of each settlement, NaN where unknown.
    thresholds_km : sequence of float
        Distances of the ``share_pop_beyond_<d>km`` figures.

    Returns
    -------
    dict
        ``settlements``, ``population`` (sum of weights), ``population_known``,
        ``mean_km``, ``median_km``, ``p90_km``, ``max_km``,
        ``pop_weighted_mean_km`` and one ``share_pop_beyond_<d>km`` per threshold
        (share of the weight farther than ``d``); NaN where there is no settlement.
    """
    d = np.asarray(dist_km, dtype="float64")
    w = np.asarray(weight, dtype="float64")
    empty = d.size == 0
    row = {
        "settlements": int(d.size),
        "population": float(np.nansum(w)),
        "population_known": float(np.nansum(known)) if known is not None else np.nan,
        "mean_km": np.nan if empty else float(d.mean()),
        "median_km": np.nan if empty else float(np.median(d)),
        "p90_km": np.nan if empty else float(np.quantile(d, 0.9)),
        "max_km": np.nan if empty else float(d.max()),
        PW_MEAN_KM: weighted_mean(d, w),
    }
    for t in thresholds_km:
        row[share_beyond_col(t)] = weighted_mean((d > t).astype("float64"), w)
    return row


def _require(settlements: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in settlements.columns]
    if missing:
        msg = (
            f"settlements: missing column(s) {missing}; pass analysed settlements "
            "(analysis.pipeline.analyze), which carry regions, distances and population_est"
        )
        raise DataError(msg)


def region_positions(codes: pd.Series, region_codes: pd.Series, *, column: str) -> np.ndarray:
    """Position of each row's region in ``region_codes`` (-1 where the row has none).

    Raises
    ------
    DataError
        A row names a region that is not in ``region_codes``.
    """
    values = codes.astype(object).to_numpy()
    pos = pd.Index(region_codes.astype(object)).get_indexer(values)
    unknown = sorted({str(v) for v in values[(pos < 0) & pd.notna(values)]})
    if unknown:
        msg = (
            f"settlements: column {column!r} has region code(s) {unknown[:5]} not in "
            f"regions['code'] (e.g. {sorted(region_codes.astype(str))[:3]}); use the same code scheme in both"
        )
        raise DataError(msg)
    return pos


def region_table(
    settlements: pd.DataFrame,
    regions: gpd.GeoDataFrame,
    *,
    epoch: int,
    thresholds_km: Sequence[float] = THRESHOLDS_KM,
) -> pd.DataFrame:
    """Tabulate one epoch by region: :func:`distance_summary` of every region.

    Parameters
    ----------
    settlements : DataFrame
        Analysed settlements with ``region_<epoch>``, ``dist_<epoch>_km``,
        ``population_est`` and ``population``.
    regions : GeoDataFrame
        The regions of ``epoch`` (``code``, ``name_en``, ``centre_name_en``).
    epoch : int
        The epoch.
    thresholds_km : sequence of float
        See :func:`distance_summary`.

    Returns
    -------
    DataFrame
        Indexed by ``code`` in the order of ``regions``: ``name_en``,
        ``centre_name_en`` and the fields of :func:`distance_summary`.
    """
    col, dist = region_col(epoch), dist_col(epoch)
    _require(settlements, [col, dist, POPULATION_EST, POPULATION])
    pos = region_positions(settlements[col], regions["code"], column=col)
    d = settlements[dist].to_numpy(dtype="float64")
    w = pd.to_numeric(settlements[POPULATION_EST], errors="coerce").to_numpy(dtype="float64")
    known = pd.to_numeric(settlements[POPULATION], errors="coerce").to_numpy(dtype="float64")
    # one stable sort, then each region's rows in their original order
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(len(regions) + 1))
    rows = []
    for i in range(len(regions)):
        idx = order[bounds[i] : bounds[i + 1]]
        rows.append(distance_summary(d[idx], w[idx], known=known[idx], thresholds_km=thresholds_km))
    table = pd.DataFrame(rows, index=pd.Index(regions["code"].to_numpy(), name="code"))
    table.insert(0, "centre_name_en", regions["centre_name_en"].to_numpy())
    table.insert(0, "name_en", regions["name_en"].to_numpy())
    return table


#: Columns of :func:`region_stats` taken from :func:`region_table`, in order.
_STATS_COLUMNS = (
    "name_en",
    "centre",
    "settlements",
    "population",
    "population_known",
    "area_km2",
    "mean_km",
    "median_km",
    "p90_km",
    "max_km",
    PW_MEAN_KM,
)


def region_stats(settlements: pd.DataFrame, regions: dict[int, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per epoch and region: settlements, population, area and distance statistics.

    The :func:`region_table` of every epoch, one row per (epoch, region), as
    written to ``region_stats.csv``. Distances are to the region's own centre in
    that epoch (``dist_<epoch>_km``); ``pop_weighted_mean_km`` weights by
    ``population_est``.
    """
    frames = []
    for epoch, reg in regions.items():
        table = region_table(settlements, reg, epoch=epoch).rename(
            columns={"centre_name_en": "centre"}
        )
        table["area_km2"] = reg["area_km2"].to_numpy(dtype="float64")
        frame = table[list(_STATS_COLUMNS)].reset_index(names="region")
        frame.insert(0, "epoch", epoch)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def affected_regions(settlements: pd.DataFrame, *, before: int, after: int) -> pd.DataFrame:
    """For each pre-reform region where some centre changed: who got nearer, who farther.

    A trip counts as shorter or longer when it changes by more than :data:`CHANGE_KM`.
    """
    b = region_col(before)
    used = [b, "population_est", "delta_km", dist_col(before), dist_col(after)]
    settlements = pd.DataFrame(settlements[used])  # no geometry
    moved = settlements[settlements["delta_km"].abs() > CHANGE_KM]
    rows_of = settlements.groupby(b, observed=True, sort=False).indices  # one pass, not one per region
    rows = []
    for code in sorted(moved[b].dropna().unique()):
        g = settlements.iloc[rows_of[code]]
        w = g["population_est"]
        rows.append(
            {
                region_col(before): code,
                "settlements": len(g),
                "population": float(w.sum()),
                "share_pop_nearer": weighted_share(g["delta_km"] < -CHANGE_KM, w),
                "share_pop_farther": weighted_share(g["delta_km"] > CHANGE_KM, w),
                "share_pop_unchanged": weighted_share(g["delta_km"].abs() <= CHANGE_KM, w),
                pw_mean_col(before): weighted_mean(g[dist_col(before)], w),
                pw_mean_col(after): weighted_mean(g[dist_col(after)], w),
                "median_delta_km": float(g["delta_km"].median()),
            }
        )
    return pd.DataFrame(rows)


def winners_losers(
    settlements: pd.DataFrame,
    *,
    before: int,
    after: int,
    top: int = 10,
    min_population: float = 1000,
) -> pd.DataFrame:
    """Top gainers (largest cut in distance) and losers per affected pre-reform region.

    Only places with a known population of at least ``min_population`` are ranked,
    so the lists name towns and villages people can recognise.
    """
    b = region_col(before)
    pop = pd.to_numeric(settlements["population"], errors="coerce")
    keep = (pop >= min_population) & (settlements["delta_km"].abs() > CHANGE_KM)
    cols = ["id", "name", "name_latn", "name_en", "population", *change_cols(before, after)]
    # the listed columns only (no geometry): selecting from the whole frame per region was slow
    pool = pd.DataFrame(settlements.loc[keep, [c for c in cols if c in settlements.columns]])
    frames = []
    for _, g in pool.groupby(b):
        gainers = g[g["delta_km"] < 0].nsmallest(top, "delta_km")
        losers = g[g["delta_km"] > 0].nlargest(top, "delta_km")
        for kind, part in (("gainer", gainers), ("loser", losers)):
            part = part.copy()
            part.insert(0, "kind", kind)
            frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["kind", *cols])
    return pd.DataFrame(pd.concat(frames, ignore_index=True))
