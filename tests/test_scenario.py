"""Tests for the scenario lab (analysis.scenario) and its CLI (cli.scenario).

Real data from ../shared/data through the fixtures of conftest.py; the enacted
analysis and the scenario evaluations are computed once per module.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod

from analysis.centres import centre_rank_of
from analysis.ranking import rank_region_centres, weighted_settlements
from analysis.scenario import (
    _centre_notes,
    evaluate_scenario,
    load_scenario,
    scenario_problems,
)
from boundaries.spec import ReformSpecError, dump_spec, load_spec, parse_spec
from boundaries.spec_units import check_against_units
from cli.scenario import RANKING_FILE, register
from geo.crs import area_km2
from geo.errors import DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
KASKELEN = SCENARIOS / "almaty-centre-kaskelen.toml"
ALAKOL = SCENARIOS / "zhetysu-without-alakol.toml"
ALAKOL_UNIT = "KZ193400"
GEOD = Geod(ellps="WGS84")
CONTRACT_FILES = {
    "regions_2024.geojson",
    "settlements.csv",
    "metrics.csv",
    "compare.csv",
    "compare_regions.csv",
    "scenario.toml",
}
COMPARE_METRICS = [
    "regions",
    "population",
    "settlements",
    "pop_weighted_mean_km",
    "share_pop_beyond_100km",
    "share_pop_beyond_200km",
    "share_pop_beyond_300km",
    "max_abs_deviation_pct",
    "mean_polsby_popper",
    "mean_reock",
    "mean_convex_hull_ratio",
    "non_contiguous",
]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def settlement_source(geokz_settlement_source):
    return geokz_settlement_source


@pytest.fixture(scope="module")
def enacted(geokz_analysis):
    return geokz_analysis


def _evaluate(path_or_spec, sources, settlements, enacted):
    spec = (
        load_scenario(path_or_spec, sources=sources)
        if not hasattr(path_or_spec, "id")
        else path_or_spec
    )
    return evaluate_scenario(spec, sources=sources, settlements_source=settlements, enacted=enacted)


@pytest.fixture(scope="module")
def enacted_as_scenario(spec, geokz_sources, settlement_source, enacted):
    # the enacted reform through TOML and back, built and analysed from scratch
    again = parse_spec(tomllib.loads(dump_spec(spec)), source="kz-2022 as a scenario")
    return _evaluate(again, geokz_sources, settlement_source, enacted)


@pytest.fixture(scope="module")
def kaskelen(geokz_sources, settlement_source, enacted):
    return _evaluate(KASKELEN, geokz_sources, settlement_source, enacted)


@pytest.fixture(scope="module")
def alakol(geokz_sources, settlement_source, enacted):
    return _evaluate(ALAKOL, geokz_sources, settlement_source, enacted)


def _raw(path=None) -> dict:
    return tomllib.loads(
        (path or ROOT / "boundaries" / "reforms" / "kz-2022.toml").read_text("utf-8")
    )


def _run(argv):
    """Parse ``argv`` with a parser holding only :func:`register`'s subcommands and run it."""
    parser = argparse.ArgumentParser(prog="reform-atlas")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = register(sub)
    args = parser.parse_args(argv)
    return handlers[args.command][getattr(args, f"{args.command}_command")](args)


