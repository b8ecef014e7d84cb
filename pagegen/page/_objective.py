"""The page objective, implemented once: every selector is scored (and the exact one optimizes) with it.

For a page whose row ``p`` shows candidate row ``r_p`` with titles ``i_{p,0}, i_{p,1}, ...``::

    objective = sum_p w_{r_p} * sum_c D_{p,c} * q_{r_p}(i_{p,c})
              - diversity * U * sum_p D_{p,0} * sum_{p' < p} NEAR**(p - p' - 1) * red(r_{p'}, r_p)

- ``D_{p,c}``: the policy's 2-D attention model (``Attention.grid``; top-left = 1, counts most).
- ``U = max_r w_r * sum_c D_{0,c} * q_r(i_{r,c})``: the value of the best candidate row on its own as the
  top row, so ``diversity`` is in units of that row (the penalty follows the scale of the values).
- ``q_r(i) = v(i)``: the value of showing title ``i`` to the member, one scale for every row: with
  the request's RankContext (``SelectContext.rank``), ``v(i) = exp(-rank(i) / RANK_SCALE)`` (``pagegen.core._values``) where
  ``rank(i)`` is the title's 0-based position among the eligible titles ordered by the personalized
  video ranker (``rank.scores``, ties by index): 1 for the member's best title, e^-1 fifty titles
  down (a play probability up to a constant; scale-free, unlike the raw scores). Without a
  RankContext the only signal is the row's own ranking:
  ``q_r(i) = max(s_{r,i}, 0) / max_j max(s_{r,j}, 0)`` (1 for every title when none is positive).
- ``w_r``: the candidate row's weight. With a RankContext ``w_r = 1 - ROW_SHARE + ROW_SHARE * score_r
  / max_s score_s`` (a small nudge by the ranker's confidence in the row); without one
  ``w_r = max(score_r, 0)``.
- ``NEAR = 1/2``: redundancy with the row just above counts fully, two rows up half, and so on
  (so the penalty of a row stays bounded however deep the page is).
- ``red(r, s) = ([kind_r = kind_s] + cos(genres_r, genres_s) + overlap(r, s)) / 3`` in [0, 1]:
  redundancy between two rows: same kind, shared genres (cosine of the rows' genre profiles over
  their eligible titles), similar titles (shared eligible titles / the shorter row's length).

Intent coverage (``stage_wise_intent``): a term that counts each row by the member's intent mass it
reaches that the rows above have not served (``pagegen.page._coverage``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import Any

import numpy as np
import scipy.sparse as sp

from pagegen.core._arrays import frozen
from pagegen.core._candidates import CandidateRow, row_genres
from pagegen.core._catalog import Catalog, catalog_cached
from pagegen.core._values import DEPTH, RANK_SCALE, _entry_values, title_values
from policies._policy import Policy

from ._title_index import TitleIndex

__all__ = ["DENSE_ENTRIES", "DEPTH", "NEAR", "Placed", "Problem", "RANK_SCALE", "ROW_SHARE", "SelectContext", "Selection", "TitleIndex", "objective", "prepare", "row_genres", "title_values"]

#: Decay of the redundancy penalty with the distance between two rows (see the module docstring).
NEAR = 0.5
#: Share of a row's weight that follows its ranker's row score (see the module docstring).
ROW_SHARE = 0.2


@dataclass(frozen=True)
class SelectContext:
    """What a selector needs besides the candidate rows and the policy.

    eligible  bool mask over the catalog: titles that may be shown (member and policy rules)
    device    the request's device (picks the policy's visible window)
    rng       the request's generator, derived from (seed, member)
    rank      the request's RankContext (member, history, ``now``, per-title affinity) when the page
              builder has one; the learned selector needs it
    """

    catalog: Catalog
    eligible: np.ndarray
    device: str = "web"
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    rank: Any = None


@dataclass(frozen=True, eq=False)
class Placed:
    """One row of a selection: candidate row index and the titles shown, left to right.

    columns  where each title stands in its candidate row's ``items`` (intp), when the selector knows
             (the greedy loop does); assembly looks the titles up when None
    """

    row: int
    items: np.ndarray
    columns: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Selection:
    """What a selector returns: the rows top to bottom, the page objective, and a trace."""

    rows: tuple[Placed, ...]
    objective: float
    steps: tuple[dict, ...] = ()
    status: str | None = None
    gap: float | None = None


@dataclass(frozen=True, eq=False)
class Problem:
    """Candidate rows prepared for selection (integer arrays, computed once per request); the
    ``policies.Candidates`` the constraints see.

    M         int32 (R, Lmax): eligible titles of each candidate row in ranker order, -1 padded
    Q         float64 (R, Lmax): q_r(i) for each entry, 0 at pads
    scores    float64 (R, Lmax): the ranker's title scores, clipped at 0, 0 at pads
    relative  float64 (R, Lmax): the ranker's title score / the row's best title score, 0 at pads (on first read)
    row_score float64 (R,): the ranker's row score (clipped at 0): template order, pinned row choice
    length    int (R,): eligible titles per candidate row
    weight    float64 (R,): w_r
    kind      int (R,): code into ``kinds``
    declared  bool (R, len(genre_names)): genres each row declares (the genre cap uses them)
    profile   float64 (R, G): L2-normalized genre profile of each row's eligible titles
    D         float64 (n_rows, row_length): attention of each cell (``policy.attention.grid``)
    incidence float32 (R, E) 0/1 (column-major), with few entries (at most DENSE_ENTRIES): the titles of each row, a
              title's column one of its entries' flat positions (the others empty); None otherwise
    origin    intp (R, Lmax): where each entry of M stands in its candidate row's ``items``, when
              ineligible titles were removed before others; None: at its own column
    """

    rows: tuple[CandidateRow, ...]
    policy: Policy
    catalog: Catalog
    device: str
    M: np.ndarray
    Q: np.ndarray
    length: np.ndarray
    weight: np.ndarray
    kind: np.ndarray
    kinds: tuple[str, ...]
    genre_names: tuple[str, ...]
    declared: np.ndarray
    profile: np.ndarray
    D: np.ndarray
    scores: np.ndarray
    row_score: np.ndarray
    context: SelectContext
    incidence: np.ndarray | None = None
    origin: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @cached_property
    def relative(self) -> np.ndarray:
        return _relative(self.scores, self.M >= 0)

    @cached_property
    def by_title(self) -> TitleIndex:
        """Where each title stands among the candidates' eligible entries (built on first use)."""
        return TitleIndex.of(self.M, self.catalog.n)

    @cached_property
    def unit(self) -> float:
        """U: the value of the best candidate row on its own as the top row, max_r w_r sum_c D_0c q_r
        (the unit of the redundancy penalty; 1 when no row has a positive value)."""
        best = float(self.alone.max(initial=0.0))
        return best if best > 0 else 1.0

    @cached_property
    def alone(self) -> np.ndarray:
        """float64 (R,): each candidate row's value on its own as the top row, w_r sum_c D_0c q_r."""
        width = min(self.D.shape[1], self.Q.shape[1])
        return self.weight * (self.Q[:, :width] @ self.D[0, :width])

    @property
    def eligible(self) -> np.ndarray:
        """bool (n_items,): the titles the request may show (``context.eligible``)."""
        return self.context.eligible

    @cached_property
    def _pairs(self) -> np.ndarray | None:
        """float64 (R, R): red(r, s) of every pair, made at once when prepare made the incidence (few entries:
        its product with itself counts the shared titles); None: one column per row asked (many candidates)."""
        if self.incidence is None:
            return None
        red = self.profile @ self.profile.T
        np.maximum(red, 0.0, out=red)
        np.minimum(red, 1.0, out=red)  # the genre cosine, clipped to [0, 1]
        red += self.kind[:, None] == self.kind[None, :]
        shorter = np.minimum(self.length[:, None], self.length[None, :])
        red += np.divide(self.incidence @ self.incidence.T, shorter, out=np.zeros(shorter.shape), where=shorter > 0)
        red /= 3.0
        return red

    def redundancy(self, other: int) -> np.ndarray:
        """red(r, other) for every candidate row r, float64 (R,) (see the module docstring).

        Few entries: a column of the pairwise matrix (one product per request: 18 us against 66 us for the
        title index's pairs on 17 rows of 40); many: this column alone, its shared titles counted through
        the title index (the matrix of 500 rows of 40 from a small pool would pair most entries)."""
        if self._pairs is not None:
            return self._pairs[:, other]
        red = self.profile @ self.profile[other]
        np.maximum(red, 0.0, out=red)
        np.minimum(red, 1.0, out=red)
        red += self.kind == self.kind[other]
        shared = np.bincount(self.by_title.rows_of(self.M[other, : self.length[other]]), minlength=self.n_rows)
        shorter = np.minimum(self.length, self.length[other])
        red += np.divide(shared, shorter, out=np.zeros(len(shorter)), where=shorter > 0)
        red /= 3.0
        return red

    def values(self, row: int, items: np.ndarray) -> np.ndarray:
        """q_row(i) of the given titles (each must be among the row's eligible titles)."""
        entries = self.M[row, : self.length[row]]
        order = np.argsort(entries, kind="stable")
        pos = np.searchsorted(entries[order], items)
        pos = order[np.minimum(pos, len(order) - 1)]
        if len(items) and (len(entries) == 0 or np.any(entries[pos] != items)):
            raise ValueError(f"a title is not among the eligible titles of candidate row {self.rows[row].key!r}")
        return self.Q[row, pos]


