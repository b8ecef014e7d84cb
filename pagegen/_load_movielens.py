"""Loader for a MovieLens folder (ml-latest-small, ml-25m, ...): movies, ratings, tags, links.

``ratings.csv`` is parsed in chunks with numpy's C reader (no Python loop per line); a chunk
that the fast reader rejects is re-read line by line only to name the bad line.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._catalog import Catalog
from ._errors import DataError
from ._interactions import PLAY, RATING, Interactions
from ._load_common import (
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    MOVIELENS_RATING_RANGE,
    YEAR_RANGE,
    Dataset,
    Links,
    LoadReport,
    Problems,
    iter_chunks,
    open_table,
    read_header,
    time_range_message,
    warn_skipped,
    year_start,
)
from ._vocab import Vocab

__all__ = ["load_movielens", "parse_year"]

_RATING_COLS = ("userId", "movieId", "rating", "timestamp")
_RATING_DTYPES = {"userId": np.int64, "movieId": np.int64, "rating": np.float64, "timestamp": np.int64}
_YEAR = re.compile(r"\((\d{4})\s*(?:[-\u2013]\s*(?:\d{4})?\s*)?\)\s*$")


def parse_year(title: str) -> int:
    """The release year at the end of a MovieLens title: ``"Toy Story (1995)"`` -> 1995.

    Also ``"(2006-2007)"`` and ``"(2007-)"`` (first year), trailing spaces; no year, or one
    outside YEAR_RANGE -> 0 (unknown).
    """
    m = _YEAR.search(title)
    if not m:
        return 0
    year = int(m.group(1))
    return year if YEAR_RANGE[0] <= year <= YEAR_RANGE[1] else 0


def load_movielens(path: str | Path, *, play_threshold: float = 0.0, lenient: bool = False) -> Dataset:
    """Load a MovieLens folder: ``movies.csv`` and ``ratings.csv``, optional ``tags.csv`` and ``links.csv``.

    Each rating becomes one ``rating`` event (value = the rating); a rating >= ``play_threshold``
    also becomes a ``play`` event (value 1.0, same time): with the default 0.0 every rated title
    counts as watched. The catalog holds movies with multi-valued genres ("(no genres listed)" is
    kept as a label), the year parsed from the title (0 when absent), ``released`` = Jan 1 of that
    year, maturity "all" (unknown), tag counts per movie (text lower-cased and stripped) and
    ``added`` = the time of the title's first rating, an approximation of when it joined; a title
    nobody rated gets the time of the last rating in the file. Users are the userId strings.

    Strict mode raises a DataError naming file, line, field and value for the first bad line;
    ``lenient=True`` skips bad lines, lists each in ``Dataset.report`` and warns once.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError("MovieLens folder not found" if not root.exists() else "not a folder", source=str(root))
    threshold = float(play_threshold)
    if not np.isfinite(threshold):
        raise DataError("must be a finite number", field="play_threshold", value=play_threshold)
    counts: dict[str, int] = {}
    skipped: list = []

    movies = _read_movies(root / "movies.csv", Problems(str(root / "movies.csv"), lenient))
    skipped += movies["problems"].skipped
    counts[str(root / "movies.csv")] = len(movies["ids"])
    ids = movies["ids"]
    lookup = _IdLookup(ids)

    rp = Problems(str(root / "ratings.csv"), lenient)
    ratings = _read_ratings(root / "ratings.csv", lookup, rp)
    skipped += rp.skipped
    counts[str(root / "ratings.csv")] = len(ratings["item"])

    n = len(ids)
    id_index = dict(zip(ids.tolist(), range(n), strict=True))
    tags = sp.csr_array((n, 0), dtype=np.float32)
    tag_names: tuple[str, ...] = ()
    if (root / "tags.csv").exists():
        tp = Problems(str(root / "tags.csv"), lenient)
        tag_names, tags, n_tags = _read_tags(root / "tags.csv", id_index, tp)
        skipped += tp.skipped
        counts[str(root / "tags.csv")] = n_tags
    links = None
    if (root / "links.csv").exists():
        lp = Problems(str(root / "links.csv"), lenient)
        links = _read_links(root / "links.csv", id_index, lp)
        skipped += lp.skipped
        counts[str(root / "links.csv")] = int(np.count_nonzero(links.imdb >= 0))

    added = _first_times(ratings["item"], ratings["timestamp"], n)
    years = np.asarray(movies["years"], dtype=np.int16)
    catalog = Catalog(
        vocab=Vocab(ids.astype(str), what="movieId"),
        titles=np.asarray(movies["titles"], dtype=np.str_),
        genre_names=movies["genre_names"],
        genres=movies["genres"],
        kind=np.zeros(n, np.int8),
        series=np.full(n, -1, np.int32),
        season=np.zeros(n, np.int16),
        episode=np.zeros(n, np.int16),
        duration=np.zeros(n, np.float32),
        maturity=np.zeros(n, np.int8),
        year=years,
        released=year_start(years),
        added=added,
        tag_names=tag_names,
        tags=tags,
    )
    interactions = _events(ratings, threshold, n)
    report = LoadReport(skipped=tuple(skipped), counts=counts)
    warn_skipped(report.skipped)
    return Dataset(catalog=catalog, interactions=interactions, report=report, links=links)


