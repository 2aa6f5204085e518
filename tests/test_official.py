"""Official population as control totals, on ../shared/data and on the embedded default."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.control import COUNTED
from analysis.official import ABROAD, official_shift, osm_error
from inputs.bns import read_bulletin, read_series

NATIONAL = 19_765_004  # bulletin of 1 January 2023, sheet 02


@pytest.fixture(scope="module")
def official(data_dir):
    from inputs.bns import BULLETIN_FILE, SERIES_FILE

    return read_bulletin(data_dir / BULLETIN_FILE), read_series(data_dir / SERIES_FILE)


def _region_totals(analysis, epoch):
    rs = analysis.region_stats
    return rs[rs["epoch"] == epoch].set_index("region")["population"]


def test_conservation_sum_over_settlements_in_kazakhstan(geokz_analysis):
    s = geokz_analysis.settlements
    home = s[~s["abroad"]]
    assert home["population"].sum() == NATIONAL
    assert (home["population"] % 1 == 0).all()  # whole people
    assert s.loc[s["abroad"], "population"].isna().all()
    assert (s.loc[s["abroad"], "population_basis"] == ABROAD).all()


def test_every_2024_region_equals_bns(geokz_analysis, official):
    bulletin, _ = official
    expected = bulletin.regions.set_index("region")["population"].astype(float)
    assert _region_totals(geokz_analysis, 2024).sort_index().equals(expected.sort_index())


def test_every_control_unit_equals_bns(geokz_analysis):
    s = geokz_analysis.settlements
    units = geokz_analysis.official_result.units.units.set_index("unit")["population"]
    got = s[~s["abroad"]].groupby("bns_unit")["population"].sum()
    assert got.reindex(units.index).fillna(0).astype("int64").equals(units.astype("int64"))


def test_named_places_carry_their_official_figure(geokz_analysis):
    claims = geokz_analysis.claims.set_index("place")["population"]
    assert claims["Uzynagash"] == 47_820
    assert claims["Talgar"] == 64_898
    s = geokz_analysis.settlements
    sarkand = s[s["bns_name"] == "Сарқант қ."]
    assert sarkand["population"].tolist() == [18_014]
    assert (sarkand["population_basis"] == COUNTED).all()


def test_split_of_old_regions_within_half_a_point(geokz_analysis, official):
    _, series = official
    shift = official_shift(series, {"KZ-33": "KZ-19", "KZ-10": "KZ-63", "KZ-62": "KZ-35"})
    flows = geokz_analysis.shifts
    for row in shift.itertuples(index=False):
        old = flows[flows["region_2018"] == row.region_before]
        ours = old.loc[old["region_2024"] == row.region_after, "population"].sum() / old["population"].sum()
        assert abs(ours - row.share_after) < 0.005, (row.region_before, row.region_after, ours)


def test_official_shift_in_official_numbers(official):
    _, series = official
    shift = official_shift(series, {"KZ-33": "KZ-19", "KZ-10": "KZ-63", "KZ-62": "KZ-35"})
    almaty = shift[shift["region_before"] == "KZ-19"].set_index("region_after")
    assert almaty.loc["KZ-19", "population_before"] == 2_077_967
    assert almaty.loc["KZ-19", "population_after"] == 1_478_496
    assert almaty.loc["KZ-33", "population_after"] == 698_757
    assert set(shift["date_before"]) == {"2021-01-01"}


def test_flows_whole_and_without_abroad(geokz_analysis):
    flows = geokz_analysis.shifts
    assert "unassigned" not in set(flows["region_2018"]) | set(flows["region_2024"])
    assert (flows["population"] % 1 == 0).all()
    assert flows["population"].sum() == NATIONAL


def test_settlement_columns_keep_osm_and_prior(geokz_analysis):
    s = geokz_analysis.settlements
    for col in ("population_osm", "population_prior", "population_basis"):
        assert col in s.columns
    uzyn = s[s["bns_name"] == "Ұзынағаш а."].iloc[0]
    assert uzyn["source"] == "geonames"  # HOT lacks it; GeoNames places it
    assert uzyn["population_prior"] != 47_820


def test_population_check_and_osm_error(geokz_analysis):
    check = geokz_analysis.population_check
    regions = check[(check["level"] == "region") & (check["epoch"] == 2024)]
    assert len(regions) == 20
    assert (regions["difference"] == 0).all()
    places = check[check["level"] == "settlement"]
    assert len(places) == 244
    assert (places["match_status"] == "missing").sum() <= 5
    err = osm_error(check)
    assert err["places_compared"] > 150
    assert 0 <= err["mdape_pct"] < 50


def test_embedded_default_region_totals(embedded_analysis):
    from inputs.bns import embedded_bulletin

    expected = embedded_bulletin().regions.set_index("region")["population"].astype(float)
    assert _region_totals(embedded_analysis, 2024).sort_index().equals(expected.sort_index())
    claims = embedded_analysis.claims.set_index("place")["population"]
    assert claims["Talgar"] == 64_898


def test_district_matching_report(geokz_analysis):
    match = geokz_analysis.official_result.units.districts
    bns_side = match.report[match.report["side"] == "bns"]
    assert len(bns_side) == 220
    sauran = bns_side[bns_side["name"] == "Сауран ауданы"].iloc[0]
    assert sauran["kato"] == "612000000" and "Kentau" in sauran["action"]
    kostanay = match.links[match.links["bns_name"].str.startswith("Қостанай")]
    assert dict(zip(kostanay["bns_name"], kostanay["kato"], strict=True)) == {
        "Қостанай қ.ә.": "391000000",
        "Қостанай ауданы": "395400000",
    }
    geokz_side = match.report[match.report["side"] == "geokz"]
    assert len(geokz_side) == 224
    assert pd.Series(geokz_side["unit"]).notna().all()