def _genres(catalog: Catalog) -> np.ndarray:
    """float32 (n_items, G): the catalog's genre matrix, converted once per catalog (it is frozen)."""
    return catalog_cached(catalog, "genres_float32", lambda: np.asarray(catalog.genres, dtype=np.float32))


#: Up to this many entries (candidate rows x positions) the genre profiles are summed from a gather of
#: the genre matrix; beyond, from a sparse product (the sums are of 0/1 values: the same either way).
#: The dense pairs cost R x R x entries: at 100 candidate rows of 40 the sparse way selects in 0.62 of the time.
DENSE_ENTRIES = 2048


def _incidence(M: np.ndarray, valid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 (R, E): ``Problem.incidence`` of ``M`` (titles in [0, n), a title at most once a row,
    ``valid``: M >= 0); and the titles ``M[valid]`` with the column of each."""
    entries = M[valid]
    label = np.empty(n, dtype=np.int16 if len(entries) < 2**15 else np.intp)
    label[entries] = np.arange(len(entries), dtype=label.dtype)  # a title's column: one of its entries
    column = label[entries]
    # column-major: its products with its own transpose (the shared titles) and the genres run faster
    incidence = np.zeros((len(entries), M.shape[0]), dtype=np.float32).T
    incidence[valid.nonzero()[0], column] = 1.0
    return incidence, entries, column


def _profiles(M: np.ndarray, valid: np.ndarray, catalog: Catalog) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 (R, G): the genre counts of each candidate row's eligible titles (unnormalized); and
    ``Problem.incidence`` when the entries are few (the counts are its product with the genres of its
    columns; beyond, a sparse product: sums of 0/1 values, the same either way)."""
    genres = _genres(catalog)
    if M.size <= DENSE_ENTRIES:
        incidence, entries, _ = _incidence(M, valid, catalog.n)
        # row j: the genres of entries[j]; a title's column is one of its entries, whose row holds its
        # genres, and the other rows meet empty columns (0 times 0/1 values: the same exact counts)
        return (incidence @ genres.take(entries, axis=0)).astype(np.float64), incidence
    n_cand = M.shape[0]
    indptr = np.zeros(n_cand + 1, dtype=np.int64)
    np.cumsum(valid.sum(axis=1), out=indptr[1:])
    entries = M[valid]  # row-major, each candidate's eligible titles left-packed
    incidence = sp.csr_array((np.ones(len(entries), dtype=np.float32), entries, indptr), shape=(n_cand, catalog.n))
    return np.asarray(incidence @ genres, dtype=np.float64), None


@functools.lru_cache(maxsize=64)
def _grid(attention: Any, n_rows: int, row_length: int) -> np.ndarray:
    """``attention.grid(n_rows, row_length)``, read-only, computed once per (frozen) attention model and page size."""
    return frozen(attention.grid(n_rows, row_length))


def _relative(S: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``Problem.relative`` from the clipped scores."""
    top = S.max(axis=1, initial=0.0)
    return np.where(valid, np.divide(S, top[:, None], out=np.ones_like(S), where=top[:, None] > 0), 0.0)


_ITEMS, _SCORES, _SCORE, _KIND, _EVIDENCE = map(attrgetter, ("items", "scores", "score", "kind", "evidence"))


def prepare(rows: Sequence[CandidateRow], policy: Policy, ctx: SelectContext) -> Problem:
    """The Problem of one request: ineligible titles removed, values and row features computed (vectorized)."""
    rows = tuple(rows)
    catalog = ctx.catalog
    n_cand = len(rows)
    item_lists = list(map(_ITEMS, rows))  # attribute reads at C level: no per-row Python frame
    lengths = np.fromiter(map(len, item_lists), dtype=np.intp, count=n_cand)
    lmax = max(int(lengths.max(initial=0)), 1)
    raw = np.full((n_cand, lmax), -1, dtype=np.int32)
    score = np.zeros(raw.shape, dtype=np.float64)
    if n_cand:
        items, scores = np.concatenate(item_lists), np.concatenate(list(map(_SCORES, rows)))
        if lengths.min() == lmax:  # rows of equal length: a reshape, no mask
            raw[:], score[:] = items.reshape(raw.shape), scores.reshape(raw.shape)
        else:
            filled = np.arange(lmax) < lengths[:, None]
            raw[filled], score[filled] = items, scores
    if n_cand and (int(raw.min()) < -1 or int(raw.max()) >= catalog.n):  # a title outside the catalog: never shown
        raw = np.where((raw >= 0) & (raw < catalog.n), raw, -1)
    ok = np.asarray(ctx.eligible, dtype=bool).take(raw)  # the pad -1 reads the last title: not the pad's
    ok &= raw >= 0
    length = ok.sum(axis=1)
    origin = None  # the entries stand at their own columns, unless packed below
    if (length == lengths).all():  # every title eligible: the pads (-1, score 0) are the only gaps
        M, S = raw, np.maximum(score, 0.0)
    elif np.array_equal(ok, np.arange(lmax) < length[:, None]):  # eligible titles already left-packed
        M, S = np.where(ok, raw, -1), np.where(ok, np.maximum(score, 0.0), 0.0)
    else:
        order = origin = np.argsort(~ok, axis=1, kind="stable")
        M = np.take_along_axis(np.where(ok, raw, -1), order, axis=1).astype(np.int32)
        S = np.take_along_axis(np.where(ok, np.maximum(score, 0.0), 0.0), order, axis=1)
    valid = M >= 0
    row_score = np.maximum(np.fromiter(map(_SCORE, rows), dtype=np.float64, count=n_cand), 0.0)
    if ctx.rank is None:
        Q, weight = _relative(S, valid), row_score
    else:
        Q = _entry_values(ctx.rank, M, valid, ctx.eligible)  # title_values(ctx.rank) at M, 0 at pads
        best = row_score.max(initial=0.0)
        weight = 1.0 - ROW_SHARE + ROW_SHARE * (row_score / best if best > 0 else np.ones(n_cand))
    kind_names = list(map(_KIND, rows))
    kinds = tuple(sorted(set(kind_names)))
    code = {k: j for j, k in enumerate(kinds)}
    kind = np.fromiter(map(code.__getitem__, kind_names), dtype=np.intp, count=n_cand)
    evidence = list(map(_EVIDENCE, rows))
    declaring = [(r, gs) for r, e in enumerate(evidence) if isinstance(e, dict) and ("genres" in e or "genre" in e) and (gs := row_genres(e))]
    genre_names = tuple(sorted({g for _, gs in declaring for g in gs}))
    gcode = {g: j for j, g in enumerate(genre_names)}
    declared = np.zeros((n_cand, len(genre_names)), dtype=bool)
    if declaring:  # packing: one assignment for every (row, genre) declared
        declared[[r for r, gs in declaring for _ in gs], [gcode[g] for _, gs in declaring for g in gs]] = True
    prof, incidence = _profiles(M, valid, catalog)
    norm = np.linalg.norm(prof, axis=1, keepdims=True)
    prof = np.divide(prof, norm, out=np.zeros_like(prof), where=norm > 0)
    D = _grid(policy.attention, policy.n_rows, policy.row_length)
    return Problem(
        rows=rows, policy=policy, catalog=catalog, device=ctx.device, M=M, Q=Q, length=length, weight=weight,
        kind=kind, kinds=kinds, genre_names=genre_names, declared=declared, profile=prof, D=D,
        scores=S, row_score=row_score, context=ctx, incidence=incidence, origin=origin,
    )  # fmt: skip


def objective(problem: Problem, placed: Sequence[Placed]) -> float:
    """The page objective of ``placed`` (rows top to bottom); see the module docstring."""
    policy = problem.policy
    unit = problem.unit
    total = 0.0
    above: list[int] = []
    for p, pl in enumerate(placed):
        items = np.asarray(pl.items, dtype=np.int32)
        q = problem.values(pl.row, items)
        cells = problem.weight[pl.row] * float(np.dot(problem.D[p, : len(items)], q))
        near = NEAR ** np.arange(len(above) - 1, -1, -1, dtype=np.float64)
        penalty = float(near @ problem.redundancy(pl.row)[above]) if above else 0.0
        total += cells - policy.diversity * unit * problem.D[p, 0] * penalty
        above.append(pl.row)
    return total
