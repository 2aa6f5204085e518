import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geographiclib.geodesic import Geodesic
from geopandas.testing import assert_geodataframe_equal

from analysis.assign import assign_regions
from analysis.population import estimate_population
from boundaries.build import apply_spec
from boundaries.spec import parse_spec
from cli.main import main

CONTRACT = [
    "name",
    "name_latn",
    "name_en",
    "place",
    "population",
    "region_2018",
    "region_2024",
    "centre_2018",
    "centre_2024",
    "centre_2018_lon",
    "centre_2018_lat",
    "centre_2024_lon",
    "centre_2024_lat",
    "dist_2018_km",
    "dist_2024_km",
    "delta_km",
    "nearest_centre_2024",
    "nearest_centre_2024_km",
    "changed_region",
]


@pytest.fixture(scope="module")
def real(geokz_analysis):
    return geokz_analysis


@pytest.fixture(scope="module")
def embedded(embedded_analysis):
    return embedded_analysis


def test_every_settlement_is_kept_and_counted(real):
    s = real.settlements
    assert (
        len(s) - real.counts["representative_points"]  # BNS units no settlement carries
        == real.counts["hotosm"] + real.counts["geonames_added"]
        == 9899 + real.counts["geonames_added"]
    )
    assert s["id"].is_unique
    counts = s["assignment"].value_counts()
    assert counts.sum() == len(s)
    assert counts["inside"] > 9400
    assert (s.loc[s["assignment"] == "nearest", "assign_km"] <= 1).all()
    tokmok = s[s["name_en"] == "Tokmok"]  # Kyrgyzstan, 1.8 km across the border
    assert (tokmok["assignment"] == "unassigned").all() and len(tokmok) == 1
    unassigned = s[s["assignment"] == "unassigned"]
    assert unassigned["region_2024"].isna().all() and len(unassigned) == real.counts["unassigned"]


def test_distances_match_geographiclib_to_a_metre(real):
    s = real.settlements.dropna(subset=["dist_2018_km", "dist_2024_km"]).sample(300, random_state=3)
    for epoch in (2018, 2024):
        ref = [
            Geodesic.WGS84.Inverse(p.y, p.x, la, lo)["s12"] / 1000
            for p, lo, la in zip(
                s.geometry, s[f"centre_{epoch}_lon"], s[f"centre_{epoch}_lat"], strict=True
            )
        ]
        assert np.abs(s[f"dist_{epoch}_km"].to_numpy() - np.array(ref)).max() < 0.001


def test_nearest_centre_is_the_minimum_over_all_centres(real):
    s = real.settlements.dropna(subset=["dist_2024_km"]).sample(500, random_state=5)
    centres = real.build.regions[2024]
    full = np.array(
        [
            [
                Geodesic.WGS84.Inverse(p.y, p.x, la, lo)["s12"] / 1000
                for lo, la in zip(centres["centre_lon"], centres["centre_lat"], strict=True)
            ]
            for p in s.geometry
        ]
    )
    assert s["nearest_centre_2024_km"].to_numpy() == pytest.approx(full.min(axis=1), abs=1e-6)
    flagged = s["farther_than_other_centre"].to_numpy()
    assert (flagged == (s["dist_2024_km"].to_numpy() > full.min(axis=1) + 1e-6)).all()


def test_address_examples(real):
    claims = real.claims.set_index("place")
    talgar = claims.loc["Talgar"]
    assert (talgar["centre_2018"], talgar["centre_2024"]) == ("Taldykorgan", "Konaev")
    assert talgar["dist_2018_km"] == pytest.approx(211, abs=3)
    assert talgar["dist_2024_km"] == pytest.approx(62, abs=3)
    uzyn = claims.loc["Uzynagash"]
    assert uzyn["found"] and uzyn["region_2018"] == "KZ-19"
    assert uzyn["delta_km"] < -100
    assert claims.loc["Kurchatov", "region_2024"] == "KZ-10"
    assert claims.loc["Kurchatov", "delta_km"] < -150
    for place in ("Kaskelen", "Esik"):
        assert claims.loc[place, "delta_km"] < -100


