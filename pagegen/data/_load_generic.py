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
reader, in chunks); other lines are parsed one by one (``_load_events_read``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, PLAY, RATING, Interactions
from pagegen.core._vocab import Vocab

from ._load_catalog import read_catalog
from ._load_common import (
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    RATING_RANGE,
    Dataset,
    LoadReport,
    Problems,
    open_table,
    string_keys,
    time_range_message,
    warn_skipped,
)
from ._load_events_read import EVENT_FIELDS, csv_blocks, jsonl_blocks, narrow
from ._load_ratings import time_order

__all__ = ["EVENT_FIELDS", "load_catalog", "load_dataset", "load_events"]


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
    reader = csv_blocks if _format(path) == "csv" else jsonl_blocks
    try:
        items, users = _Ids(catalog.ids, exact=exact), _Users(exact=exact)
        parts = []
        with open_table(path, what="events file", header=reader is csv_blocks) as f:
            for cols, lines in reader(f, problems):
                user, *rest = _validate(cols, lines, items, problems)
                del cols
                users.add(user)
                parts.append(rest)
    except _Collision:
        return _events(path, catalog, lenient, exact=True)
    if not parts:
        raise DataError("no events in the file", source=str(path), line=2)
    if not any(len(p[0]) for p in parts):
        raise problems.nothing_usable("event lines")
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


# -- validation (vectorized, shared by every path) -------------------------------------


def _validate(cols, lines, items: _Ids, problems: Problems):
    n = len(lines)
    user = cols["user"]
    item_ids = cols["item"]
    ts = cols["timestamp"]
    kind_names = cols.get("kind", np.full(n, "play"))
    value = cols.get("value", np.zeros(n)).astype(np.float64)
    has_value = cols.get("has_value", np.zeros(n, dtype=bool))
    problems.add_mask(lines, user == "", "user", user, "empty id")
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


def _keys(strings: np.ndarray) -> np.ndarray:
    """``string_keys`` of a numpy str array, or of an object array of str; strings of very
    different lengths are keyed in groups of similar length (within a factor of 2), so that no
    string array is as wide as the longest id times the number of ids."""
    if strings.dtype != object:
        return string_keys(strings)
    narrowed = narrow(strings)
    if narrowed is not None:
        return string_keys(narrowed)
    group = np.frexp(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))[1]
    out = np.empty(len(strings), dtype=np.uint64)
    for g in np.unique(group).tolist():
        at = np.flatnonzero(group == g)
        out[at] = string_keys(np.asarray(strings[at].tolist(), dtype=np.str_))
    return out


def _exact_keys(strings: np.ndarray) -> np.ndarray:
    """The strings themselves as keys (after a hash collision), as Python str objects."""
    return np.asarray(strings.tolist() if strings.dtype != object else strings, dtype=object)


class _Collision(Exception):
    """Two different ids with the same 64-bit key: read again, comparing the strings themselves."""


class _Ids:
    """Catalog id -> index for arrays of ids: a binary search over hashed keys, confirmed by
    comparing the strings, so an id is known only when it really is in the catalog."""

    def __init__(self, ids: np.ndarray, *, exact: bool) -> None:
        self.ids = np.asarray(ids, dtype=np.str_)
        self.key = _exact_keys if exact else _keys
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


_WIDE = 64  # characters


class _Users:
    """Member ids block by block: each event's key, and each distinct id once (sorted by key).

    The distinct ids are a numpy string array while no id is longer than ``_WIDE`` characters,
    then Python strings (an object array): a numpy string array takes their number times the
    longest id."""

    def __init__(self, *, exact: bool) -> None:
        self.key = _exact_keys if exact else _keys
        self.event_keys: list[np.ndarray] = []
        self.keys = self.key(np.zeros(0, dtype=np.str_))
        self.ids = np.zeros(0, dtype=np.str_)

    def add(self, user: np.ndarray) -> None:
        keys = self.key(user)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        ids = user[first]
        if not np.array_equal(ids[inverse.reshape(-1)], user):
            raise _Collision
        if self.ids.dtype == object or ids.dtype == object or ids.itemsize > 4 * _WIDE:
            ids, self.ids = ids.astype(object), self.ids.astype(object)
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
        narrowed = narrow(self.ids) if self.ids.dtype == object else self.ids
        by_id = np.argsort(self.ids if narrowed is None else narrowed, kind="stable")
        del narrowed
        rank = np.empty(len(by_id), dtype=np.int32)
        rank[by_id] = np.arange(len(by_id), dtype=np.int32)
        codes = rank[np.searchsorted(self.keys, np.concatenate(self.event_keys))]
        return Vocab(self.ids[by_id].tolist(), what="user"), codes
