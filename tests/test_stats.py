"""Tests for analysis.stats: the one weighted mean, the per-region kernel and table."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from analysis.stats import (
    affected_regions,
    distance_summary,
    region_stats,
    region_table,
    weighted_mean,
)
from geo.errors import DataError


def test_weighted_mean_rule():
    assert weighted_mean([1.0, 3.0], [1.0, 3.0]) == pytest.approx(2.5)
    # NaN values, NaN weights and weights <= 0 are left out
    v = [1.0, np.nan, 5.0, 7.0, 9.0]
    w = [1.0, 10.0, np.nan, 0.0, -2.0]
    assert weighted_mean(v, w) == 1.0
    assert np.isnan(weighted_mean([1.0, 2.0], [0.0, 0.0]))
    assert np.isnan(weighted_mean([], []))


def test_distance_summary_of_one_region():
    d = np.array([10.0, 20.0, 30.0, 400.0])
    w = np.array([1.0, 1.0, np.nan, 2.0])
    known = np.array([1.0, np.nan, np.nan, 2.0])
    row = distance_summary(d, w, known=known, thresholds_km=(100, 25))
    assert row["settlements"] == 4
    assert row["population"] == 4.0 and row["population_known"] == 3.0
    assert row["mean_km"] == 115.0 and row["median_km"] == 25.0 and row["max_km"] == 400.0
    assert row["p90_km"] == pytest.approx(np.quantile(d, 0.9))
    assert row["pop_weighted_mean_km"] == pytest.approx((10 + 20 + 800) / 4)
    assert row["share_pop_beyond_100km"] == pytest.approx(0.5)
    assert row["share_pop_beyond_25km"] == pytest.approx(0.5)  # the 30 km place has no weight
    empty = distance_summary(np.array([]), np.array([]))
    assert empty["settlements"] == 0 and empty["population"] == 0.0
    assert np.isnan(empty["mean_km"]) and np.isnan(empty["pop_weighted_mean_km"])


@pytest.fixture
def toy():
    regions = gpd.GeoDataFrame(
        {
            "code": ["A", "B", "C"],
            "name_en": ["Alpha", "Beta", "Gamma"],
            "centre_name_en": ["a", "b", "c"],
            "area_km2": [1.0, 2.0, 3.0],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4326",
    )
    settlements = pd.DataFrame(
        {
            "region_2024": ["B", "A", "B", None, "A"],
            "dist_2024_km": [5.0, 1.0, 15.0, np.nan, 3.0],
            "population_est": [10.0, 1.0, 30.0, 99.0, 3.0],
            "population": [10.0, np.nan, 30.0, 99.0, 3.0],
        }
    )
    return regions, settlements


def test_region_table_groups_in_region_order_and_conserves(toy):
    regions, settlements = toy
    table = region_table(settlements, regions, epoch=2024)
    assert list(table.index) == ["A", "B", "C"]
    assert table["settlements"].tolist() == [2, 2, 0]
    assert table.loc["A", "pop_weighted_mean_km"] == pytest.approx((1 + 9) / 4)
    assert table.loc["B", "pop_weighted_mean_km"] == pytest.approx((50 + 450) / 40)
    assert np.isnan(table.loc["C", "mean_km"])
    # conservation: the regions hold every settlement with a region, and its weight
    assigned = settlements["region_2024"].notna()
    assert table["settlements"].sum() == assigned.sum()
    assert table["population"].sum() == settlements.loc[assigned, "population_est"].sum()


def test_region_table_rejects_unknown_codes_and_missing_columns(toy):
    regions, settlements = toy
    with pytest.raises(DataError, match="Z"):
        region_table(
            settlements.assign(region_2024=["Z", "A", "B", None, "A"]), regions, epoch=2024
        )
    with pytest.raises(DataError, match="dist_2024_km"):
        region_table(settlements.drop(columns="dist_2024_km"), regions, epoch=2024)


def test_region_stats_is_region_table_per_epoch(geokz_analysis):
    a = geokz_analysis
    stats = region_stats(a.settlements, a.build.regions)
    for epoch, regions in a.build.regions.items():
        part = stats[stats["epoch"] == epoch].set_index("region")
        table = region_table(a.settlements, regions, epoch=epoch)
        assert list(part.index) == list(table.index)
        pd.testing.assert_series_equal(
            part["pop_weighted_mean_km"], table["pop_weighted_mean_km"], check_names=False
        )
        # every assigned settlement and its population lands in exactly one region
        assigned = a.settlements[f"region_{epoch}"].notna()
        assert part["settlements"].sum() == assigned.sum()
        assert part["population"].sum() == pytest.approx(
            a.settlements.loc[assigned, "population_est"].sum(), rel=1e-12
        )


def test_affected_shares_add_up(geokz_analysis):
    table = affected_regions(geokz_analysis.settlements, before=2018, after=2024)
    assert len(table)
    total = table[["share_pop_nearer", "share_pop_farther", "share_pop_unchanged"]].sum(axis=1)
    assert np.allclose(total, 1.0)
    # the 2022 reform moved the Almaty region's centre: its people mostly got nearer or farther
    assert "KZ-19" in set(table["region_2018"])
