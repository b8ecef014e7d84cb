"""The generic format for any service: a catalog file and an events file, each CSV or JSON lines.

The format is chosen by extension: ``.csv``, or ``.jsonl`` / ``.ndjson`` (one JSON object a line).
CSV files start with a header naming their columns, in any order; unknown columns are errors.

Catalog fields (``id`` and ``title`` required; the rest optional, defaults in brackets):

  id            external id, unique
  title         display title
  genres        labels, "|"-separated in CSV, a list in JSONL [none]
  kind          movie | series | episode [movie]
  series_id     for an episode: the id of its series (a ``series`` row of the same file) [none]
  season, episode  non-negative integers [0]
  duration      minutes, finite and >= 0 [0 = unknown]
  maturity      all | 7+ | 13+ | 16+ | 18+ [all]
  year          release year, 0 or within YEAR_RANGE [from release_date, else 0]
  release_date  ISO 8601 date/time or epoch seconds [Jan 1 of year, else 0]
  date_added    when the title joined the service, ISO 8601 or epoch seconds [0: always there]
  regions       region codes where it is available, "|"-separated / a list [none = everywhere]
  tags          tags, "|"-separated / a list, or in JSONL a {tag: weight} object [none];
                tag text is lower-cased and stripped, as for MovieLens

Event fields (``user``, ``item`` and ``timestamp`` required):

  user          external member id
  item          a catalog id
  timestamp     epoch seconds or ISO 8601 (UTC when no zone), within [1970, 2100)
  kind          play | rating | impression | click [play]
  value         play: watched fraction in [0, 1] [1.0]; rating: within RATING_RANGE (required);
                impression, click: any finite number [0]

CSV events with epoch-second timestamps and no empty cells take the vectorized path (numpy's C
reader, in chunks); other lines are parsed one by one.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, PLAY, RATING, Interactions
from pagegen.core._vocab import Vocab

from ._load_catalog import read_catalog
from ._load_common import (
    MAX_ID_LENGTH,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    RATING_RANGE,
    Dataset,
    LoadReport,
    Problems,
    check_length,
    csv_line,
    iter_chunks,
    open_table,
    parse_time,
    read_header,
    string_keys,
    time_range_message,
    warn_skipped,
)
from ._load_ratings import time_order

__all__ = ["EVENT_FIELDS", "load_catalog", "load_dataset", "load_events"]

EVENT_FIELDS = ("user", "item", "timestamp", "kind", "value")
_REQUIRED = ("user", "item", "timestamp")
_MAX_FAST_FIELD = 256  # widest field (bytes) the vectorized path takes


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise DataError("unsupported file type: expected .csv, .jsonl or .ndjson", source=str(path), field="path", value=path.suffix)


def load_catalog(path: str | Path, *, lenient: bool = False) -> tuple[Catalog, LoadReport]:
    """A catalog from a ``.csv`` or ``.jsonl`` file in the generic format (see the module docstring)."""
    catalog, report = _catalog(Path(path), lenient)
    warn_skipped(report.skipped)
    return catalog, report


def _catalog(path: Path, lenient: bool) -> tuple[Catalog, LoadReport]:
    problems = Problems(str(path), lenient)
    catalog = read_catalog(path, _format(path), problems)
    return catalog, LoadReport(skipped=tuple(problems.skipped), counts={str(path): catalog.n})


def load_events(path: str | Path, catalog: Catalog, *, lenient: bool = False) -> tuple[Interactions, LoadReport]:
    """Events over ``catalog`` from a ``.csv`` or ``.jsonl`` file in the generic format.

    Users are indexed in sorted order of their ids.
    """
    interactions, report = _events(Path(path), catalog, lenient)
    warn_skipped(report.skipped)
    return interactions, report


def _events(path: Path, catalog: Catalog, lenient: bool, *, exact: bool = False) -> tuple[Interactions, LoadReport]:
    """Read, validate and index the events; ids are matched through 64-bit string hashes, and
    in the (astronomically rare) case of a hash collision the file is read again comparing strings."""
    problems = Problems(str(path), lenient)
    reader = _csv_blocks if _format(path) == "csv" else _jsonl_blocks
    try:
        items, users = _Ids(catalog.ids, exact=exact), _Users(exact=exact)
        parts = []
        with open_table(path, what="events file", header=reader is _csv_blocks) as f:
            for cols, lines in reader(f, problems):
                user, *rest = _validate(cols, lines, items, problems)
                del cols
                users.add(user)
                parts.append(rest)
    except _Collision:
        return _events(path, catalog, lenient, exact=True)
    if not parts:
        raise DataError("no events in the file", source=str(path), line=2)
    vocab, user = users.finish()
    item, ts, kind, value = (np.concatenate([p[j] for p in parts]) for j in range(4))
    del parts
    # already in (user, timestamp, item, kind) order, so Interactions need not sort again
    order = time_order(user, ts, item.astype(np.int64) * len(EVENT_KINDS) + kind, catalog.n * len(EVENT_KINDS))
    cols = {name: col[order] for name, col in (("user", user), ("item", item), ("timestamp", ts), ("kind", kind), ("value", value))}
    interactions = Interactions(users=vocab, n_items=catalog.n, **cols)
    return interactions, LoadReport(skipped=tuple(problems.skipped), counts={str(path): interactions.n})


def load_dataset(catalog_path: str | Path, events_path: str | Path, *, lenient: bool = False) -> Dataset:
    """A catalog file and an events file (generic format) as one Dataset with a merged report."""
    catalog, r1 = _catalog(Path(catalog_path), lenient)
    interactions, r2 = _events(Path(events_path), catalog, lenient)
    report = r1.merge(r2)
    warn_skipped(report.skipped)
    return Dataset(catalog=catalog, interactions=interactions, report=report)


# -- reading blocks of raw columns ------------------------------------------------------


def _csv_blocks(f, problems: Problems):
    names = read_header(f, problems.source, _REQUIRED, EVENT_FIELDS)
    for start, block in iter_chunks(f, 2):
        n_lines = block.count(b"\n")
        cols = _fast_csv(block, names, n_lines)
        if cols is not None:
            yield cols, start + np.arange(n_lines, dtype=np.int64)
            continue
        rows, lines = [], []
        for k, raw in enumerate(block.split(b"\n")[:-1]):
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError as err:
                problems.add(start + k, None, raw[:80], f"not UTF-8 ({err.reason})")
                continue
            row = csv_line(text, names, start + k, problems)
            if row is None:
                continue
            rows.append(dict(zip(names, row, strict=True)))
            lines.append(start + k)
        yield _typed(rows, lines, problems), np.asarray(lines, dtype=np.int64)


def _fast_csv(block: bytes, names: list[str], n_lines: int) -> dict[str, np.ndarray] | None:
    """Parse a block with numpy's C reader; None when some line needs the line-by-line path."""
    if b'"' in block or n_lines == 0:
        return None
    raw = np.frombuffer(block, dtype=np.uint8)
    # the widest field in bytes bounds its length in characters: string columns are never cut
    width = int(np.diff(np.flatnonzero((raw == 44) | (raw == 10)), prepend=-1).max())
    if width > _MAX_FAST_FIELD:
        return None
    kinds = {"user": f"U{width}", "item": f"U{width}", "kind": f"U{width}", "timestamp": np.int64, "value": np.float64}
    dtype = np.dtype([(name, kinds[name]) for name in names])
    try:
        arr = np.loadtxt(io.BytesIO(block), delimiter=",", dtype=dtype, comments=None, ndmin=1, encoding="utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(arr) != n_lines:
        return None
    cols = {name: np.ascontiguousarray(arr[name]) for name in names}
    if b" " in block or b"\t" in block or b"\r" in block:
        for name in ("user", "item", "kind"):
            if name in cols:
                cols[name] = np.strings.strip(cols[name])
    if "value" in cols:
        cols["has_value"] = np.ones(n_lines, dtype=bool)
    return cols


def _jsonl_blocks(f, problems: Problems):
    for start, block in iter_chunks(f, 1):
        rows, lines = [], []
        for k, raw in enumerate(block.split(b"\n")[:-1]):
            line = start + k
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                problems.add(line, None, raw[:80].decode("utf-8", "replace"), f"bad JSON ({err})")
                continue
            if not isinstance(obj, dict):
                problems.add(line, None, raw[:80].decode("utf-8", "replace"), "expected a JSON object")
                continue
            unknown = [k for k in obj if k not in EVENT_FIELDS]
            missing = [k for k in _REQUIRED if k not in obj]
            if unknown:
                problems.add(line, unknown[0], obj[unknown[0]], f"unknown field (expected some of {', '.join(EVENT_FIELDS)})")
            elif missing:
                problems.add(line, missing[0], None, "missing required field")
            else:
                rows.append(obj)
                lines.append(line)
        yield _typed(rows, lines, problems, json=True), np.asarray(lines, dtype=np.int64)


def _typed(rows: list[dict], lines: list[int], problems: Problems, *, json: bool = False) -> dict[str, np.ndarray]:
    """Columns from parsed rows (CSV cells or JSON values); a cell that does not convert is flagged.

    Rows with a flagged cell stay in the columns (with placeholder values) and are dropped by the
    caller's ``keep`` mask, so line numbers stay aligned. JSON values must have the type the
    format gives (a string or integer id, a string kind, a number or string time, a number value).
    """
    n = len(rows)
    user = np.empty(n, dtype=object)
    item = np.empty(n, dtype=object)
    kind = np.empty(n, dtype=object)
    ts = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.float64)
    has_value = np.zeros(n, dtype=bool)
    for k, (row, line) in enumerate(zip(rows, lines, strict=True)):
        for name, out in (("user", user), ("item", item)):
            cell = row[name]
            if isinstance(cell, bool) or not isinstance(cell, str | int):
                problems.add(line, name, cell, "expected a string or integer id")
                cell = ""
            elif check_length(problems, line, name, cell, MAX_ID_LENGTH):
                cell = ""
            out[k] = str(cell).strip()
        cell = row.get("kind", "play")
        if not isinstance(cell, str):
            problems.add(line, "kind", cell, f"expected one of {', '.join(EVENT_KINDS)} (a string)")
            cell = "play"
        elif check_length(problems, line, "kind", cell, MAX_ID_LENGTH):
            cell = "play"
        kind[k] = cell.strip()
        cell = row["timestamp"]
        try:
            if isinstance(cell, list | dict):
                raise TypeError(f"a JSON {'list' if isinstance(cell, list) else 'object'}")
            if not check_length(problems, line, "timestamp", cell, MAX_ID_LENGTH):
                ts[k] = parse_time(cell)
        except (ValueError, OverflowError, TypeError) as err:
            problems.add(line, "timestamp", cell, f"not epoch seconds or an ISO 8601 time ({err})")
        cell = row.get("value")
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            if isinstance(cell, bool) or (json and not isinstance(cell, int | float)):
                raise TypeError("expected a JSON number")
            if check_length(problems, line, "value", cell, MAX_ID_LENGTH):
                continue
            if isinstance(cell, str) and "_" in cell:
                raise ValueError("not a plain number")
            value[k] = float(cell)
            has_value[k] = True
        except (ValueError, TypeError, OverflowError) as err:
            problems.add(line, "value", cell, "not a number" + (f" ({err})" if isinstance(err, TypeError) else ""))
    str_cols = {name: np.asarray(col.tolist(), dtype=np.str_) if n else np.zeros(0, np.str_) for name, col in (("user", user), ("item", item), ("kind", kind))}
    return {**str_cols, "timestamp": ts, "value": value, "has_value": has_value}