# -- movies.csv ------------------------------------------------------------------------


def _csv_rows(path: Path, problems: Problems, header: tuple[str, ...], required: tuple[str, ...]):
    """Rows of a small quoted CSV file as (line number, dict), checked for field count."""
    with open_table(path) as f:
        data = f.read()
    source = problems.source
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 ({err.reason})", source=source, line=line) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    names = [c.strip() for c in next(reader)]
    for name in names:
        if name not in header:
            raise DataError(f"unknown column (expected {', '.join(header)})", source=source, line=1, field=name, value=name)
    for name in required:
        if name not in names:
            raise DataError(f"missing required column (header has {', '.join(names)})", source=source, line=1, field=name)
    line = 1
    any_row = False
    for row in reader:
        line_start, line = line + 1, reader.line_num
        any_row = True
        if len(row) != len(names):
            problems.add(line_start, None, ",".join(row), f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}")
            problems.settle()
            continue
        yield line_start, dict(zip(names, row, strict=True))
    if not any_row:
        raise DataError("no data lines after the header", source=source, line=2)


def _int_field(problems: Problems, line: int, row: dict, name: str, *, lo: int = 0) -> int | None:
    text = row[name].strip()
    try:
        value = int(text)
    except ValueError:
        problems.add(line, name, row[name], "not an integer")
        return None
    if value < lo:
        problems.add(line, name, row[name], f"must be >= {lo}")
        return None
    return value


def _read_movies(path: Path, problems: Problems) -> dict:
    ids: list[int] = []
    titles: list[str] = []
    genre_lists: list[list[str]] = []
    first_line: dict[int, int] = {}
    for line, row in _csv_rows(path, problems, ("movieId", "title", "genres"), ("movieId", "title", "genres")):
        movie = _int_field(problems, line, row, "movieId")
        title = row["title"].strip()
        genres = [g.strip() for g in row["genres"].split("|")]
        if movie is not None and movie in first_line:
            problems.add(line, "movieId", row["movieId"], f"duplicate id (first at line {first_line[movie]})")
        if not title:
            problems.add(line, "title", row["title"], "empty title")
        if not all(genres):
            problems.add(line, "genres", row["genres"], "empty genre label")
        if problems.settle() or movie is None:
            continue
        first_line[movie] = line
        ids.append(movie)
        titles.append(title)
        genre_lists.append(genres)
    names = tuple(sorted({g for gs in genre_lists for g in gs}))
    pos = {g: j for j, g in enumerate(names)}
    genres = np.zeros((len(ids), len(names)), dtype=bool)
    rows = np.repeat(np.arange(len(ids)), [len(gs) for gs in genre_lists])
    cols = np.fromiter((pos[g] for gs in genre_lists for g in gs), dtype=np.int64, count=len(rows))
    genres[rows, cols] = True
    return {
        "ids": np.asarray(ids, dtype=np.int64),
        "titles": titles,
        "years": [parse_year(t) for t in titles],
        "genre_names": names,
        "genres": genres,
        "problems": problems,
    }


