"""Region metrics: the per-region table of population, distances and shape, and national figures.

:func:`region_metrics` joins the per-region figures of :func:`analysis.stats.region_table`
(distances are the analysis' own, weights ``population_est``) and the shape measures of
:func:`analysis.shape.shape_table`; :func:`metrics_table` is that one assembly, used by
the scenario lab too; :func:`overall_metrics` pools the regions into national figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.shape import DEFAULT_MIN_PART_KM2, region_codes, shape_table
from analysis.stats import region_table, weighted_mean
from boundaries.schema import PW_MEAN_KM, THRESHOLDS_KM
from geo.validation import require_columns

__all__ = ["metrics_table", "overall_metrics", "region_metrics"]


# ------------------------------------------------------------------ region summary
def metrics_table(table: pd.DataFrame, shape: pd.DataFrame) -> pd.DataFrame:
    """Assemble the metrics of each region from its figures and its shape.

    The one assembly of the region metrics, for the pipeline
    (:func:`region_metrics`) and the scenario lab (:func:`analysis.whatif.evaluate`).

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by ``code``: ``name_en``, ``centre_name_en`` and the fields of
        :func:`analysis.stats.distance_summary`.
    shape : pandas.DataFrame
        :func:`shape_table` of the same regions, in the same order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``code``: ``name_en``, ``centre_name_en``, ``population``,
        ``pop_deviation_pct`` (from the mean region population), ``settlements``,
        ``mean_dist_km``, ``pop_weighted_mean_km``, ``max_dist_km``, the
        ``share_pop_beyond_<d>km`` columns, ``area_km2``, ``polsby_popper``,
        ``reock``, ``convex_hull_ratio``, ``n_parts`` and ``is_contiguous``.
    """
    shares = [c for c in table.columns if c.startswith("share_pop_beyond_")]
    out = table.rename(columns={"mean_km": "mean_dist_km", "max_km": "max_dist_km"})[
        [
            "name_en",
            "centre_name_en",
            "population",
            "settlements",
            "mean_dist_km",
            PW_MEAN_KM,
            "max_dist_km",
            *shares,
        ]
    ]
    out = out.astype({"settlements": "int64"})
    mean_pop = out["population"].mean()
    out.insert(
        3,
        "pop_deviation_pct",
        (out["population"] - mean_pop) / mean_pop * 100.0 if mean_pop > 0 else np.nan,
    )
    shape = shape.set_axis(out.index).astype({"n_parts": "int64", "is_contiguous": "bool"})
    return pd.concat([out, shape], axis=1)


def region_metrics(
    regions: gpd.GeoDataFrame,
    settlements: pd.DataFrame,
    *,
    epoch: int,
    thresholds_km: Sequence[float] = THRESHOLDS_KM,
    min_part_km2: float = DEFAULT_MIN_PART_KM2,
    allowed_exclaves: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Compute population, distance-to-centre and shape metrics of each region of ``epoch``.

    The distance figures are those of the per-region table
    (:func:`analysis.stats.region_table`): distances are the analysis'
    ``dist_<epoch>_km`` (never recomputed) and weights ``population_est``.
    Settlements whose region is missing are ignored.

    Parameters
    ----------
    regions : GeoDataFrame
        Regions of ``epoch`` with a CRS and columns ``code``, ``name_en`` and
        ``centre_name_en`` (:func:`boundaries.build.build_regions`).
    settlements : DataFrame
        Analysed settlements (``region_<epoch>``, ``dist_<epoch>_km``,
        ``population_est``, ``population``).
    epoch : int
        The epoch of ``regions``.
    thresholds_km : sequence of float
        Distances for the ``share_pop_beyond_<d>km`` columns (share of the
        population farther than ``d`` km from its centre).
    min_part_km2, allowed_exclaves
        Passed to :func:`contiguity`.

    Returns
    -------
    pandas.DataFrame
        See :func:`metrics_table`.

    Raises
    ------
    CRSError
        ``regions`` has no CRS.
    DataError
        Missing columns, duplicate region codes, or settlement region codes
        absent from ``regions``.
    """
    region_codes(regions)
    require_columns(regions, ["name_en", "centre_name_en"], name="regions")
    table = region_table(settlements, regions, epoch=epoch, thresholds_km=thresholds_km)
    shape = shape_table(regions, min_part_km2=min_part_km2, allowed_exclaves=allowed_exclaves)
    return metrics_table(table, shape)


def overall_metrics(metrics: pd.DataFrame) -> pd.Series:
    """National figures from a :func:`region_metrics` table.

    Population-weighted figures weight each region by its known population, which
    reproduces the figure over all settlements pooled.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Output of :func:`region_metrics`.

    Returns
    -------
    pandas.Series
        Named ``overall`` with ``regions``, ``population``, ``settlements``,
        ``pop_weighted_mean_km``, one ``share_pop_beyond_<d>km`` per threshold in
        ``metrics``, ``max_abs_deviation_pct``, ``mean_polsby_popper``,
        ``mean_reock``, ``mean_convex_hull_ratio`` (unweighted means over regions)
        and ``non_contiguous`` (number of regions); all float, counts included.

    Raises
    ------
    DataError
        ``metrics`` lacks the columns :func:`region_metrics` produces.
    """
    needed = [
        "population",
        "settlements",
        "pop_weighted_mean_km",
        "pop_deviation_pct",
        "polsby_popper",
        "reock",
        "convex_hull_ratio",
        "is_contiguous",
    ]
    require_columns(metrics, needed, name="metrics")
    pop = metrics["population"].to_numpy(dtype="float64")
    has = pop > 0

    def pooled(col: str) -> float:
        return weighted_mean(metrics[col].to_numpy(dtype="float64")[has], pop[has])

    out: dict[str, float] = {
        "regions": float(len(metrics)),
        "population": float(pop.sum()),
        "settlements": float(metrics["settlements"].sum()),
        "pop_weighted_mean_km": pooled("pop_weighted_mean_km"),
    }
    for col in [c for c in metrics.columns if c.startswith("share_pop_beyond_")]:
        out[col] = pooled(col)
    out["max_abs_deviation_pct"] = float(metrics["pop_deviation_pct"].abs().max())
    for col in ("polsby_popper", "reock", "convex_hull_ratio"):
        out[f"mean_{col}"] = float(metrics[col].mean())
    out["non_contiguous"] = float((~metrics["is_contiguous"].astype(bool)).sum())
    return pd.Series(out, name="overall", dtype="float64")
