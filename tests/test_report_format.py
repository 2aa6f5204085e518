"""report.format: how numbers, dates, verdicts and sources read."""

from __future__ import annotations

import math

import pytest

from report.format import (
    distance_verdict,
    fmt_date,
    fmt_delta,
    fmt_int,
    fmt_km,
    fmt_pct,
    fmt_pct_points,
    fmt_signed,
    join_words,
    population_text,
    public_text,
    region_label,
    settlement_label,
)


@pytest.mark.parametrize("missing", [None, float("nan"), math.nan])
def test_missing_values_read_as_a_dash(missing):
    for fmt in (fmt_int, fmt_km, fmt_delta, fmt_pct, fmt_signed, fmt_pct_points):
        assert fmt(missing) == "–"


def test_numbers():
    assert fmt_int(847850.5) == "847,850"
    assert fmt_int(2_262_084.4) == "2,262,084"
    assert fmt_km(1234.56) == "1,234.6"
    assert fmt_delta(-168.26) == "-168.3" and fmt_delta(0.3) == "+0.3" and fmt_delta(0.04) == "0.0"
    assert fmt_pct(0.8333) == "83.3%"
    assert fmt_signed(-1200) == "-1,200" and fmt_pct_points(-9.09) == "-9.1 %"


def test_dates_are_written_out_in_english():
    assert fmt_date("2022-03-16") == "16 March 2022"
    assert fmt_date("2023-01-01T00:00:00") == "1 January 2023"
    assert fmt_date(None) == "–"


def test_distance_verdict_uses_the_change_threshold():
    assert distance_verdict(0.0) == "unchanged"
    assert distance_verdict(0.3) == "slightly farther (+0.3 km)"
    assert distance_verdict(-0.4) == "slightly nearer (-0.4 km)"
    assert distance_verdict(-168.26) == "nearer by 168.3 km"
    assert distance_verdict(47.2) == "farther by 47.2 km"
    assert distance_verdict(None) == "no distance (unassigned)"


def test_labels():
    names = {"KZ-19": "Almaty Region"}
    assert region_label("KZ-19", names) == "KZ-19 Almaty Region"
    assert region_label("KZ-99", names) == "KZ-99"
    assert region_label(None, names) == "unassigned"
    assert settlement_label({"name": "Сәтбаев", "name_en": "Satbayev"}) == "Сәтбаев (Satbayev)"
    assert settlement_label({"name": "Talgar", "name_en": "Talgar"}) == "Talgar"
    assert population_text({"population": 65356.0}) == "pop. 65,356"
    assert population_text({"population": None, "population_est": 449}) == "pop. ≈449 (estimate)"
    assert join_words(["a"]) == "a" and join_words(["a", "b", "c"]) == "a, b and c"


def test_public_text_names_folders_and_files_without_their_path(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    text = f"boundaries from {data}; settlements file {tmp_path / 'places.geojson'}"
    assert public_text(text) == "boundaries from data/; settlements file places.geojson"
    kept = "see https://example.org/a/b, population_low / population_high, 1/2 km"
    assert public_text(kept) == kept
    assert public_text(r"file C:\Users\me\places.csv") == "file places.csv"
