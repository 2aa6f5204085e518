"""Reform chains: the bundled chain, bad chains, and earlier epochs derived from districts."""

import dataclasses
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from boundaries.build import derive_before
from boundaries.chain import ReformChainError, check_chain, load_chain
from boundaries.spec import ReformSpecError, load_spec, parse_spec
from geo.crs import EQUAL_AREA


def test_bundled_chain_runs_1996_to_2024_through_shared_epochs():
    chain = load_chain()
    assert chain.epochs == (1996, 2017, 2018, 2024)
    assert chain.reform_ids == ("kz-1997", "kz-2018", "kz-2022")
    k18 = chain.spec("kz-2018")
    # the 2018 reform: South Kazakhstan (centre Shymkent) → Turkistan region + Shymkent city
    assert k18.centre_of("KZ-51", epoch=2017).name_en == "Shymkent"
    assert k18.centre_of("KZ-61", epoch=2018).name_en == "Turkistan"
    assert k18.parent_of("KZ-61") == k18.parent_of("KZ-79") == "KZ-51"
    assert k18.meta["enacted"] == "2018-06-19"
    assert chain.since("kz-2018").epochs == (2017, 2018, 2024)


def test_1996_members_name_the_five_abolished_oblasts_with_sources():
    spec = load_spec("kz-1997")
    assert {m.region for m in spec.members} == {"KZ-ZHE", "KZ-SEM", "KZ-TAL", "KZ-KOK", "KZ-TUR"}
    assert all(m.source for m in spec.members)
    centres = {c: spec.centre_of(c, epoch=1996).name_en for c in ("KZ-ZHE", "KZ-TUR", "KZ-19")}
    assert centres == {"KZ-ZHE": "Zhezkazgan", "KZ-TUR": "Arkalyk", "KZ-19": "Almaty"}


def _moved(spec, **changes):
    return dataclasses.replace(spec, **changes)


def test_gap_between_specs_is_rejected_naming_both_and_the_epoch():
    k18, k22 = load_spec("kz-2018"), load_spec("kz-2022")
    late = _moved(k22, before=2019, source="late.toml")
    with pytest.raises(ReformChainError) as info:
        check_chain([k18, late])
    text = str(info.value)
    assert "kz-2018.toml" in text and "late.toml" in text and "2018" in text
    assert "\n" not in text


def test_two_specs_from_the_same_epoch_are_rejected():
    k22 = load_spec("kz-2022")
    with pytest.raises(
        ReformChainError, match=r"kz-2022.toml and other.toml both have before = 2018"
    ):
        check_chain([k22, _moved(k22, source="other.toml", id="other")])


def test_cycle_is_rejected_naming_both_specs():
    k18 = load_spec("kz-2018")
    back = _moved(k18, before=2018, after=2017, source="back.toml")
    with pytest.raises(
        ReformChainError, match=r"kz-2018.toml and back.toml form a cycle at epoch 2017"
    ):
        check_chain([k18, back])


def test_shared_epoch_that_differs_is_rejected(tmp_path):
    path = Path(load_spec("kz-2018").source)
    raw = path.read_text(encoding="utf-8").replace("lon = 68.26296", "lon = 68.9")
    bad = tmp_path / "kz-2018-moved.toml"
    bad.write_text(raw, encoding="utf-8")
    with pytest.raises(ReformChainError) as info:
        load_chain([bad, "kz-2022"])
    text = str(info.value)
    assert "kz-2018-moved.toml and kz-2022.toml disagree on their shared epoch 2018" in text
    assert "KZ-61 centre Turkistan" in text


def test_shared_epoch_with_another_period_is_rejected():
    k18 = load_spec("kz-2018")
    other = dataclasses.replace(k18.periods[2018], label="2018 – 2022")
    bad = dataclasses.replace(k18, periods={**k18.periods, 2018: other}, source="kz-2018-period.toml")
    with pytest.raises(ReformChainError) as info:
        check_chain([bad, load_spec("kz-2022")])
    text = str(info.value)
    assert "kz-2018-period.toml and kz-2022.toml disagree on their shared epoch 2018" in text
    assert "[periods.2018] '2018 – 2022'" in text and "describe epoch 2018 identically" in text


def test_chain_renames_are_every_specs_oldest_first():
    chain = load_chain()
    assert [r.new for r in chain.renames] == ["Taraz", "Astana", "Semey", "Nur-Sultan", "Konaev", "Astana"]
    assert all(r.source for r in chain.renames)
    assert chain.period(1996).approximate and chain.period(2017).label == "April 2001 – June 2018"


# ------------------------------------------------------------------ derive_before, toy data
def _toy_spec(members=()):
    centre = {"name_en": "A", "name_kk": "A", "name_ru": "A", "lon": 0.5, "lat": 0.5}
    region = {"name_en": "R", "name_kk": "R", "name_ru": "R", "centre": "a"}
    raw = {
        "reform": {"id": "toy", "before": 1990, "after": 2000},
        "centres": {"a": centre},
        "regions": [
            {**region, "code": "X", "epochs": [2000], "parent": "OLD"},
            {**region, "code": "Y", "epochs": [2000], "parent": "OLD"},
            {**region, "code": "OLD", "epochs": [1990]},
            {**region, "code": "GONE", "epochs": [1990]},
        ],
        "members": list(members),
    }
    return parse_spec(raw, source="toy.toml")


@pytest.fixture
def toy_pieces():
    boxes = [shapely.box(i, 0, i + 1, 1) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "unit": ["u1", "u2", "u3"],
            "piece": ["whole", "whole", "outside"],
            "region_2000": ["X", "Y", "Y"],
        },
        geometry=boxes,
        crs=EQUAL_AREA,
    )


def test_derive_before_uses_parents_and_members(toy_pieces):
    spec = _toy_spec([{"region": "GONE", "units": ["u3:outside"], "source": "toy"}])
    out = derive_before(toy_pieces, spec)
    assert out["region_1990"].tolist() == ["OLD", "OLD", "GONE"]
    assert "region_1990" not in toy_pieces.columns  # input untouched


def test_unknown_member_district_is_a_spec_error(toy_pieces):
    spec = _toy_spec([{"region": "GONE", "units": ["u9", "u1:inside"], "source": "toy"}])
    with pytest.raises(ReformSpecError) as info:
        derive_before(toy_pieces, spec)
    assert str(info.value).startswith("toy.toml: ")
    assert any("unit u9 is not a district" in p for p in info.value.problems)
    assert any("unit u1:inside is not a district" in p for p in info.value.problems)
    assert any("1990 region GONE receives no district" in p for p in info.value.problems)


def test_members_need_district_units(toy_pieces):
    spec = _toy_spec([{"region": "GONE", "units": ["u3"], "source": "toy"}])
    with pytest.raises(ReformSpecError, match="units are whole regions"):
        derive_before(toy_pieces, spec, granularity="region")


def test_member_region_must_exist_in_before_epoch():
    with pytest.raises(ReformSpecError, match=r"\[\[members\]\] NOPE: no such 1990 region"):
        _toy_spec([{"region": "NOPE", "units": ["u1"]}])


def test_members_are_typed_like_every_spec_table():
    with pytest.raises(ReformSpecError) as info:
        _toy_spec([{"region": "GONE", "units": [], "sorce": "typo"}])
    problems = " ".join(info.value.problems)
    assert "[[members]] #1" in problems
    assert "'units' is empty" in problems and "unknown key 'sorce'" in problems
