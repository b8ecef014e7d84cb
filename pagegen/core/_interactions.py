"""Interactions: what members did, as columnar numpy arrays sorted by (user, timestamp, item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._arrays import frozen
from ._errors import DataError
from ._extras import frames
from ._vocab import Vocab

if TYPE_CHECKING:
    from ._catalog import Catalog

__all__ = ["EVENT_KINDS", "Interactions", "as_interactions"]

#: Event kinds, by code: ``Interactions.kind`` holds the index into this tuple.
#: play: ``value`` is the watched fraction in [0, 1]; rating: ``value`` is the rating;
#: impression: the title was shown (value unused, 0); click: the tile was selected (value 0).
EVENT_KINDS: tuple[str, ...] = ("play", "rating", "impression", "click")
PLAY, RATING, IMPRESSION, CLICK = range(4)


@dataclass(frozen=True, eq=False, repr=False)
class Interactions:
    """Event log over ``users`` x catalog items. All columns have one entry per event.

    user int32, item int32 (catalog index), timestamp int64 (epoch seconds),
    kind int8 (code into EVENT_KINDS), value float32. Events are kept sorted by
    (user, timestamp, item, kind); ``indptr`` slices one user's events:
    ``slice(indptr[u], indptr[u + 1])``.
    """

    users: Vocab
    user: np.ndarray
    item: np.ndarray
    timestamp: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    n_items: int

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        user = np.asarray(self.user, np.int32)
        item = np.asarray(self.item, np.int32)
        ts = np.asarray(self.timestamp, np.int64)
        kind = np.asarray(self.kind, np.int8)
        value = np.asarray(self.value, np.float32)
        m = len(user)
        for name, arr in (("item", item), ("timestamp", ts), ("kind", kind), ("value", value)):
            if arr.shape != (m,):
                raise DataError(f"column has shape {arr.shape}, expected ({m},)", field=name)
        if m:
            _check_range(user, 0, len(self.users) - 1, "user")
            _check_range(item, 0, self.n_items - 1, "item")
            _check_range(kind, 0, len(EVENT_KINDS) - 1, "kind")
            if not np.all(np.isfinite(value)):
                raise DataError("non-finite value", field="value", value=float(value[~np.isfinite(value)][0]))
            plays = kind == PLAY
            if np.any(plays & ((value < 0) | (value > 1))):
                bad = value[plays & ((value < 0) | (value > 1))][0]
                raise DataError("watched fraction outside [0, 1]", field="value", value=float(bad))
        if not _is_sorted(user, ts, item, kind):
            order = np.lexsort((kind, item, ts, user))
            user, item, ts, kind, value = user[order], item[order], ts[order], kind[order], value[order]
        for name, arr in (("user", user), ("item", item), ("timestamp", ts), ("kind", kind), ("value", value)):
            set_(self, name, frozen(arr))
        indptr = np.zeros(len(self.users) + 1, dtype=np.int64)
        np.cumsum(np.bincount(user, minlength=len(self.users)), out=indptr[1:])
        set_(self, "indptr", frozen(indptr))

    indptr: np.ndarray = field(init=False)

    @property
    def n(self) -> int:
        """Number of events."""
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def __len__(self) -> int:
        return len(self.user)

    def span(self, user: int) -> slice:
        """The slice of one user's events (sorted by time)."""
        return slice(int(self.indptr[user]), int(self.indptr[user + 1]))

    def select(self, mask: np.ndarray) -> Interactions:
        """A new Interactions with the events where ``mask`` holds (same vocabularies)."""
        mask = np.asarray(mask, dtype=bool)
        return Interactions(
            users=self.users,
            user=self.user[mask],
            item=self.item[mask],
            timestamp=self.timestamp[mask],
            kind=self.kind[mask],
            value=self.value[mask],
            n_items=self.n_items,
        )

    def before(self, now: int) -> Interactions:
        """Events strictly before ``now``."""
        return self.select(self.timestamp < now)

    def of_kind(self, kind: str) -> Interactions:
        return self.select(self.kind == EVENT_KINDS.index(kind))

    @classmethod
    def from_pandas(cls, frame: Any, *, catalog: Catalog, lenient: bool = False) -> Interactions:
        """Events over ``catalog`` from a pandas DataFrame with the columns of the generic events
        file: ``user``, ``item``, ``timestamp`` (epoch seconds, datetimes or ISO 8601 strings), and
        optional ``kind`` and ``value`` (a missing cell: play, no value). The loader's checks apply: a bad value is a
        DataError naming the row (its position, from 0), the column and the value; ``lenient``
        skips bad rows with a warning. Members are indexed in sorted order of their ids, as
        ``load_events`` does, so the same events as a frame or as a CSV file give equal values.
        Needs the ``frames`` extra (pandas)."""
        return frames("interactions_from_pandas")(frame, catalog, lenient=lenient)

    @classmethod
    def from_arrow(cls, table: Any, *, catalog: Catalog, lenient: bool = False) -> Interactions:
        """``from_pandas`` for a pyarrow Table (or RecordBatch) with the same columns (the ``frames`` extra)."""
        return frames("interactions_from_arrow")(table, catalog, lenient=lenient)

    def __repr__(self) -> str:
        counts = np.bincount(self.kind, minlength=len(EVENT_KINDS))
        parts = ", ".join(f"{k}={c}" for k, c in zip(EVENT_KINDS, counts, strict=True) if c)
        return f"Interactions(n={self.n}, users={self.n_users}, items={self.n_items}, {parts})"


def as_interactions(events: Any, catalog: Catalog) -> Interactions:
    """``events`` over ``catalog``: Interactions as they are, or a pandas DataFrame or Arrow table
    of events (``Interactions.from_pandas``, ``from_arrow``); a DataError for anything else."""
    if isinstance(events, Interactions):
        return events
    library = type(events).__module__.partition(".")[0]
    if library == "pandas":
        return Interactions.from_pandas(events, catalog=catalog)
    if library == "pyarrow":
        return Interactions.from_arrow(events, catalog=catalog)
    raise DataError("expected Interactions, a pandas DataFrame or an Arrow table of events", field="interactions", value=type(events).__name__)


def _check_range(arr: np.ndarray, lo: int, hi: int, name: str) -> None:
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"index out of range [{lo}, {hi}] at event {pos}", field=name, value=int(arr[pos]))


def _is_sorted(*keys: np.ndarray) -> bool:
    """Whether rows are already in lexicographic order of ``keys`` (most significant first).

    Boolean temporaries only, so a loader that builds events in order saves the sort and its copies.
    """
    if len(keys[0]) < 2:
        return True
    tied = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        prev, nxt = key[:-1], key[1:]
        if np.any(tied & (nxt < prev)):
            return False
        tied &= nxt == prev
        if not tied.any():
            return True
    return True
