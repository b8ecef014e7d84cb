"""argtopk, the one top-k routine: the head of a stable sort by decreasing value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.core._arrays import argtopk


def _by_sorting(values: np.ndarray, k: int) -> list[int]:
    """The reference: positions by decreasing value, ties to the lower position, NaN last."""
    key = [(1, 0.0, p) if np.isnan(v) else (0, -float(v), p) for p, v in enumerate(values.tolist())]
    return [p for *_, p in sorted(key)][: max(k, 0)]


@given(st.lists(st.sampled_from([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.inf, -np.inf, np.nan]), max_size=60), st.integers(-2, 70), st.sampled_from([np.float32, np.float64]))
def test_argtopk_is_the_head_of_a_stable_sort_by_decreasing_value(values, k, dtype):
    values = np.asarray(values, dtype)  # few distinct values: ties at the k-th are the rule
    got = argtopk(values, k)
    assert got.dtype == np.intp
    assert got.tolist() == _by_sorting(values, k)


@given(st.lists(st.integers(0, 5), max_size=40), st.integers(0, 45), st.sampled_from([np.uint8, np.int64, np.bool_]))
def test_argtopk_orders_integers_and_booleans_without_wrapping(values, k, dtype):
    values = np.asarray(values).astype(dtype)
    assert argtopk(values, k).tolist() == _by_sorting(values.astype(np.float64), k)


@pytest.mark.parametrize("n", [1_000, 30_000])
def test_argtopk_on_many_repeated_values(n):
    rng = np.random.default_rng(n)
    for k in (1, 40, 999):
        values = rng.integers(0, 20, n).astype(np.float32)
        assert argtopk(values, k).tolist() == np.lexsort((np.arange(n), -values))[:k].tolist()


def test_a_tie_at_the_kth_goes_to_the_lower_positions():
    assert argtopk(np.array([1.0, 3.0, 2.0, 3.0, 2.0, 2.0]), 3).tolist() == [1, 3, 2]
    assert argtopk(np.array([5.0, np.nan, 1.0]), 3).tolist() == [0, 2, 1]
    assert argtopk(np.array([]), 3).tolist() == []
