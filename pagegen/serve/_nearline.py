"""The nearline state of a page service: fresh events applied on top of the loaded data, once each.

A served member's page must reflect what they did a moment ago (Continue Watching, the anchors of
Because You Watched) and what everyone did lately (trending), without a refit. ``Nearline`` keeps
the events posted since the service started: per member, appended to that member's logged events
when their state is built; for everyone, merged into the model's play counts (``Model.update``),
which the page builders read for popularity and trending. Each event carries an id; an id seen
before is skipped, so a client may retry a post without counting an event twice.

Thread-safe: one lock guards the state; a page build takes a snapshot (the model and the member's
events) and works without the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, PLAY, RATING, Interactions
from pagegen.core._userstate import Profile, UserState
from pagegen.core._vocab import Vocab
from pagegen.data._load_common import MAX_TIMESTAMP, MIN_TIMESTAMP

__all__ = ["Event", "Nearline", "parse_event"]

#: The longest event id accepted (ids are kept in memory for the life of the service).
MAX_ID = 200


@dataclass(frozen=True)
class Event:
    """One posted event, validated: ``item`` a catalog index, ``kind`` a code into EVENT_KINDS."""

    id: str
    user: str
    item: int
    timestamp: int
    kind: int
    value: float


def parse_event(record: object, catalog: Catalog, line: int) -> Event:
    """An event from one decoded JSON line; DataError naming the line, field and value."""
    if not isinstance(record, Mapping):
        raise DataError("expected a JSON object", line=line, value=type(record).__name__)
    for name in ("id", "user", "item", "timestamp"):
        if name not in record:
            raise DataError("missing field", line=line, field=name)
    event_id, user, item = record["id"], record["user"], record["item"]
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID:
        raise DataError(f"expected a string of 1 to {MAX_ID} characters", line=line, field="id", value=event_id)
    if not isinstance(user, str) or not user:
        raise DataError("expected a member id (a non-empty string)", line=line, field="user", value=user)
    if not isinstance(item, str) or item not in catalog.vocab:
        raise DataError("unknown title", line=line, field="item", value=item)
    timestamp = record["timestamp"]
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not MIN_TIMESTAMP <= timestamp < MAX_TIMESTAMP:
        raise DataError(f"expected epoch seconds in [{MIN_TIMESTAMP}, {MAX_TIMESTAMP})", line=line, field="timestamp", value=timestamp)
    kind = record.get("kind", "play")
    if kind not in ("play", "rating", "impression", "click"):
        raise DataError("expected play, rating, impression or click", line=line, field="kind", value=kind)
    value = record.get("value", 1.0 if kind == "play" else 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise DataError("expected a finite number", line=line, field="value", value=value)
    if kind == "play" and not 0.0 <= value <= 1.0:
        raise DataError("a play's value is the watched fraction, in [0, 1]", line=line, field="value", value=value)
    return Event(event_id, user, catalog.index(item), int(timestamp), EVENT_KINDS.index(kind), float(value))


class Nearline:
    """Events posted to a service, applied once each (see the module docstring)."""

    def __init__(self, catalog: Catalog, model: Any, interactions: Interactions | None) -> None:
        self.catalog = catalog
        self.interactions = interactions
        self._model = model
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._by_member: dict[str, list[Event]] = {}
        self.applied = 0
        self.duplicates = 0

    @property
    def model(self) -> Any:
        """The model with every applied play counted (swapped whole: readers never see a half update)."""
        return self._model

    def apply(self, events: Sequence[Event]) -> tuple[int, int]:
        """Apply the events not seen before; (applied, duplicates). Repeated ids within ``events`` count once."""
        with self._lock:
            fresh: list[Event] = []
            for event in events:
                if event.id in self._seen:
                    self.duplicates += 1
                    continue
                self._seen.add(event.id)
                fresh.append(event)
            plays = [e for e in fresh if e.kind == PLAY]
            if plays:
                users = Vocab(sorted({e.user for e in plays}), what="member id")
                batch = Interactions(
                    users=users, user=[users.index(e.user) for e in plays], item=[e.item for e in plays],
                    timestamp=[e.timestamp for e in plays], kind=[e.kind for e in plays], value=[e.value for e in plays],
                    n_items=self.catalog.n,
                )  # fmt: skip
                self._model = self._model.update(batch)
            for event in fresh:
                self._by_member.setdefault(event.user, []).append(event)
            self.applied += len(fresh)
            return len(fresh), len(events) - len(fresh)

    def state(self, user: str, now: int, profile: Profile) -> UserState:
        """The member as of ``now``: their logged events and the posted ones, strictly before ``now``."""
        with self._lock:
            posted = list(self._by_member.get(user, ()))
        logged = self.interactions
        index = -1
        if logged is not None and user in logged.users:
            index = logged.users.index(user)
            span = logged.span(index)
            item, ts, kind, value = logged.item[span], logged.timestamp[span], logged.kind[span], logged.value[span]
        else:
            item, ts, kind, value = (np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.float32))
        if posted:
            item = np.concatenate([item, np.array([e.item for e in posted], np.int32)])
            ts = np.concatenate([ts, np.array([e.timestamp for e in posted], np.int64)])
            kind = np.concatenate([kind, np.array([e.kind for e in posted], np.int8)])
            value = np.concatenate([value, np.array([e.value for e in posted], np.float32)])
        keep = (ts < now) & np.isin(kind, (PLAY, RATING))
        order = np.lexsort((item[keep], ts[keep]))
        item, ts, kind, value = item[keep][order], ts[keep][order], kind[keep][order], value[keep][order]
        return UserState._from_arrays(now, item, ts, kind, value, profile=profile, user=user, user_index=index)
