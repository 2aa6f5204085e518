"""Population of settlements: known counts and a documented estimate for the rest.

Method (stratified median imputation):

* A settlement's population is *known* when its source gave a parseable count.
* Otherwise it is *estimated* as the median known population of settlements of the
  same ``place`` class (city, town, village, hamlet, isolated_dwelling, …) in the
  same pre-reform region, when that stratum holds at least ``min_samples`` (10)
  known counts; else the national median of the class (at least 5 known counts:
  OSM tags only 7 isolated dwellings, median 11 people); else the national median
  of all known counts.
* A place added from a secondary gazetteer (GeoNames filling a hole in HOT) with a
  population figure there uses that figure as its estimate.
* The uncertainty band uses the same strata's 25th and 75th percentiles
  (``population_low`` / ``population_high``), so region totals come with an
  interquartile range for the imputed part.

Known counts are never changed. ``population`` stays as given (NaN when unknown);
``population_est`` is what totals and weights use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_SAMPLES = 10
MIN_SAMPLES_NATIONAL = 5


def _stratum_stats(known: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = known.groupby(keys, dropna=False)["population"]
    stats = grouped.agg(["count", "median"])
    stats["q25"] = grouped.quantile(0.25)
    stats["q75"] = grouped.quantile(0.75)
    return stats


def estimate_population(
    settlements: pd.DataFrame, *, region_col: str, min_samples: int = MIN_SAMPLES
) -> pd.DataFrame:
    """Return a copy with ``population_est``, ``population_low``, ``population_high``, ``population_basis``.

    Parameters
    ----------
    settlements : DataFrame
        Rows with ``population`` (float, NaN unknown) and optionally ``place``.
    region_col : str
        Region column used to stratify (the pre-reform region).
    min_samples : int
        Known counts a (region, place) stratum needs before its median is used.
    """
    out = settlements.copy()
    pop = pd.to_numeric(out["population"], errors="coerce").astype("float64")
    place = (
        out["place"].astype("string").fillna("unknown")
        if "place" in out
        else pd.Series("unknown", index=out.index)
    )
    region = out[region_col].astype("string").fillna("unassigned")
    frame = pd.DataFrame({"population": pop, "place": place, "region": region})
    known = frame[frame["population"].notna()]

    est = pop.to_numpy(copy=True)
    low = pop.to_numpy(copy=True)
    high = pop.to_numpy(copy=True)
    basis = np.where(pop.notna(), "known", "").astype(object)
    todo = pop.isna().to_numpy().copy()

    if known.empty:
        out["population_est"] = est
        out["population_low"] = low
        out["population_high"] = high
        out["population_basis"] = np.where(todo, "none", "known")
        return out

    by_region = _stratum_stats(known, ["region", "place"])
    by_place = _stratum_stats(known, ["place"])
    overall = (
        known["population"].median(),
        known["population"].quantile(0.25),
        known["population"].quantile(0.75),
    )

    for level, stats, keys, need in (
        ("region×place median", by_region, ["region", "place"], min_samples),
        ("national place median", by_place, ["place"], min(min_samples, MIN_SAMPLES_NATIONAL)),
    ):
        good = stats[stats["count"] >= need]
        rows = np.flatnonzero(todo)
        if rows.size == 0:
            break
        idx = (
            pd.MultiIndex.from_frame(frame.iloc[rows][keys])
            if len(keys) > 1
            else pd.Index(frame.iloc[rows][keys[0]])
        )
        pos = good.index.get_indexer(idx)
        hit = pos >= 0
        sel = rows[hit]
        est[sel] = good["median"].to_numpy()[pos[hit]]
        low[sel] = good["q25"].to_numpy()[pos[hit]]
        high[sel] = good["q75"].to_numpy()[pos[hit]]
        basis[sel] = level
        todo[sel] = False
    est[todo], low[todo], high[todo] = overall
    basis[todo] = "national median"
    if "population_secondary" in out:
        sec = pd.to_numeric(out["population_secondary"], errors="coerce").to_numpy()
        use = pop.isna().to_numpy() & ~np.isnan(sec)
        est[use] = low[use] = high[use] = sec[use]
        basis[use] = "secondary gazetteer figure"

    out["population_est"] = est
    out["population_low"] = low
    out["population_high"] = high
    out["population_basis"] = basis.astype(str)
    return out


def population_summary(settlements: pd.DataFrame) -> dict[str, float]:
    """Totals of known and estimated population and the share behind known counts.

    Settlements outside every region (``assignment == "unassigned"``: across the
    border, or misplaced) are left out of the totals and counted apart.
    """
    outside = (
        settlements["assignment"] == "unassigned"
        if "assignment" in settlements
        else pd.Series(False, index=settlements.index)
    )
    outside_est = float(settlements.loc[outside, "population_est"].sum())
    settlements = settlements[~outside]
    known = pd.to_numeric(settlements["population"], errors="coerce")
    total = float(settlements["population_est"].sum())
    known_total = float(known.sum(skipna=True))
    imputed = settlements["population_basis"] != "known"
    return {
        "settlements": len(settlements),
        "with_known_population": int(known.notna().sum()),
        "population_total": total,
        "population_known": known_total,
        "known_share": known_total / total if total else float("nan"),
        "imputed_low": float(settlements.loc[imputed, "population_low"].sum()),
        "imputed_high": float(settlements.loc[imputed, "population_high"].sum()),
        "imputed_est": float(settlements.loc[imputed, "population_est"].sum()),
        "settlements_outside": int(outside.sum()),
        "population_outside": outside_est,
    }


def compare_official(estimates: pd.DataFrame, official: pd.DataFrame) -> pd.DataFrame:
    """Estimated vs official population by region, with absolute and relative error.

    ``estimates`` has ``region`` and ``population``; ``official`` has ``code`` and ``population``.
    """
    off = official.rename(columns={"population": "official_population", "code": "region"})
    table = estimates.merge(off[["region", "official_population"]], on="region", how="outer")
    table["error"] = table["population"] - table["official_population"]
    table["error_pct"] = 100 * table["error"] / table["official_population"]
    return table
