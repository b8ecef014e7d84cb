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

This module holds the arrays, the caches, popularity, trending and ``update``; ``Model``
inherits the similarity answers from ``_model_similarity.SimilarityMixin`` and the per-member
ones (personal scorers, rating predictor, learned blend) from ``_model_personal.PersonalMixin``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError, ModelFileError
from pagegen.core._interactions import PLAY, Interactions
from pagegen.core._userstate import UserState

from ._als import item_gram
from ._features import DENSE_CONTENT, Tiles
from ._model_personal import PersonalMixin
from ._model_sequence import SequenceMixin
from ._model_similarity import SimilarityMixin
from ._modelio import read_model_files, write_model_files
from ._popularity import (
    CountIndex,
    first_per_day,
    merge_keys,
    play_keys,
    trend_from_counts,
)
from ._validate import validate_model

__all__ = ["Model"]


class Model(SimilarityMixin, PersonalMixin, SequenceMixin):
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

    def check_catalog(self, catalog: Catalog, *, field: str = "model", value: object = None) -> None:
        """DataError (naming ``field`` and ``value``) unless ``catalog`` is the one the model was fitted on:
        the same ids in the same order, by ``Catalog.fingerprint``."""
        n, digest = self.n_items, self._meta["catalog_sha256"]
        if n != catalog.n or digest != catalog.fingerprint():
            raise DataError(
                f"fitted on another catalog ({n:,} titles, ids sha256 {digest[:12]}...; this catalog: {catalog.n:,} titles, "
                f"{catalog.fingerprint()[:12]}...): fit a model on this catalog", field=field, value=value,
            )  # fmt: skip

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

    # -- files -------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write ``path`` (.npz arrays) and its JSON manifest next to it, atomically (see ``_modelio``)."""
        write_model_files(path, self.arrays, self.meta)

    @classmethod
    def load(cls, path) -> Model:
        """Read a model written by ``save``; ModelFileError when a file is missing, corrupt or mismatched."""
        arrays, meta = read_model_files(path)
        validate_model(arrays, meta, str(path))
        try:
            return cls(arrays, meta)
        except (KeyError, ValueError, TypeError) as err:
            raise ModelFileError(f"{path}: arrays do not form a model ({type(err).__name__}: {err})") from None

