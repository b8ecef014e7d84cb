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

import csv
import io
from pathlib import Path

import numpy as np
import orjson

from ._catalog import Catalog
from ._errors import DataError
from ._interactions import EVENT_KINDS, PLAY, RATING, Interactions
from ._load_catalog import read_catalog
from ._load_common import (
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    RATING_RANGE,
    Dataset,
    LoadReport,
    Problems,
    iter_chunks,
    open_table,
    parse_time,
    read_header,
    time_range_message,
    warn_skipped,
)
from ._vocab import Vocab

__all__ = ["EVENT_FIELDS", "load_catalog", "load_dataset", "load_events"]

EVENT_FIELDS = ("user", "item", "timestamp", "kind", "value")
_REQUIRED = ("user", "item", "timestamp")
_MAX_FAST_LINE = 512


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


def _events(path: Path, catalog: Catalog, lenient: bool) -> tuple[Interactions, LoadReport]:
    problems = Problems(str(path), lenient)
    reader = _csv_blocks if _format(path) == "csv" else _jsonl_blocks
    item_ids = np.asarray(catalog.ids, dtype=np.str_)
    order = np.argsort(item_ids, kind="stable")
    sorted_ids = item_ids[order]
    parts = []
    with open_table(path, what="events file") as f:
        for cols, lines in reader(f, problems):
            user, *rest = _validate(cols, lines, sorted_ids, order, problems)
            del cols
            # keep each block's distinct users and int32 codes, not one string per event
            uniq, inverse = np.unique(user, return_inverse=True)
            parts.append([uniq, inverse.reshape(-1).astype(np.int32), *rest])
    if not parts:
        raise DataError("no events in the file", source=str(path), line=2)
    users, codes = _merge_users(parts)
    item, ts, kind, value = (np.concatenate([p[j] for p in parts]) for j in range(2, 6))
    interactions = Interactions(users=users, user=codes, item=item, timestamp=ts, kind=kind, value=value, n_items=catalog.n)
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
            row = next(csv.reader([text]), [])
            if len(row) != len(names):
                problems.add(start + k, None, text, f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}")
                continue
            rows.append(dict(zip(names, row, strict=True)))
            lines.append(start + k)
        yield _typed(rows, lines, problems), np.asarray(lines, dtype=np.int64)


def _fast_csv(block: bytes, names: list[str], n_lines: int) -> dict[str, np.ndarray] | None:
    """Parse a block with numpy's C reader; None when some line needs the line-by-line path."""
    if b'"' in block or n_lines == 0:
        return None
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    width = int(np.diff(ends, prepend=-1).max())
    if width > _MAX_FAST_LINE:
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
        yield _typed(rows, lines, problems), np.asarray(lines, dtype=np.int64)


def _typed(rows: list[dict], lines: list[int], problems: Problems) -> dict[str, np.ndarray]:
    """Columns from parsed rows (CSV cells or JSON values); a cell that does not convert is flagged.

    Rows with a flagged cell stay in the columns (with placeholder values) and are dropped by the
    caller's ``keep`` mask, so line numbers stay aligned.
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
            out[k] = str(cell).strip()
        cell = row.get("kind", "play")
        kind[k] = cell.strip() if isinstance(cell, str) else repr(cell)
        try:
            ts[k] = parse_time(row["timestamp"])
        except (ValueError, OverflowError, TypeError) as err:
            problems.add(line, "timestamp", row["timestamp"], f"not epoch seconds or an ISO 8601 time ({err})")
        cell = row.get("value")
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            if isinstance(cell, bool):
                raise ValueError("a boolean")
            value[k] = float(cell)
            has_value[k] = True
        except (ValueError, TypeError):
            problems.add(line, "value", cell, "not a number")
    str_cols = {name: np.asarray(col.tolist(), dtype=np.str_) if n else np.zeros(0, np.str_) for name, col in (("user", user), ("item", item), ("kind", kind))}
    return {**str_cols, "timestamp": ts, "value": value, "has_value": has_value}


# -- validation (vectorized, shared by every path) -------------------------------------


def _validate(cols, lines, sorted_ids, order, problems: Problems):
    n = len(lines)
    user = cols["user"]
    item_ids = cols["item"]
    ts = cols["timestamp"]
    kind_names = cols.get("kind", np.full(n, "play"))
    value = cols.get("value", np.zeros(n)).astype(np.float64)
    has_value = cols.get("has_value", np.zeros(n, dtype=bool))
    problems.add_mask(lines, np.strings.str_len(user) == 0, "user", user, "empty id")
    if len(sorted_ids):
        pos = np.minimum(np.searchsorted(sorted_ids, item_ids), len(sorted_ids) - 1)
        item = order[pos].astype(np.int32)
        known = sorted_ids[pos] == item_ids
    else:
        item, known = np.zeros(n, np.int32), np.zeros(n, dtype=bool)
    problems.add_mask(lines, ~known, "item", item_ids, "unknown item id (not in the catalog)")
    problems.add_mask(lines, (ts < MIN_TIMESTAMP) | (ts >= MAX_TIMESTAMP), "timestamp", ts, time_range_message())
    names, inverse = np.unique(kind_names, return_inverse=True)
    code_of = np.asarray([EVENT_KINDS.index(k) if k in EVENT_KINDS else -1 for k in names.tolist()], dtype=np.int8)
    kind = code_of[inverse.reshape(-1)] if n else np.zeros(0, np.int8)
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


def _merge_users(parts: list[list[np.ndarray]]) -> tuple[Vocab, np.ndarray]:
    """One users vocab (sorted ids) over all blocks (each: distinct users, codes into them, ...),
    and each event's user index."""
    uniq = np.unique(np.concatenate([p[0] for p in parts]))
    codes = np.concatenate([np.searchsorted(uniq, p[0]).astype(np.int32)[p[1]] for p in parts])
    return Vocab(uniq.tolist(), what="user"), codes

