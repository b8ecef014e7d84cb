"""Order-aware scorers: what a member watches next depends on what they watched last.

- ``transitions``: an item-to-item model of the next plays. Every play of a title ``a`` followed
  (by the same member) by a play of ``b`` within the next ``window`` plays counts
  ``decay ** (d - 1)`` for the pair at distance ``d``; a row is divided by ``1 + plays of a``
  (an estimate of how often ``b`` comes soon after ``a``), and only the ``neighbors`` largest
  entries of each row are kept.
- ``recency_weights``: the weight of a member's k-th most recent title, ``exp(-k / tau)``, cut
  where it falls below ``CUT`` of the most recent one's, so a long history costs no more than a
  short one.
- ``weighted_rows``: the weighted sum of a few rows of a sparse matrix, as a dense vector.

Both scorers read a member's titles most recent first (``UserState.items``), folded to tiles.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["CUT", "recency_weights", "transitions", "weighted_rows"]

#: Relative weight below which older titles are left out of a recency-weighted sum.
CUT = 1e-4


def transitions(user: np.ndarray, item: np.ndarray, n: int, window: int, decay: float, neighbors: int) -> sp.csr_array:
    """The next-play model (see the module docstring), float32 CSR ``(n, n)``, zero diagonal.

    ``user``, ``item``: the plays in time order within each member (members contiguous), items
    already folded to tiles. Consecutive plays of one tile count once.
    """
    user = np.asarray(user, np.int64)
    item = np.asarray(item, np.int64)
    if len(item) > 1:  # a run of plays of one tile (a series' episodes) is one play
        keep = np.r_[True, (user[1:] != user[:-1]) | (item[1:] != item[:-1])]
        user, item = user[keep], item[keep]
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        if d >= len(item):
            break
        same = (user[d:] == user[:-d]) & (item[d:] != item[:-d])
        rows.append(item[:-d][same])
        cols.append(item[d:][same])
        vals.append(np.full(int(same.sum()), decay ** (d - 1), np.float64))
    if not rows:
        return sp.csr_array((n, n), dtype=np.float32)
    counts = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    counts.sum_duplicates()
    plays = np.bincount(item, minlength=n).astype(np.float64)
    counts = sp.csr_array(counts.multiply(1.0 / (1.0 + plays)[:, None]))
    return _row_topk(counts, neighbors)


def _row_topk(mat: sp.csr_array, k: int) -> sp.csr_array:
    """The ``k`` largest entries of each row (ties: the lower column first), float32."""
    mat.sort_indices()
    row = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
    order = np.lexsort((mat.indices, -mat.data, row))
    rank = np.arange(len(order)) - mat.indptr[row[order]]
    keep = np.sort(order[rank < k])
    return sp.csr_array((mat.data[keep].astype(np.float32), (row[keep], mat.indices[keep])), shape=mat.shape)


def recency_weights(n: int, tau: float) -> np.ndarray:
    """float32 ``exp(-k / tau)`` for the ``k``-th most recent of ``n`` titles, cut at ``CUT``."""
    m = min(n, int(np.ceil(tau * np.log(1.0 / CUT))))
    return np.exp(-np.arange(m, dtype=np.float64) / tau).astype(np.float32)


def weighted_rows(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """float32 ``(n,)``: ``sum_j weights[j] * M[rows[j]]`` of a CSR matrix given by its parts."""
    rows = np.asarray(rows, np.int64)
    starts, stops = indptr[rows], indptr[rows + 1]
    lens = stops - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(n, np.float32)
    pos = np.arange(total) + np.repeat(starts - np.cumsum(lens) + lens, lens)
    values = data[pos] * np.repeat(weights, lens)
    return np.bincount(indices[pos], weights=values, minlength=n).astype(np.float32)
