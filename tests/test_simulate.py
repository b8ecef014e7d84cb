"""The browsing simulator: closed form vs sampling, attention shape, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pagegen.core._errors import DataError
from pagegen.learned._simulate import BrowseConfig, attention, browse, browse_rng, expected_plays, play_grid


def _page(rng: np.random.Generator, n_rows: int = 6, n_cols: int = 8, empty: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    grid = rng.permutation(n_rows * n_cols * 2)[: n_rows * n_cols].reshape(n_rows, n_cols).astype(np.int32)
    grid[rng.random(grid.shape) < empty] = -1
    prob = rng.uniform(0.0, 0.3, grid.shape)
    return grid, prob


def test_top_left_screen_gets_most_attention() -> None:
    config = BrowseConfig()
    att = attention(config, 10, 20)
    first_screen = att[: config.visible_rows, : config.visible_columns].sum()
    assert first_screen > 0.5 * att.sum()
    assert att[0, 0] == 1.0
    # attention falls going down and going right
    assert np.all(np.diff(att, axis=0) < 0) and np.all(np.diff(att, axis=1) < 0)


def test_sampled_plays_match_closed_form() -> None:
    rng = np.random.default_rng(3)
    config = BrowseConfig()
    grid, prob = _page(rng)
    exact_rows = expected_plays(grid, prob, config, per_row=True)
    n = 12000
    rows = np.zeros(grid.shape[0])
    for view in range(n):
        out = browse(grid, prob, browse_rng(7, 1, view), config)
        if out.played:
            rows[out.row] += 1
            assert grid[out.row, out.col] == out.item >= 0
    freq = rows / n
    se = np.sqrt(exact_rows * (1 - exact_rows) / n)
    assert np.all(np.abs(freq - exact_rows) <= 4.5 * se + 1e-9), (freq, exact_rows)
    assert abs(freq.sum() - exact_rows.sum()) <= 4.5 * np.sqrt(exact_rows.sum() / n)


def test_empty_cells_are_never_played() -> None:
    grid = np.full((3, 4), -1, np.int32)
    grid[1, 2] = 5
    prob = np.ones(grid.shape)
    assert expected_plays(grid, prob) == pytest.approx(attention(BrowseConfig(), 3, 4)[1, 2])
    outcomes = {browse(grid, prob, browse_rng(0, 0, v)).item for v in range(200)}
    assert outcomes <= {5, -1} and 5 in outcomes


def test_deterministic_for_a_seed_and_independent_of_request_order() -> None:
    grid, prob = _page(np.random.default_rng(1))
    a = [browse(grid, prob, browse_rng(11, m, 0)) for m in range(50)]
    b = [browse(grid, prob, browse_rng(11, m, 0)) for m in reversed(range(50))][::-1]
    assert a == b
    c = [browse(grid, prob, browse_rng(12, m, 0)) for m in range(50)]
    assert a != c


def test_play_grid_asks_the_truth_only_for_filled_cells() -> None:
    grid = np.array([[3, -1], [0, 7]])
    asked: list[np.ndarray] = []

    def preference(items: np.ndarray) -> np.ndarray:
        asked.append(items)
        return items / 10.0

    prob = play_grid(grid, preference, BrowseConfig(play_scale=1.0))
    assert np.allclose(prob, [[0.3, 0.0], [0.0, 0.7]])
    assert sorted(asked[0].tolist()) == [0, 3, 7]


def test_bad_probabilities_are_named() -> None:
    with pytest.raises(DataError, match="prob"):
        expected_plays(np.zeros((2, 2), np.int32), np.full((2, 2), 1.5))
    with pytest.raises(DataError, match="shape"):
        expected_plays(np.zeros((2, 2), np.int32), np.zeros((2, 3)))


@given(arrays(np.float64, (4, 5), elements=st.floats(0, 1)), st.integers(0, 19), st.floats(0.01, 1))
def test_expected_plays_is_a_probability_and_grows_with_preference(prob: np.ndarray, cell: int, bump: float) -> None:
    grid = np.arange(20, dtype=np.int32).reshape(4, 5)
    base = expected_plays(grid, prob)
    assert 0.0 <= base <= 1.0
    per_row = expected_plays(grid, prob, per_row=True)
    assert np.isclose(per_row.sum(), base) and np.all(per_row >= 0)
    higher = prob.copy()
    r, c = divmod(cell, 5)
    higher[r, c] = min(1.0, higher[r, c] + bump)
    assert expected_plays(grid, higher) >= base - 1e-12
    # batched grids give the same as one at a time
    both = expected_plays(np.stack([grid, grid]), np.stack([prob, higher]))
    assert np.allclose(both, [base, expected_plays(grid, higher)])


def test_config_is_frozen_and_bounded() -> None:
    with pytest.raises(ValueError):
        BrowseConfig(row_stop=1.5)
    with pytest.raises(ValueError):
        BrowseConfig(unknown=1)  # type: ignore[call-arg]