# ---------------------------------------------------------------- enacted = scenario
def test_enacted_reform_as_scenario_gives_the_2024_results(enacted_as_scenario, geokz_build):
    res = enacted_as_scenario
    assert_geodataframe_equal(res.regions, geokz_build.regions[2024])
    assert_geodataframe_equal(res.build.regions[2018], geokz_build.regions[2018])
    pd.testing.assert_frame_equal(res.metrics, res.variant_metrics["2024_enacted"])
    cmp = res.compare.set_index("metric")
    assert list(cmp.index) == COMPARE_METRICS
    assert list(cmp.columns) == ["2018", "2024_enacted", "scenario", "scenario_minus_enacted"]
    assert (cmp["scenario"] == cmp["2024_enacted"]).all()
    assert (cmp["scenario_minus_enacted"] == 0).all()
    assert res.region_compare.empty
    cols = ["id", "region_2018", "region_2024", "dist_2018_km", "dist_2024_km", "population_est"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.analysis.settlements[cols]), pd.DataFrame(res.enacted.settlements[cols])
    )
    # the national figures are those of the 2024 regions, and the reform shortened trips
    assert cmp.loc["regions", "2018"] == 17 and cmp.loc["regions", "scenario"] == 20
    assert cmp.loc["pop_weighted_mean_km", "scenario"] < cmp.loc["pop_weighted_mean_km", "2018"]


def test_region_metrics_use_population_est(enacted_as_scenario):
    res = enacted_as_scenario
    st = res.analysis.settlements
    total = st.loc[st["region_2024"].notna(), "population_est"].sum()
    assert res.overall["population"] == pytest.approx(total, rel=1e-12)
    # weights are the figures controlled to BNS totals, not the gazetteer's own tags
    assert res.overall["population"] == 19_765_004
    assert res.overall["population"] > st["population_osm"].sum()


# ---------------------------------------------------------------- example scenarios
@pytest.mark.parametrize("path", [KASKELEN, ALAKOL], ids=["kaskelen", "alakol"])
def test_example_specs_load_and_fit_the_2018_districts(path, geokz_sources):
    text = path.read_text("utf-8")
    assert text.startswith("# SCENARIO (what-if, not enacted)")
    spec = load_scenario(path, sources=geokz_sources)
    assert spec.id == path.stem and spec.epochs == (2018, 2024)
    units = dict(zip(geokz_sources.units["unit"], geokz_sources.units["region"], strict=True))
    check_against_units(spec, units)
    # also a valid reform spec for the rest of the project
    assert dump_spec(load_spec(path)) == dump_spec(spec)


def _pop_weighted_km(settlements, code, lon, lat):
    sub = settlements[(settlements["region_2024"] == code).fillna(False).to_numpy(dtype=bool)]
    d = [GEOD.inv(p.x, p.y, lon, lat)[2] / 1000.0 for p in sub.geometry]
    w = sub["population_est"].to_numpy()
    return float(np.dot(d, w) / w.sum())


def test_kaskelen_scenario_moves_only_the_almaty_region_centre(kaskelen, enacted_as_scenario):
    res = kaskelen
    diff = res.region_compare
    assert diff["code"].tolist() == ["KZ-19"]
    row = diff.iloc[0]
    assert (row["centre_enacted"], row["centre_scenario"]) == ("Konaev", "Kaskelen")
    assert row["iou"] == 1.0 and row["area_km2_delta"] == 0 and row["population_delta"] == 0
    assert row["pop_weighted_mean_km_scenario"] != pytest.approx(
        row["pop_weighted_mean_km_enacted"], abs=0.5
    )
    # brute force: geodesic loop from every KZ-19 settlement to Kaskelen (OSM node 1282416486)
    expected = _pop_weighted_km(res.analysis.settlements, "KZ-19", 76.6309754, 43.1965135)
    assert res.metrics.loc["KZ-19", "pop_weighted_mean_km"] == pytest.approx(expected, rel=1e-9)
    assert res.metrics.loc["KZ-19", "centre_name_en"] == "Kaskelen"
    # the regions are the enacted ones; every other region's metrics are unchanged
    assert_geodataframe_equal(
        res.regions.drop(
            columns=[
                "centre_name_en",
                "centre_name_kk",
                "centre_name_ru",
                "centre_lon",
                "centre_lat",
            ]
        ),
        enacted_as_scenario.regions.drop(
            columns=[
                "centre_name_en",
                "centre_name_kk",
                "centre_name_ru",
                "centre_lon",
                "centre_lat",
            ]
        ),
    )
    others = res.metrics.drop(index="KZ-19")
    pd.testing.assert_frame_equal(others, res.variant_metrics["2024_enacted"].drop(index="KZ-19"))
    assert (
        res.compare.set_index("metric").loc["pop_weighted_mean_km", "scenario_minus_enacted"] != 0
    )


