"""Loader for a MovieLens folder (ml-latest-small, ml-25m, ...): movies, ratings, tags, links.

``ratings.csv`` takes the vectorized path of ``_load_ratings``; the small files with quoted
text (movies, tags, links) are read with the csv module.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._vocab import Vocab

from ._load_common import (
    MAX_FIELD_LENGTH,
    MAX_ID_LENGTH,
    MAX_TIMESTAMP,
    MAX_TITLE_LENGTH,
    MIN_TIMESTAMP,
    YEAR_RANGE,
    Dataset,
    Links,
    LoadReport,
    Problems,
    check_length,
    csv_records,
    open_table,
    time_range_message,
    warn_skipped,
    year_start,
)
from ._load_ratings import IdLookup, first_times, ratings_events, read_ratings

__all__ = ["load_movielens", "parse_year"]

_INT64_MAX = int(np.iinfo(np.int64).max)
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
    lookup = IdLookup(ids)

    rp = Problems(str(root / "ratings.csv"), lenient)
    ratings = read_ratings(root / "ratings.csv", lookup, rp)
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

    added = first_times(ratings["item"], ratings["timestamp"], n)
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
    interactions = ratings_events(ratings, threshold, n)
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
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 ({err.reason})", source=source, line=line) from None
    del data
    any_row = False
    for line, row in csv_records(text, problems, required, header):
        any_row = True
        yield line, row
    if not any_row and not problems.skipped:
        raise DataError("no data lines after the header", source=source, line=2)


def _int_field(problems: Problems, line: int, row: dict, name: str, *, lo: int = 0) -> int | None:
    """An integer cell within [lo, the int64 maximum]; None (flagged) otherwise."""
    if check_length(problems, line, name, row[name], MAX_ID_LENGTH):
        return None
    text = row[name].strip()
    try:
        value = int(text)
    except ValueError:
        problems.add(line, name, row[name], "not an integer")
        return None
    if value < lo:
        problems.add(line, name, row[name], f"must be >= {lo}")
        return None
    if value > _INT64_MAX:
        problems.add(line, name, row[name], f"integer too large (the largest is {_INT64_MAX})")
        return None
    return value


def _read_movies(path: Path, problems: Problems) -> dict:
    ids: list[int] = []
    titles: list[str] = []
    genre_lists: list[list[str]] = []
    first_line: dict[int, int] = {}
    for line, row in _csv_rows(path, problems, ("movieId", "title", "genres"), ("movieId", "title", "genres")):
        movie = _int_field(problems, line, row, "movieId")
        check_length(problems, line, "title", row["title"], MAX_TITLE_LENGTH)
        check_length(problems, line, "genres", row["genres"], MAX_FIELD_LENGTH)
        title = row["title"].strip()
        genres = [g.strip() for g in row["genres"].split("|")]
        if movie is not None and movie in first_line:
            problems.add(line, "movieId", row["movieId"], f"duplicate id (first at line {first_line[movie]})")
        if not title:
            problems.add(line, "title", row["title"], "empty title")
        if not all(genres):
            problems.add(line, "genres", row["genres"], "empty genre label")
        for g in genres:
            check_length(problems, line, "genres", g, MAX_TITLE_LENGTH)
        if problems.settle() or movie is None:
            continue
        first_line[movie] = line
        ids.append(movie)
        titles.append(title)
        genre_lists.append(genres)
    if not ids:
        raise problems.nothing_usable("movie lines")
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


# -- tags.csv, links.csv ---------------------------------------------------------------


def _read_tags(path: Path, id_index: dict[int, int], problems: Problems):
    cols = ("userId", "movieId", "tag", "timestamp")
    items: list[int] = []
    texts: list[str] = []
    for line, row in _csv_rows(path, problems, cols, cols):
        _int_field(problems, line, row, "userId")
        movie = _int_field(problems, line, row, "movieId")
        ts = _int_field(problems, line, row, "timestamp", lo=MIN_TIMESTAMP)
        check_length(problems, line, "tag", row["tag"], MAX_TITLE_LENGTH)
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
    if not items:
        raise problems.nothing_usable("tag lines")
    # distinct tags through a dict, in code-point order (as numpy sorts): a fixed-width array of
    # every tag line would take the number of lines x the longest tag
    names = sorted(set(texts))
    pos = {t: j for j, t in enumerate(names)}
    codes = np.fromiter((pos[t] for t in texts), dtype=np.int64, count=len(texts))
    tags = sp.csr_array(
        (np.ones(len(items), np.float32), (np.asarray(items, np.int64), codes)),
        shape=(len(id_index), len(names)),
    )
    tags.sum_duplicates()
    return tuple(names), tags, len(items)


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
    if not first_line:
        raise problems.nothing_usable("link lines")
    return Links(imdb=imdb, tmdb=tmdb)
