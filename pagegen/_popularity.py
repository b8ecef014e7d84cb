"""Popularity and trending as of any moment, from play events kept sorted by (item, time).

All plays are held in one sorted int64 array ``key = item * SPAN + (time - origin)``; the
number of plays of every title in ``[lo, hi)`` is then two vectorized ``searchsorted`` calls
over all titles at once (no per-title Python). Adding new events (the nearline path) merges
their keys into the sorted array; nothing else is refitted.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPAN", "item_starts", "merge_keys", "play_keys", "plays_before", "trend_from_counts", "trend_scores", "window_counts"]

#: Width of one title's time range inside a key (2**40 s is about 35,000 years).
SPAN = np.int64(1 << 40)


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
