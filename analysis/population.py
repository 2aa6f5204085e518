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
    frame = _strata(out, region_col=region_col)
    pop = frame["population"]
    if pop.isna().all():
        est, low, high = (pop.to_numpy(copy=True) for _ in range(3))
        basis = np.full(len(pop), "none")  # no figure anywhere
    else:
        est, low, high, basis = _imputed(frame, min_samples=min_samples)
        if "population_secondary" in out:
            sec = pd.to_numeric(out["population_secondary"], errors="coerce").to_numpy()
            use = pop.isna().to_numpy() & ~np.isnan(sec)
            est[use] = low[use] = high[use] = sec[use]
            basis[use] = "secondary gazetteer figure"
        basis = basis.astype(str)
    out["population_est"] = est
    out["population_low"] = low
    out["population_high"] = high
    out["population_basis"] = basis
    return out


def _strata(settlements: pd.DataFrame, *, region_col: str) -> pd.DataFrame:
    """Return the ``population`` (float, NaN unknown), ``place`` and ``region`` of every row."""
    pop = pd.to_numeric(settlements["population"], errors="coerce").astype("float64")
    place = (
        settlements["place"].astype("string").fillna("unknown")
        if "place" in settlements
        else pd.Series("unknown", index=settlements.index)
    )
    region = settlements[region_col].astype("string").fillna("unassigned")
    return pd.DataFrame({"population": pop, "place": place, "region": region})


def _imputed(
    frame: pd.DataFrame, *, min_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the estimate, band and basis of every row of :func:`_strata` (some counts known)."""
    pop = frame["population"]
    known = frame[pop.notna()]
    est, low, high = (pop.to_numpy(copy=True) for _ in range(3))
    basis = np.where(pop.notna(), "known", "").astype(object)
    todo = pop.isna().to_numpy().copy()
    levels = (
        ("region×place median", ["region", "place"], min_samples),
        ("national place median", ["place"], min(min_samples, MIN_SAMPLES_NATIONAL)),
    )
    stats = [_stratum_stats(known, keys) for _, keys, _ in levels]
    for (level, keys, need), table in zip(levels, stats, strict=True):
        rows = np.flatnonzero(todo)
        if rows.size == 0:
            break
        good = table[table["count"] >= need]
        strata = frame.iloc[rows][keys]
        idx = pd.MultiIndex.from_frame(strata) if len(keys) > 1 else pd.Index(strata[keys[0]])
        pos = good.index.get_indexer(idx)
        sel, pos = rows[pos >= 0], pos[pos >= 0]
        for values, column in ((est, "median"), (low, "q25"), (high, "q75")):
            values[sel] = good[column].to_numpy()[pos]
        basis[sel] = level
        todo[sel] = False
    known_pop = known["population"]
    est[todo], low[todo], high[todo] = (
        known_pop.median(), known_pop.quantile(0.25), known_pop.quantile(0.75)
    )  # fmt: skip
    basis[todo] = "national median"
    return est, low, high, basis


def population_summary(
    settlements: pd.DataFrame, *, counted: pd.Series | None = None
) -> dict[str, float]:
    """Totals of known and estimated population and the share behind known counts.

    Settlements outside every region (``assignment == "unassigned"``: across the
    border, or misplaced) are left out of the totals and counted apart.
    ``counted`` marks the rows whose figure is a count (default: a known
    ``population``); the others are the estimated part, with its band.
    """
    outside = (
        settlements["assignment"] == "unassigned"
        if "assignment" in settlements
        else pd.Series(False, index=settlements.index)
    )
    outside_est = float(settlements.loc[outside, "population_est"].sum())
    settlements = settlements[~outside]
    if counted is None:
        counted = pd.to_numeric(settlements["population"], errors="coerce").notna()
        imputed = settlements["population_basis"] != "known"
    else:
        counted = counted[~outside]
        imputed = ~counted
    est = settlements["population_est"]
    total = float(est.sum())
    known_total = float(est[counted].sum())
    return {
        "settlements": len(settlements),
        "with_known_population": int(counted.sum()),
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
