"""The fitted Model: pure arrays plus a small JSON-able description, no reference to training data.

Every answer is computed as of the caller's ``now`` from the arrays: popularity and trending
from the sorted play keys (events before ``now`` only), similarity from EASE weights (or
sparse top-k neighbours on large catalogs) blended with content similarity, the personal
scorer and the rating predictor folded in from the member's own history, and the learned
blend on top. ``fit`` (in ``_fit``) builds one; ``save``/``load`` are in ``_modelio``.

Plays of a series are logged on its episodes and counted for the series (``arrays["fold"]``);
per-title answers for an episode are its series' (see ``_features.Tiles``). Answers that
depend on ``now`` only (plays before a moment, the blend's time features) are kept for the
last few moments asked (a batch of pages shares its ``now``), which is safe because a Model
never changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._als import implicit_fold_in, item_gram, rating_fold_in, ridge_gram
from ._blend import FEATURES
from ._errors import DataError
from ._features import DENSE_CONTENT, TIME_FEATURES, USER_FEATURES, Tiles, dense_rows, recency_weights, time_features
from ._interactions import PLAY, Interactions
from ._popularity import CountIndex, first_per_day, merge_keys, play_keys, trend_from_counts
from ._userstate import UserState

__all__ = ["Model"]

DAY = 86_400
_TIME_COLS = [FEATURES.index(f) for f in TIME_FEATURES]
_USER_COLS = [FEATURES.index(f) for f in USER_FEATURES]


class Model:
    """What ``fit`` learned. Immutable: ``update`` returns a new Model.

    ``arrays`` holds every learned array (read-only numpy), ``meta`` the JSON-able rest
    (config, scalars, names). Both are what ``save`` writes and ``load`` reads back.
    """

    __slots__ = ("_a", "_als_gram", "_content", "_content_dense", "_derived", "_flags", "_index", "_last_history", "_lru", "_meta", "_tiles", "_topk")

    def __init__(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        frozen = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            arr.setflags(write=False)
            frozen[name] = arr
        self._a = frozen
        self._meta = dict(meta)
        if len(frozen["fold"]) != self.n_items:
            raise ValueError(f"fold has {len(frozen['fold'])} titles, the model {self.n_items}")
        self._content = self._csr("content")
        # content vectors (d x n, dense) when they are short: one dense product per request
        self._content_dense = np.ascontiguousarray(self._content.T.toarray()) if self._content.shape[1] <= DENSE_CONTENT else None
        self._topk = self._csr("topk") if "topk_indptr" in frozen else None
        self._tiles = Tiles(frozen, self._content, self._topk)
        self._index: dict[str, CountIndex] = {}
        self._lru: dict[tuple, Any] = {}
        self._flags: dict[str, bool] = {}  # facts about the arrays, found on first use
        self._last_history: tuple[UserState, tuple[np.ndarray, ...]] | None = None
        self._derived: dict[Hashable, Any] = {}  # per-model values derived from the arrays, found on first use
        self._als_gram = item_gram(self._a["als_items"]) if "als_items" in frozen else None

    def _csr(self, name: str) -> sp.csr_array:
        a = self._a
        return sp.csr_array((a[f"{name}_data"], a[f"{name}_indices"], a[f"{name}_indptr"]), shape=tuple(self._meta[f"{name}_shape"]))

    def _cached(self, key: tuple, compute) -> Any:
        """``compute()`` for ``key``, kept among the 64 answers used last (read-only arrays);
        a page request at one ``now`` uses about 10, plus two to four per region."""
        hit = self._lru.pop(key, None)
        if hit is None:
            hit = compute()
            if isinstance(hit, np.ndarray):
                hit.setflags(write=False)
            if len(self._lru) >= 64:
                self._lru.pop(next(iter(self._lru)))
        self._lru[key] = hit  # (re)inserted last: the least recently used comes first
        return hit

    # -- description ------------------------------------------------------------------

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return dict(self._a)

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    @property
    def n_items(self) -> int:
        return int(self._meta["n_items"])

    @property
    def personal_method(self) -> str:
        """``"ease"`` or ``"als"``: the personal scorer ``personal`` uses."""
        return str(self._meta["personal"])

    def __repr__(self) -> str:
        return f"Model(n_items={self.n_items}, personal={self.personal_method!r}, plays={len(self._a['pop_keys'])})"

    # -- popularity and trending --------------------------------------------------------

    def _key_name(self, region: str | None) -> str:
        if region is not None:
            names = self._meta["region_names"]
            if names and region not in names:
                raise DataError("unknown region", field="region", value=region)
            if f"pop_keys_region_{region}" in self._a:
                return f"pop_keys_region_{region}"
        return "pop_keys"

    def _count_index(self, name: str) -> CountIndex:
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = CountIndex(self._a[name], self.n_items, self._meta["origin"])
        return index

    def _before(self, name: str, t: int) -> np.ndarray:
        """int32 plays of every title strictly before ``t``, from the play keys ``name`` (cached)."""
        return self._cached(("before", name, int(t)), lambda: self._count_index(name).before(t))

    def popularity(self, now: int, *, window: int | None = None, region: str | None = None) -> np.ndarray:
        """Plays of every title in ``[now - window, now)`` (all time before ``now`` when ``window`` is None); float32.

        A series counts the plays of its episodes; a member's plays of one title on one day
        count once. With ``region``: plays by members of that region when regions were known
        at fit time, and only titles available there (others 0).
        """
        if window is not None and window <= 0:
            raise DataError("window must be positive (seconds)", field="window", value=window)
        name = self._key_name(region)
        counts = self._before(name, int(now))
        if window is not None:
            counts = counts - self._before(name, int(now) - int(window))
        out = counts.astype(np.float32)
        if region is not None and self._meta["region_names"]:
            out[~self._available(region)] = 0.0
        return out

    def _available(self, region: str) -> np.ndarray:
        """Titles licensed in ``region`` or unrestricted (kept: it costs more than a request's popularity)."""
        avail = self._a["regions"]
        j = self._meta["region_names"].index(region)
        return self._cached(("available", region), lambda: avail[:, j] | (np.count_nonzero(avail, axis=1) == 0))

    def _trend_windows(self) -> tuple[int, int]:
        cfg = self._meta["config"]
        return int(cfg["trend_short"]), int(cfg["trend_long"])

    def trending(self, now: int) -> np.ndarray:
        """Short-term velocity against a longer baseline, as of ``now`` (see ``trend_scores``); float32 >= 0."""
        short, long = self._trend_windows()

        def compute() -> np.ndarray:
            at_now, at_short, at_long = (self._before("pop_keys", t) for t in (int(now), int(now) - short, int(now) - long))
            return trend_from_counts(at_now - at_short, at_short - at_long, short, long)

        return self._cached(("trend", int(now)), compute).copy()

    def update(self, events: Interactions, *, regions: np.ndarray | None = None) -> Model:
        """The nearline path: a new Model whose popularity and trending include ``events``' plays.

        Nothing is refitted. Episodes count for their series and a member's plays of one title
        on one day count once within ``events``. ``regions`` optionally gives each event's
        member region name (an array of strings, one per event) to update the per-region counts too.
        """
        if events.n_items != self.n_items:
            raise DataError(f"events are over {events.n_items} titles, the model over {self.n_items}", field="n_items", value=events.n_items)
        play = np.flatnonzero(events.kind == PLAY)
        tile = self._a["fold"][events.item[play]]
        keep = first_per_day(events.user[play], tile, events.timestamp[play])
        play_rows, tile = play[keep], tile[keep]
        arrays = dict(self._a)
        origin = self._meta["origin"]
        arrays["pop_keys"] = merge_keys(self._a["pop_keys"], play_keys(tile, events.timestamp[play_rows], origin))
        if regions is not None:
            regions = np.asarray(regions).astype(str)
            if regions.shape != (events.n,):
                raise DataError(f"regions has shape {regions.shape}, expected ({events.n},)", field="regions")
            for name in np.unique(regions[play_rows]):
                key = f"pop_keys_region_{name}"
                sel = regions[play_rows] == name
                new = play_keys(tile[sel], events.timestamp[play_rows][sel], origin)
                arrays[key] = merge_keys(self._a[key], new) if key in self._a else new
        return Model(arrays, self._meta)

    # -- similarity ----------------------------------------------------------------------

    def _collab(self, items: np.ndarray, *, tiles: bool) -> np.ndarray:
        """Collaborative similarity rows of ``items`` over the catalog (``tiles``: over the tiles
        only), each scaled to a maximum of 1."""
        out = self._collab_rows(items, tiles=tiles)
        peak = out.max(axis=1, keepdims=True) if out.shape[1] else np.zeros((len(items), 1), np.float32)
        np.divide(out, peak, out=out, where=peak > 0)
        return out

    def _collab_rows(self, items: np.ndarray, *, tiles: bool) -> np.ndarray:
        """``_collab`` before the scaling: the raw rows (EASE weights clipped at 0)."""
        t = self._tiles
        out = np.zeros((len(items), t.n if tiles else self.n_items), np.float32)
        if t.topk is not None:
            out[:] = dense_rows(t.topk if tiles else self._topk, items)
        elif t.ease_at is not None:
            pos = self._a["ease_pos"][items]
            hit = np.flatnonzero(pos >= 0)
            if len(hit):
                cols = t.ease_at if tiles else self._a["ease_items"]
                out[hit[:, None], cols[None, :]] = np.maximum(self._a["ease_weights"][pos[hit]], 0.0)
        return out

    def similarity(self, items: np.ndarray) -> np.ndarray:
        """Similarity rows of the given titles over the catalog: float32 ``(len(items), n_items)`` in [0, 1].

        ``(1 - c) * collaborative + c * content`` with ``c = config.content_weight``; a title
        with no plays (and an episode, whose plays count for its series) is similar by content
        only. A title's similarity to itself is 0.
        """
        items = np.atleast_1d(np.asarray(items, np.int64))
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise DataError(f"title index out of range [0, {self.n_items})", field="items", value=int(items[(items < 0) | (items >= self.n_items)][0]))
        c = np.float32(self._meta["config"]["content_weight"])
        query = self._content_rows(items)
        sims = query @ self._content_dense if self._content_dense is not None else np.ascontiguousarray((self._content @ query.T).T, dtype=np.float32)
        sims *= c
        sims += (1 - c) * self._collab(items, tiles=False)
        sims[np.arange(len(items)), items] = 0.0
        return sims

    def similarity_at(self, items: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``similarity(items)[:, targets]`` (the same values), float32 ``(len(items), len(targets))``.

        When every target is a tile (a movie or a series: what pages show), only the tiles'
        columns are computed, each normalized by its row's peak over the whole catalog as in
        ``similarity``; otherwise the full rows are computed and the targets taken from them.
        """
        items = np.atleast_1d(np.asarray(items, np.int64))
        targets = np.asarray(targets, np.int64)
        t = self._tiles
        n = self.n_items
        if len(targets) and (targets.min() < 0 or targets.max() >= n):
            raise DataError(f"title index out of range [0, {n})", field="targets", value=int(targets[(targets < 0) | (targets >= n)][0]))
        peak = self._collab_peak(items)
        if t.content_dense is None or peak is None or (t.expand is not None and not self._is_tile()[targets].all()):
            return np.take(self.similarity(items), targets, axis=1)
        if len(items) and (items.min() < 0 or items.max() >= n):
            raise DataError(f"title index out of range [0, {n})", field="items", value=int(items[(items < 0) | (items >= n)][0]))
        c = np.float32(self._meta["config"]["content_weight"])
        sims = self._content_rows(items) @ t.content_dense  # the tiles' columns of the catalog's product
        sims *= c
        if t.topk is not None:  # the few stored neighbours only: the other cells add (1 - c) * 0
            at, lens = _entries(t.topk.indptr, items)
            rows = np.arange(len(items)).repeat(lens)
            sims[rows, t.topk.indices[at]] += self._topk_scaled(False, c)[at]
        else:
            collab = self._collab_rows(items, tiles=True)
            np.divide(collab, peak, out=collab, where=peak > 0)
            sims += (1 - c) * collab
        pos = t.pos(items)
        self_col = t.tiles[pos] == items  # a title's similarity to itself is 0
        sims[self_col.nonzero()[0], pos[self_col]] = 0.0
        return sims.take(t.pos(targets), axis=1)

    def _collab_sum_tiles(self, items: np.ndarray) -> np.ndarray:
        """``_collab(items, tiles=True).sum(axis=0)``: with top-k neighbours, from the stored
        entries only (each scaled by its row's peak over the tiles, added row after row as the
        column sums of the dense rows add them; the empty cells add 0)."""
        t = self._tiles
        if t.topk is None or not self._topk_canonical():
            return self._collab(items, tiles=True).sum(axis=0)
        at, _ = _entries(t.topk.indptr, items)
        out = np.zeros(t.n, np.float32)
        np.add.at(out, t.topk.indices[at], self._topk_scaled(True, None)[at])  # in row order
        return out

    def _content_rows(self, items: np.ndarray) -> np.ndarray:
        """float32 ``(len(items), d)``: ``dense_rows(content, items)``; a gather from the content
        vectors kept dense per model (the same values) when they are short and each title names
        a feature once."""
        if self._content_dense is None or not self._flag("content_canonical", lambda: _canonical(self._content)):
            return dense_rows(self._content, items)
        return self._derive("content_rows", lambda: _read_only(np.ascontiguousarray(self._content_dense.T)))[items]

    def _flag(self, name: str, compute) -> bool:
        """A fact about the arrays (``compute()``), found on first use."""
        try:
            return self._flags[name]
        except KeyError:
            value = self._flags[name] = bool(compute())
            return value

    def _derive(self, name: Hashable, compute) -> Any:
        """``compute()`` once per model for ``name`` (a value that depends on the arrays only)."""
        try:
            return self._derived[name]
        except KeyError:
            value = self._derived[name] = compute()
            return value

    def _is_tile(self) -> np.ndarray:
        """bool ``(n_items,)``: the titles that are their own tile (``fold[i] == i``)."""
        return self._derive("is_tile", lambda: _read_only(self._a["fold"] == np.arange(self.n_items)))

    def _topk_peaks(self, tiles: bool) -> np.ndarray:
        """float32 ``(n_items,)``: the peak of each title's collaborative row from its stored top-k
        entries, over the tiles (``tiles``) or the whole catalog, as ``_collab_sum_tiles`` and
        ``_collab_peak`` scale the rows (each row's own maximum, and 0 at most when the row has
        empty cells); computed for every title at once, once per model."""

        def compute() -> np.ndarray:
            topk, width = (self._tiles.topk, self._tiles.n) if tiles else (self._topk, self.n_items)
            lens = np.diff(topk.indptr)
            peak = np.zeros(len(lens), np.float32)
            has = lens > 0
            if has.any():  # each non-empty row's entries run from its start to the next non-empty row's
                peak[has] = np.maximum.reduceat(np.asarray(topk.data[: topk.indptr[-1]], np.float32), topk.indptr[:-1][has])
            return _read_only(np.where(lens < width, np.maximum(peak, 0.0), peak).astype(np.float32))

        return self._derive("peak_tiles" if tiles else "peak", compute)

    def _topk_scaled(self, tiles: bool, c: np.float32 | None) -> np.ndarray:
        """float32, one per stored entry of the tiles' top-k lists (``Tiles.topk``): the entry
        divided by its row's peak (``_topk_peaks(tiles)``; kept as it is where the peak is 0),
        times ``1 - c`` when ``c`` is given; the same operations a request would do on its own
        entries, done for every entry once per model."""

        def compute() -> np.ndarray:
            topk = self._tiles.topk
            vals = topk.data.astype(np.float32)
            scale = np.repeat(self._topk_peaks(tiles), np.diff(topk.indptr))
            np.divide(vals, scale, out=vals, where=scale > 0)
            return _read_only(vals if c is None else (1 - c) * vals)

        return self._derive(("topk_scaled", tiles, None if c is None else float(c)), compute)

    def _topk_canonical(self) -> bool:
        """Whether the top-k neighbour lists name each neighbour once (checked on first use)."""
        if "topk_canonical" not in self._flags:
            self._flags["topk_canonical"] = self._topk is not None and _canonical(self._topk)
        return self._flags["topk_canonical"]

    def _collab_peak(self, items: np.ndarray) -> np.ndarray | None:
        """float32 ``(len(items), 1)``: the peak of each collaborative row over the whole catalog
        (as ``_collab(items, tiles=False)`` normalizes), from the stored entries; None when the
        neighbour lists are not in canonical form (repeated entries)."""
        t = self._tiles
        if t.topk is not None:
            if not self._topk_canonical():
                return None
            return self._topk_peaks(False)[items][:, None]  # a row with empty cells has the dense row's zeros too
        if t.ease_at is not None:
            pos = self._a["ease_pos"][items]
            peak = np.zeros(len(items), np.float32)
            hit = np.flatnonzero(pos >= 0)
            if len(hit) and self._a["ease_weights"].shape[1]:
                peak[hit] = np.maximum(self._a["ease_weights"][pos[hit]], 0.0).max(axis=1)
            return peak[:, None]
        return np.zeros((len(items), 1), np.float32)

    def _mean_similarity_tiles(self, items: np.ndarray) -> np.ndarray:
        """``similarity(items)[:, tiles].mean(axis=0)`` without forming the rows' content part."""
        c = float(self._meta["config"]["content_weight"])
        t = self._tiles
        query = self._content_rows(items)
        content = query.sum(axis=0) @ t.content_dense if t.content_dense is not None else t.content @ query.sum(axis=0)
        # the self-similarity of each title is 0: take its own content term back out
        np.subtract.at(content, t.pos(items), np.einsum("ij,ij->i", query, query))
        out = self._collab_sum_tiles(items)
        if out.dtype != np.float32 or content.dtype != np.float32:
            out = (1.0 - c) * out + c * content
            return (out / len(items)).astype(np.float32)
        out *= 1.0 - c  # both fresh float32 arrays: the same operations, in place
        content *= c
        out += content
        out /= len(items)
        return out

    def neighbors(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` titles most similar to ``item`` (never itself): int32 titles, float32 similarity, descending."""
        row = self.similarity(np.array([item]))[0]
        k = max(0, min(int(k), self.n_items - 1))
        top = np.argpartition(-row, k - 1)[:k] if 0 < k < len(row) else np.arange(len(row))[:k]
        top = top[np.lexsort((top, -row[top]))]
        top = top[top != item]
        return top.astype(np.int32), row[top].astype(np.float32)

    # -- personal scorers --------------------------------------------------------------

    def _history(self, user: UserState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The member's plays folded to tiles (``Tiles.history``), read-only; kept for the last
        member asked (a request asks several times, and a UserState never changes)."""
        last = self._last_history
        if last is not None and last[0] is user:
            return last[1]
        out = tuple(_read_only(a) for a in self._tiles.history(user.items, user.last, user.fraction))
        self._last_history = (user, out)
        return out  # type: ignore[return-value]

    def personal(self, user: UserState) -> np.ndarray:
        """The personal scorer r(u, v) over the catalog (float32), folded in from the member's history."""
        return self.personal_ease(user) if self.personal_method == "ease" else self.personal_als(user)

    def _personal_tiles(self, hist: np.ndarray, strength: np.ndarray, method: str | None = None) -> np.ndarray:
        """float32 ``(T,)``: the personal scorer (``method``, default the model's) over the tiles."""
        t = self._tiles
        out = np.zeros(t.n, np.float32)
        if (method or self.personal_method) == "ease":
            if t.ease_at is None or len(hist) == 0:
                return out
            pos = self._a["ease_pos"][hist]
            pos = pos[pos >= 0]
            weights = self._a["ease_weights"]
            if len(pos) > 64:  # a long history: one matrix-vector product beats summing rows
                vec = np.zeros(len(weights), np.float32)
                vec[pos] = 1.0
                out[t.ease_at] = vec @ weights
            elif len(pos):
                out[t.ease_at] = weights[pos].sum(axis=0)
            return out
        if t.als is None:
            return out
        cfg = self._meta["config"]
        reg = float(cfg["als_regularization"])
        ridge = self._derive("als_ridge", lambda: _read_only(ridge_gram(self._als_gram, reg)))
        vec = implicit_fold_in(self._a["als_items"], hist, strength, reg, float(cfg["als_alpha"]), ridge=ridge)
        return t.als @ vec

    def personal_ease(self, user: UserState) -> np.ndarray:
        """EASE scores: the member's played titles times the EASE weights (0 where EASE is not fitted)."""
        hist, _, strength = self._history(user)
        return self._tiles.to_items(self._personal_tiles(hist, strength, "ease"))

    def personal_als(self, user: UserState) -> np.ndarray:
        """Implicit-ALS scores of the member folded in from their plays (0 where ALS is not fitted)."""
        hist, _, strength = self._history(user)
        return self._tiles.to_items(self._personal_tiles(hist, strength, "als"))

    def _rating_user(self, user: UserState, factors: bool) -> tuple[float, np.ndarray]:
        cfg = self._meta["config"]
        f = self._a["mf_factors"]
        if not factors:
            f = np.zeros((f.shape[0], 0), np.float32)
        items, last, _ = self._history(user)
        weights = recency_weights(items, last, user.rated, user.now, float(cfg["rating_recency"]), float(cfg["rating_recency_floor"]))
        return rating_fold_in(self._meta["mu"], self._a["mf_bias"], f, user.rated, user.ratings, float(cfg["rating_fold_in_regularization"]), float(cfg["rating_fold_in_bias_regularization"]), weights)

    def predict_rating(self, user: UserState, items: np.ndarray, *, factors: bool = True) -> np.ndarray:
        """Predicted ratings of ``items`` (float32). ``factors=False``: the bias baseline ``mu + b_u + b_i``."""
        items = np.asarray(items, np.int64)
        bias, vec = self._rating_user(user, factors)
        pred = self._meta["mu"] + bias + self._a["mf_bias"][items]
        if factors:
            pred = pred + self._a["mf_factors"][items] @ vec
        lo, hi = self._meta["rating_range"]
        return np.clip(pred, lo, hi).astype(np.float32)

    # -- the learned blend ---------------------------------------------------------------

    def personal_many(self, users: list[UserState]) -> np.ndarray:
        """``personal`` for many members at once (one matrix product for EASE): float32 ``(len(users), n_items)``."""
        t = self._tiles
        if self.personal_method != "ease" or t.ease_at is None:
            return np.stack([self.personal(u) for u in users]) if users else np.zeros((0, self.n_items), np.float32)
        weights = self._a["ease_weights"]
        hist = np.zeros((len(users), len(weights)), np.float32)
        for row, user in enumerate(users):
            pos = self._a["ease_pos"][self._history(user)[0]]
            hist[row, pos[pos >= 0]] = 1.0
        out = np.zeros((len(users), t.n), np.float32)
        out[:, t.ease_at] = hist @ weights
        return t.to_items(out)

    def _time_features(self, now: int) -> np.ndarray:
        short, long = self._trend_windows()
        index = self._count_index("pop_keys")
        return self._cached(("time", int(now)), lambda: time_features(lambda t: self._before("pop_keys", t), index, self._tiles, int(now), short, long))

    def _user_features(self, user: UserState, personal: np.ndarray | None) -> np.ndarray:
        """float32 ``(T, len(USER_FEATURES))`` over the tiles; ``personal`` over tiles when at hand."""
        t = self._tiles
        out = np.zeros((t.n, len(USER_FEATURES)), np.float32)
        hist, _, strength = self._history(user)
        if personal is None:
            personal = self._personal_tiles(hist, strength)
        spread = float(_std(personal)) if t.n else 0.0
        out[:, 0] = personal / spread if spread > 0 else personal
        if len(hist) and t.genres.shape[1]:
            taste = self._a["genres"][hist].sum(axis=0)
            # np.linalg.norm's own formula for a float vector, without its dispatch
            norm = (np.sqrt(taste.dot(taste)) if taste.dtype.kind == "f" else np.linalg.norm(taste)) * t.genre_norm
            out[:, 1] = np.divide(t.genres @ taste, norm, out=np.zeros(t.n, np.float32), where=norm > 0)
        recent = hist[: int(self._meta["config"]["recent_plays"])]
        if len(recent):
            out[:, 2] = self._mean_similarity_tiles(recent)
        if len(user.rated):
            bias, vec = self._rating_user(user, True)
            lo, hi = self._meta["rating_range"]
            pred = self._meta["mu"] + bias + t.mf_bias + t.mf_factors @ vec  # a fresh float32 array
            np.clip(pred, lo, hi, out=pred)
            out[:, 3] = pred - _mean(pred)
        return out

    def features(self, user: UserState, *, personal: np.ndarray | None = None) -> np.ndarray:
        """The blend's features (see ``_blend``) for every title: float32 ``(n_items, len(FEATURES))``.

        ``personal``: the member's ``personal`` scores (over the catalog) when already computed.
        An episode gets its series' features.
        """
        t = self._tiles
        out = np.empty((t.n, len(FEATURES)), np.float32)
        out[:, _TIME_COLS] = self._time_features(user.now)
        out[:, _USER_COLS] = self._user_features(user, None if personal is None else np.asarray(personal, np.float32)[t.tiles])
        return out if t.expand is None else out[t.expand]

    def _time_part(self, now: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-``now`` part of the blend: ``(time features . w + b - mean . w, user weights)``."""
        w_time, const, w_user = self._derive("blend", self._blend_weights)

        def compute() -> np.ndarray:
            return (self._time_features(now) @ w_time + const).astype(np.float32)

        return self._cached(("time_part", int(now)), compute), w_user

    def _blend_weights(self) -> tuple[np.ndarray, np.float32, np.ndarray]:
        """The blend's weights on the scaled features, split into the time and the user features
        (float32, read-only), and its constant ``b - mean . w`` (float32)."""
        w = self._a["blend_weights"] / self._a["blend_scale"]
        const = float(self._meta["blend_bias"]) - float(self._a["blend_mean"] @ w)
        return _read_only(w[_TIME_COLS].astype(np.float32)), np.float32(const), _read_only(w[_USER_COLS].astype(np.float32))

    def score(self, user: UserState) -> np.ndarray:
        """The personalized video ranker: ``w . features(u, v) + b`` for every title (float32, finite).

        Computed over the tiles (an episode scores as its series); the ``now``-only part is
        shared by the requests at the same ``now``.
        """
        base, w_user = self._time_part(user.now)
        out = base + self._user_features(user, None) @ w_user  # float32, a fresh array
        if np.count_nonzero(np.isfinite(out)) != out.size:  # (nothing to replace otherwise)
            np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return self._tiles.to_items(out)

    # -- files -------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write ``path`` (.npz arrays) and its JSON manifest next to it, atomically (see ``_modelio``)."""
        from ._modelio import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> Model:
        """Read a model written by ``save``; ModelFileError when a file is missing, corrupt or mismatched."""
        from ._modelio import load_model

        return load_model(path)


def _canonical(mat: sp.csr_array) -> bool:
    """Whether no row of ``mat`` names a column twice (then a row's stored entries are its cells)."""
    copy = mat.copy()
    copy.sum_duplicates()
    return copy.nnz == mat.nnz


def _entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the stored entries of ``rows`` of a CSR matrix (row after row), and each row's count."""
    start, stop = indptr[rows], indptr[rows + 1]
    lens = stop - start
    return np.arange(int(lens.sum())) + (start - lens.cumsum() + lens).repeat(lens), lens


def _mean(x: np.ndarray) -> np.floating:
    """``x.mean()`` of a 1-D float array by numpy's own steps (``_methods._mean``), without its
    wrapper: the sum, divided by the count as an ``intp`` (in float64 for a float32 sum), in ``x``'s type."""
    return x.dtype.type(x.sum() / np.intp(x.size))


def _std(x: np.ndarray) -> np.floating:
    """``x.std()`` of a 1-D float array by numpy's own steps (``_methods._var``), without its wrapper."""
    n = np.intp(x.size)
    mean = x.sum(keepdims=True)
    np.true_divide(mean, n, out=mean, casting="unsafe")
    dev = x - mean
    np.multiply(dev, dev, out=dev)
    return np.sqrt(x.dtype.type(dev.sum() / n))


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
