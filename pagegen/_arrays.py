"""Small array helpers shared by the immutable value types."""

from __future__ import annotations

import numpy as np

__all__ = ["frozen"]


def frozen(arr, dtype=None) -> np.ndarray:
    """A contiguous, read-only array (converted to ``dtype`` when given)."""
    out = np.ascontiguousarray(arr, dtype=dtype)
    out.setflags(write=False)
    return out