class _IdLookup:
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


def _read_ratings(path: Path, lookup: _IdLookup, problems: Problems):
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
        row = next(csv.reader([text]), [])
        if len(row) != len(names):
            problems.add(line, None, text, f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}")
            continue
        values = []
        for name, cell in zip(names, row, strict=True):
            try:
                values.append(float(cell) if _RATING_DTYPES[name] is np.float64 else int(cell))
            except ValueError:
                kind = "a number" if _RATING_DTYPES[name] is np.float64 else "an integer"
                problems.add(line, name, cell, f"not {kind}")
                break
        else:
            good.append(line)
            for name, value in zip(names, values, strict=True):
                out[name].append(value)
    cols = {name: np.asarray(out[name], dtype=_RATING_DTYPES[name]) for name in names}
    return cols, np.asarray(good, dtype=np.int64)


def _first_times(item: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
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


def _events(ratings: dict[str, np.ndarray], threshold: float, n_items: int) -> Interactions:
    """Ratings -> rating events, plus a play event (value 1) just before each rating >= threshold.

    Consumes ``ratings`` (its columns are freed as they are used). The events are built already
    sorted by (user, timestamp, item, kind), so Interactions need not sort or copy them again.
    """
    users, user = _user_codes(ratings.pop("user"))
    order = _time_order(user, ratings["timestamp"], ratings["item"], n_items)
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


def _time_order(user: np.ndarray, ts: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
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


# -- tags.csv, links.csv ---------------------------------------------------------------


def _read_tags(path: Path, id_index: dict[int, int], problems: Problems):
    cols = ("userId", "movieId", "tag", "timestamp")
    items: list[int] = []
    texts: list[str] = []
    for line, row in _csv_rows(path, problems, cols, cols):
        _int_field(problems, line, row, "userId")
        movie = _int_field(problems, line, row, "movieId")
        ts = _int_field(problems, line, row, "timestamp", lo=MIN_TIMESTAMP)
        text = row["tag"].strip().lower()
        if not text:
            problems.add(line, "tag", row["tag"], "empty tag")
        if ts is not None and ts >= MAX_TIMESTAMP:
            problems.add(line, "timestamp", row["timestamp"], time_range_message())
        item = id_index.get(movie, -1)
        if movie is not None and item < 0:
            problems.add(line, "movieId", row["movieId"], "unknown movieId (not in movies.csv)")
        if problems.settle():
            continue
        items.append(item)
        texts.append(text)
    names, codes = np.unique(np.asarray(texts, dtype=np.str_), return_inverse=True)
    tags = sp.csr_array(
        (np.ones(len(items), np.float32), (np.asarray(items, np.int64), codes.astype(np.int64))),
        shape=(len(id_index), len(names)),
    )
    tags.sum_duplicates()
    return tuple(str(t) for t in names), tags, len(items)


def _read_links(path: Path, id_index: dict[int, int], problems: Problems) -> Links:
    cols = ("movieId", "imdbId", "tmdbId")
    imdb = np.full(len(id_index), -1, np.int64)
    tmdb = np.full(len(id_index), -1, np.int64)
    first_line: dict[int, int] = {}
    for line, row in _csv_rows(path, problems, cols, ("movieId", "imdbId")):
        movie = _int_field(problems, line, row, "movieId")
        im = _int_field(problems, line, row, "imdbId")
        tm = _int_field(problems, line, row, "tmdbId") if row.get("tmdbId", "").strip() else -1
        item = id_index.get(movie, -1)
        if movie is not None:
            if item < 0:
                problems.add(line, "movieId", row["movieId"], "unknown movieId (not in movies.csv)")
            elif movie in first_line:
                problems.add(line, "movieId", row["movieId"], f"duplicate id (first at line {first_line[movie]})")
        if problems.settle() or im is None or tm is None:
            continue
        first_line[movie] = line
        imdb[item] = im
        tmdb[item] = tm
    return Links(imdb=imdb, tmdb=tmdb)
