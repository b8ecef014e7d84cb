"""The Model's answers for one member: the personal scorers (EASE or implicit ALS, folded in from
the member's plays), the rating predictor, and the learned blend (``features``, ``score``).

``PersonalMixin`` holds the methods; ``Model`` (in ``_model``) inherits them and owns what they
read: the arrays (``_a``, ``_meta``, ``_tiles``, ``_als_gram``), the caches (``_cached``,
``_derive``, ``_last_history``), the play counts (``_before``, ``_count_index``,
``_trend_windows``) and the similarity (``_mean_similarity_tiles``). The member's folded history
is kept for the last member asked; the blend's ``now``-only part for the last few moments.
"""

from __future__ import annotations

import numpy as np

from pagegen.core._userstate import UserState

from ._als import implicit_fold_in, rating_fold_in, ridge_gram
from ._blend import FEATURES
from ._features import TIME_FEATURES, USER_FEATURES, recency_weights, time_features
from ._model_similarity import _read_only
from ._neighbours import Neighbours, correction

__all__ = ["PersonalMixin"]

_TIME_COLS = [FEATURES.index(f) for f in TIME_FEATURES]
_USER_COLS = [FEATURES.index(f) for f in USER_FEATURES]


class PersonalMixin:
    """The per-member methods of ``Model`` (see the module's docstring); no state of its own."""

    __slots__ = ()

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

    def predict_rating(self, user: UserState, items: np.ndarray, *, factors: bool = True, neighbours: bool = True) -> np.ndarray:
        """Predicted ratings of ``items`` (float32): the MF ``mu + b_u + b_i + p_u . q_i`` plus the
        neighbourhood corrections of ``_neighbours`` (the rating correlations when the model has them).
        ``neighbours=False``: the MF alone; ``factors=False``: the bias baseline ``mu + b_u + b_i``."""
        items = np.asarray(items, np.int64)
        bias, vec = self._rating_user(user, factors)
        pred = self._mf_rating(bias, vec, items)
        if factors and neighbours and len(user.rated) and len(items):
            cfg = self._meta["config"]
            rated = np.asarray(user.rated, np.int64)
            ratings = np.asarray(user.ratings, np.float64)
            deviation = ratings - self._mf_rating(bias, vec, rated)
            similar = float(cfg["rating_similar_weight"])
            if similar:
                pred = pred + similar * correction(self.similarity_at(items, rated), deviation, int(cfg["rating_item_neighbours"]))
            nb = self._derive("neighbours", self._neighbours)
            if nb is not None:
                resid = ratings - self._meta["mu"] - self._a["mf_bias"][rated]
                pred = pred + float(cfg["rating_item_weight"]) * nb.item_correction(items, rated, deviation)
                pred = pred + float(cfg["rating_user_weight"]) * nb.user_correction(items, rated, resid - resid.mean())
        lo, hi = self._meta["rating_range"]
        return np.clip(pred, lo, hi).astype(np.float32)

    def _mf_rating(self, bias: float, vec: np.ndarray, items: np.ndarray) -> np.ndarray:
        """float64 unclipped ``mu + bias + b_i (+ q_i . vec)`` of ``items`` (no factors when ``vec`` is empty)."""
        pred = self._meta["mu"] + bias + self._a["mf_bias"][items].astype(np.float64)
        if len(vec):
            pred = pred + self._a["mf_factors"][items] @ vec
        return pred

    def _neighbours(self) -> Neighbours | None:
        if "neighbours_indptr" not in self._a:
            return None
        cfg = self._meta["config"]
        return Neighbours(self._csr("neighbours"), float(cfg["rating_neighbour_shrink"]), int(cfg["rating_item_neighbours"]), int(cfg["rating_user_neighbours"]))

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
        """float32 ``(T, len(USER_FEATURES))`` over the tiles; ``personal`` over tiles when at hand.

        Each feature is written straight into its column (no temporary copied in), 0 when the
        member has nothing to compute it from.
        """
        t = self._tiles
        out = np.empty((t.n, len(USER_FEATURES)), np.float32)
        hist, _, strength = self._history(user)
        if personal is None:
            personal = self._personal_tiles(hist, strength)
        spread = float(personal.std()) if t.n else 0.0
        if spread > 0:
            np.divide(personal, spread, out=out[:, 0])
        else:
            out[:, 0] = personal
        if len(hist) and t.genres.shape[1]:
            self._genre_match(self._a["genres"][hist].sum(axis=0), out[:, 1])
        else:
            out[:, 1] = 0.0
        recent = hist[: int(self._meta["config"]["recent_plays"])]
        if len(recent):
            out[:, 2] = self._mean_similarity_tiles(recent)
        else:
            out[:, 2] = 0.0
        if len(user.rated):
            bias, vec = self._rating_user(user, True)
            lo, hi = self._meta["rating_range"]
            pred = self._meta["mu"] + bias + t.mf_bias + t.mf_factors @ vec  # a fresh float32 array
            np.clip(pred, lo, hi, out=pred)
            np.subtract(pred, pred.mean(), out=out[:, 3])
        else:
            out[:, 3] = 0.0
        self._sequence_features(user, out[:, 4:9])
        self._continuing(user, out[:, 9])
        return out

    def _genre_match(self, taste: np.ndarray, out: np.ndarray) -> None:
        """``out[i]``: the cosine of tile i's genres with the member's ``taste`` (the genres of their
        tiles played, summed), ``(genres @ taste) / (|taste| * genre_norm)`` where that norm is
        positive, else 0."""
        t = self._tiles
        size = np.linalg.norm(taste)
        norm = size * t.genre_norm
        out[:] = np.divide(t.genres @ taste, norm, out=np.zeros(t.n, np.float32), where=norm > 0)

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
