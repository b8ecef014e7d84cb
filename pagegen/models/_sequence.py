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
- ``clock_affinity``: how much more (log ratio) each title is played in a quarter of the day
  (UTC) and on weekdays or weekends than plays in general are; ``clock_buckets`` gives the two
  columns of a moment.

Both scorers read a member's titles most recent first (``UserState.items``), folded to tiles.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pagegen.core._time import DAY

__all__ = ["CUT", "clock_affinity", "clock_buckets", "recency_weights", "transitions", "weighted_rows"]

#: Relative weight below which older titles are left out of a recency-weighted sum.
CUT = 1e-4


def transitions(user: np.ndarray, item: np.ndarray, n: int, window: int, decay: float, neighbors: int, *, pairs: int = 1 << 22) -> sp.csr_array:
    """The next-play model (see the module docstring), float32 CSR ``(n, n)``, zero diagonal.

    ``user``, ``item``: the plays in time order within each member (members contiguous), items
    already folded to tiles. Consecutive plays of one tile count once. ``pairs``: about how
    many (play, next play) pairs are held at once; rows are counted a range of titles at a time.
    """
    user = np.asarray(user, np.int64)
    item = np.asarray(item, np.int64)
    if len(item) > 1:  # a run of plays of one tile (a series' episodes) is one play
        keep = np.r_[True, (user[1:] != user[:-1]) | (item[1:] != item[:-1])]
        user, item = user[keep], item[keep]
    item = item.astype(np.int32)
    distances = range(1, min(window, len(item) - 1) + 1)
    index = np.int32 if len(item) < 2**31 else np.int64  # positions of plays: half the memory of int64
    same = {d: np.flatnonzero((user[d:] == user[:-d]) & (item[d:] != item[:-d])).astype(index) for d in distances}
    del user  # (int64, one per play) not needed past here
    per_row = sum((np.bincount(item[:-d][at], minlength=n) for d, at in same.items()), np.zeros(n, np.int64))
    if not per_row.sum():
        return sp.csr_array((n, n), dtype=np.float32)
    plays = np.bincount(item, minlength=n).astype(np.float64)
    ends = np.cumsum(per_row)
    parts = []
    lo = 0
    while lo < n:
        done = int(ends[lo - 1]) if lo else 0
        hi = min(n, max(lo + 1, int(np.searchsorted(ends, done + pairs, side="right"))))
        rows, cols, vals = [], [], []
        for d, at in same.items():
            src = item[:-d][at]
            sel = (src >= lo) & (src < hi)
            rows.append(src[sel] - lo)
            cols.append(item[d:][at[sel]])
            vals.append(np.full(int(sel.sum()), decay ** (d - 1), np.float64))
        counts = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(hi - lo, n))
        counts.sum_duplicates()
        counts = sp.csr_array(counts.multiply(1.0 / (1.0 + plays[lo:hi])[:, None]))
        top = _row_topk(counts, neighbors)
        parts.append((top.data, np.repeat(np.arange(lo, hi, dtype=np.int32), np.diff(top.indptr)), top.indices))
        lo = hi
    data, row, col = (np.concatenate(part) for part in zip(*parts, strict=True))
    return sp.csr_array((data, (row, col)), shape=(n, n))


def clock_buckets(t: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """The quarter of the day (0-3, UTC) and the weekday (4) or weekend (5) column of moments ``t``."""
    t = np.asarray(t, np.int64)
    quarter = (t % DAY) // (DAY // 4)
    weekday = (t // DAY + 3) % 7  # 1970-01-01 was a Thursday: 0 is Monday
    return quarter, np.where(weekday >= 5, 5, 4)


def clock_affinity(item: np.ndarray, timestamp: np.ndarray, n: int) -> np.ndarray:
    """float32 ``(n, 6)``: ``log((c_ib + 1) / (c_i + B)) - log((C_b + 1) / (C + B))`` for each title
    ``i`` and bucket ``b`` (4 quarters of the day, then weekday and weekend; ``B`` buckets in the
    group), from the plays ``item`` at ``timestamp``; 0 for a title never played."""
    quarter, week = clock_buckets(timestamp)
    out = np.zeros((n, 6), np.float64)
    for cols, bucket in ((slice(0, 4), quarter), (slice(4, 6), week - 4)):
        size = 4 if cols.start == 0 else 2
        counts = np.zeros((n, size), np.float64)
        np.add.at(counts, (np.asarray(item, np.int64), bucket), 1.0)
        total = counts.sum(axis=1, keepdims=True)
        overall = counts.sum(axis=0, keepdims=True)
        out[:, cols] = np.log((counts + 1.0) / (total + size)) - np.log((overall + 1.0) / (overall.sum() + size))
    out[np.bincount(np.asarray(item, np.int64), minlength=n) == 0] = 0.0
    return out.astype(np.float32)


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
