"""report.format: how numbers, dates, verdicts and sources read."""

from __future__ import annotations

import math

import pytest

from report import format as f


@pytest.mark.parametrize("missing", [None, float("nan"), math.nan])
def test_missing_values_read_as_a_dash(missing):
    for fmt in (f.fmt_int, f.fmt_km, f.fmt_delta, f.fmt_pct, f.fmt_signed, f.fmt_pct_points):
        assert fmt(missing) == "–"


def test_numbers():
    assert f.fmt_int(847850.5) == "847,850"
    assert f.fmt_int(2_262_084.4) == "2,262,084"
    assert f.fmt_km(1234.56) == "1,234.6"
    assert (
        f.fmt_delta(-168.26) == "-168.3"
        and f.fmt_delta(0.3) == "+0.3"
        and f.fmt_delta(0.04) == "0.0"
    )
    assert f.fmt_pct(0.8333) == "83.3%"
    assert f.fmt_signed(-1200) == "-1,200" and f.fmt_pct_points(-9.09) == "-9.1 %"


def test_dates_are_written_out_in_english():
    assert f.fmt_date("2022-03-16") == "16 March 2022"
    assert f.fmt_date("2023-01-01T00:00:00") == "1 January 2023"
    assert f.fmt_date(None) == "–"


def test_distance_verdict_uses_the_change_threshold():
    assert f.distance_verdict(0.0) == "unchanged"
    assert f.distance_verdict(0.3) == "slightly farther (+0.3 km)"
    assert f.distance_verdict(-0.4) == "slightly nearer (-0.4 km)"
    assert f.distance_verdict(-168.26) == "nearer by 168.3 km"
    assert f.distance_verdict(47.2) == "farther by 47.2 km"
    assert f.distance_verdict(None) == "no distance (unassigned)"


def test_labels():
    names = {"KZ-19": "Almaty Region"}
    assert f.region_label("KZ-19", names) == "KZ-19 Almaty Region"
    assert f.region_label("KZ-99", names) == "KZ-99"
    assert f.region_label(None, names) == "unassigned"
    assert f.settlement_label({"name": "Сәтбаев", "name_en": "Satbayev"}) == "Сәтбаев (Satbayev)"
    assert f.settlement_label({"name": "Talgar", "name_en": "Talgar"}) == "Talgar"
    assert f.population_text({"population": 65356.0}) == "pop. 65,356"
    assert f.population_text({"population": None, "population_est": 449}) == "pop. ≈449 (estimate)"
    assert f.join_words(["a"]) == "a" and f.join_words(["a", "b", "c"]) == "a, b and c"


def test_public_text_names_folders_and_files_without_their_path(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    text = f"boundaries from {data}; settlements file {tmp_path / 'places.geojson'}"
    assert f.public_text(text) == "boundaries from data/; settlements file places.geojson"
    kept = "see https://example.org/a/b, population_low / population_high, 1/2 km"
    assert f.public_text(kept) == kept
    assert f.public_text(r"file C:\Users\me\places.csv") == "file places.csv"