def test_population_is_conserved_exactly(real):
    s, shifts = real.settlements, real.shifts
    home = s[~s["abroad"]]  # places abroad are listed but in no flow
    assert shifts["population"].sum() == pytest.approx(home["population_est"].sum(), rel=1e-12)
    assert shifts["settlements"].sum() == len(home)
    assert shifts["population_known"].sum() == pytest.approx(
        pd.to_numeric(home["population"]).sum(), rel=1e-12
    )
    for epoch in (2018, 2024):
        stats = real.region_stats[real.region_stats["epoch"] == epoch]
        assigned = s[s[f"region_{epoch}"].notna()]
        assert stats["population"].sum() == pytest.approx(
            assigned["population_est"].sum(), rel=1e-12
        )
        assert stats["settlements"].sum() == len(assigned)
    # area flows equal the crosswalk (pieces); dissolving them closes 0.04 km² of hairline gaps
    assert shifts["area_km2"].sum() == pytest.approx(
        real.build.regions[2024]["area_km2"].sum(), rel=1e-7
    )
    assert shifts["area_km2"].sum() == pytest.approx(
        real.build.crosswalk["area_km2"].sum(), rel=1e-12
    )


def test_flows_describe_the_reform(real):
    f = real.shifts.set_index(["region_2018", "region_2024"])
    assert f.loc[("KZ-19", "KZ-33"), "settlements"] > 300
    assert f.loc[("KZ-63", "KZ-10"), "population_known"] > 500_000  # Semey alone has ~300k
    moved = real.settlements[real.settlements["changed_region"]]
    assert set(map(tuple, moved[["region_2018", "region_2024"]].to_numpy())) <= {
        ("KZ-19", "KZ-33"),
        ("KZ-63", "KZ-10"),
        ("KZ-35", "KZ-62"),
        ("KZ-11", "KZ-71"),
    }


def test_control_hands_its_assignment_to_the_analysis(geokz_build):
    """The analysis reuses the assignment control made: what a second pass would give."""
    from analysis.official import control_units
    from analysis.pipeline import _assigned, load_settlements
    from inputs.bns import load_bulletin

    sources = geokz_build.sources
    raw = load_settlements(sources)
    units = control_units(load_bulletin(sources.data_dir), districts=sources.districts)
    source, assigned = _assigned(raw, geokz_build, units)
    assert source.kind == "controlled" and (source.frame["source"] == "bns").any()
    again = assign_regions(source.frame, geokz_build.pieces, epochs=geokz_build.spec.epochs)
    assert_geodataframe_equal(assigned, again)


def test_the_settlements_are_handed_out_final_before_the_tables(embedded_build):
    """``on_settlements`` gets the frame the analysis keeps (the CLI writes it meanwhile)."""
    from analysis.pipeline import analyze, load_settlements

    seen = []
    result = analyze(
        embedded_build,
        load_settlements(embedded_build.sources),
        on_settlements=lambda frame, epochs: seen.append((frame.copy(), epochs)),
    )
    (frame, epochs), = seen
    assert epochs == embedded_build.spec.epochs
    assert_geodataframe_equal(frame, result.settlements)  # not changed after it was handed out


def test_population_estimate_keeps_known_counts_and_is_documented(real):
    s = real.settlements
    tagged = s["population_osm"].notna()
    # the gazetteer's own figure and the earlier estimate stay in their own columns
    assert (s.loc[tagged, "population_prior"] == s.loc[tagged, "population_osm"]).all()
    home = s[~s["abroad"]]
    assert home["population_est"].equals(home["population"])
    assert home["population"].notna().all()
    assert (home["population_low"] <= home["population_est"]).all() and (
        home["population_est"] <= home["population_high"]
    ).all()
    share = real.population["known_share"]  # people on official settlement counts
    assert 0.4 < share < 0.6
    assert real.population["population_total"] == 19_765_004  # BNS, 1 January 2023


