"""Page metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pagegen.core._errors import DataError
from pagegen.evaluate._metrics import (
    as_relevance,
    calibration_kl,
    cell_grades,
    coverage,
    credited_hits,
    dcg2d,
    duplicates,
    first_screen_hit,
    genre_diversity,
    n2dcg,
    novelty,
    reading_order,
    recall,
    recall_curve,
    row_kind_hits,
    window_items,
)

L3 = math.log2(3)
L4 = 2.0

# row 0 is full, row 1 is short (-1 padded) and repeats title 1 from row 0
GRID = np.array([[1, 2, 3], [4, 1, -1]], dtype=np.int32)
REL = {1: 1.0, 4: 1.0, 9: 1.0}  # 9 is relevant but not on the page


def test_reading_order_is_anti_diagonal_top_row_first() -> None:
    # (2, 3) grid, flat index = r * 3 + c; diagonals r+c = 0, 1, 1, 2, 2, 3
    assert reading_order((2, 3)).tolist() == [0, 1, 3, 2, 4, 5]
    assert reading_order((0, 0)).tolist() == []


def test_recall_counts_distinct_titles_within_the_window() -> None:
    assert recall(GRID, REL) == pytest.approx(2 / 3)
    assert recall(GRID, REL, m=1) == pytest.approx(1 / 3)
    assert recall(GRID, REL, m=2, n=1) == pytest.approx(2 / 3)  # 1 at (0,0), 4 at (1,0)
    assert recall(GRID, REL, m=1, n=0) == 0.0
    # a window larger than the page is the whole page
    assert recall(GRID, REL, m=10, n=10) == pytest.approx(2 / 3)


def test_recall_is_nan_without_relevant_titles() -> None:
    assert math.isnan(recall(GRID, {}))
    assert math.isnan(recall(GRID, np.zeros(10)))


def test_dense_and_mapping_relevance_agree() -> None:
    dense = np.zeros(12)
    dense[[1, 4, 9]] = 1.0
    assert recall(GRID, dense) == recall(GRID, REL)
    assert n2dcg(GRID, dense) == n2dcg(GRID, REL)
    assert cell_grades(GRID, dense).tolist() == [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]


def test_recall_curve_by_scroll_depth() -> None:
    grid = np.array([[7, 8], [1, 2], [3, -1], [-1, -1]])
    rel = {1: 1, 3: 1, 8: 1, 5: 1}
    assert recall_curve(grid, rel).tolist() == pytest.approx([0.25, 0.5, 0.75, 0.75])
    assert recall_curve(grid, rel, n=1).tolist() == pytest.approx([0.0, 0.25, 0.5, 0.5])
    # deeper than the page: the last value repeats
    assert recall_curve(grid, rel, rows=6).tolist() == pytest.approx([0.25, 0.5, 0.75, 0.75, 0.75, 0.75])
    for m in range(1, 5):
        assert recall_curve(grid, rel, n=1)[m - 1] == pytest.approx(recall(grid, rel, m, 1))


def test_n2dcg_credits_a_duplicate_once_and_reads_anti_diagonally() -> None:
    # credited: 1 at (0,0) (discount 1/log2 2), 4 at (1,0) (1/log2 3); the second 1 at (1,1) is not
    assert dcg2d(GRID, REL) == pytest.approx(1 + 1 / L3)
    # ideal 2 x 3 grid holding three grade-1 titles: cells (0,0), (0,1), (1,0)
    assert n2dcg(GRID, REL) == pytest.approx((1 + 1 / L3) / (1 + 2 / L3))
    hits = credited_hits(GRID, REL)
    assert hits.tolist() == [[True, False, False], [True, False, False]]


def test_first_copy_in_reading_order_wins() -> None:
    # title 5 at (0, 2) (r+c = 4 one-based) and at (1, 0) (r+c = 3): credited at (1, 0)
    grid = np.array([[0, 6, 5], [5, 7, 8]])
    hits = credited_hits(grid, {5: 1})
    assert hits.tolist() == [[False, False, False], [True, False, False]]
    assert dcg2d(grid, {5: 1}) == pytest.approx(1 / L3)
    assert duplicates(grid) == 1


def test_n2dcg_graded_relevance() -> None:
    grid = np.array([[1, 2], [4, 5]])
    # grade 2 in the best cell: ideal
    assert n2dcg(grid, {1: 2.0, 4: 1.0}) == pytest.approx(1.0)
    # grades swapped: (2^1-1)/1 + (2^2-1)/log2 3 over the ideal 3/1 + 1/log2 3
    assert n2dcg(grid, {1: 1.0, 4: 2.0}) == pytest.approx((1 + 3 / L3) / (3 + 1 / L3))
    # a relevant title in the last cell (r+c = 4 one-based)
    assert n2dcg(grid, {5: 1.0}) == pytest.approx(1 / L4)


def test_n2dcg_ideal_shape_may_be_larger_than_the_page() -> None:
    grid = np.array([[1]])
    rel = {1: 1.0, 2: 1.0}
    assert n2dcg(grid, rel) == pytest.approx(1.0)  # the 1 x 1 ideal holds one title only
    assert n2dcg(grid, rel, shape=(2, 2)) == pytest.approx(1 / (1 + 1 / L3))


def test_empty_page() -> None:
    empty = np.zeros((0, 0), dtype=np.int32)
    padded = np.full((2, 3), -1, dtype=np.int32)
    for grid in (empty, padded):
        assert recall(grid, REL) == 0.0
        assert n2dcg(grid, REL) == 0.0
        assert dcg2d(grid, REL) == 0.0
        assert duplicates(grid) == 0
        assert first_screen_hit(grid, REL, 1, 3) == 0.0
        assert window_items(grid).size == 0
    assert n2dcg(empty, REL, shape=(2, 3)) == 0.0
    assert recall_curve(empty, REL).size == 0
    assert recall_curve(padded, REL).tolist() == [0.0, 0.0]


def test_duplicates_across_rows() -> None:
    assert duplicates(GRID) == 1
    assert duplicates(np.array([[1, 2], [2, 1], [1, -1]])) == 3
    assert duplicates(np.array([[1, 2], [3, -1]])) == 0


def test_first_screen_hit() -> None:
    assert first_screen_hit(GRID, REL, 1, 1) == 1.0
    assert first_screen_hit(GRID, {4: 1}, 1, 3) == 0.0
    assert first_screen_hit(GRID, {4: 1}, 2, 1) == 1.0
    assert math.isnan(first_screen_hit(GRID, {}, 2, 2))


def test_coverage_across_pages() -> None:
    pages = [np.array([[0, 1]]), np.array([[1, 2], [-1, -1]])]
    assert coverage(pages, 5) == pytest.approx(3 / 5)
    eligible = np.array([True, True, False, True, False])
    assert coverage(pages, 5, eligible) == pytest.approx(2 / 3)


GENRES = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)  # A, B, A|B, none


def test_genre_diversity() -> None:
    assert genre_diversity(np.array([0]), GENRES) == pytest.approx(1 / 3)
    assert genre_diversity(np.array([0, 1, 2]), GENRES) == pytest.approx(2 / 3)
    assert genre_diversity(np.array([3]), GENRES) == 0.0
    assert genre_diversity(np.array([], dtype=int), GENRES) == 0.0


def test_calibration_kl_hand_computed() -> None:
    # history {0: A, 2: A|B}: p = (0.75, 0.25, 0); shown {1: B}: q = (0, 1, 0)
    # q~ = 0.99 q + 0.01 p = (0.0075, 0.9925, 0)
    expected = 0.75 * math.log(0.75 / 0.0075) + 0.25 * math.log(0.25 / 0.9925)
    assert calibration_kl(np.array([1]), np.array([0, 2]), GENRES) == pytest.approx(expected)
    # shown titles with the history's genre mix: perfectly calibrated
    assert calibration_kl(np.array([0, 2]), np.array([0, 2]), GENRES) == pytest.approx(0.0, abs=1e-12)
    # genre-less titles do not count; a genre-less history gives NaN
    assert calibration_kl(np.array([0, 2, 3]), np.array([0, 2, 3]), GENRES) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(calibration_kl(np.array([0]), np.array([3]), GENRES))
    with pytest.raises(DataError, match="alpha"):
        calibration_kl(np.array([0]), np.array([0]), GENRES, alpha=0.0)


def test_novelty_hand_computed() -> None:
    pop = np.array([3.0, 1.0, 0.0])  # smoothed shares (3+1)/7, (1+1)/7, (0+1)/7
    assert novelty(np.array([0, 2]), pop) == pytest.approx((-math.log2(4 / 7) - math.log2(1 / 7)) / 2)
    assert novelty(np.array([2]), pop) > novelty(np.array([0]), pop)
    assert math.isnan(novelty(np.array([], dtype=int), pop))


def test_row_kind_hits() -> None:
    grid = np.array([[1, 2], [3, 1], [4, -1]])
    kinds = ["trending", "genre", "trending"]
    assert row_kind_hits(grid, {1: 1, 3: 1, 4: 1}, kinds) == {"trending": 2, "genre": 1}
    assert row_kind_hits(grid, {}, kinds) == {}
    with pytest.raises(DataError, match="row kinds"):
        row_kind_hits(grid, {1: 1}, ["genre"])


def test_bad_input_is_named() -> None:
    with pytest.raises(DataError, match=r"relevance\[4\]"):
        as_relevance({4: -1.0})
    with pytest.raises(DataError, match="relevance"):
        as_relevance(np.array([0.0, np.nan]))
    with pytest.raises(DataError, match="2-D"):
        recall(np.array([1, 2, 3]), REL)
    with pytest.raises(DataError, match="grid"):
        duplicates(np.array([[1, -2]]))
    with pytest.raises(DataError, match="integer"):
        duplicates(np.array([[1.5]]))
