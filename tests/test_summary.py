"""analysis.summary: the figures the report quotes, against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from analysis.stats import weighted_ecdf, weighted_mean, weighted_quantile, weighted_share
from analysis.summary import (
    affected_codes,
    affected_mean_distances,
    centre_changes,
    changed_regions,
    conservation,
    distance_quantiles,
    gained,
    nearest_centre_elsewhere,
    new_regions,
    reform_chain,
    top_lists,
)


def test_weighted_statistics_ignore_nan_and_non_positive_weights():
    assert weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], 0.5) == 2.0
    assert weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], 0.6) == 3.0
    assert weighted_quantile([float("nan"), 5.0, 7.0], [1.0, 1.0, 0.0], 0.99) == 5.0
    assert np.isnan(weighted_quantile([1.0], [0.0], 0.5))
    assert weighted_mean(pd.Series([1.0, 3.0, 100.0]), pd.Series([1.0, 3.0, -1.0])) == 2.5
    assert np.isnan(weighted_mean(pd.Series([1.0]), pd.Series([np.nan])))
    x, y = weighted_ecdf(pd.Series([3.0, 1.0, np.nan]), pd.Series([1.0, 3.0, 1.0]))
    assert list(x) == [1.0, 3.0] and list(y) == [0.75, 1.0]
    assert weighted_share(pd.Series([True, False]), pd.Series([1.0, 3.0])) == 0.25
    assert np.isnan(weighted_share(pd.Series([True]), pd.Series([0.0])))


def test_gained_means_nearer_by_more_than_half_a_km():
    assert gained(-0.6) and not gained(-0.5) and not gained(0.3) and not gained(None)
    assert not gained(float("nan"))


def test_the_2022_reform_touched_three_regions(geokz_analysis):
    assert affected_codes(geokz_analysis) == ["KZ-19", "KZ-35", "KZ-63"]
    assert changed_regions(geokz_analysis) == {
        "KZ-10": "new", "KZ-19": "reduced", "KZ-33": "new",
        "KZ-35": "reduced", "KZ-62": "new", "KZ-63": "reduced",
    }  # fmt: skip
    fresh = new_regions(geokz_analysis.build).set_index("code")
    assert (
        fresh.loc["KZ-33", "parent"] == "KZ-19"
        and fresh.loc["KZ-62", "centre_name_en"] == "Zhezkazgan"
    )


def test_centre_changes_measure_the_move_geodesically(geokz_build):
    changes = {c.code: c for c in centre_changes(geokz_build)}
    almaty = changes["KZ-19"]
    assert (almaty.old, almaty.new, almaty.former_name) == ("Taldykorgan", "Konaev", "Kapshagai")
    regions = {e: r.set_index("code") for e, r in geokz_build.regions.items()}
    a, b = regions[2018].loc["KZ-19"], regions[2024].loc["KZ-19"]
    _, _, metres = Geod(ellps="WGS84").inv(a.centre_lon, a.centre_lat, b.centre_lon, b.centre_lat)
    assert almaty.moved_km == pytest.approx(metres / 1000, rel=1e-9)
    assert changes["KZ-71"].moved_km < 1  # Nur-Sultan renamed Astana, same place


def test_affected_means_weight_by_population(geokz_analysis):
    s = geokz_analysis.settlements
    g = s[s["region_2018"].isin(["KZ-19", "KZ-35", "KZ-63"])]
    ok = g["dist_2024_km"].notna() & (g["population_est"] > 0)
    expected = (g["dist_2024_km"][ok] * g["population_est"][ok]).sum() / g["population_est"][
        ok
    ].sum()
    means = affected_mean_distances(geokz_analysis)
    assert means["mean_after_km"] == pytest.approx(expected)
    assert means["mean_after_km"] < means["mean_before_km"]
    assert means["population"] == pytest.approx(g["population_est"].sum())


def test_distance_quantiles_of_the_regions_touched(geokz_analysis):
    q = distance_quantiles(geokz_analysis).set_index("region")
    s = geokz_analysis.settlements
    almaty = s[s["region_2018"] == "KZ-19"]
    within = almaty["population_est"][almaty["dist_2024_km"] <= 100].sum()
    assert q.loc["KZ-19", "share_within_2024"] == pytest.approx(
        within / almaty["population_est"].sum()
    )
    assert q.loc["KZ-19", "settlements"] == len(almaty)
    for e in (2018, 2024):
        assert (q[f"median_{e}_km"] <= q[f"p90_{e}_km"]).all()
    # the median person of the old Almaty region lives much nearer to Konaev than to Taldykorgan
    assert q.loc["KZ-19", "median_2024_km"] < q.loc["KZ-19", "median_2018_km"] - 50


def test_nearest_centre_elsewhere_counts(geokz_analysis):
    far = nearest_centre_elsewhere(geokz_analysis)
    s = geokz_analysis.settlements
    assert far["count"] == int(s["farther_than_other_centre"].sum())
    assert far["assigned"] == int(s["region_2024"].notna().sum()) < len(s)
    assert 0 < far["in_affected"] < far["count"]


def test_top_lists_keep_real_gains_and_losses(geokz_analysis):
    top = top_lists(geokz_analysis)
    assert (top.loc[top["kind"] == "gainer", "delta_km"] < -0.5).all()
    assert (top.loc[top["kind"] == "loser", "delta_km"] > 0.5).all()
    assert top["region_2018"].value_counts().max() <= 20  # top 10 gains + 10 losses per region


def test_conservation_of_the_flow_table(geokz_analysis):
    c = conservation(geokz_analysis)
    s = geokz_analysis.settlements
    home = s[~s["abroad"]]  # places abroad are listed but in no total or flow
    assert 0 < len(s) - len(home) == geokz_analysis.population["abroad"]
    assert c["settlements"] == c["flow_settlements"] == len(home)
    assert c["population"] == pytest.approx(geokz_analysis.population["population_total"])
    assert c["unassigned"] == int(home["region_2018"].isna().sum())
    assert c["area_before"] == pytest.approx(c["area_after"], rel=1e-4)
    assert c["passed"]
    broken = type("A", (), {})()
    broken.epochs, broken.settlements, broken.build = (2018, 2024), s, geokz_analysis.build
    broken.shifts = geokz_analysis.shifts.assign(population=geokz_analysis.shifts["population"] + 1)
    bad = conservation(broken)
    assert not bad["population_ok"] and not bad["passed"] and bad["settlements_ok"]


def test_reform_chain_ends_with_the_analysed_reform(geokz_analysis):
    import copy
    import dataclasses

    from boundaries.chain import load_chain

    chain = reform_chain(geokz_analysis)
    assert list(chain.titles) == ["kz-1997", "kz-2018", "kz-2022"]
    assert chain.epochs["kz-2018"] == (2017, 2018) and {1996, 2017, 2018, 2024} <= set(chain.names)
    summary = chain.tables["reform_summary"]
    own = summary[summary["reform"] == "kz-2022"].set_index("region_before")
    affected = geokz_analysis.affected.set_index("region_2018")
    assert list(own.index) == list(affected.index)
    assert own["pop_weighted_mean_after_km"].to_numpy() == pytest.approx(
        affected["pop_weighted_mean_2024_km"].to_numpy()
    )
    # the 2018 claim places: geodesic distance to Shymkent (2017) and Turkistan (2018)
    spec = load_chain().spec("kz-2018")
    claims = chain.claims["kz-2018"].set_index("place")
    assert "kz-2022" not in chain.claims  # the analysed reform's claims are the report's own
    points = geokz_analysis.settlements.set_index("id").geometry
    geod = Geod(ellps="WGS84")
    for place in ("Saryagash", "Lenger", "Kentau"):
        row = claims.loc[place]
        point = points.loc[row["id"]]
        for epoch, code in ((2017, "KZ-51"), (2018, "KZ-61")):
            centre = spec.centre_of(code, epoch=epoch)
            _, _, metres = geod.inv(point.x, point.y, centre.lon, centre.lat)
            assert row[f"dist_{epoch}_km"] == pytest.approx(metres / 1000, abs=0.01)
        assert row["delta_km"] == pytest.approx(row["dist_2018_km"] - row["dist_2017_km"])
    other = copy.copy(geokz_analysis)
    other.build = dataclasses.replace(geokz_analysis.build, spec=spec)
    assert reform_chain(other) is None  # not the latest reform of the chain
