"""The Model's order-aware answers for one member (see ``_sequence``): the personal scorer with the
history weighted by recency, the next-play transitions from the member's last titles, and the series
the member is in the middle of.

``SequenceMixin`` holds the methods; ``Model`` inherits them and owns what they read (``_a``,
``_meta``, ``_tiles``, ``_derive``, ``_history``).
"""

from __future__ import annotations

import numpy as np

from pagegen.core._resume import MAX_AGE_DAYS, episode_to_play
from pagegen.core._time import DAY
from pagegen.core._userstate import FINISHED_AT, UserState

from ._sequence import clock_buckets, recency_weights, weighted_rows

__all__ = ["SequenceMixin"]


class SequenceMixin:
    """The order-aware methods of ``Model``; no state of its own."""

    __slots__ = ()

    def _recent_personal_tiles(self, hist: np.ndarray) -> np.ndarray:
        """float32 ``(T,)``: the item-item scorer (EASE, else the top-k neighbours) summed over the
        member's titles, the k-th most recent weighing ``exp(-k / recency_tau)``."""
        t = self._tiles
        weights = recency_weights(len(hist), float(self._meta["config"]["recency_tau"]))
        hist = hist[: len(weights)]
        if t.ease_at is not None:
            out = np.zeros(t.n, np.float32)
            pos = self._a["ease_pos"][hist]
            valid = pos >= 0
            if valid.any():
                out[t.ease_at] = weights[valid] @ self._a["ease_weights"][pos[valid]]
            return out
        if t.topk is None:
            return np.zeros(t.n, np.float32)
        return weighted_rows(t.topk.data, t.topk.indices, t.topk.indptr, hist, weights, t.n)

    def _next_tiles(self, hist: np.ndarray) -> np.ndarray:
        """float32 ``(T,)``: the next-play transitions from the member's titles, the k-th most
        recent weighing ``exp(-k / next_tau)``."""
        t = self._tiles
        if "next_indptr" not in self._a:
            return np.zeros(t.n, np.float32)
        weights = recency_weights(len(hist), float(self._meta["config"]["next_tau"]))
        cols = self._derive("next_cols", lambda: _read_only(t.pos(self._a["next_indices"]).astype(np.intp)))
        return weighted_rows(self._a["next_data"], cols, self._a["next_indptr"], hist[: len(weights)], weights, t.n)

    def personal_recent(self, user: UserState) -> np.ndarray:
        """The personal item-item scorer with the member's history weighted by recency (float32, every title)."""
        return self._tiles.to_items(self._recent_personal_tiles(self._history(user)[0]))

    def next_play(self, user: UserState) -> np.ndarray:
        """How likely each title comes next after the member's last titles (float32, every title)."""
        return self._tiles.to_items(self._next_tiles(self._history(user)[0]))

    def _sequence_features(self, user: UserState, out: np.ndarray) -> None:
        """Write the blend's order-aware and session features over the tiles into ``out``
        (``(T, 5)``: ``recent_personal``, ``next``, ``next_session``, ``hour``, ``weekday``; see
        ``_blend``). The scorers are divided by their spread over the tiles; 0 without history."""
        hist, last, _ = self._history(user)
        for col, values in enumerate((self._recent_personal_tiles(hist), self._next_tiles(hist))):
            spread = float(values.std()) if len(values) else 0.0
            np.divide(values, spread if spread > 0 else 1.0, out=out[:, col])
        gap = float(user.now - last.max()) if len(last) else np.inf
        np.multiply(out[:, 1], np.float32(np.exp(-gap / float(self._meta["config"]["session_gap"]))), out=out[:, 2])
        clock = self._derive("clock_tiles", lambda: _read_only(np.ascontiguousarray(self._a["clock"][self._tiles.tiles].T)) if "clock" in self._a else None)
        if clock is None:
            out[:, 3:5] = 0.0
            return
        quarter, week = clock_buckets(user.now)
        out[:, 3] = clock[int(quarter)]
        out[:, 4] = clock[int(week)]

    def _continuing(self, user: UserState, out: np.ndarray) -> None:
        """Write the blend's ``continuing`` feature over the tiles into ``out`` (``(T,)``; see
        ``_blend``): ``exp(-age / continue_tau)`` on the titles the member is in the middle of, 0
        elsewhere (everywhere for a member without history)."""
        out[:] = 0.0
        a = self._a
        if "next_episode" not in a or not len(user.items):
            return
        items, fold, frac = user.items, a["fold"], user.fraction
        age = user.now - user.last
        recent = age <= MAX_AGE_DAYS * DAY
        episode = fold[items] != items
        tau = float(self._meta["config"]["continue_tau"])
        direct = np.flatnonzero(recent & ~episode & (frac > 0) & (frac < FINISHED_AT))  # started, not finished
        out[self._tiles.pos(items[direct])] = np.exp(-age[direct] / tau)
        pos = np.flatnonzero(recent & episode)
        if not len(pos):
            return
        series, first = np.unique(fold[items[pos]], return_index=True)  # items are most recent first: each series' latest
        latest = pos[first]
        target = episode_to_play(items[latest], frac[latest], user.finished(), a["next_episode"])
        ok = target >= 0
        ok[ok] = a["added"][target[ok]] <= user.now
        at = self._tiles.pos(series[ok])
        out[at] = np.maximum(out[at], np.exp(-age[latest[ok]] / tau))  # a series also played directly: the later play


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