def test_estimate_strata_on_a_toy_frame():
    toy = pd.DataFrame(
        {
            "population": [100.0] * 10 + [np.nan] + [5.0, 7.0, 9.0, 11.0, 13.0] + [np.nan],
            "place": ["village"] * 11 + ["hamlet"] * 6,
            "region_2018": ["KZ-01"] * 17,
        }
    )
    out = estimate_population(toy, region_col="region_2018")
    assert (
        out.loc[10, "population_est"] == 100.0
        and out.loc[10, "population_basis"] == "region×place median"
    )
    assert (
        out.loc[16, "population_est"] == 9.0
        and out.loc[16, "population_basis"] == "national place median"
    )
    assert toy["population"].isna().sum() == 2  # input untouched


def test_region_stats_per_epoch(real):
    st = real.region_stats
    assert len(st[st["epoch"] == 2018]) == 17 and len(st[st["epoch"] == 2024]) == 20
    alm = st.set_index(["epoch", "region"])
    assert (
        alm.loc[(2024, "KZ-19"), "pop_weighted_mean_km"]
        < alm.loc[(2018, "KZ-19"), "pop_weighted_mean_km"]
    )
    for col in ("mean_km", "median_km", "p90_km", "max_km"):
        assert (st[col] >= 0).all()
    assert (st["median_km"] <= st["p90_km"]).all() and (st["p90_km"] <= st["max_km"]).all()


def test_affected_regions_and_winners(real):
    aff = real.affected.set_index("region_2018")
    assert set(aff.index) == {"KZ-19", "KZ-35", "KZ-63"}
    shares = aff[["share_pop_nearer", "share_pop_farther", "share_pop_unchanged"]].sum(axis=1)
    assert shares.to_numpy() == pytest.approx(1.0)
    assert aff.loc["KZ-19", "share_pop_nearer"] > 0.4
    gainers = real.winners_losers[real.winners_losers["kind"] == "gainer"]
    assert (gainers["delta_km"] < 0).all()
    # an English page can name every winner and loser in Latin letters
    assert real.winners_losers["name_latn"].map(str.isascii).all()


def test_embedded_default_analysis(embedded):
    s = embedded.settlements
    assert len(s) == 351
    assert s["region_2024"].notna().sum() > 340
    assert embedded.claims.set_index("place").loc["Talgar", "delta_km"] < -100
    assert embedded.shifts["population"].sum() == pytest.approx(s["population_est"].sum())


def test_assignment_rule_on_hand_made_pieces():
    spec = parse_spec(
        {
            "reform": {"id": "t", "before": 2001, "after": 2002},
            "centres": {
                "c": {"name_en": "c", "name_kk": "c", "name_ru": "c", "lon": 70.5, "lat": 45.5}
            },
            "regions": [
                {
                    "code": "KZ-01",
                    "epochs": [2001, 2002],
                    "name_en": "a",
                    "name_kk": "a",
                    "name_ru": "a",
                    "centre": "c",
                }
            ],
        }
    )
    units = gpd.GeoDataFrame(
        {"unit": ["U"], "region": ["KZ-01"]}, geometry=[shapely.box(70, 45, 71, 46)], crs=4326
    )
    pieces = apply_spec(units, spec)
    pts = gpd.GeoDataFrame(
        {"id": ["in", "near", "far"]},
        geometry=[shapely.Point(70.5, 45.5), shapely.Point(71.01, 45.5), shapely.Point(72.0, 45.5)],
        crs=4326,
    )
    out = assign_regions(pts, pieces, epochs=(2001, 2002))
    assert out["assignment"].tolist() == ["inside", "nearest", "unassigned"]
    assert out.loc[1, "assign_km"] == pytest.approx(
        0.01 * 111.32 * np.cos(np.radians(45.5)), rel=0.01
    )
    assert pd.isna(out.loc[2, "region_2002"]) and len(out) == 3


