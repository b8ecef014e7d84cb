"""Small array helpers shared by the immutable value types, the rankers and the selection."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SAMPLE_STRIDE", "at_least_kth", "frozen"]


def frozen(arr, dtype=None) -> np.ndarray:
    """A contiguous, read-only array (converted to ``dtype`` when given)."""
    out = np.ascontiguousarray(arr, dtype=dtype)
    out.setflags(write=False)
    return out


#: at_least_kth on many values samples every SAMPLE_STRIDE-th value for its cut.
SAMPLE_STRIDE = 16


def at_least_kth(values: np.ndarray, k: int, spare: float) -> np.ndarray:
    """Positions of the ``values`` at least their ``k``-th largest (``0 < k < values.size``),
    ascending: the k largest and every value tied with the k-th (a NaN never is), so that a
    tie-break after it is exact.

    On many values the k-th largest is taken among the values at least a cut from a sample (every
    SAMPLE_STRIDE-th value; the cut keeps about ``spare * k`` values): when they are k or more, the k
    largest are among them, hence the same k-th value; with fewer (or a NaN cut), among all the values.
    Selecting the k smallest of the negated values is much faster than the k largest when values
    repeat (numpy's introselect).
    """
    r = math.ceil(spare * k / SAMPLE_STRIDE)
    if values.size >= 2 * r * SAMPLE_STRIDE:
        sample = np.negative(values[::SAMPLE_STRIDE])  # a fresh array: partitioned in place
        sample.partition(r - 1)
        pos = (values >= -sample[r - 1]).nonzero()[0]
        if pos.size >= k:
            within = values.take(pos)
            return pos[_at_least(within, k)]
    return _at_least(values, k)


def _at_least(values: np.ndarray, k: int) -> np.ndarray:
    neg = np.negative(values)  # a fresh array: partitioned in place
    neg.partition(k - 1)
    return (values >= -neg[k - 1]).nonzero()[0]
