"""The command line over the reform chain: --reform and the timeline command."""

import pandas as pd

from cli.main import main


def test_analyze_reform_kz_2018_contract(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["analyze", "--reform", "kz-2018", "--data-dir", str(data_dir), "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out / "settlements.csv")
    for col in (
        "dist_2017_km",
        "dist_2018_km",
        "region_2017",
        "region_2018",
        "centre_2017",
        "centre_2018",
        "delta_km",
    ):
        assert col in table.columns
    assert {p.name for p in out.glob("regions_*.geojson")} == {
        "regions_2017.geojson",
        "regions_2018.geojson",
    }
    # figures controlled to the official totals of the latest map (BNS, 1 January 2023):
    # South Kazakhstan of 2017 holds exactly Turkistan region + Shymkent city
    from inputs.bns import load_bulletin

    official = load_bulletin(data_dir).regions.set_index("region")["population"]
    affected = pd.read_csv(out / "affected_regions.csv").set_index("region_2017")
    assert affected.loc["KZ-51", "population"] == official["KZ-61"] + official["KZ-79"]
    kentau = table[table["name"] == "Кентау"].sort_values("population_est").iloc[-1]
    assert kentau["delta_km"] < -100  # Kentau: ~159 km to Shymkent, ~31 km to Turkistan
    assert "Saryagash" in capsys.readouterr().out


def test_timeline_writes_every_epoch(data_dir, tmp_path, capsys):
    out = tmp_path / "tl"
    assert main(["timeline", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert {p.name for p in out.glob("regions_*.geojson")} == {
        f"regions_{e}.geojson" for e in (1996, 2017, 2018, 2024)
    }
    table = pd.read_csv(out / "timeline.csv")
    for e in (1996, 2017, 2018, 2024):
        assert {f"region_{e}", f"centre_{e}", f"dist_{e}_km"} <= set(table.columns)
    assert table["id"].is_unique
    # the timeline weighs by the same controlled figures: every 2024 region's total is BNS's
    from inputs.bns import load_bulletin

    official = load_bulletin(data_dir).regions.set_index("region")["population"]
    totals = table.groupby("region_2024")["population_est"].sum()
    assert (totals.reindex(official.index) - official).abs().max() < 1
    overlap = pd.read_csv(out / "successor_overlap.csv")
    assert set(overlap["former_region"]) == {"KZ-ZHE", "KZ-SEM", "KZ-TAL"}


def test_timeline_embedded_default_has_the_region_level_epochs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "tl"
    assert main(["timeline", "--out", str(out)]) == 0
    assert {p.name for p in out.glob("regions_*.geojson")} == {
        f"regions_{e}.geojson" for e in (2017, 2018, 2024)
    }
    assert "need district units" in capsys.readouterr().out


def test_analyze_reform_kz_2018_on_the_embedded_default(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "e"
    assert main(["analyze", "--reform", "kz-2018", "--out", str(out)]) == 0
    regions = pd.read_csv(out / "crosswalk.csv")
    assert set(regions.loc[regions["changed"], "region_2017"]) == {"KZ-51"}
    table = pd.read_csv(out / "settlements.csv")
    assert {"dist_2017_km", "dist_2018_km"} <= set(table.columns)


def test_bad_reform_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    out = tmp_path / "o"
    assert main(["analyze", "--reform", "kz-1066", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "kz-1066" in err and "\n" not in err
    assert not out.exists()
    # the 1996 epoch needs districts: one line, nothing written
    assert main(["analyze", "--reform", "kz-1997", "--out", str(out)]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert not out.exists()
