"""Reading MovieLens ``ratings.csv`` fast: chunks parsed by numpy's C reader, no Python loop per line.

A chunk that the fast reader rejects is re-read line by line, only to name each bad line. The
events are then built already in (user, timestamp, item, kind) order with one packed-key sort.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from pagegen.core._errors import DataError
from pagegen.core._interactions import PLAY, RATING, Interactions
from pagegen.core._vocab import Vocab

from ._load_common import MAX_ID_LENGTH, MAX_TIMESTAMP, MIN_TIMESTAMP, MOVIELENS_RATING_RANGE, Problems, check_length, csv_line, iter_chunks, open_table, read_header, time_range_message

__all__ = ["IdLookup", "first_times", "ratings_events", "read_ratings", "time_order"]

_RATING_COLS = ("userId", "movieId", "rating", "timestamp")
_INT64 = (int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max))
_RATING_DTYPES = {"userId": np.int64, "movieId": np.int64, "rating": np.float64, "timestamp": np.int64}


class IdLookup:
    """Integer movie id -> catalog index, vectorized: a direct table for compact ids, else a binary search."""

    def __init__(self, ids: np.ndarray) -> None:
        self.table = None
        if len(ids) and 0 <= int(ids.min()) and int(ids.max()) < (1 << 24):
            self.table = np.full(int(ids.max()) + 1, -1, dtype=np.int32)
            self.table[ids] = np.arange(len(ids), dtype=np.int32)
        self.order = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.order]

    def __call__(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Catalog indices of ``keys`` and the mask of the keys that are known."""
        if self.table is not None:
            inside = (keys >= 0) & (keys < len(self.table))
            item = self.table[np.where(inside, keys, 0)]
            return np.maximum(item, 0), inside & (item >= 0)
        if len(self.sorted_ids) == 0:
            return np.zeros(len(keys), np.int32), np.zeros(len(keys), bool)
        pos = np.minimum(np.searchsorted(self.sorted_ids, keys), len(self.sorted_ids) - 1)
        return self.order[pos].astype(np.int32), self.sorted_ids[pos] == keys


# -- ratings.csv -----------------------------------------------------------------------


def read_ratings(path: Path, lookup: IdLookup, problems: Problems):
    source = problems.source
    parts: list[list[np.ndarray | None]] = []
    with open_table(path) as f:
        names = read_header(f, source, _RATING_COLS, _RATING_COLS)
        dtype = np.dtype([(name, _RATING_DTYPES[name]) for name in names])
        for start, block in iter_chunks(f, 2):
            n_lines = block.count(b"\n")
            cols = _fast_block(block, dtype, n_lines)
            if cols is None:
                cols, lines = _slow_block(block, start, names, problems)
            else:
                lines = start + np.arange(n_lines, dtype=np.int64)
            user, movie, rating, ts = (cols[c] for c in _RATING_COLS)
            item, known = lookup(movie)
            problems.add_mask(lines, user < 0, "userId", user, "negative id")
            problems.add_mask(lines, ~known, "movieId", movie, "unknown movieId (not in movies.csv)")
            lo, hi = MOVIELENS_RATING_RANGE
            problems.add_mask(lines, ~np.isfinite(rating), "rating", rating, "not a finite number")
            problems.add_mask(lines, np.isfinite(rating) & ((rating < lo) | (rating > hi)), "rating", rating, f"rating outside [{lo}, {hi}]")
            problems.add_mask(lines, (ts < MIN_TIMESTAMP) | (ts >= MAX_TIMESTAMP), "timestamp", ts, time_range_message())
            keep = problems.keep(lines)
            if not keep.all():
                user, item, rating, ts = user[keep], item[keep], rating[keep], ts[keep]
            if len(user) and int(user.max()) <= np.iinfo(np.int32).max:
                user = user.astype(np.int32)  # 4 bytes less per rating until the vocab is built
            parts.append([user, item, rating.astype(np.float32), ts])
    if not parts:
        raise DataError("no data lines after the header", source=source, line=2)
    if not any(len(p[0]) for p in parts):
        raise problems.nothing_usable("rating lines")
    out = {}
    for j, name in enumerate(("user", "item", "rating", "timestamp")):
        out[name] = np.concatenate([p[j] for p in parts])
        for p in parts:
            p[j] = None  # free each block's column as soon as it is copied
    return out


