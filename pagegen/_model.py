"""The fitted Model: pure arrays plus a small JSON-able description, no reference to training data.

Every answer is computed as of the caller's ``now`` from the arrays: popularity and trending
from the sorted play keys (events before ``now`` only), similarity from EASE weights (or
sparse top-k neighbours on large catalogs) blended with content similarity, the personal
scorer and the rating predictor folded in from the member's own history, and the learned
blend on top. ``fit`` (in ``_fit``) builds one; ``save``/``load`` are in ``_modelio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._als import implicit_fold_in, item_gram, rating_fold_in
from ._blend import FEATURES
from ._errors import DataError
from ._interactions import PLAY, Interactions
from ._popularity import SPAN, item_starts, merge_keys, play_keys, plays_before, trend_from_counts, window_counts
from ._userstate import UserState

__all__ = ["Model"]

DAY = 86_400
YEAR = 365.25 * DAY


class Model:
    """What ``fit`` learned. Immutable: ``update`` returns a new Model.

    ``arrays`` holds every learned array (read-only numpy), ``meta`` the JSON-able rest
    (config, scalars, names). Both are what ``save`` writes and ``load`` reads back.
    """

    __slots__ = ("_a", "_als_gram", "_before_cache", "_content", "_meta", "_starts", "_topk")

    def __init__(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        frozen = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            arr.setflags(write=False)
            frozen[name] = arr
        self._a = frozen
        self._meta = dict(meta)
        self._content = self._csr("content")
        self._topk = self._csr("topk") if "topk_indptr" in frozen else None
        self._starts: dict[str, np.ndarray] = {}
        self._before_cache: dict[tuple[int, ...], np.ndarray] = {}
        self._als_gram = item_gram(self._a["als_items"]) if "als_items" in frozen else None

    def _csr(self, name: str) -> sp.csr_array:
        a = self._a
        return sp.csr_array((a[f"{name}_data"], a[f"{name}_indices"], a[f"{name}_indptr"]), shape=tuple(self._meta[f"{name}_shape"]))

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

    def _keys(self, region: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The sorted play keys (all members, or one region's) and each title's segment start."""
        name = "pop_keys"
        if region is not None:
            names = self._meta["region_names"]
            if names and region not in names:
                raise DataError("unknown region", field="region", value=region)
            if f"pop_keys_region_{region}" in self._a:
                name = f"pop_keys_region_{region}"
        keys = self._a[name]
        if name not in self._starts:
            self._starts[name] = item_starts(keys, self.n_items)
        return keys, self._starts[name]

    def popularity(self, now: int, *, window: int | None = None, region: str | None = None) -> np.ndarray:
        """Plays of every title in ``[now - window, now)`` (all time before ``now`` when ``window`` is None); float32.

        With ``region``: plays by members of that region when regions were known at fit time,
        and only titles available there (others 0).
        """
        if window is not None and window <= 0:
            raise DataError("window must be positive (seconds)", field="window", value=window)
        lo = None if window is None else int(now) - int(window)
        keys, starts = self._keys(region)
        counts = window_counts(keys, starts, self._meta["origin"], lo, int(now)).astype(np.float32)
        if region is not None and self._meta["region_names"]:
            counts[~self._available(region)] = 0.0
        return counts

    def _available(self, region: str) -> np.ndarray:
        avail = self._a["regions"]
        j = self._meta["region_names"].index(region)
        return avail[:, j] | ~avail.any(axis=1)

    def trending(self, now: int) -> np.ndarray:
        """Short-term velocity against a longer baseline, as of ``now`` (see ``trend_scores``); float32 >= 0."""
        cfg = self._meta["config"]
        short, long = int(cfg["trend_short"]), int(cfg["trend_long"])
        at_now, at_short, at_long = self._before([int(now), int(now) - short, int(now) - long])
        return trend_from_counts(at_now - at_short, at_short - at_long, short, long)

    def _before(self, times: list[int]) -> np.ndarray:
        """Plays of every title before each time; the last few answers are kept (pages of one
        batch share their ``now``), which is safe because a Model never changes."""
        key = tuple(int(t) for t in times)
        hit = self._before_cache.get(key)
        if hit is None:
            keys, starts = self._keys(None)
            hit = plays_before(keys, starts, self._meta["origin"], times)
            hit.setflags(write=False)
            if len(self._before_cache) >= 8:
                self._before_cache.pop(next(iter(self._before_cache)))
            self._before_cache[key] = hit
        return hit

    def update(self, events: Interactions, *, regions: np.ndarray | None = None) -> Model:
        """The nearline path: a new Model whose popularity and trending include ``events``' plays.

        Nothing is refitted. ``regions`` optionally gives each event's member region name
        (an array of strings, one per event) to update the per-region counts too.
        """
        if events.n_items != self.n_items:
            raise DataError(f"events are over {events.n_items} titles, the model over {self.n_items}", field="n_items", value=events.n_items)
        play = events.kind == PLAY
        arrays = dict(self._a)
        origin = self._meta["origin"]
        arrays["pop_keys"] = merge_keys(self._a["pop_keys"], play_keys(events.item[play], events.timestamp[play], origin))
        if regions is not None:
            regions = np.asarray(regions).astype(str)
            if regions.shape != (events.n,):
                raise DataError(f"regions has shape {regions.shape}, expected ({events.n},)", field="regions")
            for name in np.unique(regions[play]):
                key = f"pop_keys_region_{name}"
                sel = play & (regions == name)
                new = play_keys(events.item[sel], events.timestamp[sel], origin)
                arrays[key] = merge_keys(self._a[key], new) if key in self._a else new
        return Model(arrays, self._meta)

    # -- similarity ----------------------------------------------------------------------

    def _collab_rows(self, items: np.ndarray) -> np.ndarray:
        """Collaborative similarity rows over the catalog, each scaled to a maximum of 1."""
        out = np.zeros((len(items), self.n_items), np.float32)
        if self._topk is not None:
            out[:] = self._topk[items].toarray()
        elif "ease_items" in self._a:
            active = self._a["ease_items"]
            pos = self._a["ease_pos"][items]
            hit = pos >= 0
            if hit.any():
                rows = np.maximum(self._a["ease_weights"][pos[hit]], 0.0)
                out[np.ix_(np.flatnonzero(hit), active)] = rows
        peak = out.max(axis=1, keepdims=True)
        np.divide(out, peak, out=out, where=peak > 0)
        return out

    def similarity(self, items: np.ndarray) -> np.ndarray:
        """Similarity rows of the given titles over the catalog: float32 ``(len(items), n_items)`` in [0, 1].

        ``(1 - c) * collaborative + c * content`` with ``c = config.content_weight``; a title
        with no plays is similar by content only. A title's similarity to itself is 0.
        """
        items = np.atleast_1d(np.asarray(items, np.int64))
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise DataError(f"title index out of range [0, {self.n_items})", field="items", value=int(items[(items < 0) | (items >= self.n_items)][0]))
        c = float(self._meta["config"]["content_weight"])
        content = (self._content[items] @ self._content.T).toarray().astype(np.float32)
        sims = (1.0 - c) * self._collab_rows(items) + c * content
        sims[np.arange(len(items)), items] = 0.0
        return sims

    def neighbors(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` titles most similar to ``item`` (never itself): int32 titles, float32 similarity, descending."""
        row = self.similarity(np.array([item]))[0]
        k = max(0, min(int(k), self.n_items - 1))
        top = np.argpartition(-row, k - 1)[:k] if 0 < k < len(row) else np.arange(len(row))[:k]
        top = top[np.lexsort((top, -row[top]))]
        top = top[top != item]
        return top.astype(np.int32), row[top].astype(np.float32)

    # -- personal scorers --------------------------------------------------------------

    def personal(self, user: UserState) -> np.ndarray:
        """The personal scorer r(u, v) over the catalog (float32), folded in from the member's history."""
        return self.personal_ease(user) if self.personal_method == "ease" else self.personal_als(user)

    def personal_ease(self, user: UserState) -> np.ndarray:
        """EASE scores: the member's played titles times the EASE weights (0 where EASE is not fitted)."""
        out = np.zeros(self.n_items, np.float32)
        if "ease_items" not in self._a or len(user.items) == 0:
            return out
        pos = self._a["ease_pos"][user.items]
        pos = pos[pos >= 0]
        weights = self._a["ease_weights"]
        if len(pos) > 64:  # a long history: one matrix-vector product beats summing rows
            hist = np.zeros(len(weights), np.float32)
            hist[pos] = 1.0
            out[self._a["ease_items"]] = hist @ weights
        elif len(pos):
            out[self._a["ease_items"]] = weights[pos].sum(axis=0)
        return out

    def personal_als(self, user: UserState) -> np.ndarray:
        """Implicit-ALS scores of the member folded in from their plays (0 where ALS is not fitted)."""
        if "als_items" not in self._a:
            return np.zeros(self.n_items, np.float32)
        cfg = self._meta["config"]
        factors = self._a["als_items"]
        vec = implicit_fold_in(factors, user.items, user.fraction, float(cfg["als_regularization"]), float(cfg["als_alpha"]), self._als_gram)
        return (factors @ vec).astype(np.float32)

    def _rating_user(self, user: UserState, factors: bool) -> tuple[float, np.ndarray]:
        cfg = self._meta["config"]
        f = self._a["mf_factors"]
        if not factors:
            f = np.zeros((f.shape[0], 0), np.float32)
        # recency rank of each rating, from the time of the play logged with it (unplayed: most recent)
        when = np.full(len(user.rated), user.now, np.int64)
        if len(user.items) and len(user.rated):
            order = np.argsort(user.items)
            pos = np.minimum(np.searchsorted(user.items[order], user.rated), len(order) - 1)
            found = user.items[order][pos] == user.rated
            when[found] = user.last[order][pos][found]
        rank = np.argsort(np.argsort(-when, kind="stable"), kind="stable")
        weights = float(cfg["rating_recency_floor"]) + np.exp(-rank / float(cfg["rating_recency"]))
        weights = weights / weights.mean() if len(weights) else weights
        return rating_fold_in(self._meta["mu"], self._a["mf_bias"], f, user.rated, user.ratings, float(cfg["rating_regularization"]), float(cfg["rating_bias_regularization"]), weights)

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
        if self.personal_method != "ease":
            return np.stack([self.personal(u) for u in users]) if users else np.zeros((0, self.n_items), np.float32)
        weights = self._a["ease_weights"]
        hist = np.zeros((len(users), len(weights)), np.float32)
        for row, user in enumerate(users):
            pos = self._a["ease_pos"][user.items]
            hist[row, pos[pos >= 0]] = 1.0
        out = np.zeros((len(users), self.n_items), np.float32)
        out[:, self._a["ease_items"]] = hist @ weights
        return out

    def features(self, user: UserState, *, personal: np.ndarray | None = None) -> np.ndarray:
        """The blend's features (see ``_blend``) for every title: float32 ``(n_items, len(FEATURES))``.

        ``personal``: the member's ``personal`` scores when already computed.
        """
        now = user.now
        n = self.n_items
        out = np.zeros((n, len(FEATURES)), np.float32)
        if personal is None:
            personal = self.personal(user)
        spread = float(personal.std())
        out[:, 0] = personal / spread if spread > 0 else personal
        cfg = self._meta["config"]
        short, long = int(cfg["trend_short"]), int(cfg["trend_long"])
        at_now, at_year, at_short, at_long = self._before([now, now - 365 * DAY, now - short, now - long])
        out[:, 1] = np.log1p(at_now)
        out[:, 2] = np.log1p(at_now - at_year)
        out[:, 3] = np.log1p(trend_from_counts(at_now - at_short, at_short - at_long, short, long))
        genres = self._a["genres"]
        if len(user.items) and genres.shape[1]:
            taste = genres[user.items].sum(axis=0)
            norm = np.linalg.norm(taste) * self._a["genre_norm"]
            out[:, 4] = np.divide(genres @ taste, norm, out=np.zeros(n, np.float32), where=norm > 0)
        recent = user.items[: int(self._meta["config"]["recent_plays"])]
        if len(recent):
            out[:, 5] = self.similarity(recent).mean(axis=0)
        if len(user.rated):
            pred = self.predict_rating(user, np.arange(n))
            out[:, 6] = pred - pred.mean()
        year = self._a["year"].astype(np.float32)
        now_year = 1970.0 + now / YEAR
        known = year > 0
        out[:, 7] = np.where(known, np.log1p(np.maximum(now_year - year, 0.0)), 0.0)
        out[:, 8] = known & (year > np.floor(now_year))
        keys, starts = self._keys(None)
        played = (starts[1:] > starts[:-1]) & (at_now > 0)
        first = keys[np.minimum(starts[:-1], len(keys) - 1)] - np.arange(n, dtype=np.int64) * SPAN + self._meta["origin"] if len(keys) else np.zeros(n, np.int64)
        out[:, 9] = np.where(played, np.log1p(np.maximum(now - first, 0) / DAY), 0.0)
        return out

    def score(self, user: UserState) -> np.ndarray:
        """The personalized video ranker: ``w . features(u, v) + b`` for every title (float32, finite)."""
        feats = self.features(user).astype(np.float64)
        z = (feats - self._a["blend_mean"]) / self._a["blend_scale"]
        out = z @ self._a["blend_weights"] + self._meta["blend_bias"]
        return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

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
