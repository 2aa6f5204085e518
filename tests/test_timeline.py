"""Analysis over the reform chain on the real data (1996, 2017, 2018, 2024)."""

import numpy as np
import pytest
import shapely
from pyproj import Geod

from analysis.timeline import (
    approximation_table,
    former_centres,
    member_sources,
    reform_summary,
    reform_winners_losers,
    successor_overlap,
    timeline_settlements,
    timeline_table,
)
from boundaries.build import build, build_chain, reform_build
from boundaries.chain import load_chain
from geo.crs import EQUAL_AREA
from geo.validation import iou


@pytest.fixture(scope="module")
def chain_build(geokz_sources, geokz_build):
    return build_chain(geokz_sources, load_chain(), base=geokz_build)


@pytest.fixture(scope="module")
def timeline(chain_build, geokz_settlement_source):
    return timeline_settlements(geokz_settlement_source.frame, chain_build)


def _geometry(regions, code):
    return regions.to_crs(EQUAL_AREA).set_index("code").geometry[code]


def test_2017_south_kazakhstan_is_the_merge_of_its_2018_parts(chain_build, geokz_sources):
    built = chain_build.regions
    merged = shapely.union_all([_geometry(built[2018], c) for c in ("KZ-61", "KZ-79")])
    assert iou(_geometry(built[2017], "KZ-51"), merged) > 0.99999
    # and of the *published* 2018 regions, which the build never used for this epoch
    published = geokz_sources.reference[2018].to_crs(EQUAL_AREA).set_index("code").geometry
    assert (
        iou(_geometry(built[2017], "KZ-51"), published["KZ-61"].union(published["KZ-79"])) > 0.999
    )
    # every other 2017 region is its 2018 region
    for code in set(built[2017]["code"]) - {"KZ-51"}:
        assert iou(_geometry(built[2017], code), _geometry(built[2018], code)) > 0.99999


def test_embedded_default_builds_2017_without_a_data_dir():
    from boundaries.sources import load_embedded

    sources, chain = load_embedded(), load_chain()
    built = build_chain(sources, chain)
    assert built.epochs == (2017, 2018, 2024)
    # reusing a finished build of the latest reform gives the same epochs
    again = build_chain(sources, chain, base=build(sources, chain.specs[-1]))
    for e in built.epochs:
        assert (
            again.regions[e]
            .drop(columns="geometry")
            .equals(built.regions[e].drop(columns="geometry"))
        )
    assert any("1996" in n for n in built.notes)
    r = built.regions
    merged = shapely.union_all([_geometry(r[2024], c) for c in ("KZ-61", "KZ-79")])
    assert iou(_geometry(r[2017], "KZ-51"), merged) > 0.99999


def test_area_is_conserved_across_every_epoch(chain_build):
    areas = {e: r["area_km2"].sum() for e, r in chain_build.regions.items()}
    assert set(areas) == {1996, 2017, 2018, 2024}
    first = areas[2018]
    for area in areas.values():
        assert area == pytest.approx(first, rel=1e-6)


def test_population_is_conserved_across_every_epoch(timeline, chain_build):
    assigned = timeline[timeline["assignment"] != "unassigned"]
    totals = []
    for e in chain_build.epochs:
        assert assigned[f"region_{e}"].notna().all()
        assert assigned[f"dist_{e}_km"].notna().all()
        totals.append(assigned.groupby(f"region_{e}", observed=True)["population_est"].sum().sum())
    assert np.allclose(totals, assigned["population_est"].sum())


def test_named_towns_match_the_issue_quick_check(timeline):
    """Saryagash ~102 → 217 km, Lenger 29 → 182, Kentau 159 → 31 (issue #13)."""
    table = timeline_table(timeline, (2017, 2018))
    expected = {"Сарыағаш": (102, 217), "Леңгір": (29, 182), "Кентау": (159, 31)}
    for name, (before, after) in expected.items():
        town = table[table["name"] == name].sort_values("population_est").iloc[-1]
        assert town["centre_2017"] == "Shymkent" and town["centre_2018"] == "Turkistan"
        assert town["dist_2017_km"] == pytest.approx(before, abs=3)
        assert town["dist_2018_km"] == pytest.approx(after, abs=3)


