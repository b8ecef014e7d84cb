"""Candidate rows (what rankers produce) and the context a ranker is called with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ._errors import DataError

if TYPE_CHECKING:
    from ._catalog import Catalog
    from ._userstate import UserState

__all__ = ["ROW_KINDS", "CandidateRow", "RankContext", "Ranker"]

#: The built-in row kinds. A custom ranker may use its own kind string too.
ROW_KINDS: tuple[str, ...] = (
    "continue_watching",
    "top_picks",
    "top10",
    "trending",
    "because_you_watched",
    "genre",
    "new_releases",
    "popular",
)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class CandidateRow:
    """One candidate row: a titled, ranked list of titles with the evidence for showing it.

    kind      row family (one of ROW_KINDS, or a custom kind)
    key       stable identity of the row across requests, e.g. ``byw:1234``, ``genre:Comedy``
    title     display title, e.g. "Because you watched Alien"
    items     int32 catalog indices, best first, no repeats
    scores    float32, one per item, finite
    evidence  why the row is on the page: JSON-friendly values (ids, names, numbers)
    score     the row's own relevance to the member (used to order rows), finite
    reasons   optional per-item reason strings (same length as items)
    """

    kind: str
    key: str
    title: str
    items: np.ndarray
    scores: np.ndarray
    evidence: Mapping[str, Any] = field(default_factory=dict)
    score: float = 0.0
    reasons: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        items = np.asarray(self.items, dtype=np.int32).ravel()
        scores = np.asarray(self.scores, dtype=np.float32).ravel()
        where = f"row {self.key!r}"
        if items.shape != scores.shape:
            raise DataError(f"{where}: {len(items)} items but {len(scores)} scores", field="scores")
        if not np.all(np.isfinite(scores)):
            pos = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise DataError(f"{where}: non-finite score at position {pos}", field="scores", value=float(scores[pos]))
        if not np.isfinite(self.score):
            raise DataError(f"{where}: non-finite row score", field="score", value=self.score)
        if len(np.unique(items)) != len(items):
            raise DataError(f"{where}: a title appears twice", field="items")
        if self.reasons is not None and len(self.reasons) != len(items):
            raise DataError(f"{where}: {len(self.reasons)} reasons for {len(items)} items", field="reasons")
        object.__setattr__(self, "items", _frozen(items))
        object.__setattr__(self, "scores", _frozen(scores))
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "evidence", dict(self.evidence))
        if self.reasons is not None:
            object.__setattr__(self, "reasons", tuple(self.reasons))

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, eq=False)
class RankContext:
    """What a ranker sees for one request.

    catalog, model   the service's catalog and fitted model
    user             the member as of ``user.now``
    eligible         bool mask over the catalog: titles this member may be shown at all
                     (displayable kind, maturity, region, not finished)
    n                how many titles a row should hold at most
    rng              the request's random generator, derived from (seed, member)
    """

    catalog: Catalog
    model: Any
    user: UserState
    eligible: np.ndarray
    n: int
    rng: np.random.Generator

    @property
    def now(self) -> int:
        return self.user.now


class Ranker(Protocol):
    """A row ranker: one call, a context in, candidate rows out. A plain function qualifies."""

    def __call__(self, ctx: RankContext, /) -> Sequence[CandidateRow]: ...


RankerFn = Callable[[RankContext], Sequence[CandidateRow]]