def test_alakol_scenario_moves_the_district_area_from_zhetysu_to_abai(alakol, geokz_build):
    res = alakol
    pieces = geokz_build.pieces
    alakol_km2 = float(area_km2(pieces[pieces["unit"] == ALAKOL_UNIT]).sum())
    assert alakol_km2 > 30_000  # Alakol district is about 36,000 km²
    before = geokz_build.regions[2024].set_index("code")["area_km2"]
    after = res.regions.set_index("code")["area_km2"]
    assert after["KZ-33"] == pytest.approx(before["KZ-33"] - alakol_km2, abs=1.0)
    assert after["KZ-10"] == pytest.approx(before["KZ-10"] + alakol_km2, abs=1.0)
    assert after.drop(["KZ-10", "KZ-33"]).to_numpy() == pytest.approx(
        before.drop(["KZ-10", "KZ-33"]).to_numpy()
    )
    assert after.sum() == pytest.approx(before.sum(), rel=1e-9)
    assert sorted(res.region_compare["code"]) == ["KZ-10", "KZ-33"]
    assert res.metrics.loc[["KZ-10", "KZ-33"], "is_contiguous"].all()
    cmp = res.compare.set_index("metric")
    assert cmp.loc["non_contiguous", "scenario"] == cmp.loc["non_contiguous", "2024_enacted"]
    # the district's settlements now belong to Abai and measure to Semey
    st = res.analysis.settlements
    in_alakol = st.geometry.within(pieces.loc[pieces["unit"] == ALAKOL_UNIT].geometry.iloc[0])
    assert in_alakol.sum() > 20
    assert set(st.loc[in_alakol, "region_2024"]) == {"KZ-10"}
    assert set(st.loc[in_alakol, "centre_2024"]) == {"Semey"}
    moved = res.region_compare.set_index("code")
    assert moved.loc["KZ-33", "population_delta"] == -moved.loc["KZ-10", "population_delta"] < 0


def test_scenario_on_embedded_default(embedded_build, spec):
    from analysis.pipeline import analyze, load_settlements

    sources = embedded_build.sources
    settlements = load_settlements(sources)
    enacted = analyze(embedded_build, settlements)
    # re-centring the enacted regions needs no district data
    res = evaluate_scenario(
        load_scenario(KASKELEN, sources=sources),
        sources=sources,
        settlements_source=settlements,
        enacted=enacted,
    )
    assert res.region_compare["code"].tolist() == ["KZ-19"]
    # moving a district does, and says so before building anything
    with pytest.raises(ReformSpecError, match=r"KZ193400.*--data-dir") as err:
        load_scenario(ALAKOL, sources=sources)
    assert len(err.value.problems) == 1
    with pytest.raises(ReformSpecError, match="--data-dir"):
        evaluate_scenario(
            load_spec(ALAKOL), sources=sources, settlements_source=settlements, enacted=enacted
        )


# ---------------------------------------------------------------- bad specs
def _break_everything(raw: dict) -> dict:
    zhetysu = next(m for m in raw["moves"] if m["to"] == "KZ-33")
    abai = next(m for m in raw["moves"] if m["to"] == "KZ-10")
    zhetysu["units"].append("KZ199999")  # unknown district code
    abai["units"].append("KZ191000")  # Taldykorgan city in two moves
    next(r for r in raw["regions"] if r["code"] == "KZ-62")["centre"] = (
        "zhezqazgan"  # no such centre
    )
    raw["centres"]["kyzylorda"]["lon"] = 365.503615  # not a longitude
    return raw


EXPECTED_PROBLEMS = (
    "unit KZ199999 is not a 2018 district code",
    "unit KZ191000 is assigned 2 times by moves/splits",
    "centre 'zhezqazgan' is not defined",
    "[centres.kyzylorda]: lon 365.503615 is not a longitude",
)


