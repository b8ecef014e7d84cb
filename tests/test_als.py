"""Implicit ALS: the conjugate-gradient half step converges to the exact per-row solve."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pagegen.models import _als


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