# ---------------------------------------------------------------- CLI and exports
def test_analyze_cli_contract_and_round_trip(data_dir, tmp_path, capsys):
    out = tmp_path / "a"
    assert main(["analyze", "--data-dir", str(data_dir), "--out", str(out), "--gpkg"]) == 0
    printed = capsys.readouterr().out
    assert "Talgar: 211 km to Taldykorgan → 62 km to Konaev" in printed
    names = {p.name for p in out.iterdir()}
    assert {
        "settlements.geojson",
        "settlements.csv",
        "region_stats.csv",
        "shifts.csv",
        "regions_2018.geojson",
        "regions_2024.geojson",
        "crosswalk.csv",
        "validation.csv",
        "reform_atlas.gpkg",
    } <= names
    csv = pd.read_csv(out / "settlements.csv")
    assert set(CONTRACT) | {"osm_id"} <= set(csv.columns)
    # every place has its Latin name, beside its original names
    assert csv.columns.get_loc("name_latn") == csv.columns.get_loc("name") + 1
    assert csv["name_latn"].notna().all() and csv["name_latn"].map(str.isascii).all()
    geo = gpd.read_file(out / "settlements.geojson")
    doc = json.loads((out / "settlements.geojson").read_text(encoding="utf-8"))
    assert "crs" not in doc
    assert len(geo) == len(csv) and set(CONTRACT) <= set(geo.columns)
    assert geo["id"].tolist() == csv["id"].tolist()
    assert np.allclose(geo["dist_2024_km"], csv["dist_2024_km"], equal_nan=True)
    gpkg = gpd.read_file(out / "reform_atlas.gpkg", layer="settlements")
    assert len(gpkg) == len(csv) and set(CONTRACT) <= set(gpkg.columns)
    shifts = pd.read_csv(out / "shifts.csv")
    assert {"region_2018", "region_2024", "settlements", "population", "area_km2"} <= set(
        shifts.columns
    )
    assert shifts["settlements"].sum() == len(csv) - csv["abroad"].sum()


def _bad_files(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text("", encoding="utf-8")
    truncated = tmp_path / "cut.geojson"
    truncated.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [7',
        encoding="utf-8",
    )
    metres = tmp_path / "metres.csv"
    metres.write_text("name,lon,lat\nA,500000,4800000\nB,510000,4810000\n", encoding="utf-8")
    nogeom = tmp_path / "nogeom.geojson"
    nogeom.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": null}]}',
        encoding="utf-8",
    )
    nocoords = tmp_path / "nocoords.csv"
    nocoords.write_text("name,population\nA,100\n", encoding="utf-8")
    return {
        "empty": (empty, "empty"),
        "truncated": (truncated, "cut.geojson"),
        "metres": (metres, "metres"),
        "no-geometry": (nogeom, "geometry"),
        "csv-without-coordinates": (nocoords, "coordinate"),
        "missing-path": (tmp_path / "nope.csv", "not found"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "truncated", "metres", "no-geometry", "csv-without-coordinates", "missing-path"],
)
def test_bad_settlements_exit_2_without_output(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    path, expected = _bad_files(tmp_path)[case]
    out = tmp_path / "out"
    code = main(["analyze", "--settlements", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path.name in err and expected in err.lower()
    assert not out.exists()


def test_user_settlements_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    f = tmp_path / "mine.csv"
    f.write_text(
        "name,lon,lat,population\nTalgar,77.2389,43.3047,48000\nSemey,80.25,50.41,350000\n",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    assert main(["analyze", "--settlements", str(f), "--out", str(out)]) == 0
    s = pd.read_csv(out / "settlements.csv").set_index("name")
    assert s.loc["Talgar", "dist_2018_km"] == pytest.approx(211, abs=3)
    assert s.loc["Semey", "region_2024"] == "KZ-10"


def test_official_figures(tmp_path, real):
    from analysis.pipeline import read_official
    from analysis.population import compare_official

    f = tmp_path / "official.csv"
    f.write_text("code,population\nKZ19,1500000\nKZ-33,700000\n", encoding="utf-8")
    table = read_official(f)
    est = real.region_stats[real.region_stats["epoch"] == 2024][["region", "population"]]
    cmp = compare_official(est, table).set_index("region")
    assert cmp.loc["KZ-33", "error"] == pytest.approx(cmp.loc["KZ-33", "population"] - 700_000)
    assert np.isnan(cmp.loc["KZ-11", "official_population"])