# -- validation (vectorized, shared by every path) -------------------------------------


def _validate(cols, lines, items: _Ids, problems: Problems):
    n = len(lines)
    user = cols["user"]
    item_ids = cols["item"]
    ts = cols["timestamp"]
    kind_names = cols.get("kind", np.full(n, "play"))
    value = cols.get("value", np.zeros(n)).astype(np.float64)
    has_value = cols.get("has_value", np.zeros(n, dtype=bool))
    problems.add_mask(lines, np.strings.str_len(user) == 0, "user", user, "empty id")
    item, known = items(item_ids)
    problems.add_mask(lines, ~known, "item", item_ids, "unknown item id (not in the catalog)")
    problems.add_mask(lines, (ts < MIN_TIMESTAMP) | (ts >= MAX_TIMESTAMP), "timestamp", ts, time_range_message())
    kind = np.full(n, -1, dtype=np.int8)
    for code, name in enumerate(EVENT_KINDS):
        kind[kind_names == name] = code
    problems.add_mask(lines, kind < 0, "kind", kind_names, f"expected one of {', '.join(EVENT_KINDS)}")
    problems.add_mask(lines, has_value & ~np.isfinite(value), "value", value, "not a finite number")
    finite = np.isfinite(value)
    play, rating = kind == PLAY, kind == RATING
    problems.add_mask(lines, has_value & finite & play & ((value < 0) | (value > 1)), "value", value, "watched fraction outside [0, 1]")
    lo, hi = RATING_RANGE
    problems.add_mask(lines, has_value & finite & rating & ((value < lo) | (value > hi)), "value", value, f"rating outside [{lo}, {hi}]")
    problems.add_mask(lines, rating & ~has_value, "value", np.full(n, None, dtype=object), "a rating needs a value")
    value = np.where(has_value, value, np.where(play, 1.0, 0.0))
    keep = problems.keep(lines)
    return user[keep], item[keep], ts[keep], kind[keep], value[keep].astype(np.float32)


