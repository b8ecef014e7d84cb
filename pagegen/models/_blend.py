"""The learned blend: ``score(u, v) = w . features(u, v) + b``, weights by logistic regression.

The seed paper's ``w1 * popularity(v) + w2 * predicted_rating(u, v) + b`` generalized to
time-aware features, all computed as of the member's ``now`` for every title at once:

  personal    the personal scorer r(u, v), divided by its spread over the catalog
  pop_all     log(1 + plays before now)
  pop_year    log(1 + plays in the 365 days before now)
  trend       log(1 + trending score as of now)
  genre       cosine between the member's genre profile (from their plays) and the title's genres
  recent_sim  similarity of the title to the member's last few plays
  rating      predicted rating minus the member's mean predicted level
  age         log(1 + years between the title's release and now), 0 when unknown
  unreleased  1 when the title's release year is after now's year
  fresh       log(1 + days since the title's first play in the service), as of now
  recent_personal  the item-item scorer with the member's history weighted by recency
              (``exp(-k / recency_tau)`` for the k-th most recent title), divided by its spread
  next        the next-play transitions from the member's last titles (see ``_sequence``),
              divided by its spread
  next_session  next times exp(-gap / session_gap), gap the time since the member's last play
              (what comes next matters most within a session)
  hour        the title's affinity to the quarter of the day of now (UTC; see ``clock_affinity``)
  weekday     the title's affinity to weekdays or weekends, whichever now is
  continuing  for a title the member is in the middle of, exp(-age / continue_tau), age the time
              since their latest play of it (for a series, of one of its episodes); 0 for every
              other title. In the middle, as Continue Watching has it: that play is at most a year
              old (``MAX_AGE_DAYS``), and a movie was started and not finished, or a series has an
              episode left to play (``pagegen.core._resume.episode_to_play``: the latest episode
              unfinished, or a later one not finished that is on the service by now)

Training is pointwise learning to rank: positives are the plays a member made after a
cutoff, folded to tiles (resuming a movie or continuing a series the member started counts),
negatives are titles the member had not seen, sampled (some from the personal scorer's top,
some uniformly) and, when the data logs impressions, the titles shown to the member after the
cutoff and not played (a share ``blend_impression_share`` of the negatives' weight); features
are computed as of the cutoff from the earlier history only. ``continuing`` is positive on seen
titles only, never on a negative, so only the L2 penalty bounds its weight; it ranks what a
member plays next among every title, and leaves the order of the titles they have not seen
(the discovery rows' candidates) as good as unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

__all__ = ["FEATURES", "fit_logistic"]

FEATURES: tuple[str, ...] = (
    "personal",
    "pop_all",
    "pop_year",
    "trend",
    "genre",
    "recent_sim",
    "rating",
    "age",
    "unreleased",
    "fresh",
    "recent_personal",
    "next",
    "next_session",
    "hour",
    "weekday",
    "continuing",
)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, weight: np.ndarray | None = None) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularized logistic regression on standardized features (L-BFGS).

    Returns ``(weights, bias, mean, scale)`` so that the logit is
    ``((x - mean) / scale) @ weights + bias``. Positives and negatives are weighted to equal
    total mass, so the class ratio of the sample does not matter; ``weight`` (optional, > 0,
    one per example) weighs the examples within their class.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w_in = np.ones(len(y)) if weight is None else np.asarray(weight, np.float64)
    pos = y > 0
    n_pos = max(w_in[pos].sum(), 1e-12) if pos.any() else 1.0
    n_neg = max(w_in[~pos].sum(), 1e-12) if (~pos).any() else 1.0
    sw = w_in * np.where(pos, 0.5 / n_pos, 0.5 / n_neg)

    sign = 2.0 * y - 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        # einsum, not BLAS: a multi-threaded gemv on a busy machine costs 5-10x more here
        w, b = theta[:-1], theta[-1]
        margin = sign * (np.einsum("ij,j->i", z, w) + b)
        # log(1 + exp(-margin)) and its derivative, computed stably from e = exp(-|margin|)
        e = np.exp(-np.abs(margin))
        nll = np.maximum(-margin, 0.0) + np.log1p(e)
        sigmoid_neg = np.where(margin >= 0, e, 1.0) / (1.0 + e)  # 1 / (1 + exp(margin))
        grad_logit = -sign * sw * sigmoid_neg
        value = float(np.einsum("i,i->", sw, nll) + 0.5 * l2 * np.dot(w, w))
        grad = np.r_[np.einsum("ij,i->j", z, grad_logit) + l2 * w, grad_logit.sum()]
        return value, grad

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x[:-1], float(res.x[-1]), mean, scale
