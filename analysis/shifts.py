"""Population shifts: the flow matrix from pre-reform to post-reform regions."""

from __future__ import annotations

import pandas as pd

from boundaries.schema import region_col

UNASSIGNED = "unassigned"


def flow_matrix(
    settlements: pd.DataFrame,
    crosswalk: pd.DataFrame,
    *,
    before: int,
    after: int,
) -> pd.DataFrame:
    """Settlements, population and area moving from each ``before`` region to each ``after`` region.

    Settlements with no region are kept under ``"unassigned"`` so that every
    total of the flow table equals the total over all settlements.

    Returns
    -------
    DataFrame
        ``region_<before>``, ``region_<after>``, ``settlements``, ``population``
        (known + estimated), ``population_known``, ``population_low``,
        ``population_high``, ``area_km2``, ``changed``.
    """
    b, a = region_col(before), region_col(after)
    frame = pd.DataFrame(
        {
            b: settlements[b].astype("string").fillna(UNASSIGNED).to_numpy(),
            a: settlements[a].astype("string").fillna(UNASSIGNED).to_numpy(),
            "population": settlements["population_est"].to_numpy(),
            "population_known": pd.to_numeric(settlements["population"], errors="coerce")
            .fillna(0)
            .to_numpy(),
            "population_low": settlements["population_low"].to_numpy(),
            "population_high": settlements["population_high"].to_numpy(),
        }
    )
    frame["settlements"] = 1
    flows = frame.groupby([b, a], as_index=False).sum(numeric_only=True)
    area = crosswalk[[b, a, "area_km2"]]
    table = flows.merge(area, on=[b, a], how="outer")
    table[["settlements"]] = table[["settlements"]].fillna(0).astype("int64")
    for col in ("population", "population_known", "population_low", "population_high"):
        table[col] = table[col].fillna(0.0)
    table["area_km2"] = table["area_km2"].fillna(0.0)
    table["changed"] = table[b] != table[a]
    cols = [
        b,
        a,
        "settlements",
        "population",
        "population_known",
        "population_low",
        "population_high",
        "area_km2",
        "changed",
    ]
    return table[cols].sort_values([b, a]).reset_index(drop=True)
