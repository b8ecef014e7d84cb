"""Small array helpers shared by the immutable value types, the rankers and the selection."""

from __future__ import annotations

import numpy as np

__all__ = ["argtopk", "frozen"]


def frozen(arr, dtype=None) -> np.ndarray:
    """A contiguous, read-only array (converted to ``dtype`` when given)."""
    out = np.ascontiguousarray(arr, dtype=dtype)
    out.setflags(write=False)
    return out


def argtopk(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest of the 1-D ``values``, best first (intp; all of them, sorted,
    when ``k >= values.size``; none when ``k <= 0``).

    Ties go to the lower position, so the answer is the head of a stable sort by decreasing value:
    ``np.lexsort((positions, -values))[:k]``. A NaN ranks below every number; 0.0 and -0.0 tie.
    O(n) to find the k-th largest value, then a sort of the values at least that large.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fi":  # negation below must not wrap (unsigned ints, bools)
        values = values.astype(np.float64)
    k = min(int(k), values.size)
    if k <= 0:
        return np.zeros(0, np.intp)
    neg = np.negative(values)
    if k < values.size:
        kth = np.partition(neg, k - 1)[k - 1]  # (NaN sorts last: a NaN k-th means fewer than k numbers)
        pos = (neg <= kth).nonzero()[0] if kth == kth else np.arange(values.size)
    else:
        pos = np.arange(values.size)
    return pos[np.lexsort((pos, neg[pos]))[:k]]