def test_bad_spec_lists_every_problem(geokz_sources):
    spec, problems = scenario_problems(
        _break_everything(_raw()), source="bad.toml", sources=geokz_sources
    )
    assert spec is None
    for expected in EXPECTED_PROBLEMS:
        assert sum(expected in p for p in problems) == 1, (expected, problems)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda raw: next(m for m in raw["moves"] if m["to"] == "KZ-33")["units"].append(
                "KZ199999"
            ),
            ["unit KZ199999 is not a 2018 district code"],
        ),
        (
            lambda raw: (
                next(m for m in raw["moves"] if m["to"] == "KZ-33")["units"].append("KZ199999"),
                next(m for m in raw["moves"] if m["to"] == "KZ-10")["units"].append("KZ191000"),
            ),
            ["unit KZ199999 is not a 2018 district code", "unit KZ191000 is assigned 2 times"],
        ),
        (
            lambda raw: raw["reform"].update(before=2019),
            ["[reform] before = 2019, but scenarios apply to the 2018 districts"],
        ),
    ],
    ids=["unknown-unit-only", "structure-ok-consistency-fails", "wrong-before-epoch"],
)
def test_problems_of_every_stage_are_listed(edit, expected, geokz_sources):
    raw = _raw()
    edit(raw)
    _, problems = scenario_problems(raw, source="bad.toml", sources=geokz_sources)
    for text in expected:
        assert any(text in p for p in problems), (text, problems)


