"""Implicit ALS: the conjugate-gradient half step converges to the exact per-row solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pagegen.models import _als
from pagegen.models._als import small_random


def _plays(seed: int, shape=(60, 40), density=0.15) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    mat = sp.random_array(shape, density=density, format="csr", dtype=np.float32, rng=rng)
    mat.data = np.minimum(mat.data + 0.05, 1.0).astype(np.float32)
    return sp.csr_array(mat)


def test_cg_half_step_converges_to_the_exact_fold_in():
    x = _plays(5)
    rng = np.random.default_rng(6)
    items = (rng.standard_normal((x.shape[1], 6)) * 0.3).astype(np.float32)
    start = (rng.standard_normal((x.shape[0], 6)) * 0.3).astype(np.float32)
    exact = np.stack([_als.implicit_fold_in(items, x.indices[x.indptr[u] : x.indptr[u + 1]], x.data[x.indptr[u] : x.indptr[u + 1]], 2.0, 5.0) for u in range(x.shape[0])])
    one = _als._cg_half_step(x, items, start, 2.0, 5.0, 1)
    many = _als._cg_half_step(x, items, start, 2.0, 5.0, 6)  # 6 factors: CG is exact after 6 steps
    assert np.abs(many - exact).max() < 1e-4
    # a single step already moves every non-empty row towards the solution
    rows = np.diff(x.indptr) > 0
    assert np.all(np.linalg.norm(one - exact, axis=1)[rows] < np.linalg.norm(start - exact, axis=1)[rows])


def test_cg_half_step_keeps_its_start_when_it_is_the_solution():
    x = _plays(7)
    items = np.random.default_rng(8).standard_normal((x.shape[1], 4)).astype(np.float32)
    exact = _als._cg_half_step(x, items, np.zeros((x.shape[0], 4), np.float32), 1.0, 3.0, 4)
    again = _als._cg_half_step(x, items, exact, 1.0, 3.0, 3)
    assert np.abs(again - exact).max() < 1e-4


def test_ridge_rows_solve_each_rows_weighted_ridge_regression():
    x = _plays(9)
    x.sort_indices()
    rng = np.random.default_rng(10)
    other = rng.standard_normal((x.shape[1], 5))
    resid, weight, reg = rng.standard_normal(x.nnz), rng.random(x.nnz) + 0.1, np.array([1.0, 2.0, 3.0, 0.5, 4.0])
    got = _als._ridge_rows(x, other, resid, reg, weight)
    for u in range(x.shape[0]):
        cells = slice(x.indptr[u], x.indptr[u + 1])
        if cells.start == cells.stop:
            assert np.all(got[u] == 0)
            continue
        y, w = other[x.indices[cells]], weight[cells]
        want = np.linalg.solve((y.T * w) @ y + np.diag(reg), (y.T * w) @ resid[cells])
        np.testing.assert_allclose(got[u], want, rtol=1e-9, atol=1e-12)
    assert np.any(got != 0)


@pytest.mark.parametrize(("n", "block"), [(0, 4), (1, 4), (7, 4), (8, 4), (9, 4), (1000, 65_536)])
def test_small_random_draws_the_one_shot_values_block_by_block(n, block):
    one_shot = (np.random.default_rng(3).standard_normal((n, 5)) * 0.01).astype(np.float32)
    rng = np.random.default_rng(3)
    drawn = small_random(rng, n, 5, block)
    assert drawn.dtype == np.float32 and drawn.tobytes() == one_shot.tobytes()
    assert rng.standard_normal() == np.random.default_rng(3).standard_normal(n * 5 + 1)[-1]  # the stream goes on where it would have
