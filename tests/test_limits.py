"""The project's input limits (inputs.limits) and how geo's readers word them."""

from __future__ import annotations

import pytest

from geo.errors import DataError
from geo.io import SizeLimit, check_input_file
from inputs.limits import MAX_INPUT_MB, input_limit


def test_defaults_and_the_setting_that_overrides_them(monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_MAX_SPEC_MB", raising=False)
    assert input_limit("spec") == SizeLimit(2**20, "spec files", "raise REFORM_ATLAS_MAX_SPEC_MB")
    monkeypatch.setenv("REFORM_ATLAS_MAX_SPEC_MB", "0.5")
    assert input_limit("spec").max_bytes == 2**19
    assert set(MAX_INPUT_MB) == {"boundaries", "settlements", "table", "spec"}


@pytest.mark.parametrize("value", ["lots", "-1", "0", "inf", "nan"])
def test_bad_setting_is_one_line_naming_it(value, monkeypatch):
    monkeypatch.setenv("REFORM_ATLAS_MAX_TABLE_MB", value)
    with pytest.raises(DataError, match=r"^REFORM_ATLAS_MAX_TABLE_MB=.* unset it or give e.g. 16$"):
        input_limit("table")


def test_geo_words_the_callers_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(DataError) as info:
        check_input_file(path, limit=SizeLimit(1000, "widget files", "ask for more"), what="widget list")
    assert str(info.value) == (
        f"{path}: 0.00191 MB is over the 0.000954 MB limit for widget files; "
        "give a smaller widget list or ask for more"
    )
    with pytest.raises(DataError, match=r"limit for input files; give a smaller file$"):
        check_input_file(path, limit=SizeLimit(1000))
