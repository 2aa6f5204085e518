"""Tests for boundaries.spec_units: a spec checked against the real district codes."""

import pytest
import tomllib

from boundaries.spec import ReformSpecError, dump_spec, parse_spec
from boundaries.spec_units import assign_after, check_against_units


def _raw(spec):
    return tomllib.loads(dump_spec(spec))


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


def test_assign_after_follows_moves(spec, geokz_sources):
    units = dict(zip(geokz_sources.units["unit"], geokz_sources.units["region"], strict=True))
    after = assign_after(spec, units)
    split = {s.unit for s in spec.splits}
    assert set(after) == set(units) - split
    moved = spec.moved_units()
    for unit, region in after.items():
        assert region == moved.get(unit, units[unit])
