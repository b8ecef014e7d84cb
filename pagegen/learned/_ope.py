"""Off-policy evaluation of a page policy from logged pages: IPS, SNIPS and doubly robust.

A page is built row by row; the logging policy placed row ``k`` with a known probability
given the rows above (its propensity), and the member played at most one title. Under the
browsing model a play in row ``k`` depends only on rows ``1..k`` (the member reads top-down),
so the cascade estimators weight the reward of row ``k`` by the product of the
target/logging probability ratios of rows ``1..k`` only (McInerney et al. 2020, "RIPS";
Kiyohara et al. 2022, "Cascade-DR"), not by the ratio of the whole page. Arrays are
(n pages, n rows):

  rewards   r[i, k]  plays in row k of logged page i (0/1; at most one 1 per page)
  weights   w[i, k]  prod_{j <= k} pi_target(a_j | a_<j) / pi_log(a_j | a_<j)
  q_logged  q[i, k]  a reward model's prediction for the logged row k after the logged prefix
  q_target  t[i, k]  the same model's prediction averaged over the target's choice of row k
                     after the logged prefix a_<k

A 1-D ``rewards``/``weights`` pair is the page-level (single action) special case.
Intervals: CLT on the per-page terms (linearized for SNIPS), at level ``1 - alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from pagegen.core._errors import DataError

__all__ = ["Estimate", "cumulative_weights", "doubly_robust", "ips", "snips"]


@dataclass(frozen=True)
class Estimate:
    """A policy value estimate with its confidence interval ``[low, high]``."""

    method: str
    value: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high

    def as_dict(self) -> dict[str, float | int | str]:
        return {"method": self.method, "value": self.value, "low": self.low, "high": self.high, "n": self.n}


def _z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise DataError("must be within (0, 1)", field="alpha", value=alpha)
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def _as_2d(name: str, arr: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    out = np.asarray(arr, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise DataError(f"expected (pages,) or (pages, rows), got shape {out.shape}", field=name)
    if shape is not None and out.shape != shape:
        raise DataError(f"shape {out.shape} differs from rewards {shape}", field=name)
    if not np.all(np.isfinite(out)):
        pos = tuple(int(x) for x in np.argwhere(~np.isfinite(out))[0])
        raise DataError(f"non-finite value at {pos}", field=name, value=float(out[pos]))
    return out


def _check(rewards: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = _as_2d("rewards", rewards)
    w = _as_2d("weights", weights, r.shape)
    if len(r) == 0:
        raise DataError("no logged pages", field="rewards")
    if np.any(w < 0):
        raise DataError("importance weights must be >= 0", field="weights", value=float(w[w < 0][0]))
    return r, w


def _clt(method: str, terms: np.ndarray, value: float, alpha: float) -> Estimate:
    n = len(terms)
    se = float(np.std(terms, ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    half = _z(alpha) * se
    return Estimate(method, float(value), float(value - half), float(value + half), n)


def cumulative_weights(target: np.ndarray, logging: np.ndarray) -> np.ndarray:
    """``w[i, k] = prod_{j <= k} target[i, j] / logging[i, j]`` from per-row probabilities.

    ``target``/``logging``: (pages, rows) probabilities that each policy picks the logged
    row given the logged rows above. Logging probabilities must be > 0 where rows exist.
    """
    t = _as_2d("target", target)
    p = _as_2d("logging", logging, t.shape)
    if np.any(p <= 0) or np.any(p > 1):
        bad = p[(p <= 0) | (p > 1)][0]
        raise DataError("logging propensities must be within (0, 1]", field="logging", value=float(bad))
    if np.any(t < 0) or np.any(t > 1):
        raise DataError("target probabilities must be within [0, 1]", field="target", value=float(t[(t < 0) | (t > 1)][0]))
    return np.cumprod(t / p, axis=1)


def ips(rewards: np.ndarray, weights: np.ndarray, *, alpha: float = 0.05) -> Estimate:
    """Inverse propensity scoring: mean over pages of ``sum_k w[i, k] r[i, k]``. Unbiased."""
    r, w = _check(rewards, weights)
    terms = np.sum(w * r, axis=1)
    return _clt("ips", terms, float(terms.mean()), alpha)


def snips(rewards: np.ndarray, weights: np.ndarray, *, alpha: float = 0.05) -> Estimate:
    """Self-normalized IPS: ``sum_k (sum_i w[i, k] r[i, k]) / (sum_i w[i, k])``.

    Slightly biased, much lower variance than IPS. Its interval linearizes the ratio
    (delta method): per-page influence ``sum_k w[i, k] (r[i, k] - V_k) / mean_i w[i, k]``.
    Positions whose weights are all zero (no logged page agrees with the target that far)
    contribute nothing. Caveat: a position matched by only a few logged pages contributes a
    noisy ratio, so with a deterministic target far from the logging policy the sum over
    positions can overshoot (even above 1 play per page); prefer DR there, or log closer to
    the target (see ``pagegen.learned._logging_policy``).
    """
    r, w = _check(rewards, weights)
    mean_w = w.mean(axis=0)
    ok = mean_w > 0
    v_k = np.zeros(r.shape[1])
    v_k[ok] = (w[:, ok] * r[:, ok]).mean(axis=0) / mean_w[ok]
    influence = np.zeros(r.shape)
    influence[:, ok] = w[:, ok] * (r[:, ok] - v_k[ok]) / mean_w[ok]
    value = float(v_k.sum())
    terms = influence.sum(axis=1) + value
    return _clt("snips", terms, value, alpha)


def doubly_robust(rewards: np.ndarray, weights: np.ndarray, q_logged: np.ndarray, q_target: np.ndarray, *, alpha: float = 0.05) -> Estimate:
    """Cascade doubly robust: ``sum_k [w_k (r_k - q_k) + w_{k-1} t_k]`` averaged over pages.

    Unbiased when the weights are right, whatever the reward model; lower variance than
    IPS when the reward model is good (``w_0 = 1``).
    """
    r, w = _check(rewards, weights)
    q = _as_2d("q_logged", q_logged, r.shape)
    t = _as_2d("q_target", q_target, r.shape)
    w_prev = np.concatenate([np.ones((len(w), 1)), w[:, :-1]], axis=1)
    terms = np.sum(w * (r - q) + w_prev * t, axis=1)
    return _clt("dr", terms, float(terms.mean()), alpha)
