"""The synthetic world's ground truth: the chance that a member plays a title when it is shown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pagegen.core._arrays import frozen
from pagegen.core._errors import DataError

from ._synthetic_catalog import TASTE_NAMES
from ._world_config import _AFFINITY, _INTERCEPT

__all__ = ["Truth"]


@dataclass(frozen=True, eq=False, repr=False)
class Truth:
    """Ground-truth preference: ``P(play | shown) = sigmoid(a + b * taste_u . taste_i + quality_i + factor_u . factor_i - f * shown_ui)``.

    taste (n_members, n_tastes) and item_taste (n_items, n_tastes): mixtures over TASTE_NAMES;
    factor / item_factor: idiosyncratic dimensions; quality: a title's intrinsic appeal.
    An episode has its series' parameters. ``fatigue`` f: the logit lost with each earlier
    showing of the title to the member that was not played (``shown``, given by the caller, 0
    by default: a fresh title).
    """

    taste: np.ndarray
    factor: np.ndarray
    item_taste: np.ndarray
    item_factor: np.ndarray
    quality: np.ndarray
    taste_names: tuple[str, ...] = TASTE_NAMES
    intercept: float = _INTERCEPT
    affinity: float = _AFFINITY
    fatigue: float = 0.0

    def __post_init__(self) -> None:
        for name in ("taste", "factor", "item_taste", "item_factor", "quality"):
            object.__setattr__(self, name, frozen(getattr(self, name), np.float32))

    @property
    def n_members(self) -> int:
        return len(self.taste)

    @property
    def n_items(self) -> int:
        return len(self.quality)

    def preference(self, user: int, items: np.ndarray, shown: np.ndarray | None = None) -> np.ndarray:
        """P(play | shown) of member index ``user`` for each of ``items`` (catalog indices): float64 in [0, 1].

        ``shown`` (one count per item, optional): the earlier showings of each title to the member
        that were not played; each costs ``fatigue`` of the logit."""
        if not 0 <= int(user) < self.n_members:
            raise DataError(f"member index out of range [0, {self.n_members - 1}]", field="user", value=user)
        items = self._items(items)
        u = int(user)
        logit = self.intercept + self.quality[items] + self.affinity * (self.item_taste[items] @ self.taste[u]) + self.item_factor[items] @ self.factor[u]
        return _sigmoid(logit - self._fatigue(shown, items.shape))

    def _fatigue(self, shown: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | float:
        if shown is None or self.fatigue == 0.0:
            return 0.0
        shown = np.asarray(shown, dtype=np.float64)
        if shown.shape != shape:
            raise DataError(f"shown has shape {shown.shape}, expected {shape} (one count per item)", field="shown")
        if shown.size and not (shown.min() >= 0 and np.isfinite(shown).all()):
            raise DataError("unplayed showings must be finite counts >= 0", field="shown", value=float(shown[~(shown >= 0) | ~np.isfinite(shown)][0]))
        return self.fatigue * shown

    def preference_pairs(self, users: np.ndarray, items: np.ndarray, shown: np.ndarray | None = None) -> np.ndarray:
        """P(play | shown) for each (users[j], items[j]) pair, vectorized: float64 in [0, 1];
        ``shown`` as for ``preference``, one count per pair."""
        users = np.asarray(users, dtype=np.int64)
        items = self._items(items)
        if users.shape != items.shape:
            raise DataError(f"{len(users)} users for {len(items)} items", field="users")
        if len(users) and (users.min() < 0 or users.max() >= self.n_members):
            raise DataError(f"member index out of range [0, {self.n_members - 1}]", field="users", value=int(users[(users < 0) | (users >= self.n_members)][0]))
        aff = np.einsum("ij,ij->i", self.item_taste[items], self.taste[users])
        idio = np.einsum("ij,ij->i", self.item_factor[items], self.factor[users])
        logit = self.intercept + self.quality[items] + self.affinity * aff + idio
        return _sigmoid(logit - self._fatigue(shown, items.shape))

    def _items(self, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items)
        if items.dtype.kind not in "iu":
            raise DataError("item indices must be integers", field="items", value=str(items.dtype))
        items = items.astype(np.int64, copy=False)
        if items.size and (items.min() < 0 or items.max() >= self.n_items):
            raise DataError(f"item index out of range [0, {self.n_items - 1}]", field="items", value=int(items[(items < 0) | (items >= self.n_items)][0]))
        return items


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64)))
