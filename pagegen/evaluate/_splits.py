"""Train/test splits for the page replay: per-member leave-last-k and a global time cutoff.

An *interaction* is a play or a rating event; impressions and clicks never make a title
relevant. Titles are counted as the page shows them: an episode counts as its series. A split
keeps, for each test member, the time its page is built (``now``) and the relevant titles with
their grades; ``train`` holds only what may be seen at that time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pagegen.core._arrays import frozen
from pagegen.core._catalog import ITEM_KINDS, Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import PLAY, RATING, Interactions
from pagegen.core._userstate import FINISHED_AT
from pagegen.data._load_ratings import first_times

__all__ = ["Split", "dates_from_events", "display_titles", "leave_last_split", "time_split", "train_availability", "truth_split"]


def _first_events(interactions: Interactions, n: int) -> np.ndarray:
    """Each title's first play or rating time (a title without one: the last such time, 0 if none), as
    the MovieLens loader dates the titles."""
    keep = np.isin(interactions.kind, (PLAY, RATING))
    return first_times(interactions.item[keep], interactions.timestamp[keep], n)


def dates_from_events(catalog: Catalog, interactions: Interactions) -> bool:
    """Are the catalog's ``added`` dates the titles' first events (derived from the data, not real dates)?"""
    return bool(len(interactions)) and np.array_equal(catalog.added, _first_events(interactions, catalog.n))


def train_availability(catalog: Catalog, train: Interactions) -> Catalog:
    """The catalog with ``added`` rebuilt from the train events only, the same way the dates were derived
    from all events: no held-out event makes a title unavailable, or new, at page time."""
    return dataclasses.replace(catalog, added=_first_events(train, catalog.n))


def display_titles(catalog: Catalog, items: np.ndarray) -> np.ndarray:
    """int32 titles as shown on a page: an episode maps to its series, anything else to itself."""
    items = np.asarray(items, dtype=np.int32)
    series = catalog.series[items]
    episode = (catalog.kind[items] == ITEM_KINDS.index("episode")) & (series >= 0)
    return np.where(episode, series, items).astype(np.int32)


@dataclass(frozen=True, eq=False)
class Split:
    """A replay split.

    name     ``"leave_last"``, ``"time"`` or ``"truth"``
    train    the events fit and the member states may use
    users    int32 test members (indices into ``train.users``), ascending
    now      int64 per test member: when its page is built (only train events before it count)
    indptr   int64 (len(users) + 1): ``items[indptr[k]:indptr[k + 1]]`` are member k's relevant titles
    items    int32 relevant titles (displayable: episodes mapped to their series)
    grades   float32 their relevance grades, > 0
    """

    name: str
    train: Interactions
    users: np.ndarray
    now: np.ndarray
    indptr: np.ndarray
    items: np.ndarray
    grades: np.ndarray

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name, dtype in (("users", np.int32), ("now", np.int64), ("indptr", np.int64), ("items", np.int32), ("grades", np.float32)):
            set_(self, name, frozen(np.asarray(getattr(self, name), dtype=dtype)))
        k = len(self.users)
        if self.now.shape != (k,) or self.indptr.shape != (k + 1,) or self.items.shape != self.grades.shape:
            raise DataError("split columns disagree in length", field="users")
        if k and np.any(np.diff(self.users) <= 0):
            raise DataError("test members must be ascending and distinct", field="users")

    def __len__(self) -> int:
        return len(self.users)

    def relevance(self, k: int) -> dict[int, float]:
        """Member ``k``'s relevant titles as ``{title: grade}``."""
        sl = slice(int(self.indptr[k]), int(self.indptr[k + 1]))
        return dict(zip(self.items[sl].tolist(), self.grades[sl].tolist(), strict=True))

    def sample(self, n: int | None, seed: int = 0) -> Split:
        """At most ``n`` test members drawn without replacement (seeded); ``None`` keeps all."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise DataError("sample size must be >= 1", field="sample", value=n)
        pick = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self._subset(pick)

    def _subset(self, pick: np.ndarray) -> Split:
        starts, stops = self.indptr[pick], self.indptr[pick + 1]
        lengths = stops - starts
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return Split(self.name, self.train, self.users[pick], self.now[pick], indptr, self.items[idx], self.grades[idx])


def _interaction_pairs(catalog: Catalog, events: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, title) pairs of the play/rating events with their first time, sorted by (user, time, title)."""
    keep = (events.kind == PLAY) | (events.kind == RATING)
    user = events.user[keep].astype(np.int64)
    title = display_titles(catalog, events.item[keep]).astype(np.int64)
    ts = events.timestamp[keep]
    key = user * max(catalog.n, 1) + title
    order = np.lexsort((ts, key))
    uniq, first = np.unique(key[order], return_index=True)
    first_ts = ts[order][first]
    p_user, p_title = np.divmod(uniq, max(catalog.n, 1))
    order = np.lexsort((p_title, first_ts, p_user))
    return p_user[order], p_title[order], first_ts[order]


def _check(catalog: Catalog, interactions: Interactions) -> None:
    if interactions.n_items != catalog.n:
        raise DataError(f"interactions cover {interactions.n_items} titles, the catalog {catalog.n}", field="n_items", value=interactions.n_items)