def test_load_scenario_raises_with_all_problems(tmp_path, geokz_sources):
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(_break_everything(_raw())), encoding="utf-8")
    with pytest.raises(ReformSpecError) as err:
        load_scenario(path, sources=geokz_sources)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for expected in EXPECTED_PROBLEMS:
        assert expected in message
    with pytest.raises(ReformSpecError, match="file not found"):
        load_scenario(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[reform\n", encoding="utf-8")
    with pytest.raises(ReformSpecError, match="not valid TOML"):
        load_scenario(tmp_path / "broken.toml")


# ---------------------------------------------------------------- centre ranking
def test_ranking_matches_brute_force_on_ulytau(enacted):
    result = rank_region_centres(enacted, region="KZ-62", epoch=2024, min_population=5000)
    table = result.ranking
    st = enacted.settlements
    sub = st[(st["region_2024"] == "KZ-62").fillna(False).to_numpy(dtype=bool)]
    counted = sub["population_basis"].isin(["known", "secondary gazetteer figure"])
    expected_ids = set(sub.loc[counted & (sub["population_est"] >= 5000), "id"])
    assert expected_ids <= set(table["id"]) and len(table) >= 3
    demand = [((p.x, p.y), w) for p, w in zip(sub.geometry, sub["population_est"], strict=True)]
    total = sum(w for _, w in demand)
    by_id = st.set_index("id")
    brute = {}
    for cid in table["id"]:
        c = by_id.loc[cid].geometry
        brute[cid] = sum(w * GEOD.inv(c.x, c.y, x, y)[2] / 1000.0 for (x, y), w in demand) / total
    got = table.set_index("id")["pop_weighted_mean_km"]
    assert got.to_numpy() == pytest.approx(pd.Series(brute)[got.index].to_numpy(), rel=1e-9)
    assert table["rank"].tolist() == sorted(table["rank"])
    assert table["id"].iloc[0] == min(brute, key=brute.get)
    # the actual centre (Zhezkazgan) is found by coordinates and placed by centre_rank_of
    enacted_row = table[table["is_enacted_centre"]]
    assert enacted_row["candidate"].tolist() == ["Жезқазған"]
    assert result.enacted_centre == "Zhezkazgan"
    assert (result.enacted_rank, result.enacted_km - result.best_km) == pytest.approx(
        centre_rank_of(table, result.enacted_id)
    )
    assert {"candidate", "osm_id", "population", "pop_weighted_mean_km", "rank"} <= set(
        table.columns
    )


def test_ranking_reports_the_gap_to_the_best(enacted):
    result = rank_region_centres(enacted, region="KZ-19")  # 2024, centre Konaev
    assert result.epoch == 2024 and result.enacted_centre == "Konaev"
    assert result.enacted_rank > 1
    assert result.km_behind_best == pytest.approx(result.enacted_km - result.best_km)
    assert result.km_behind_best > 0
    row = result.ranking[result.ranking["is_enacted_centre"]].iloc[0]
    assert row["km_behind_best"] == pytest.approx(result.km_behind_best)
    assert "Konaev (Қонаев) ranks" in result.summary() and "closer on average" in result.summary()
    old = rank_region_centres(enacted, region="KZ-19", epoch=2018)
    assert old.enacted_centre == "Taldykorgan"
    assert old.ranking.loc[old.ranking["is_enacted_centre"], "candidate"].tolist() == [
        "Талдықорған"
    ]
    with pytest.raises(DataError, match="KZ-99 is not a 2024 region"):
        rank_region_centres(enacted, region="KZ-99")
    with pytest.raises(DataError, match="epoch 2030"):
        rank_region_centres(enacted, region="KZ-19", epoch=2030)


def test_centre_found_by_name_when_coordinates_are_off(enacted):
    regions = dict(enacted.build.regions)
    moved = regions[2024].copy()
    moved.loc[moved["code"] == "KZ-19", ["centre_lon", "centre_lat"]] = (75.2, 45.9)  # no town here
    off = dataclasses.replace(enacted, build=dataclasses.replace(enacted.build, regions=regions))
    regions[2024] = moved
    result = rank_region_centres(off, region="KZ-19")
    assert result.match == "name match for 'Konaev'"
    assert result.enacted_candidate == "Қонаев"
    same = rank_region_centres(enacted, region="KZ-19")
    assert (result.enacted_rank, result.enacted_km) == (same.enacted_rank, same.enacted_km)


def test_centres_outside_their_region_are_noted(geokz_build):
    regions = geokz_build.regions[2024].copy()
    regions.loc[regions["code"] == "KZ-62", ["centre_lon", "centre_lat"]] = (73.102662, 49.816128)
    notes = _centre_notes(regions)
    assert len(notes) == 1 and notes[0].startswith(
        "centre Zhezkazgan of KZ-62 lies outside the region"
    )
    assert _centre_notes(geokz_build.regions[2024]) == []


def test_weighted_settlements_weights_by_estimate(enacted):
    w = weighted_settlements(enacted.settlements)
    assert np.array_equal(
        w["population"].to_numpy(), enacted.settlements["population_est"].to_numpy(), equal_nan=True
    )
    assert w["population_known"].isna().sum() == enacted.settlements["population"].isna().sum()


# ---------------------------------------------------------------- CLI
def test_cli_scenario_evaluate_writes_the_contract_files(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        _run(["scenario", "evaluate", str(ALAKOL), "--data-dir", str(data_dir), "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "zhetysu-without-alakol" in printed and "KZ-33 Zhetysu Region" in printed
    assert {p.name for p in out.iterdir()} == CONTRACT_FILES
    doc = json.loads((out / "regions_2024.geojson").read_text("utf-8"))
    assert "crs" not in doc and len(doc["features"]) == 20
    regions = gpd.read_file(out / "regions_2024.geojson")
    assert all(shapely.is_ccw(p.exterior) for g in regions.geometry for p in shapely.get_parts(g))
    compare = pd.read_csv(out / "compare.csv")
    assert compare.columns.tolist() == [
        "metric",
        "2018",
        "2024_enacted",
        "scenario",
        "scenario_minus_enacted",
    ]
    assert compare["metric"].tolist() == COMPARE_METRICS
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 20 and {
        "code",
        "pop_weighted_mean_km",
        "polsby_popper",
        "is_contiguous",
    } <= set(metrics.columns)
    settlements = pd.read_csv(out / "settlements.csv", low_memory=False)
    assert {"region_2024", "region_2024_enacted", "delta_vs_enacted_km", "lon", "lat"} <= set(
        settlements.columns
    )
    moved = settlements[
        (settlements["region_2024_enacted"] == "KZ-33") & (settlements["region_2024"] == "KZ-10")
    ]
    assert len(moved) > 20
    assert sorted(pd.read_csv(out / "compare_regions.csv")["code"]) == ["KZ-10", "KZ-33"]
    assert dump_spec(load_spec(out / "scenario.toml")) == dump_spec(load_spec(ALAKOL))


def test_cli_centres_rank_writes_the_ranking(data_dir, tmp_path, capsys):
    out = tmp_path / "rank"
    argv = [
        "centres",
        "rank",
        "--region",
        "KZ62",
        "--data-dir",
        str(data_dir),
        "--top",
        "2",
        "--out",
        str(out),
    ]
    assert _run(argv) == 0
    printed = capsys.readouterr().out
    assert "KZ-62 Ulytau Region (2024)" in printed and "Zhezkazgan (Жезқазған) ranks 1" in printed
    assert [p.name for p in out.iterdir()] == [RANKING_FILE]
    table = pd.read_csv(out / RANKING_FILE)
    assert table.columns[:5].tolist() == ["candidate", "name_latn", "name_en", "id", "osm_id"]
    assert table["name_latn"].map(str.isascii).all()
    assert {"pop_weighted_mean_km", "rank", "km_behind_best", "is_enacted_centre"} <= set(
        table.columns
    )
    assert (table["rank"] <= 2).sum() == 2 and table["is_enacted_centre"].sum() == 1


def test_cli_errors_leave_no_output(tmp_path, monkeypatch, geokz_sources):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "none"
    with pytest.raises(ReformSpecError, match="--data-dir"):
        _run(["scenario", "evaluate", str(ALAKOL), "--out", str(out)])
    assert not out.exists()
    import tomli_w

    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(_break_everything(_raw())), encoding="utf-8")
    with pytest.raises(ReformSpecError) as err:
        _run(
            [
                "scenario",
                "evaluate",
                str(bad),
                "--data-dir",
                str(geokz_sources.data_dir),
                "--out",
                str(out),
            ]
        )
    assert len(err.value.problems) >= len(EXPECTED_PROBLEMS)
    assert not out.exists()
    with pytest.raises(DataError, match="epoch 2030"):
        _run(["centres", "rank", "--region", "KZ-19", "--epoch", "2030", "--out", str(out)])
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        _run(["centres", "rank", "--region", "KZ-19", "--top", "0", "--out", str(out)])
    assert exit_.value.code == 2


def test_reform_atlas_main_runs_scenarios(tmp_path, capsys, monkeypatch):
    from cli.main import main

    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "kaskelen"
    assert main(["scenario", "evaluate", str(KASKELEN), "--out", str(out)]) == 0
    assert "Konaev → Kaskelen" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == CONTRACT_FILES
    out2 = tmp_path / "alakol"
    assert main(["scenario", "evaluate", str(ALAKOL), "--out", str(out2)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reform-atlas: error:") and "--data-dir" in err
    assert not out2.exists()


def test_enclaves_of_the_scenario_map_are_reported(enacted_as_scenario):
    from analysis.scenario import scenario_summary

    pairs = set(map(tuple, enacted_as_scenario.enclaves[["enclave_code", "host_code"]].values))
    # Astana in Akmola, Almaty city in Almaty region, Shymkent in Turkestan
    assert pairs == {("KZ-71", "KZ-11"), ("KZ-75", "KZ-19"), ("KZ-79", "KZ-61")}
    line = next(x for x in scenario_summary(enacted_as_scenario) if x.startswith("enclaves"))
    assert "KZ-75 in KZ-19" in line
