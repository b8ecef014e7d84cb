"""Block-wise fitting kernels give the same arrays, bit for bit, whatever the block size."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pagegen.models._ease import cosine_topk
from pagegen.models._sequence import transitions


def _matrix(seed: int, shape=(300, 120), density=0.05) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    mat = sp.random_array(shape, density=density, format="csr", dtype=np.float64, rng=rng)
    mat.data = np.round(1 + 4 * mat.data)
    return sp.csr_array(mat)


def test_cosine_topk_blocks_do_not_change_the_neighbours():
    x = _matrix(4, shape=(400, 90), density=0.08)
    whole = cosine_topk(x, 10, block=10**6, cells=10**9)
    for block, cells in ((7, 10**9), (2048, 90 * 3), (1, 1)):
        part = cosine_topk(x, 10, block=block, cells=cells)
        assert np.array_equal(part.indptr, whole.indptr)
        assert np.array_equal(part.indices, whole.indices)
        assert np.array_equal(part.data, whole.data)
    assert whole.nnz > 0 and np.all(whole.diagonal() == 0)


def test_transitions_row_ranges_do_not_change_the_model():
    rng = np.random.default_rng(5)
    user = np.sort(rng.integers(0, 60, 3000))
    item = rng.integers(0, 80, 3000)
    whole = transitions(user, item, 80, 4, 0.8, 7, pairs=10**9)
    assert whole.nnz > 0
    for pairs in (1, 50, 999):
        part = transitions(user, item, 80, 4, 0.8, 7, pairs=pairs)
        assert np.array_equal(part.indptr, whole.indptr)
        assert np.array_equal(part.indices, whole.indices)
        assert np.array_equal(part.data, whole.data)
