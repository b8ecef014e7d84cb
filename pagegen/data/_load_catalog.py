"""Reading a catalog file of the generic format (fields documented in ``_load_generic``).

Catalogs are small (a service has thousands to a few hundred thousand titles), so rows are
checked one by one; every check of a row runs before the row is kept or skipped whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import scipy.sparse as sp

from pagegen.core._catalog import ITEM_KINDS, MATURITY_LEVELS, Catalog
from pagegen.core._errors import DataError
from pagegen.core._vocab import Vocab

from ._load_common import (
    MAX_FIELD_LENGTH,
    MAX_ID_LENGTH,
    MAX_TIMESTAMP,
    MAX_TITLE_LENGTH,
    MIN_TIMESTAMP,
    YEAR_RANGE,
    Problems,
    check_length,
    csv_records,
    open_table,
    parse_time,
    year_start,
)

__all__ = ["CATALOG_FIELDS", "catalog_from_rows", "read_catalog"]

CATALOG_FIELDS = (
    "id",
    "title",
    "genres",
    "kind",
    "series_id",
    "season",
    "episode",
    "duration",
    "maturity",
    "year",
    "release_date",
    "date_added",
    "regions",
    "tags",
)
_REQUIRED = ("id", "title")
_LIST_FIELDS = ("genres", "regions", "tags")
#: The JSON types of each field in JSON lines, and how an error names them (a bool is never a number).
_JSON_TYPES = {
    "id": (str | int, "a string or integer id"),
    "title": (str, "a string"),
    "genres": (list, "a list of strings"),
    "kind": (str, "a string"),
    "series_id": (str | int, "a string or integer id"),
    "season": (int | float, "a number"),
    "episode": (int | float, "a number"),
    "duration": (int | float, "a number"),
    "maturity": (str, "a string"),
    "year": (int | float, "a number"),
    "release_date": (str | int | float, "an ISO 8601 string or a number"),
    "date_added": (str | int | float, "an ISO 8601 string or a number"),
    "regions": (list, "a list of strings"),
    "tags": (list | dict, "a list of strings or an object of tag weights"),
}
_MAX_DURATION = 100_000.0  # minutes
_MIN_RELEASED = int(year_start(np.asarray([YEAR_RANGE[0]]))[0])


def read_catalog(path: Path, fmt: str, problems: Problems) -> Catalog:
    rows = list(_csv_rows(path, problems) if fmt == "csv" else _jsonl_rows(path, problems))
    if not rows and not problems.skipped:
        raise DataError("no titles in the file", source=str(path), line=2)
    return catalog_from_rows(rows, problems, typed=fmt == "jsonl")


def catalog_from_rows(rows: list[tuple[int, dict]], problems: Problems, *, typed: bool) -> Catalog:
    """A catalog from (line, fields) pairs: every check of the file formats, then the columns.

    ``typed``: the fields are JSON values, whose types are checked (JSON lines, data frames);
    otherwise they are CSV text, with list fields already split.
    """
    parsed: list[dict] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        if typed:
            _check_json_types(line, row, problems)
        rec = _parse_row(line, row, problems)
        if rec is not None and rec["id"] in first_line:
            problems.add(line, "id", rec["id"], f"duplicate id (first at line {first_line[rec['id']]})")
        if problems.settle() or rec is None:
            continue
        first_line[rec["id"]] = line
        rec["line"] = line
        parsed.append(rec)
    parsed = _check_series(parsed, problems)
    if not parsed:
        raise problems.nothing_usable("title lines")
    return _build(parsed)


# -- rows ------------------------------------------------------------------------------


def _csv_rows(path: Path, problems: Problems):
    with open_table(path, what="catalog file") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 ({err.reason})", source=problems.source, line=data[: err.start].count(b"\n") + 1) from None
    del data
    for line, row in csv_records(text, problems, _REQUIRED, CATALOG_FIELDS):
        cells = {k: v.strip() for k, v in row.items()}
        for name in _LIST_FIELDS:
            if name in cells:
                cells[name] = [] if not cells[name] else [v.strip() for v in cells[name].split("|")]
        yield line, {k: v for k, v in cells.items() if v != ""}


def _jsonl_rows(path: Path, problems: Problems):
    with open_table(path, what="catalog file", header=False) as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for k, raw in enumerate(lines):
        line = k + 1
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            problems.add(line, None, raw[:80].decode("utf-8", "replace"), f"bad JSON ({err})")
            problems.settle()
            continue
        if not isinstance(obj, dict):
            problems.add(line, None, raw[:80].decode("utf-8", "replace"), "expected a JSON object")
            problems.settle()
            continue
        yield line, {k: v for k, v in obj.items() if v is not None}


def _check_json_types(line: int, row: dict, problems: Problems) -> None:
    for name, value in row.items():
        types, expected = _JSON_TYPES.get(name, (object, ""))
        if isinstance(value, bool) or not isinstance(value, types):
            problems.add(line, name, value, f"expected {expected}")
            return


def _parse_row(line: int, row: dict, problems: Problems) -> dict | None:
    """Check and convert one row; flags every bad field. None when a required field is missing."""
    bad = lambda field, message: problems.add(line, field, row.get(field), message)  # noqa: E731
    for name in row:
        if name not in CATALOG_FIELDS:
            bad(name, f"unknown field (expected some of {', '.join(CATALOG_FIELDS)})")
    for name in _REQUIRED:
        if name not in row or str(row[name]).strip() == "":
            problems.add(line, name, None, "missing required field")
    if any(name not in row for name in _REQUIRED):
        return None
    for name, value in row.items():
        if isinstance(value, list | dict):
            labels = [str(v) for v in value]
            if not any(check_length(problems, line, name, v, MAX_TITLE_LENGTH) for v in labels):
                check_length(problems, line, name, "|".join(labels), MAX_FIELD_LENGTH)
        elif not check_length(problems, line, name, value, MAX_TITLE_LENGTH if name == "title" else MAX_ID_LENGTH):
            if name in ("id", "series_id") and "\0" in str(value):
                problems.add(line, name, value, "an id may not hold a NUL character")
    rec: dict = {}
    item_id = row["id"]
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        bad("id", "expected a string or integer id")
    rec["id"] = str(item_id).strip()
    rec["title"] = str(row["title"]).strip()
    for name in _LIST_FIELDS:
        rec[name] = _labels(row.get(name, []), name, bad)
    rec["kind"] = _choice(row.get("kind", "movie"), ITEM_KINDS, "kind", bad)
    rec["maturity"] = _choice(row.get("maturity", "all"), MATURITY_LEVELS, "maturity", bad)
    series = row.get("series_id")
    rec["series_id"] = None if series is None else str(series).strip()
    rec["season"] = _int(row.get("season", 0), "season", 0, 32767, bad)
    rec["episode"] = _int(row.get("episode", 0), "episode", 0, 32767, bad)
    rec["duration"] = _float(row.get("duration", 0.0), "duration", 0.0, _MAX_DURATION, bad)
    year = _int(row.get("year", 0), "year", 0, YEAR_RANGE[1], bad)
    if year and year < YEAR_RANGE[0]:
        bad("year", f"year outside [{YEAR_RANGE[0]}, {YEAR_RANGE[1]}] (0 = unknown)")
    released = _time(row.get("release_date"), "release_date", _MIN_RELEASED, bad)
    if released is not None and not year:
        year = datetime.fromtimestamp(released, UTC).year
    rec["year"] = year
    rec["released"] = released  # None: Jan 1 of the year, filled in for all rows at once
    added = _time(row.get("date_added"), "date_added", MIN_TIMESTAMP, bad)
    rec["added"] = 0 if added is None else added
    if isinstance(rec["tags"], dict):
        rec["tags"] = {str(k).strip().lower(): w for k, w in rec["tags"].items()}
    else:
        rec["tags"] = {t.lower(): 1.0 for t in rec["tags"]}
    return rec


def _labels(value, field: str, bad):
    if field == "tags" and isinstance(value, dict):
        out = {}
        for k, w in value.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or not np.isfinite(w) or w <= 0:
                bad(field, f"tag weight of {k!r} must be a finite number > 0")
                return {}
            out[k] = float(w)
        if not all(str(k).strip() for k in out):
            bad(field, "empty tag")
        return out
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(field, "expected a list of strings")
        return []
    labels = [v.strip() for v in value]
    if not all(labels):
        bad(field, "empty label")
    return labels


def _choice(value, names: tuple[str, ...], field: str, bad) -> int:
    if value not in names:
        bad(field, f"expected one of {', '.join(names)}")
        return 0
    return names.index(value)


def _int(value, field: str, lo: int, hi: int, bad) -> int:
    try:
        if isinstance(value, bool) or (isinstance(value, float) and value != int(value)) or (isinstance(value, str) and "_" in value):
            raise ValueError
        out = int(value)
    except (ValueError, TypeError, OverflowError):
        bad(field, "not an integer")
        return 0
    if not lo <= out <= hi:
        bad(field, f"outside [{lo}, {hi}]")
        return 0
    return out


def _float(value, field: str, lo: float, hi: float, bad) -> float:
    try:
        if isinstance(value, bool) or (isinstance(value, str) and "_" in value):
            raise ValueError
        out = float(value)
    except (ValueError, TypeError):
        bad(field, "not a number")
        return 0.0
    if not np.isfinite(out):
        bad(field, "not a finite number")
        return 0.0
    if not lo <= out <= hi:
        bad(field, f"outside [{lo}, {hi}]")
        return 0.0
    return out


def _time(value, field: str, lo: int, bad) -> int | None:
    if value is None:
        return None
    try:
        out = parse_time(value)
    except (ValueError, TypeError, OverflowError) as err:
        bad(field, f"not epoch seconds or an ISO 8601 date ({err})")
        return None
    if not lo <= out < MAX_TIMESTAMP:
        bad(field, f"time outside [{lo}, {MAX_TIMESTAMP}) (up to 2100-01-01)")
        return None
    return out


# -- series links and assembly ---------------------------------------------------------


def _check_series(parsed: list[dict], problems: Problems) -> list[dict]:
    """Episodes must name a series of the same file; other kinds must not name one."""
    episode, series = ITEM_KINDS.index("episode"), ITEM_KINDS.index("series")
    kind_of = {rec["id"]: rec["kind"] for rec in parsed}
    for rec in parsed:
        sid = rec["series_id"]
        if rec["kind"] == episode:
            if sid is None:
                problems.add(rec["line"], "series_id", None, "an episode needs the id of its series")
            elif kind_of.get(sid) != series:
                problems.add(rec["line"], "series_id", sid, "not the id of a series title in this catalog")
        elif sid is not None:
            problems.add(rec["line"], "series_id", sid, "only episodes belong to a series")
    bad = problems.settle()
    if not bad:
        return parsed
    kept = [rec for rec in parsed if rec["line"] not in bad]
    # an episode whose series was just dropped must go too
    return _check_series(kept, problems) if len(kept) < len(parsed) else kept


def _build(parsed: list[dict]) -> Catalog:
    n = len(parsed)
    vocab = Vocab([rec["id"] for rec in parsed], what="id")
    col = lambda name: [rec[name] for rec in parsed]  # noqa: E731
    genre_names = sorted({g for rec in parsed for g in rec["genres"]})
    region_names = sorted({r for rec in parsed for r in rec["regions"]})
    tag_names = sorted({t for rec in parsed for t in rec["tags"]})
    genres = _multi_hot(col("genres"), genre_names)
    regions = _multi_hot(col("regions"), region_names)
    tpos = {t: j for j, t in enumerate(tag_names)}
    rows = [i for i, rec in enumerate(parsed) for _ in rec["tags"]]
    cols = [tpos[t] for rec in parsed for t in rec["tags"]]
    vals = [w for rec in parsed for w in rec["tags"].values()]
    tags = sp.csr_array((np.asarray(vals, np.float32), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))), shape=(n, len(tag_names)))
    series = [-1 if rec["series_id"] is None else vocab.index(rec["series_id"]) for rec in parsed]
    return Catalog(
        vocab=vocab,
        titles=np.asarray(col("title"), dtype=np.str_),
        genre_names=tuple(genre_names),
        genres=genres,
        kind=np.asarray(col("kind"), np.int8),
        series=np.asarray(series, np.int32),
        season=np.asarray(col("season"), np.int16),
        episode=np.asarray(col("episode"), np.int16),
        duration=np.asarray(col("duration"), np.float32),
        maturity=np.asarray(col("maturity"), np.int8),
        year=np.asarray(col("year"), np.int16),
        released=_released(col("released"), col("year")),
        added=np.asarray(col("added"), np.int64),
        region_names=tuple(region_names),
        regions=regions,
        tag_names=tuple(tag_names),
        tags=tags,
    )


def _multi_hot(lists: list[list[str]], names: list[str]) -> np.ndarray:
    pos = {g: j for j, g in enumerate(names)}
    out = np.zeros((len(lists), len(names)), dtype=bool)
    rows = np.repeat(np.arange(len(lists)), [len(labels) for labels in lists])
    out[rows, [pos[g] for labels in lists for g in labels]] = True
    return out


def _released(released: list[int | None], years: list[int]) -> np.ndarray:
    """Release times; where none was given, Jan 1 of the year (0 when the year is unknown too)."""
    given = np.asarray([r is not None for r in released], dtype=bool)
    times = np.asarray([0 if r is None else r for r in released], dtype=np.int64)
    return np.where(given, times, year_start(np.asarray(years, dtype=np.int64)))