def leave_last_split(catalog: Catalog, interactions: Interactions, *, n_test: int = 5, min_interactions: int = 10) -> Split:
    """Per member: the last ``n_test`` titles (by first interaction time, then title) are test.

    Only members with at least ``min_interactions`` distinct titles are tested; the others stay
    in train whole. A tested member's page is built at ``cutoff + 1``, where ``cutoff`` is the
    first time of its first test title: its train events are those up to the cutoff on other
    titles (later events of the member are dropped, so nothing after the cutoff leaks into its
    state). Relevance is binary.
    """
    _check(catalog, interactions)
    if n_test < 1 or min_interactions <= n_test:
        raise DataError(f"need 1 <= n_test < min_interactions, got {n_test} and {min_interactions}", field="n_test", value=n_test)
    p_user, p_title, p_ts = _interaction_pairs(catalog, interactions)
    n_users = interactions.n_users
    counts = np.bincount(p_user, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(p_user)) - starts[p_user]
    is_test = (counts[p_user] >= min_interactions) & (position >= counts[p_user] - n_test)
    t_user, t_title, t_ts = p_user[is_test], p_title[is_test], p_ts[is_test]
    users = np.flatnonzero(counts >= min_interactions).astype(np.int32)
    cutoff = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cutoff, t_user, t_ts)
    ev_title = display_titles(catalog, interactions.item).astype(np.int64)
    ev_key = interactions.user.astype(np.int64) * max(catalog.n, 1) + ev_title
    on_test_title = np.isin(ev_key, t_user * max(catalog.n, 1) + t_title)
    train_mask = (interactions.timestamp <= cutoff[interactions.user]) & ~on_test_title
    indptr = np.concatenate([[0], np.cumsum(np.bincount(t_user, minlength=n_users)[users])])
    return Split(
        name="leave_last",
        train=interactions.select(train_mask),
        users=users,
        now=cutoff[users] + 1,
        indptr=indptr,
        items=t_title,
        grades=np.ones(len(t_title), np.float32),
    )


def time_split(
    catalog: Catalog,
    interactions: Interactions,
    *,
    cutoff: int | None = None,
    quantile: float = 0.8,
    min_history: int = 1,
    horizon: int | None = None,
) -> Split:
    """All events before ``cutoff`` are train; each member's titles played at or after it are test.

    ``cutoff`` defaults to the ``quantile`` of the play/rating times. Tested members have at
    least ``min_history`` distinct titles before the cutoff and a new title in
    ``[cutoff, cutoff + horizon)`` (no end when ``horizon`` is None); titles the member had
    already finished before the cutoff are not relevant (the page may not show them).
    Every page is built at ``now = cutoff``. Relevance is binary.
    """
    _check(catalog, interactions)
    if not 0.0 < quantile < 1.0:
        raise DataError("cutoff quantile must be in (0, 1)", field="quantile", value=quantile)
    if min_history < 0:
        raise DataError("min_history must be >= 0", field="min_history", value=min_history)
    if horizon is not None and horizon <= 0:
        raise DataError("horizon must be > 0 seconds", field="horizon", value=horizon)
    act = (interactions.kind == PLAY) | (interactions.kind == RATING)
    if cutoff is None:
        if not act.any():
            raise DataError("no play or rating events to place a cutoff", field="interactions")
        cutoff = int(np.quantile(interactions.timestamp[act], quantile))
    cutoff = int(cutoff)
    before = interactions.timestamp < cutoff
    train = interactions.select(before)
    end = np.iinfo(np.int64).max if horizon is None else cutoff + int(horizon)
    n_users = interactions.n_users
    h_user, _, _ = _interaction_pairs(catalog, train)
    history = np.bincount(h_user, minlength=n_users)
    later = interactions.select(~before & (interactions.timestamp < end))
    l_user, l_title, _ = _interaction_pairs(catalog, later)
    finished = before & (interactions.kind == PLAY) & (interactions.value >= FINISHED_AT)
    f_key = interactions.user[finished].astype(np.int64) * max(catalog.n, 1) + display_titles(catalog, interactions.item[finished])
    fresh = ~np.isin(l_user * max(catalog.n, 1) + l_title, f_key)
    l_user, l_title = l_user[fresh], l_title[fresh]
    n_rel = np.bincount(l_user, minlength=n_users)
    users = np.flatnonzero((history >= min_history) & (n_rel > 0)).astype(np.int32)
    keep = np.isin(l_user, users)
    indptr = np.concatenate([[0], np.cumsum(n_rel[users])])
    return Split(
        name="time",
        train=train,
        users=users,
        now=np.full(len(users), cutoff, np.int64),
        indptr=indptr,
        items=l_title[keep],
        grades=np.ones(int(keep.sum()), np.float32),
    )


def truth_split(split: Split, catalog: Catalog, truth, *, k: int = 10) -> Split:
    """The same members and times, relevance from a ground-truth preference model instead.

    Each member's relevant titles are its ``k`` displayable titles of highest
    ``truth.preference`` that it had not played before ``now``, graded by that preference.
    """
    if k < 1:
        raise DataError("k must be >= 1", field="k", value=k)
    shown = catalog.displayable()
    items_out, grades_out, indptr = [], [], [0]
    for j, (u, now) in enumerate(zip(split.users.tolist(), split.now.tolist(), strict=True)):
        sl = split.train.span(u)
        played = split.train.item[sl][(split.train.timestamp[sl] < now) & (split.train.kind[sl] == PLAY)]
        mask = shown.copy()
        mask[display_titles(catalog, played)] = False
        cand = np.flatnonzero(mask)
        pref = np.asarray(truth.preference(u, cand), dtype=np.float64)
        if pref.shape != cand.shape or not np.all(np.isfinite(pref)):
            raise DataError(f"truth.preference returned a bad array for member {u}", field="preference", value=j)
        top = np.argsort(-pref, kind="stable")[:k]
        top = top[pref[top] > 0]
        items_out.append(cand[top])
        grades_out.append(pref[top])
        indptr.append(indptr[-1] + len(top))
    items = np.concatenate(items_out) if items_out else np.zeros(0, np.int32)
    grades = np.concatenate(grades_out) if grades_out else np.zeros(0, np.float32)
    return Split("truth", split.train, split.users, split.now, np.asarray(indptr), items, grades)