class _Collision(Exception):
    """Two different ids with the same 64-bit key: read again, comparing the strings themselves."""


class _Ids:
    """Catalog id -> index for arrays of ids: a binary search over hashed keys, confirmed by
    comparing the strings, so an id is known only when it really is in the catalog."""

    def __init__(self, ids: np.ndarray, *, exact: bool) -> None:
        self.ids = np.asarray(ids, dtype=np.str_)
        self.key = (lambda s: np.asarray(s, dtype=np.str_)) if exact else string_keys
        keys = self.key(self.ids)
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        if len(keys) > 1 and np.any(self.keys[1:] == self.keys[:-1]):
            raise _Collision

    def __call__(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self.ids) == 0:
            return np.zeros(len(query), np.int32), np.zeros(len(query), dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, self.key(query)), len(self.keys) - 1)
        item = self.order[pos].astype(np.int32)
        return item, self.ids[item] == query


class _Users:
    """Member ids block by block: each event's key, and each distinct id once (sorted by key)."""

    def __init__(self, *, exact: bool) -> None:
        self.key = (lambda s: np.asarray(s, dtype=np.str_)) if exact else string_keys
        self.event_keys: list[np.ndarray] = []
        self.keys = self.key(np.zeros(0, dtype=np.str_))
        self.ids = np.zeros(0, dtype=np.str_)

    def add(self, user: np.ndarray) -> None:
        keys = self.key(user)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        ids = user[first]
        if not np.array_equal(ids[inverse.reshape(-1)], user):
            raise _Collision
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, uniq), len(self.keys) - 1)
            seen = self.keys[pos] == uniq
            if np.any(seen & (self.ids[pos] != ids)):
                raise _Collision
            uniq, ids = uniq[~seen], ids[~seen]
        if len(uniq):
            keys_all = np.concatenate([self.keys, uniq])
            order = np.argsort(keys_all, kind="stable")
            self.keys, self.ids = keys_all[order], np.concatenate([self.ids, ids])[order]
        self.event_keys.append(keys)

    def finish(self) -> tuple[Vocab, np.ndarray]:
        """The users vocab in sorted order of the ids, and each event's user index."""
        by_id = np.argsort(self.ids, kind="stable")
        rank = np.empty(len(by_id), dtype=np.int32)
        rank[by_id] = np.arange(len(by_id), dtype=np.int32)
        codes = rank[np.searchsorted(self.keys, np.concatenate(self.event_keys))]
        return Vocab(self.ids[by_id].tolist(), what="user"), codes
