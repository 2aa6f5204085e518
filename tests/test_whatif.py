"""Fast what-if re-evaluation (analysis.whatif) against the enacted results and the slow path.

Real data from ../shared/data through the fixtures of conftest.py. The slow path
(analysis.scenario.evaluate_scenario) runs twice per module: on the example spec
scenarios/zhetysu-without-alakol.toml and on the fast path's own to_spec export.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod

from analysis.labspec import centre_from_settlement, state_from_spec, to_spec
from analysis.ranking import candidate_centres
from analysis.whatif import evaluate, prepare
from boundaries.spec import Centre, ReformSpecError, dump_spec, parse_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
ALAKOL_SPEC = ROOT / "scenarios" / "zhetysu-without-alakol.toml"
ALAKOL = "KZ193400"
KOKPEKTY = "KZ635000"  # split by the enacted reform (Samar stays in East Kazakhstan)
KASKELEN = Centre(
    key="kaskelen",
    name_en="Kaskelen",
    name_kk="Қаскелең",
    name_ru="Каскелен",
    lon=76.6309754,
    lat=43.1965135,
)
GEOD = Geod(ellps="WGS84")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def settlement_source(geokz_settlement_source):
    return geokz_settlement_source


@pytest.fixture(scope="module")
def enacted(geokz_analysis):
    return geokz_analysis


@pytest.fixture(scope="module")
def base(enacted):
    return prepare(enacted.build, enacted.settlements)


@pytest.fixture
def fresh(enacted):
    """A base with nothing memoised beyond the enacted regions (to count recomputations)."""
    return prepare(enacted.build, enacted.settlements)


def _slow(spec, geokz_sources, settlement_source, enacted):
    from analysis.scenario import evaluate_scenario

    return evaluate_scenario(
        spec, sources=geokz_sources, settlements_source=settlement_source, enacted=enacted
    )


@pytest.fixture(scope="module")
def alakol_slow(geokz_sources, settlement_source, enacted):
    from analysis.scenario import load_scenario

    spec = load_scenario(ALAKOL_SPEC, sources=geokz_sources)
    return _slow(spec, geokz_sources, settlement_source, enacted)


@pytest.fixture(scope="module")
def alakol_exported_slow(base, geokz_sources, settlement_source, enacted):
    spec = to_spec(base, {ALAKOL: "KZ-10"}, id="alakol-lab", title="Alakol to Abai")
    again = parse_spec(tomllib.loads(dump_spec(spec)), source="exported")
    return _slow(again, geokz_sources, settlement_source, enacted)


def _regions(values) -> np.ndarray:
    return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)


# ---------------------------------------------------------------- no change
def test_no_change_equals_the_enacted_2024_results(base, enacted, geokz_build):
    from analysis.scenario import variant_metrics

    res = evaluate(base)
    pd.testing.assert_frame_equal(res.metrics, variant_metrics(enacted, 2024))
    assert_geodataframe_equal(res.regions, geokz_build.regions[2024])
    assert res.changed == () and res.moved_units == () and res.redone_settlements == 0
    assert res.recomputed == {"geometry": (), "distance": ()}
    s = enacted.settlements
    np.testing.assert_array_equal(_regions(res.settlement_region), _regions(s["region_2024"]))
    np.testing.assert_array_equal(res.dist_km, s["dist_2024_km"].to_numpy())
    np.testing.assert_array_equal(res.piece_region, geokz_build.pieces["region_2024"].to_numpy())
    relabelled = res.settlements()
    cols = [
        "region_2024",
        "centre_2024",
        "dist_2024_km",
        "delta_km",
        "changed_region",
        "nearest_centre_2024",
        "nearest_centre_2024_km",
        "farther_than_other_centre",
    ]
    pd.testing.assert_frame_equal(
        pd.DataFrame(relabelled[cols]), pd.DataFrame(s[cols]), check_categorical=False
    )


def test_recomputing_every_region_reproduces_region_metrics(enacted):
    # an empty memo makes the fast path dissolve and measure all 20 regions itself
    fresh = prepare(enacted.build, enacted.settlements)
    fresh.memo.clear()
    res = evaluate(fresh)
    assert sorted(res.recomputed["geometry"]) == sorted(fresh.codes)
    pd.testing.assert_frame_equal(res.metrics, fresh.metrics, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        res.regions["area_km2"], enacted.build.regions[2024]["area_km2"], rtol=1e-12
    )


# ---------------------------------------------------------------- Alakol: fast = slow
@pytest.mark.parametrize("slow", ["alakol_slow", "alakol_exported_slow"])
def test_alakol_to_abai_equals_the_slow_path(slow, fresh, request):
    base = fresh
    res_slow = request.getfixturevalue(slow)
    res = evaluate(base, {ALAKOL: "KZ-10"})
    assert res.changed == ("KZ-10", "KZ-33") and res.moved_units == (ALAKOL,)
    assert sorted(res.recomputed["geometry"]) == ["KZ-10", "KZ-33"]
    fast, ref = res.metrics, res_slow.metrics
    assert list(fast.index) == list(ref.index)
    np.testing.assert_allclose(res.regions["area_km2"], res_slow.regions["area_km2"], rtol=1e-6)
    np.testing.assert_allclose(fast["area_km2"], ref["area_km2"], rtol=1e-6)
    np.testing.assert_allclose(fast["population"], ref["population"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        fast["pop_weighted_mean_km"], ref["pop_weighted_mean_km"], rtol=0, atol=1e-6
    )
    for col in (
        "pop_deviation_pct",
        "share_pop_beyond_100km",
        "share_pop_beyond_200km",
        "share_pop_beyond_300km",
        "polsby_popper",
        "reock",
        "convex_hull_ratio",
    ):
        np.testing.assert_allclose(fast[col], ref[col], rtol=1e-9, atol=1e-12, err_msg=col)
    assert (fast["settlements"] == ref["settlements"]).all()
    assert (fast["is_contiguous"] == ref["is_contiguous"]).all()
    s_ref = res_slow.analysis.settlements
    np.testing.assert_array_equal(_regions(res.settlement_region), _regions(s_ref["region_2024"]))
    np.testing.assert_allclose(res.dist_km, s_ref["dist_2024_km"], rtol=0, atol=1e-6)
    # Alakol's people now count in Abai, and Zhetysu shrank by exactly that
    enacted_m = base.metrics
    gain = fast.loc["KZ-10", "population"] - enacted_m.loc["KZ-10", "population"]
    loss = enacted_m.loc["KZ-33", "population"] - fast.loc["KZ-33", "population"]
    assert gain == pytest.approx(loss, rel=1e-12) and gain > 0


def test_moves_are_memoised_and_undo_costs_nothing(fresh):
    base = fresh
    first = evaluate(base, {ALAKOL: "KZ-19"})
    again = evaluate(base, {ALAKOL: "KZ-19"})
    assert again.recomputed == {"geometry": (), "distance": ()}
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    back = evaluate(base, {ALAKOL: "KZ-33"})  # back to the enacted assignment
    assert back.changed == () and back.recomputed == {"geometry": (), "distance": ()}
    pd.testing.assert_frame_equal(back.metrics, base.metrics)


# ---------------------------------------------------------------- centres
def test_changing_a_centre_changes_only_that_regions_distances(fresh, enacted):
    base = fresh
    res = evaluate(base, centres={"KZ-19": KASKELEN})
    assert res.changed == ("KZ-19",)
    assert res.recomputed == {"geometry": (), "distance": ("KZ-19",)}
    in_19 = (enacted.settlements["region_2024"] == "KZ-19").fillna(False).to_numpy(dtype=bool)
    assert res.redone_settlements == int(in_19.sum())
    before = enacted.settlements["dist_2024_km"].to_numpy()
    np.testing.assert_array_equal(res.dist_km[~in_19], before[~in_19])
    assert (res.dist_km[in_19] != before[in_19]).mean() > 0.99
    others = [c for c in base.codes if c != "KZ-19"]
    cols = [c for c in base.metrics.columns if c != "pop_deviation_pct"]
    pd.testing.assert_frame_equal(res.metrics.loc[others, cols], base.metrics.loc[others, cols])
    # brute force: geodesic from every KZ-19 settlement to Kaskelen, weighted by population_est
    sub = enacted.settlements[in_19]
    d = np.array([GEOD.inv(p.x, p.y, KASKELEN.lon, KASKELEN.lat)[2] / 1000 for p in sub.geometry])
    w = sub["population_est"].to_numpy()
    assert res.metrics.loc["KZ-19", "pop_weighted_mean_km"] == pytest.approx(
        float(d @ w / w.sum()), abs=1e-6
    )
    assert res.metrics.loc["KZ-19", "centre_name_en"] == "Kaskelen"
    row = res.regions.set_index("code").loc["KZ-19"]
    assert (row["centre_lon"], row["centre_lat"]) == (KASKELEN.lon, KASKELEN.lat)
    # the geometry is the enacted one
    assert row.geometry.equals_exact(
        base.regions.set_index("code").loc["KZ-19"].geometry, tolerance=0
    )


def test_candidate_centres_rank_the_regions_towns(base):
    res = evaluate(base)
    table = candidate_centres(res, "KZ-19")
    assert len(table) >= 5
    assert table["rank"].is_monotonic_increasing and table["rank"].iloc[0] == 1
    assert table["pop_weighted_mean_km"].is_monotonic_increasing
    assert table["is_current"].sum() == 1  # Konaev, the enacted centre
    current = table[table["is_current"]].iloc[0]
    assert current["pop_weighted_mean_km"] >= table["pop_weighted_mean_km"].iloc[0]
    s = base.settlements.set_index(base.settlements["id"].astype(str))
    assert (s.loc[table["id"].astype(str), "region_2024"] == "KZ-19").all()
    others = table[~table["is_current"]]
    assert (others["population"] >= 5000).all()
    # a centre built from a candidate row evaluates
    centre = centre_from_settlement(table.iloc[0])
    moved = evaluate(base, centres={"KZ-19": centre})
    assert moved.metrics.loc["KZ-19", "pop_weighted_mean_km"] == pytest.approx(
        table["pop_weighted_mean_km"].iloc[0], abs=1e-6
    )


# ---------------------------------------------------------------- specs
def _centre_key(c: Centre) -> tuple:
    return (c.name_en, c.name_kk, c.name_ru, c.lon, c.lat)


@pytest.mark.parametrize(
    ("moves", "centres"),
    [
        ({}, {}),
        ({ALAKOL: "KZ-10"}, {}),
        ({}, {"KZ-19": KASKELEN}),
        ({ALAKOL: "KZ-10", KOKPEKTY: "KZ-63", "KZ196000": "KZ-19"}, {"KZ-19": KASKELEN}),
    ],
    ids=["none", "alakol", "kaskelen", "mixed"],
)
def test_to_spec_round_trips_through_toml(moves, centres, base, geokz_sources):
    from analysis.scenario import scenario_problems

    spec = to_spec(base, moves, centres, id="lab-test", title="Lab test")
    text = dump_spec(spec)
    raw = tomllib.loads(text)
    again = parse_spec(raw, source="again")
    assert dump_spec(again) == text
    assert dataclasses.replace(again, source=spec.source) == spec
    parsed, problems = scenario_problems(raw, source="again", sources=geokz_sources)
    assert problems == [] and parsed is not None
    got_moves, got_centres = state_from_spec(base, again)
    effective = {u: c for u, c in moves.items() if u == KOKPEKTY or c != base.unit_region(u)}
    assert got_moves == effective
    assert {k: _centre_key(c) for k, c in got_centres.items()} == {
        k: _centre_key(c) for k, c in centres.items()
    }
    pd.testing.assert_frame_equal(
        evaluate(base, got_moves, got_centres).metrics, evaluate(base, moves, centres).metrics
    )


def test_to_spec_of_no_change_is_the_enacted_reform(base, spec):
    out = to_spec(base)
    assert out.moves == spec.moves and out.splits == spec.splits and out.regions == spec.regions
    assert dict(out.centres) == {k: c for k, c in spec.centres.items()}
    assert out.meta["kind"] == "scenario" and out.meta["based_on"] == "kz-2022"


def test_to_spec_writes_a_new_centre_and_splits_the_region_entry(base):
    out = to_spec(base, centres={"KZ-19": KASKELEN})
    entries = [r for r in out.regions if r.code == "KZ-19"]
    assert [(r.epochs, r.centre) for r in entries] == [
        ((2018,), "taldykorgan"),
        ((2024,), "kaskelen"),
    ]
    assert "konaev" not in out.centres  # no region refers to it any more
    assert _centre_key(out.centres["kaskelen"]) == _centre_key(KASKELEN)
    # a region kept in both epochs gets an after-only entry
    out = to_spec(base, centres={"KZ-55": dataclasses.replace(KASKELEN, key="far away")})
    entries = [r for r in out.regions if r.code == "KZ-55"]
    assert [(r.epochs, r.centre) for r in entries] == [((2018,), "pavlodar"), ((2024,), "far_away")]
    assert out.centre_of("KZ-55", epoch=2018).name_en == "Pavlodar"


def test_moving_a_split_district_drops_its_split(base):
    out = to_spec(base, {KOKPEKTY: "KZ-10"})
    assert KOKPEKTY not in {s.unit for s in out.splits}
    assert out.moved_units()[KOKPEKTY] == "KZ-10"
    res = evaluate(base, {KOKPEKTY: "KZ-10"})
    assert set(res.changed) == {"KZ-10", "KZ-63"} and res.moved_units == (KOKPEKTY,)


def test_state_from_spec_lists_what_the_lab_cannot_edit(base, spec):
    from boundaries.spec import Region

    changed = dataclasses.replace(
        spec,
        regions=(
            *(
                dataclasses.replace(r, name_en="Semey Region") if r.code == "KZ-10" else r
                for r in spec.regions
            ),
            Region("KZ-99", (2024,), "New Region", "Жаңа", "Новая", "semey", parent="KZ-63"),
        ),
        splits=(*spec.splits[:2], dataclasses.replace(spec.splits[2], cut_codes=("KZ711000",))),
    )
    with pytest.raises(ReformSpecError) as err:
        state_from_spec(base, changed)
    text = "; ".join(err.value.problems)
    assert "adds 2024 region KZ-99" in text
    assert "KZ-10 is renamed" in text
    assert "[[splits]] KZ116600" in text
    assert len(err.value.problems) == 3


# ---------------------------------------------------------------- errors, purity
def test_bad_states_list_every_problem(base):
    with pytest.raises(ReformSpecError) as err:
        evaluate(base, {"KZ000000": "KZ-10", ALAKOL: "KZ-00"}, {"KZ-01": KASKELEN})
    assert len(err.value.problems) == 3
    shymkent = [u for u in base.unit_pieces if base.unit_region(u) == "KZ-79"]
    with pytest.raises(ReformSpecError, match="KZ-79 would receive no district"):
        evaluate(base, dict.fromkeys(shymkent, "KZ-61"))


def test_inputs_are_never_mutated(base, enacted):
    pieces = enacted.build.pieces.copy()
    settlements = enacted.settlements.copy()
    metrics = base.metrics.copy()
    moves = {ALAKOL: "KZ-10", KOKPEKTY: "KZ-10"}
    centres = {"KZ-19": KASKELEN}
    moves_copy, centres_copy = copy.deepcopy(moves), copy.deepcopy(centres)
    res = evaluate(base, moves, centres)
    res.settlements()
    res.pieces()
    candidate_centres(res, "KZ-10")
    to_spec(base, moves, centres)
    assert moves == moves_copy and centres == centres_copy
    assert_geodataframe_equal(enacted.build.pieces, pieces)
    pd.testing.assert_frame_equal(pd.DataFrame(enacted.settlements), pd.DataFrame(settlements))
    pd.testing.assert_frame_equal(base.metrics, metrics)
    res.piece_region[:] = "KZ-75"  # a result is a copy, not a view of the base
    assert (base.piece_region != "KZ-75").any()


def test_embedded_default_allows_centres_but_not_moves(embedded_build):
    from analysis.pipeline import analyze, load_settlements

    analysis = analyze(embedded_build, load_settlements(embedded_build.sources))
    emb = prepare(analysis.build, analysis.settlements)
    assert not emb.can_move
    res = evaluate(emb, centres={"KZ-19": KASKELEN})
    assert res.changed == ("KZ-19",)
    with pytest.raises(ReformSpecError, match="need district boundaries"):
        evaluate(emb, {"KZ-33": "KZ-19"})
    # specs: the Kaskelen example fits (a centre), the Alakol one does not (a district move)
    from analysis.scenario import load_scenario

    kaskelen = load_scenario(ROOT / "scenarios" / "almaty-centre-kaskelen.toml")
    moves, centres = state_from_spec(emb, kaskelen)
    assert moves == {} and list(centres) == ["KZ-19"] and centres["KZ-19"].name_en == "Kaskelen"
    with pytest.raises(ReformSpecError, match="district boundaries"):
        state_from_spec(emb, load_scenario(ALAKOL_SPEC))
    assert to_spec(emb, centres=centres).centre_of("KZ-19", epoch=2024).name_en == "Kaskelen"