def _fast_block(block: bytes, dtype: np.dtype, n_lines: int) -> dict[str, np.ndarray] | None:
    """Parse a block with numpy's C reader; None when it does not parse cleanly line for line."""
    if b'"' in block:
        return None
    try:
        arr = np.loadtxt(io.BytesIO(block), delimiter=",", dtype=dtype, comments=None, ndmin=1, encoding="utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(arr) != n_lines:  # numpy skips blank lines: let the slow path name them
        return None
    return {name: np.ascontiguousarray(arr[name]) for name in dtype.names}


def _slow_block(block: bytes, start: int, names: list[str], problems: Problems):
    """Parse a block line by line (only for blocks the fast reader rejected), naming each bad line."""
    out: dict[str, list] = {name: [] for name in names}
    good: list[int] = []
    for k, raw in enumerate(block.split(b"\n")[:-1]):
        line = start + k
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as err:
            problems.add(line, None, raw[:80], f"not UTF-8 ({err.reason})")
            continue
        row = csv_line(text, names, line, problems)
        if row is None:
            continue
        values = []
        for name, cell in zip(names, row, strict=True):
            if check_length(problems, line, name, cell, MAX_ID_LENGTH):
                break
            number = _RATING_DTYPES[name] is np.float64
            try:
                if "_" in cell:  # Python reads "1_000" as 1000; numpy and most tools do not
                    raise ValueError(cell)
                values.append(float(cell) if number else int(cell))
            except ValueError:
                problems.add(line, name, cell, f"not {'a number' if number else 'an integer'}")
                break
            if not number and not _INT64[0] <= values[-1] <= _INT64[1]:
                problems.add(line, name, cell, f"integer outside [{_INT64[0]}, {_INT64[1]}]")
                break
        else:
            good.append(line)
            for name, value in zip(names, values, strict=True):
                out[name].append(value)
    cols = {name: np.asarray(out[name], dtype=_RATING_DTYPES[name]) for name in names}
    return cols, np.asarray(good, dtype=np.int64)


def first_times(item: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Time of each title's first rating; a title nobody rated gets the last rating time (0 if none)."""
    if not len(ts):
        return np.zeros(n, np.int64)
    added = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(added, item, ts)
    added[added == np.iinfo(np.int64).max] = int(ts.max())
    return added


def _user_codes(user_raw: np.ndarray) -> tuple[Vocab, np.ndarray]:
    """Users vocab (ids in numeric order) and each event's user index, in O(n) for compact ids."""
    if len(user_raw) and int(user_raw.max()) < (1 << 24):
        present = np.zeros(int(user_raw.max()) + 1, dtype=bool)
        present[user_raw] = True
        uniq = np.flatnonzero(present)
        remap = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
        codes = remap[user_raw]
    else:
        uniq, codes = np.unique(user_raw, return_inverse=True)
        codes = codes.astype(np.int32)
    return Vocab(uniq.astype(str), what="userId"), codes


def ratings_events(ratings: dict[str, np.ndarray], threshold: float, n_items: int) -> Interactions:
    """Ratings -> rating events, plus a play event (value 1) just before each rating >= threshold.

    Consumes ``ratings`` (its columns are freed as they are used). The events are built already
    sorted by (user, timestamp, item, kind), so Interactions need not sort or copy them again.
    """
    users, user = _user_codes(ratings.pop("user"))
    order = time_order(user, ratings["timestamp"], ratings["item"], n_items)
    play = ratings["rating"][order] >= threshold
    counts = play.astype(np.int64) + 1  # each rating, preceded by its play when there is one
    cols = {"user": user}
    cols.update((name, ratings.pop(name)) for name in ("timestamp", "item"))
    out = {}
    for name in ("user", "timestamp", "item"):
        out[name] = np.repeat(cols.pop(name)[order], counts)
    value = np.repeat(ratings.pop("rating")[order], counts)
    del order
    kind = np.full(len(value), RATING, dtype=np.int8)
    first = np.cumsum(counts) - counts
    del counts
    first = first[play]
    kind[first] = PLAY
    value[first] = 1.0
    return Interactions(users=users, kind=kind, value=value, n_items=n_items, **out)


def time_order(user: np.ndarray, ts: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """The permutation sorting events by (user, timestamp, item).

    numpy's lexsort is slow on tens of millions of rows; a stable argsort of one packed integer
    key is many times faster (and fast on files already grouped by user, as MovieLens is).
    """
    if not len(user):
        return np.zeros(0, np.int64)
    t0 = int(ts.min())
    bits_u = max(int(user.max()), 1).bit_length()
    bits_t = max(int(ts.max()) - t0, 1).bit_length()
    bits_i = max(n_items - 1, 1).bit_length()
    if bits_u + bits_t + bits_i <= 64:
        key = user.astype(np.uint64) << np.uint64(bits_t + bits_i)
        key |= (ts - t0).astype(np.uint64) << np.uint64(bits_i)
        key |= item.astype(np.uint64)
        return np.argsort(key, kind="stable")
    by_item = np.argsort(item, kind="stable")
    key = (user.astype(np.int64) << bits_t) | (ts - t0)
    return by_item[np.argsort(key[by_item], kind="stable")]
