"""Popularity and trending as of any moment, from play events kept sorted by (item, time).

All plays are held in one sorted int64 array ``key = item * SPAN + (time - origin)``; the
number of plays of every title in ``[lo, hi)`` is then two vectorized ``searchsorted`` calls
over all titles at once (no per-title Python). Adding new events (the nearline path) merges
their keys into the sorted array; nothing else is refitted.

At request time the same plays are read through a :class:`CountIndex`: the plays in time
order with the counts of every title at a few checkpoints, so that the plays of every title
before any moment cost one checkpoint row plus a ``bincount`` of the plays since it.

What counts as a play: the plays of a series are logged on its episodes; they are folded to
the series (``fold_items``), and a member's plays of one title on one day count once
(``first_per_day``), so a binge of ten episodes is one play of the series, not ten.
"""

from __future__ import annotations

import numpy as np

from pagegen.core._time import DAY

__all__ = ["CountIndex", "SPAN", "first_per_day", "fold_items", "item_starts", "merge_keys", "play_keys", "plays_before", "trend_from_counts", "trend_scores", "window_counts"]

#: Width of one title's time range inside a key (2**40 s is about 35,000 years).
SPAN = np.int64(1 << 40)


def fold_items(series: np.ndarray) -> np.ndarray:
    """int32 ``(n,)``: the title a play of each item counts for (an episode's series, else itself)."""
    series = np.asarray(series, np.int64)
    return np.where(series >= 0, series, np.arange(len(series))).astype(np.int32)


def first_per_day(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """Bool mask of the plays to count: the earliest play of each (member, title, day).

    Keeping the earliest keeps counts causal: a count as of ``now`` never depends on later plays.
    """
    n = len(item)
    if n == 0:
        return np.zeros(0, bool)
    ts = np.asarray(timestamp, np.int64)
    order = np.lexsort((ts, ts // DAY, np.asarray(item, np.int64), np.asarray(user, np.int64)))
    u, i, d = np.asarray(user)[order], np.asarray(item)[order], ts[order] // DAY
    new = np.ones(n, bool)
    new[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1]) | (d[1:] != d[:-1])
    keep = np.zeros(n, bool)
    keep[order[new]] = True
    return keep


def play_keys(item: np.ndarray, timestamp: np.ndarray, origin: int) -> np.ndarray:
    """Sorted int64 keys of plays; times are clipped into ``[origin, origin + SPAN)``."""
    rel = np.clip(np.asarray(timestamp, np.int64) - np.int64(origin), 0, SPAN - 1)
    keys = np.asarray(item, np.int64) * SPAN + rel
    keys.sort(kind="stable")
    return keys


def merge_keys(keys: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The sorted union (with repeats) of two sorted key arrays."""
    pos = np.searchsorted(keys, new, side="right")
    return np.insert(keys, pos, new)


def item_starts(keys: np.ndarray, n_items: int) -> np.ndarray:
    """``starts[i]:starts[i + 1]`` is title ``i``'s segment of the sorted keys (int64, ``n_items + 1``)."""
    return np.searchsorted(keys, np.arange(n_items + 1, dtype=np.int64) * SPAN, side="left").astype(np.int64)


def plays_before(keys: np.ndarray, starts: np.ndarray, origin: int, times) -> np.ndarray:
    """Plays of every title strictly before each of ``times``: int64 ``(len(times), n_items)``.

    One ``searchsorted`` over all titles and times at once.
    """
    n = len(starts) - 1
    rel = np.clip(np.asarray(times, np.int64).reshape(-1, 1) - np.int64(origin), 0, SPAN - 1)
    needles = np.arange(n, dtype=np.int64)[None, :] * SPAN + rel
    return np.searchsorted(keys, needles.ravel(), side="left").reshape(needles.shape) - starts[None, :-1]


def window_counts(keys: np.ndarray, starts: np.ndarray, origin: int, lo: int | None, hi: int) -> np.ndarray:
    """Plays of every title with ``lo <= time < hi`` (``lo=None``: from the beginning); int64."""
    if lo is None:
        return plays_before(keys, starts, origin, [hi])[0]
    upper, lower = plays_before(keys, starts, origin, [hi, min(lo, hi)])
    return upper - lower


def trend_from_counts(recent: np.ndarray, baseline: np.ndarray, short: int, long: int) -> np.ndarray:
    """The trend score from recent and baseline counts (see ``trend_scores``)."""
    expected = baseline * (short / (long - short))
    excess = np.maximum(recent - expected, 0.0)
    return (excess / np.sqrt(expected + 1.0)).astype(np.float32)


def trend_scores(keys: np.ndarray, starts: np.ndarray, origin: int, now: int, short: int, long: int) -> np.ndarray:
    """Short-term velocity against a longer baseline, as of ``now``; float32, >= 0.

    ``recent`` = plays in ``[now - short, now)``; ``baseline`` = plays in
    ``[now - long, now - short)``, scaled to the short window:
    ``expected = baseline * short / (long - short)``. The trend is the excess of recent
    plays over that expectation, in units of its Poisson noise:
    ``max(recent - expected, 0) / sqrt(expected + 1)``.
    """
    at_now, at_short, at_long = plays_before(keys, starts, origin, [now, now - short, now - long])
    return trend_from_counts(at_now - at_short, at_short - at_long, short, long)


class CountIndex:
    """Plays of every title before any moment, from sorted play keys, in ``O(n_items + segment)``.

    Holds the plays in time order (relative times and int32 titles) and the cumulative counts
    of every title at checkpoints every ``segment`` plays (at most ``max_cells`` counts in all,
    so memory stays bounded on big catalogs). ``before(t)`` is the checkpoint at or below ``t``
    plus a ``bincount`` of the plays between it and ``t``. ``first`` is each title's first play
    (relative time; ``SPAN`` when never played).
    """

    __slots__ = ("bounds", "checkpoints", "first", "items", "n_items", "origin", "times")

    def __init__(self, keys: np.ndarray, n_items: int, origin: int, *, segment: int = 4096, max_cells: int = 1 << 22) -> None:
        item = keys // SPAN
        rel = keys - item * SPAN
        order = np.argsort(rel, kind="stable")
        self.times = rel[order]
        self.items = item[order].astype(np.int32)
        self.n_items = int(n_items)
        self.origin = int(origin)
        n_plays = len(keys)
        k = max(1, min(-(-n_plays // segment), max(1, max_cells // max(self.n_items, 1))))
        self.bounds = np.linspace(0, n_plays, k + 1).round().astype(np.int64)
        seg = np.repeat(np.arange(k, dtype=np.int64), np.diff(self.bounds))
        per = np.bincount(seg * self.n_items + self.items, minlength=k * self.n_items).reshape(k, self.n_items)
        self.checkpoints = np.zeros((k + 1, self.n_items), np.int32)
        np.cumsum(per, axis=0, out=self.checkpoints[1:])
        self.first = np.full(self.n_items, SPAN, np.int64)
        if n_plays:
            titles, at = np.unique(self.items, return_index=True)
            self.first[titles] = self.times[at]

    def before(self, t: int) -> np.ndarray:
        """int32 ``(n_items,)``: plays of every title strictly before ``t`` (epoch seconds)."""
        rel = min(max(int(t) - self.origin, 0), int(SPAN) - 1)
        stop = int(np.searchsorted(self.times, rel, side="left"))
        j = int(np.searchsorted(self.bounds, stop, side="right")) - 1
        out = self.checkpoints[j].copy()
        start = int(self.bounds[j])
        if stop > start:
            out += np.bincount(self.items[start:stop], minlength=self.n_items).astype(np.int32)
        return out
