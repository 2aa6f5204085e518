import pytest
import tomllib

from boundaries.spec import (
    ReformSpecError,
    check_against_units,
    dump_spec,
    load_spec,
    parse_spec,
    spec_to_dict,
)


def test_bundled_spec_epochs_and_centres(spec):
    assert spec.id == "kz-2022"
    assert (spec.before, spec.after) == (2018, 2024)
    assert len(spec.regions_of(2018)) == 17
    assert len(spec.regions_of(2024)) == 20
    assert spec.centre_of("KZ-19", epoch=2018).name_en == "Taldykorgan"
    assert spec.centre_of("KZ-19", epoch=2024).name_en == "Konaev"
    assert spec.centre_of("KZ-19", epoch=2024).former_name_en == "Kapshagai"
    assert spec.centre_of("KZ-63", epoch=2018).name_en == "Oskemen"
    assert spec.centre_of("KZ-10", epoch=2024).name_en == "Semey"
    assert spec.centre_of("KZ-62", epoch=2024).name_en == "Zhezkazgan"
    assert {r["new_en"] for r in spec.renames} == {"Konaev", "Astana"}
    assert spec.parent_of("KZ-33") == "KZ-19"
    assert spec.parent_of("KZ-10") == "KZ-63"
    assert spec.parent_of("KZ-62") == "KZ-35"


def test_decree_moves(spec):
    moved = spec.moved_units()
    assert sum(1 for t in moved.values() if t == "KZ-33") == 10
    assert sum(1 for t in moved.values() if t == "KZ-10") == 8
    assert sum(1 for t in moved.values() if t == "KZ-62") == 5
    assert {s.unit for s in spec.splits} == {"KZ635000", "KZ635800", "KZ116600"}


def test_dump_and_parse_round_trip(spec):
    again = parse_spec(tomllib.loads(dump_spec(spec)), source=spec.source)
    assert spec_to_dict(again) == spec_to_dict(spec)


def _raw(spec):
    return tomllib.loads(dump_spec(spec))


def test_structural_problems_are_collected_in_one_error(spec):
    raw = _raw(spec)
    raw["moves"][0]["to"] = "KZ-99"
    raw["moves"][1]["units"].append(raw["moves"][0]["units"][0])
    raw["regions"][0]["centre"] = "atlantis"
    raw["centres"]["semey"]["lat"] = 500.0
    with pytest.raises(ReformSpecError) as info:
        parse_spec(raw, source="bad.toml")
    problems = info.value.problems
    text = str(info.value)
    assert text.startswith("bad.toml: ")
    assert any("atlantis" in p and "[centres.atlantis]" in p for p in problems)
    assert any("lat 500.0" in p for p in problems)
    # the structural pass stops before consistency checks, so fix and re-run
    raw["regions"][0]["centre"] = "semey"
    raw["centres"]["semey"]["lat"] = 50.4
    with pytest.raises(ReformSpecError) as info:
        parse_spec(raw, source="bad.toml")
    problems = info.value.problems
    assert any("KZ-99" in p and "no such 2024 region" in p for p in problems)
    assert any("assigned 2 times" in p for p in problems)
    assert len(problems) >= 2


def test_units_checked_against_district_codes(spec, geokz_sources):
    units = dict(zip(geokz_sources.units["unit"], geokz_sources.units["region"], strict=True))
    raw = _raw(spec)
    raw["moves"][0]["units"][0] = "KZ000000"
    bad = parse_spec(raw, source="bad.toml")
    layers = {k: v["code"].tolist() for k, v in geokz_sources.cut_layers.items()}
    with pytest.raises(
        ReformSpecError, match=r"unit KZ000000 is not a 2018 district code.*fix the code"
    ):
        check_against_units(bad, units, layer_codes=layers)


def test_region_left_empty_is_reported(spec, geokz_sources):
    units = dict(zip(geokz_sources.units["unit"], geokz_sources.units["region"], strict=True))
    raw = _raw(spec)
    raw["moves"] = [m for m in raw["moves"] if m["to"] != "KZ-62"]
    bad = parse_spec(raw, source="bad.toml")
    with pytest.raises(ReformSpecError, match="2024 region KZ-62 receives no district"):
        check_against_units(bad, units)


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[reform\nid = ", encoding="utf-8")
    with pytest.raises(ReformSpecError, match=r"broken.toml.*not valid TOML"):
        load_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ReformSpecError, match="file not found"):
        load_spec(tmp_path / "nope.toml")
