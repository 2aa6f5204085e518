"""Tests for analysis.ranking.best_centres and ``reform-atlas centres pmedian``."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.ranking import best_centres, rank_region_centres
from cli.main import main
from cli.scenario import PMEDIAN_FILE
from geo.errors import DataError


def test_one_best_centre_is_the_top_of_the_ranking(geokz_analysis):
    ranking = rank_region_centres(geokz_analysis, region="KZ-19", min_population=5000).ranking
    best = best_centres(geokz_analysis, regions=["KZ-19"], k=1, min_population=5000)
    assert len(best) == 1
    top = ranking[ranking["rank"] == 1]
    assert best["id"].iloc[0] in set(top["id"])
    assert best.attrs["objective_km"] == pytest.approx(ranking["pop_weighted_mean_km"].min())


def test_two_centres_serve_the_whole_group(geokz_analysis):
    s = geokz_analysis.settlements
    one = best_centres(geokz_analysis, regions=["KZ-19", "KZ-33"], k=1)
    two = best_centres(geokz_analysis, regions=["KZ-19", "KZ-33"], k=2)
    assert len(two) == 2 and two["id"].is_unique
    assert two.attrs["objective_km"] < one.attrs["objective_km"]
    group = s["region_2024"].astype("string").isin(["KZ-19", "KZ-33"]).fillna(False)
    # conservation: every settlement of the group is served by one of the centres
    assert two["assigned_settlements"].sum() == int(group.sum())
    demand = s.loc[group, "population_est"]
    assert two["assigned_population"].sum() == pytest.approx(demand[demand > 0].sum())


def test_unknown_region_is_an_error(geokz_analysis):
    with pytest.raises(DataError, match="KZ-99"):
        best_centres(geokz_analysis, regions=["KZ-99"], k=1)


def test_cli_pmedian_writes_the_centres(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    args = ["centres", "pmedian", "--regions", "KZ-19,KZ-33", "--k", "2"]
    assert main([*args, "--data-dir", str(data_dir), "--out", str(out)]) == 0
    table = pd.read_csv(out / PMEDIAN_FILE)
    assert len(table) == 2
    assert {"candidate", "assigned_population", "pop_weighted_mean_km"} <= set(table.columns)
    assert "best 2 centre(s) for KZ-19, KZ-33" in capsys.readouterr().out
    bad = tmp_path / "bad"
    assert main([*args, "--data-dir", str(data_dir), "--regions", "KZ-99", "--out", str(bad)]) == 2
    assert not bad.exists()
    assert capsys.readouterr().err.count("\n") == 1