def test_timeline_distance_is_the_geodesic_to_that_epochs_centre(timeline, chain_build):
    geod = Geod(ellps="WGS84")
    row = timeline[timeline["region_1996"] == "KZ-TUR"].iloc[0]
    centre = chain_build.regions[1996].set_index("code").loc["KZ-TUR"]
    _, _, metres = geod.inv(
        centre["centre_lon"], centre["centre_lat"], row.geometry.x, row.geometry.y
    )
    assert row["dist_1996_km"] == pytest.approx(metres / 1000, abs=1e-6)


def test_2018_reform_moved_south_kazakhstan_farther_on_average(timeline, chain_build):
    summary = reform_summary(timeline, chain_build)
    row = summary[(summary["reform"] == "kz-2018") & (summary["region_before"] == "KZ-51")].iloc[0]
    assert row["pop_weighted_mean_after_km"] > row["pop_weighted_mean_before_km"]
    assert row["share_pop_farther"] > row["share_pop_nearer"]
    # Shymkent's own residents kept their centre: a large unchanged share
    assert row["share_pop_unchanged"] > 0.25
    assert set(summary["reform"]) == {"kz-1997", "kz-2018", "kz-2022"}


def test_successor_overlap_and_approximation(chain_build):
    table = successor_overlap(chain_build.regions, sources=member_sources(chain_build))
    table = table.set_index("region")
    assert "Жезқазған облысы" in table.loc["KZ-62", "former_source"]
    ulytau = table.loc["KZ-62"]
    assert ulytau["share_of_region"] > 0.999  # Ulytau lies inside the former Zhezkazgan oblast
    # official areas: Ulytau ~188.9 thousand km², Zhezkazgan oblast 313.4 thousand km²
    assert ulytau["share_of_former"] == pytest.approx(188_900 / 313_400, abs=0.03)
    assert (table["centres_km"] < 1).all()  # the same centres: Zhezkazgan, Semey, Taldykorgan
    approx = approximation_table(chain_build.regions).set_index("region")
    assert (approx["difference_pct"].abs() < 10).all()
    assert approx.loc[["KZ-ZHE", "KZ-TAL"], "difference_pct"].abs().max() < 1.5


def test_former_centres_lost_and_regained_their_status(chain_build):
    table = former_centres(chain_build).set_index("centre")
    assert table.loc["Zhezkazgan", "dist_1996_km"] < 5
    assert table.loc["Zhezkazgan", "centre_2017"] == "Karaganda"
    assert table.loc["Zhezkazgan", "dist_2024_km"] < 5
    assert table.loc["Arkalyk", "centre_2024"] == "Kostanay"


def test_reform_build_is_one_reform_of_the_chain(chain_build):
    result = reform_build(chain_build, "kz-2018")
    assert result.spec.epochs == (2017, 2018)
    assert set(result.regions) == {2017, 2018}
    moved = result.crosswalk[result.crosswalk["changed"]]
    assert set(moved["region_2018"]) == {"KZ-61", "KZ-79"}


def test_winners_and_losers_per_reform(timeline, chain_build):
    table = reform_winners_losers(timeline, chain_build, top=10_000)  # every ranked place
    k18 = table[table["reform"] == "kz-2018"]
    assert "Түркістан" in set(k18.loc[k18["kind"] == "gainer", "name"])
    assert "Леңгір" in set(k18.loc[k18["kind"] == "loser", "name"])
    assert (k18.loc[k18["kind"] == "loser", "delta_km"] > 0).all()
    assert set(table["reform"]) == {"kz-1997", "kz-2018", "kz-2022"}
