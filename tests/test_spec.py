import pytest
import tomllib

from boundaries.spec import (
    ReformSpecError,
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
    assert {r.new for r in spec.renames} == {"Nur-Sultan", "Konaev", "Astana"}
    assert spec.parent_of("KZ-33") == "KZ-19"
    assert spec.parent_of("KZ-10") == "KZ-63"
    assert spec.parent_of("KZ-62") == "KZ-35"


def test_decree_moves(spec):
    moved = spec.moved_units()
    assert sum(1 for t in moved.values() if t == "KZ-33") == 10
    assert sum(1 for t in moved.values() if t == "KZ-10") == 8
    assert sum(1 for t in moved.values() if t == "KZ-62") == 5
    assert {s.unit for s in spec.splits} == {"KZ635000", "KZ635800", "KZ116600"}


def test_periods_and_renames_are_read_with_their_days(spec):
    from datetime import date

    assert set(spec.periods) == {2018, 2024}
    pre = spec.periods[2018]
    assert (pre.label, pre.first_day, pre.last_day) == ("June 2018 – June 2022", date(2018, 6, 19), date(2022, 6, 7))
    assert not pre.approximate
    konaev = next(r for r in spec.renames if r.new == "Konaev")
    assert (konaev.old, konaev.on) == ("Kapshagai", date(2022, 5, 3)) and "3 May 2022" in konaev.source


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


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[reform\nid = ", encoding="utf-8")
    with pytest.raises(ReformSpecError, match=r"broken.toml.*not valid TOML"):
        load_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ReformSpecError, match="file not found"):
        load_spec(tmp_path / "nope.toml")


def _period_problems(edit) -> list[str]:
    raw = _raw(load_spec())
    edit(raw)
    with pytest.raises(ReformSpecError) as info:
        parse_spec(raw, source="bad.toml")
    return info.value.problems


def test_period_of_an_epoch_the_spec_lacks_names_the_table_and_the_fix():
    (problem,) = _period_problems(lambda r: r["periods"].update({"2019": dict(r["periods"]["2018"])}))
    assert problem == (
        "[periods.2019]: 2019 is not an epoch of this spec (before 2018, after 2024); rename the table "
        "to [periods.2018] or [periods.2024] or remove it"
    )


def test_period_ending_before_it_starts_is_one_problem():
    from datetime import date

    (problem,) = _period_problems(lambda r: r["periods"]["2018"].update(last_day=date(2017, 1, 1)))
    assert problem == "[periods.2018]: last_day 2017-01-01 is before first_day 2018-06-19; swap them or fix the dates"


@pytest.mark.parametrize("value", ["2018-13-01", "June 2018", 2018, "2018-06-19T10:00:00"])
def test_malformed_day_is_one_problem(value):
    (problem,) = _period_problems(lambda r: r["periods"]["2018"].update(first_day=value))
    assert problem.startswith(f"[periods.2018]: 'first_day' = {value!r} is not a day")
    assert problem.endswith("write it as a date such as first_day = 2018-06-19")


def test_iso_text_is_a_day_too():
    from datetime import date

    raw = _raw(load_spec())
    raw["periods"]["2018"]["first_day"] = "2018-06-19"
    raw["renames"][0]["on"] = "2019-03-23"
    spec = parse_spec(raw)
    assert spec.periods[2018].first_day == date(2018, 6, 19) and spec.renames[0].on == date(2019, 3, 23)


def test_rename_needs_its_day_and_source():
    problems = _period_problems(lambda r: [r["renames"][0].pop("on"), r["renames"][1].pop("source")])
    assert problems == ["[[renames]] #1 has no 'on'; add it", "[[renames]] #2 has no 'source'; add it"]
