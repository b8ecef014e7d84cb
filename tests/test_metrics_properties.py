"""Properties of the page metrics (hypothesis), each shown to bite on a broken variant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.evaluate._metrics import dcg2d, duplicates, n2dcg, reading_order, recall, recall_curve

N_ITEMS = 25


@st.composite
def grids(draw, max_rows: int = 6, max_cols: int = 6) -> np.ndarray:
    rows = draw(st.integers(0, max_rows))
    cols = draw(st.integers(0, max_cols))
    cells = draw(st.lists(st.integers(-1, N_ITEMS - 1), min_size=rows * cols, max_size=rows * cols))
    return np.asarray(cells, dtype=np.int32).reshape(rows, cols)


relevances = st.dictionaries(st.integers(0, N_ITEMS - 1), st.sampled_from([0.5, 1.0, 2.0, 3.0]), max_size=10)


@given(grids(), relevances, st.integers(0, 7), st.integers(0, 7))
def test_recall_in_unit_interval_and_monotone(grid: np.ndarray, rel: dict, m: int, n: int) -> None:
    r = recall(grid, rel, m, n)
    if not rel:
        assert math.isnan(r)
        return
    assert 0.0 <= r <= 1.0
    assert recall(grid, rel, m + 1, n) >= r
    assert recall(grid, rel, m, n + 1) >= r
    assert recall(grid, rel) >= r


@given(grids(), relevances, st.integers(0, 7))
def test_recall_curve_is_monotone_and_matches_recall(grid: np.ndarray, rel: dict, n: int) -> None:
    curve = recall_curve(grid, rel, n=n)
    assert curve.shape == (grid.shape[0],)
    if not rel:
        return
    assert np.all(np.diff(curve) >= 0)
    for m in range(1, grid.shape[0] + 1):
        assert curve[m - 1] == pytest.approx(recall(grid, rel, m, n))


def ideal_page(rel: dict, rows: int, cols: int, filler: list[int]) -> np.ndarray:
    """The best page of this shape: grades descending in anti-diagonal reading order, then filler."""
    ranked = [item for item, _ in sorted(rel.items(), key=lambda kv: -kv[1])]
    cells = (ranked + filler)[: rows * cols]
    cells += [-1] * (rows * cols - len(cells))
    flat = np.full(rows * cols, -1, dtype=np.int32)
    flat[reading_order((rows, cols))] = cells
    return flat.reshape(rows, cols)


@given(relevances.filter(bool), st.integers(1, 6), st.integers(1, 6))
def test_n2dcg_is_one_on_the_ideal_page(rel: dict, rows: int, cols: int) -> None:
    filler = list(range(N_ITEMS, 2 * N_ITEMS))  # never relevant
    page = ideal_page(rel, rows, cols, filler)
    assert n2dcg(page, rel) == pytest.approx(1.0)
    assert duplicates(page) == 0


@given(grids(), relevances.filter(bool))
def test_n2dcg_zero_without_relevant_titles_and_bounded(grid: np.ndarray, rel: dict) -> None:
    value = n2dcg(grid, rel)
    assert 0.0 <= value <= 1.0 + 1e-12
    cleaned = np.where(np.isin(grid, list(rel)), -1, grid)
    assert n2dcg(cleaned, rel) == 0.0
    # a copy of the page with every title repeated below cannot earn more (a title counts once)
    doubled = np.vstack([grid, grid])
    assert dcg2d(doubled, rel) == pytest.approx(dcg2d(grid, rel))


def _broken_recall(grid: np.ndarray, rel: dict, m: int, n: int) -> float:
    """Counts cells, not titles: a duplicated relevant title is counted twice."""
    sub = grid[:m, :n]
    return float(np.isin(sub, list(rel)).sum() / len(rel))


def test_the_recall_property_bites_on_a_broken_recall() -> None:
    grid = np.array([[1, 1], [1, -1]])
    rel = {1: 1.0}
    assert _broken_recall(grid, rel, 2, 2) > 1.0  # the unit-interval property would catch it
    assert recall(grid, rel, 2, 2) == 1.0


def test_the_ideal_property_bites_on_row_major_reading() -> None:
    # row-major filling puts the third-best title at (0, 2) (r+c = 4) instead of (1, 0) (r+c = 3)
    rel = {1: 3.0, 2: 2.0, 3: 1.0}
    row_major = np.array([[1, 2, 3], [-1, -1, -1]])
    assert n2dcg(row_major, rel) < 1.0
    assert n2dcg(ideal_page(rel, 2, 3, []), rel) == pytest.approx(1.0)
