"""The Model's request-time views: arrays restricted to the displayable titles ("tiles").

A series' plays are logged on its episodes and folded to the series at fit time, so every
learned array is informative on tiles only (movies, series, and items that are their own
tile). ``Tiles`` holds, once per Model, contiguous copies of the per-title arrays restricted to
tiles, so that a request computes the blend's features over tiles only; an episode then
scores as its series (``expand``). Nothing here is saved: it is derived from the Model's arrays.

The blend's features (see ``_blend``) split in two: the ones that depend on ``now`` only
(``TIME_FEATURES``: popularity, trend, age, freshness), shared by every request at the same
``now``, and the ones that depend on the member (``USER_FEATURES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp

from pagegen.core._time import DAY

from ._blend import FEATURES
from ._popularity import CountIndex, trend_from_counts

__all__ = ["DENSE_CONTENT", "TIME_FEATURES", "Tiles", "USER_FEATURES", "dense_rows", "recency_weights", "time_features"]

YEAR = 365.25 * DAY

#: Content vectors up to this long are also kept dense (transposed, ``(d, T)``): one dense
#: product per request instead of a sparse one.
DENSE_CONTENT = 256
#: Blend features that depend on ``now`` only.
TIME_FEATURES: tuple[str, ...] = ("pop_all", "pop_year", "trend", "age", "unreleased", "fresh")
#: Blend features that depend on the member.
USER_FEATURES: tuple[str, ...] = ("personal", "genre", "recent_sim", "rating", "recent_personal", "next", "next_session", "hour", "weekday", "continuing")
assert sorted(TIME_FEATURES + USER_FEATURES) == sorted(FEATURES)


def dense_rows(mat: sp.csr_array, rows: np.ndarray) -> np.ndarray:
    """float32 ``(len(rows), n_cols)``: the given rows of a CSR matrix, dense (plain numpy
    gathers: scipy's fancy indexing costs more than the work for a few rows)."""
    rows = np.asarray(rows, np.int64)
    starts, stops = mat.indptr[rows], mat.indptr[rows + 1]
    lens = stops - starts
    out = np.zeros((len(rows), mat.shape[1]), np.float32)
    total = int(lens.sum())
    if total:
        pos = np.arange(total) + np.repeat(starts - np.cumsum(lens) + lens, lens)
        out[np.repeat(np.arange(len(rows)), lens), mat.indices[pos]] = mat.data[pos]
    return out


def _rows(arr: np.ndarray, tiles: np.ndarray, identity: bool) -> np.ndarray:
    return arr if identity else np.ascontiguousarray(arr[tiles])


class Tiles:
    """Per-tile views of a Model's arrays (see the module docstring).

    fold      int32 (n_items,): the tile each title's plays count for
    tiles     int64 (T,): the titles that are their own tile, ascending
    content   CSR (T, d) content vectors of the tiles; content_dense its dense transpose when d is small
    expand    intp (n_items,): position in ``tiles`` of each title's tile (None: tiles are all titles);
              intp, the index type, so that the gathers by it convert nothing
    """

    __slots__ = ("als", "content", "content_dense", "ease_at", "expand", "fold", "genre_norm", "genres", "mf_bias", "mf_factors", "tiles", "topk", "year")

    def __init__(self, a: Mapping[str, np.ndarray], content: sp.csr_array, topk: sp.csr_array | None) -> None:
        n = len(a["fold"])
        self.fold = a["fold"]
        self.tiles = np.flatnonzero(self.fold == np.arange(n)).astype(np.int64)
        identity = len(self.tiles) == n
        self.expand = None if identity else np.searchsorted(self.tiles, self.fold).astype(np.intp, copy=False)
        t, i = self.tiles, identity
        self.als = _rows(a["als_items"], t, i) if "als_items" in a else None
        self.mf_bias = _rows(a["mf_bias"], t, i)
        self.mf_factors = _rows(a["mf_factors"], t, i)
        self.genres = _rows(a["genres"], t, i)
        self.genre_norm = _rows(a["genre_norm"], t, i)
        self.year = _rows(a["year"], t, i).astype(np.float32)
        self.content = content if identity else sp.csr_array(content[t])
        self.content_dense = np.ascontiguousarray(self.content.T.toarray()) if content.shape[1] <= DENSE_CONTENT else None
        self.topk = None if topk is None else (topk if identity else sp.csr_array(topk[:, t]))
        self.ease_at = np.searchsorted(t, a["ease_items"]) if "ease_items" in a else None

    @property
    def n(self) -> int:
        return len(self.tiles)

    def pos(self, items: np.ndarray) -> np.ndarray:
        """Positions in ``tiles`` of the tiles of ``items``."""
        return np.asarray(items) if self.expand is None else self.expand.take(items)

    def to_items(self, values: np.ndarray) -> np.ndarray:
        """Per-tile values (last axis) spread over every title: an episode gets its series' value."""
        return values if self.expand is None else values.take(self.expand, axis=-1)

    def history(self, items: np.ndarray, last: np.ndarray, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A member's plays folded to tiles: distinct tiles most recent first, their last play
        time, and their strength (summed watched fractions, at most 1, as in the play matrix)."""
        if self.expand is None or len(items) == 0:
            return items, last, fraction
        folded = self.fold[items]
        uniq, first, inv = np.unique(folded, return_index=True, return_inverse=True)
        strength = np.zeros(len(uniq), np.float32)
        np.add.at(strength, inv, fraction)
        order = first.argsort(kind="stable")  # items are most recent first: so is each tile's first
        return uniq[order].astype(np.int32), last[first[order]], np.minimum(strength[order], 1.0)


def time_features(before: Callable[[int], np.ndarray], index: CountIndex, tiles: Tiles, now: int, short: int, long: int) -> np.ndarray:
    """float32 ``(T, len(TIME_FEATURES))``: the blend's ``now``-only features of every tile.

    ``before(t)``: plays of every title before ``t`` (``index.before``, possibly cached).
    """
    t = tiles.tiles
    at_now, at_year, at_short, at_long = (before(x)[t].astype(np.float32) for x in (now, now - 365 * DAY, now - short, now - long))
    out = np.empty((len(t), len(TIME_FEATURES)), np.float32)
    out[:, 0] = np.log1p(at_now)
    out[:, 1] = np.log1p(at_now - at_year)
    out[:, 2] = np.log1p(trend_from_counts(at_now - at_short, at_short - at_long, short, long))
    now_year = np.float32(1970.0 + now / YEAR)
    known = tiles.year > 0
    out[:, 3] = np.where(known, np.log1p(np.maximum(now_year - tiles.year, 0.0)), 0.0)
    out[:, 4] = known & (tiles.year > np.floor(now_year))
    age = (now - index.origin - index.first[t]).astype(np.float32)
    out[:, 5] = np.where(at_now > 0, np.log1p(np.maximum(age, 0.0) / DAY), 0.0)
    return out


def recency_weights(items: np.ndarray, last: np.ndarray, rated: np.ndarray, now: int, recency: float, floor: float) -> np.ndarray:
    """Weights of a member's ratings for the rating fold-in, mean 1: the k-th most recent weighs
    ``floor + exp(-k / recency)`` (before normalizing). A rating's time is that of the play of
    the same title (``items``, ``last``); a title rated but not played counts as the most recent.
    """
    when = np.full(len(rated), now, np.int64)
    if len(items) and len(rated):
        order = items.argsort()
        pos = np.minimum(items[order].searchsorted(rated), len(order) - 1)
        found = items[order][pos] == rated
        when[found] = last[order][pos][found]
    rank = (-when).argsort(kind="stable").argsort(kind="stable")
    weights = floor + np.exp(-rank / recency)
    return weights / (weights.sum() / len(weights)) if len(weights) else weights  # (the mean, as weights.mean() computes it)
