"""Paired comparisons of two page builders over the same members: the mean difference, its paired
bootstrap confidence interval and a sign test.

A builder is *better* than the baseline on a metric when the whole interval lies above 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

__all__ = ["Paired", "paired"]

#: Bootstrap resamples of the members; enough for a stable 95% interval at the fourth decimal.
RESAMPLES = 2000
_CHUNK = 250


@dataclass(frozen=True)
class Paired:
    """``candidate - baseline`` per member, summarized.

    diff        mean difference over the members where both values are defined
    low, high   the paired bootstrap percentile interval of ``diff`` at ``level``
    better      members where the candidate scored higher; ``worse`` lower; ``tied`` equal
    sign_p      two-sided sign test p-value of better against worse (ties left out; 1.0 without any)
    members     members compared
    """

    diff: float
    low: float
    high: float
    better: int
    worse: int
    tied: int
    sign_p: float
    members: int
    level: float = 0.95

    @property
    def verdict(self) -> str:
        """'better' or 'worse' when the interval excludes 0, else 'tied'."""
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "tied"


def paired(candidate: np.ndarray, baseline: np.ndarray, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0) -> Paired:
    """Compare per-member values of a candidate and a baseline (same members, same order; NaN: undefined)."""
    a, b = np.asarray(candidate, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need one value per member on both sides, got shapes {a.shape} and {b.shape}")
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    n = len(d)
    better, worse = int((d > 0).sum()), int((d < 0).sum())
    sign_p = float(binomtest(better, better + worse).pvalue) if better + worse else 1.0
    if n == 0:
        return Paired(float("nan"), float("nan"), float("nan"), 0, 0, 0, 1.0, 0, level)
    rng = np.random.default_rng(seed)
    means = np.concatenate([d[rng.integers(0, n, size=(min(_CHUNK, resamples - s), n))].mean(axis=1) for s in range(0, resamples, _CHUNK)])
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Paired(float(d.mean()), float(low), float(high), better, worse, n - better - worse, sign_p, n, level)
