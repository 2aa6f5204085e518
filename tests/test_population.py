"""Tests of inputs.population: population figures parsed, classified and bounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.errors import DataError
from inputs.population import (
    check_population_bound,
    parse_population,
    population_columns,
    population_status,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345", 12345),
        (" 12345 ", 12345),
        ("12 345", 12345),
        ("12\u00a0345", 12345),
        ("12,345", 12345),
        ("12.345", 12345),
        ("1,234,567", 1234567),
        ("1234.0", 1234),
        ("~500", 500),
        ("ca. 300", 300),
        ("около 700", 700),
        ("1200 (2009)", 1200),
        ("1,2 тыс.", 1200),
        ("3.5k", 3500),
        ("1,5 млн", 1_500_000),
        ("100-200", 150),
        ("100 – 300", 200),
        ("2.5e3", 2500),
        ("1E15", 1e15),
        ("1e400", float("inf")),
    ],
)
def test_parse_population_reads_common_forms(text, expected):
    assert parse_population(pd.Series([text])).iloc[0] == expected


@pytest.mark.parametrize(
    "text", ["0", "1.5", "12,5", "1,23", "abc", ">1000", "-5", "200-100", "12 34", "", "1.5e0", "1e-3", "nan", "inf"]
)
def test_parse_population_leaves_the_rest_unparsed(text):
    assert np.isnan(parse_population(pd.Series([text])).iloc[0])


def test_parse_population_zero_can_be_kept():
    assert parse_population(pd.Series(["0"]), zero_as_missing=False).iloc[0] == 0


def test_parse_population_accepts_numbers_and_missing():
    values = pd.Series([1200, None, 3.0], index=[5, 6, 7])
    out = parse_population(values)
    assert out.dtype == "float64"
    assert out.index.tolist() == [5, 6, 7]
    assert out.iloc[0] == 1200 and np.isnan(out.iloc[1]) and out.iloc[2] == 3


def test_population_status():
    raw = pd.Series(["12", "lots", None, "  ", "0"])
    status = population_status(raw, parse_population(raw))
    assert status.tolist() == ["tagged", "unparsed", "missing", "missing", "unparsed"]


@pytest.mark.parametrize(
    ("values", "pattern"),
    [(["5", "60000000"], r"f.csv: population above 50,000,000 for one place in row 2 \(60000000\)"),
     (["1e15"], r"population above .* row 1 \(1e15\)"),
     (["7", "-3", "−4"], r"negative population for one place in row 2 \(-3\), row 3 \(−4\); a head count is never negative"),
     (["\x1b[2J-1"], None)],
)  # fmt: skip
def test_check_population_bound(values, pattern):
    frame = population_columns(pd.Series(values))
    if pattern is None:  # not a number at all: unparsed, not rejected
        check_population_bound(frame, "f.csv")
        return
    with pytest.raises(DataError, match=pattern):
        check_population_bound(frame, "f.csv")
