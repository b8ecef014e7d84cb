"""A hard page rule as one object with three faces (``Constraint``), and the views the builders give it.

- the greedy face: at each row index of the page builder's greedy loop, ``entries(loop)`` says which
  titles each candidate row may still show (a mask over the rows x positions matrix) and
  ``rows(loop)`` which candidate rows may stand at this row index (a mask over the candidates);
  both see every candidate at once (``Loop``);
- the exact face: ``add_to(model)`` adds the rule to the CP-SAT model of the exact selector
  (``ExactModel``);
- the check face: ``violations(page, policy, user, catalog)`` lists where a finished page breaks it
  (what ``policies.check`` reports).

The page builders fill these views; this module knows nothing of them, so a policy (and a user's
own rule) depends only on ``pagegen.core``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from pagegen.core._candidates import CandidateRow
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState

    from ._violation import Violation

__all__ = ["Candidates", "Constraint", "ExactModel", "Loop", "RowMask"]


class Candidates(Protocol):
    """The candidate rows of one request, as the builders prepared them (integer arrays).

    rows        the candidate rows, in the order of the arrays below
    catalog     the catalog; ``eligible``: bool (n_items,), the titles the request may show
    device      the request's device (picks the policy's visible window)
    M           int32 (R, Lmax): eligible titles of each candidate in its ranker's order, -1 padded
    length      int (R,): eligible titles per candidate
    kind        int (R,): code into ``kinds`` (sorted names)
    declared    bool (R, len(genre_names)): the genres each candidate declares in its evidence
    row_score   float64 (R,): the ranker's row score, clipped at 0
    """

    rows: tuple[CandidateRow, ...]
    catalog: Catalog
    device: str
    M: np.ndarray
    length: np.ndarray
    kind: np.ndarray
    kinds: tuple[str, ...]
    declared: np.ndarray
    genre_names: tuple[str, ...]
    row_score: np.ndarray

    @property
    def eligible(self) -> np.ndarray: ...


@dataclass(eq=False)
class Loop:
    """What a constraint sees at one row index of the greedy loop (the loop updates it in place).

    p          the row index being filled (0-based)
    placed     the candidate rows placed above, top to bottom
    shown      the titles each of them shows, left to right
    refilled   int (R,): titles each candidate would show from (after every constraint's ``entries``);
               set before ``rows`` is asked
    memo       per-page scratch space, by constraint (e.g. counts a constraint updates as rows are placed)
    """

    candidates: Candidates
    p: int = 0
    placed: list[int] = field(default_factory=list)
    shown: list[np.ndarray] = field(default_factory=list)
    refilled: np.ndarray | None = None
    memo: dict[Any, Any] = field(default_factory=dict)


class RowMask(NamedTuple):
    """A constraint's answer at a row index, beyond a plain mask of the candidates allowed.

    allowed  bool (R,): the candidates that may stand at this row index
    first    bool (R,) or None: when one of these is feasible (under every constraint), the row index takes one of them
    last     bool (R,) or None: these may stand here only as the page's last row (the loop then ends the page)
    """

    allowed: np.ndarray
    first: np.ndarray | None = None
    last: np.ndarray | None = None


@dataclass(eq=False)
class ExactModel:
    """The CP-SAT model of the exact selector, as a constraint adds to it.

    model     the ``ortools.sat.python.cp_model.CpModel``
    n_rows    row indices of the page grid; ``usable``: the candidate rows in the model
    u         (p, r) -> bool var: candidate r stands at row index p
    x         (p, r, j, c) -> bool var: entry j of candidate r (``M[r, j]``) is shown at column c of row index p
    filled    per row index, the sum of its ``u`` (1: a row stands there)
    strict    False when the solver tries again with the 'available' pins relaxed
    """

    model: Any
    candidates: Candidates
    n_rows: int
    usable: list[int]
    u: dict[tuple[int, int], Any]
    x: dict[tuple[int, int, int, int], Any]
    filled: list[Any]
    strict: bool = True

    def rows_of(self, mask: np.ndarray) -> list[int]:
        """The usable candidate rows where ``mask`` (bool (R,)) holds."""
        return [r for r in self.usable if mask[r]]


class Constraint(Protocol):
    """A hard page rule with its three faces (see the module docstring). ``name`` names its violations."""

    name: str

    def entries(self, loop: Loop, /) -> np.ndarray | None:
        """bool or 0/1 integers (R, Lmax): the entries each candidate may show at ``loop.p``; None: all."""
        ...

    def rows(self, loop: Loop, /) -> np.ndarray | RowMask | None:
        """bool (R,) (or a RowMask): the candidates that may stand at ``loop.p``; None: all."""
        ...

    def add_to(self, model: ExactModel, /) -> None:
        """Add the rule to the exact selector's CP-SAT model."""
        ...

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog, /) -> list[Violation]:
        """Where ``page`` breaks the rule (an empty list when it holds)."""
        ...
