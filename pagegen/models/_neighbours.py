"""Neighbourhood corrections of the rating predictor: item-kNN and user-kNN on residuals.

The factorization explains a rating by the member's and the title's factors; what it leaves is
partly explained by neighbourhoods (Koren 2008, "Factorization meets the neighborhood"). Three
corrections are added to the factorization's prediction of a title, each with its weight:

- **item-kNN over ratings**: the titles the member rated whose ratings correlate most with the
  title's, and how far the member's ratings of them sit from the factorization's predictions;
- **item-kNN over the video-video similarity** (the model's co-play and content similarity): the
  same deviations, read through the titles most similar by what members play;
- **user-kNN**: the members whose ratings correlate most with this member's who rated the title,
  and how far their ratings of it sit from their own baseline.

The rating correlations read one matrix saved with the model: members x titles, the training
ratings centred by the baseline, ``c = r - mu - b_title - m_member`` (``m_member`` the member's
mean of ``r - mu - b_title``). A correlation is the Pearson correlation of these centred ratings
over the members (titles) both rated, shrunk: ``corr * n / (n + shrink)`` with ``n`` the number
rated in common. Only the ``k`` most similar with a positive similarity count, and a correction is
``sum(s * d) / (sum(s) + 1)``, ``d`` the deviations above: a correction from few or weak
neighbours stays near 0. Everything is computed at request time for the titles asked about (a
few sparse products), from the member's ratings as of ``now``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["Neighbours", "centred_ratings", "correction"]


def centred_ratings(ratings: sp.csr_array, mu: float, title_bias: np.ndarray) -> sp.csr_array:
    """float32 members x titles: ``r - mu - b_title - m_member`` (see the module docstring)."""
    counts = np.diff(ratings.indptr)
    member = np.repeat(np.arange(ratings.shape[0]), counts)
    resid = ratings.data - mu - title_bias[ratings.indices].astype(np.float64)
    mean = np.bincount(member, resid, minlength=ratings.shape[0]) / np.maximum(counts, 1)
    out = sp.csr_array(((resid - mean[member]).astype(np.float32), ratings.indices.astype(np.int32), ratings.indptr.astype(np.int64)), shape=ratings.shape)
    out.sort_indices()
    return out


def correction(sim: np.ndarray, deviation: np.ndarray, k: int) -> np.ndarray:
    """float64 ``(rows,)``: ``sum(s * d) / (sum(s) + 1)`` per row of ``sim`` (rows x neighbours),
    over the row's ``k`` largest positive similarities ``s`` (every other one counts 0)."""
    sim = np.maximum(np.asarray(sim, np.float64), 0.0)
    if sim.shape[1] > k:
        kth = np.partition(sim, sim.shape[1] - k, axis=1)[:, sim.shape[1] - k : sim.shape[1] - k + 1]
        sim = np.where(sim >= kth, sim, 0.0)
    return (sim @ np.asarray(deviation, np.float64)) / (sim.sum(axis=1) + 1.0)


def _shrunk(num: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray, common: np.ndarray, shrink: float) -> np.ndarray:
    denom = np.sqrt(sq_a * sq_b)
    corr = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
    return corr * common / (common + shrink)


class Neighbours:
    """The corrections of the module docstring over one centred matrix (members x titles)."""

    def __init__(self, centred: sp.csr_array, shrink: float, item_k: int, user_k: int) -> None:
        self.by_member = centred.astype(np.float64)
        self.by_title = self.by_member.tocsc()
        self.shrink, self.item_k, self.user_k = float(shrink), int(item_k), int(user_k)

    def item_correction(self, titles: np.ndarray, rated: np.ndarray, deviation: np.ndarray) -> np.ndarray:
        """float64 ``(len(titles),)``: item-kNN over ratings, from the member's ``rated`` titles
        and the ``deviation`` of each rating from the factorization's prediction."""
        if len(rated) == 0 or len(titles) == 0:
            return np.zeros(len(titles))
        a, b = self.by_title[:, titles], self.by_title[:, rated]
        ones_a, ones_b = _ones(a), _ones(b)
        sim = _shrunk(
            (a.T @ b).toarray(),
            (a.multiply(a).T @ ones_b).toarray(),
            (ones_a.T @ b.multiply(b)).toarray(),
            (ones_a.T @ ones_b).toarray(),
            self.shrink,
        )
        return correction(sim, deviation, self.item_k)

    def user_correction(self, titles: np.ndarray, rated: np.ndarray, centred: np.ndarray) -> np.ndarray:
        """float64 ``(len(titles),)``: user-kNN, from the member's ``rated`` titles and their
        ``centred`` ratings (as in the saved matrix), through the training members who rated each title."""
        out = np.zeros(len(titles))
        if len(rated) == 0 or len(titles) == 0:
            return out
        cols = self.by_title[:, rated]
        ones = _ones(cols)
        centred = np.asarray(centred, np.float64)
        sim = _shrunk(cols @ centred, cols.multiply(cols) @ np.ones(len(rated)), ones @ (centred * centred), ones @ np.ones(len(rated)), self.shrink)
        indptr, members, values = self.by_title.indptr, self.by_title.indices, self.by_title.data
        for pos, title in enumerate(np.asarray(titles, np.int64)):
            start, stop = indptr[title], indptr[title + 1]
            if stop == start:
                continue
            out[pos] = correction(sim[members[start:stop]][None, :], values[start:stop], self.user_k)[0]
        return out


def _ones(mat: sp.csc_array) -> sp.csc_array:
    """The pattern of ``mat`` with every stored value 1."""
    out = mat.copy()
    out.data = np.ones_like(out.data)
    return out
