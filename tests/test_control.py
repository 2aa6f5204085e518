"""Control totals: largest-remainder rounding and allocation to unit totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.control import ALLOCATED, COUNTED, allocate, largest_remainder, remainders


def test_largest_remainder_is_exact_and_proportional():
    parts = largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert parts.sum() == 10
    assert sorted(parts.tolist()) == [3, 3, 4]
    assert parts.tolist() == [4, 3, 3]  # the tie goes to the earlier position
    assert largest_remainder(7, np.array([0.0, 0.0])).tolist() == [4, 3]  # no prior: equal
    assert largest_remainder(100, np.array([3.0, 1.0])).tolist() == [75, 25]


def test_largest_remainder_rejects_bad_weights():
    with pytest.raises(ValueError, match="finite non-negative"):
        largest_remainder(5, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="total >= 0"):
        largest_remainder(-1, np.array([1.0]))


def test_allocate_counts_fixed_and_shares_the_rest():
    unit = pd.Series(["a", "a", "a", "b", None])
    prior = pd.Series([100.0, 30.0, 10.0, 5.0, 50.0])
    fixed = pd.Series([1000.0, np.nan, np.nan, np.nan, np.nan])
    totals = pd.Series({"a": 1401, "b": 20})
    pop, basis = allocate(unit, prior, fixed, totals)
    assert pop.tolist()[:4] == [1000.0, 301.0, 100.0, 20.0]
    assert np.isnan(pop.iloc[4])  # outside every unit
    assert basis.tolist()[:4] == [COUNTED, ALLOCATED, ALLOCATED, ALLOCATED]
    assert pop.groupby(unit).sum().to_dict() == {"a": 1401.0, "b": 20.0}


def test_remainders_are_units_nobody_carries():
    unit = pd.Series(["a", "a"])
    pop = pd.Series([5.0, 5.0])
    left = remainders(unit, pop, pd.Series({"a": 10, "c": 7}))
    assert left.to_dict() == {"c": 7}
