"""Region statistics per epoch, and winners and losers of the reform."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.schema import CHANGE_KM, centre_col, dist_col, pw_mean_col, region_col


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    ok = values.notna() & weights.notna() & (weights > 0)
    if not ok.any():
        return float("nan")
    return float(np.average(values[ok], weights=weights[ok]))


def region_stats(settlements: pd.DataFrame, regions: dict[int, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per epoch and region: settlements, population, area and distance statistics.

    Distances are to the region's own centre in that epoch (``dist_<epoch>_km``);
    ``pop_weighted_mean_km`` weights by ``population_est``.
    """
    rows = []
    for epoch, reg in regions.items():
        col, dist = region_col(epoch), dist_col(epoch)
        table = pd.DataFrame(settlements[[dist, "population_est", "population"]])  # not geometry
        groups = dict(tuple(table.groupby(settlements[col].astype(object))))
        for r in reg.itertuples(index=False):
            g = groups.get(r.code)
            d = g[dist] if g is not None else pd.Series(dtype="float64")
            w = g["population_est"] if g is not None else pd.Series(dtype="float64")
            known = (
                pd.to_numeric(g["population"], errors="coerce")
                if g is not None
                else pd.Series(dtype="float64")
            )
            rows.append(
                {
                    "epoch": epoch,
                    "region": r.code,
                    "name_en": r.name_en,
                    "centre": r.centre_name_en,
                    "settlements": len(d),
                    "population": float(w.sum()),
                    "population_known": float(known.sum()),
                    "area_km2": float(r.area_km2),
                    "mean_km": float(d.mean()) if len(d) else np.nan,
                    "median_km": float(d.median()) if len(d) else np.nan,
                    "p90_km": float(d.quantile(0.9)) if len(d) else np.nan,
                    "max_km": float(d.max()) if len(d) else np.nan,
                    "pop_weighted_mean_km": _weighted_mean(d, w) if len(d) else np.nan,
                }
            )
    return pd.DataFrame(rows)


def affected_regions(settlements: pd.DataFrame, *, before: int, after: int) -> pd.DataFrame:
    """For each pre-reform region where some centre changed: who got nearer, who farther.

    A trip counts as shorter or longer when it changes by more than :data:`CHANGE_KM`.
    """
    b = region_col(before)
    moved = settlements[settlements["delta_km"].abs() > CHANGE_KM]
    rows = []
    for code in sorted(moved[b].dropna().unique()):
        g = settlements[settlements[b] == code]
        w = g["population_est"]
        total = w.sum()
        rows.append(
            {
                region_col(before): code,
                "settlements": len(g),
                "population": float(total),
                "share_pop_nearer": float(w[g["delta_km"] < -CHANGE_KM].sum() / total)
                if total
                else np.nan,
                "share_pop_farther": float(w[g["delta_km"] > CHANGE_KM].sum() / total)
                if total
                else np.nan,
                "share_pop_unchanged": float(w[g["delta_km"].abs() <= CHANGE_KM].sum() / total)
                if total
                else np.nan,
                pw_mean_col(before): _weighted_mean(g[dist_col(before)], w),
                pw_mean_col(after): _weighted_mean(g[dist_col(after)], w),
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
    pool = settlements[(pop >= min_population) & (settlements["delta_km"].abs() > CHANGE_KM)]
    cols = [
        "id",
        "name",
        "name_en",
        "population",
        b,
        region_col(after),
        centre_col(before),
        centre_col(after),
        dist_col(before),
        dist_col(after),
        "delta_km",
    ]
    frames = []
    for _, g in pool.groupby(b):
        gainers = g[g["delta_km"] < 0].nsmallest(top, "delta_km")
        losers = g[g["delta_km"] > 0].nlargest(top, "delta_km")
        for kind, part in (("gainer", gainers), ("loser", losers)):
            part = part[[c for c in cols if c in part.columns]].copy()
            part.insert(0, "kind", kind)
            frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["kind", *cols])
    return pd.DataFrame(pd.concat(frames, ignore_index=True))
