"""The page objective, implemented once: every selector is scored (and the exact one optimizes) with it.

For a page whose row ``p`` shows candidate row ``r_p`` with titles ``i_{p,0}, i_{p,1}, ...``::

    objective = sum_p a_p * w_{r_p} * sum_c b_c * q_{r_p}(i_{p,c})
              - diversity * B * sum_p a_p * sum_{p' < p} NEAR**(p - p' - 1) * red(r_{p'}, r_p)

- ``a_p = row_decay**p`` and ``b_c = column_decay**c``: the 2-D attention model (top-left counts most);
  ``B = sum_c b_c`` is the attention mass of a full row, so ``diversity`` is in units of one full row.
- ``w_r = max(score_r, 0)``: the candidate row's own relevance to the member (its ranker's score).
- ``q_r(i) = max(s_{r,i}, 0) / max_j max(s_{r,j}, 0)``: the title's score in the row relative to the
  row's best title (1 for every title when no score is positive).
- ``NEAR = 1/2``: redundancy with the row just above counts fully, two rows up half, and so on
  (so the penalty of a row stays bounded however deep the page is).
- ``red(r, s) = ([kind_r = kind_s] + cos(genres_r, genres_s) + overlap(r, s)) / 3`` in [0, 1]:
  redundancy between two rows: same kind, shared genres (cosine of the rows' genre profiles over
  their eligible titles), similar titles (shared eligible titles / the shorter row's length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._candidates import CandidateRow
from ._catalog import Catalog

__all__ = ["NEAR", "Placed", "Problem", "SelectContext", "Selection", "objective", "prepare", "row_genres"]

#: Decay of the redundancy penalty with the distance between two rows (see the module docstring).
NEAR = 0.5


@dataclass(frozen=True)
class SelectContext:
    """What a selector needs besides the candidate rows and the policy.

    eligible  bool mask over the catalog: titles that may be shown (member and policy rules)
    device    the request's device (picks the policy's visible window)
    rng       the request's generator, derived from (seed, member)
    """

    catalog: Catalog
    eligible: np.ndarray
    device: str = "web"
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))


@dataclass(frozen=True, eq=False)
class Placed:
    """One row of a selection: candidate row index and the titles shown, left to right."""

    row: int
    items: np.ndarray


@dataclass(frozen=True, eq=False)
class Selection:
    """What a selector returns: the rows top to bottom, the page objective, and a trace."""

    rows: tuple[Placed, ...]
    objective: float
    steps: tuple[dict, ...] = ()
    status: str | None = None
    gap: float | None = None


def row_genres(evidence: object) -> tuple[str, ...]:
    """The genres a row declares in its evidence: ``genres`` (list of names) or ``genre`` (one name)."""
    if not isinstance(evidence, dict):
        return ()
    names = evidence.get("genres", evidence.get("genre", ()))
    if isinstance(names, str):
        return (names,)
    return tuple(str(g) for g in names) if isinstance(names, list | tuple) else ()


@dataclass(frozen=True, eq=False)
class Problem:
    """Candidate rows prepared for selection (integer arrays, computed once per request).

    M         int32 (R, Lmax): eligible titles of each candidate row in ranker order, -1 padded
    Q         float64 (R, Lmax): q_r(i) for each entry, 0 at pads
    length    int (R,): eligible titles per candidate row
    weight    float64 (R,): w_r
    kind      int (R,): code into ``kinds``
    declared  bool (R, len(genre_names)): genres each row declares (the genre cap uses them)
    profile   float64 (R, G): L2-normalized genre profile of each row's eligible titles
    a, b      attention: row and column discounts (n_rows,), (row_length,)
    """

    rows: tuple[CandidateRow, ...]
    policy: object
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
    a: np.ndarray
    b: np.ndarray
    incidence: sp.csr_array  # float32 (R, n_items): 1 where a candidate row holds an eligible title

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def full_row(self) -> float:
        """B: attention mass of a full row."""
        return float(self.b.sum())

    def redundancy(self, rows: np.ndarray | None, other: int) -> np.ndarray:
        """red(r, other) for every r in ``rows`` (all candidate rows when None), float64."""
        kind, profile, M, length = self.kind, self.profile, self.M, self.length
        if rows is not None:
            rows = np.asarray(rows, dtype=np.intp)
            kind, profile, M, length = kind[rows], profile[rows], M[rows], length[rows]
        same = kind == self.kind[other]
        cos = np.clip(profile @ self.profile[other], 0.0, 1.0)
        if rows is None:  # all candidates: a sparse product instead of a gather
            mark = np.zeros(self.catalog.n, dtype=np.float32)
            mark[self.M[other, : self.length[other]]] = 1.0
            shared = self.incidence @ mark
        else:
            flag = np.zeros(self.catalog.n + 1, dtype=bool)
            flag[self.M[other, : self.length[other]]] = True
            shared = np.count_nonzero(np.take(flag, M), axis=1)
        shorter = np.minimum(length, self.length[other])
        overlap = np.divide(shared, shorter, out=np.zeros(len(shorter)), where=shorter > 0)
        return (same + cos + overlap) / 3.0

    def values(self, row: int, items: np.ndarray) -> np.ndarray:
        """q_row(i) of the given titles (each must be among the row's eligible titles)."""
        entries = self.M[row, : self.length[row]]
        order = np.argsort(entries, kind="stable")
        pos = np.searchsorted(entries[order], items)
        pos = order[np.minimum(pos, len(order) - 1)]
        if len(items) and (len(entries) == 0 or np.any(entries[pos] != items)):
            raise ValueError(f"a title is not among the eligible titles of candidate row {self.rows[row].key!r}")
        return self.Q[row, pos]


def prepare(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Problem:
    """The Problem of one request: ineligible titles removed, values and row features computed (vectorized)."""
    from policies._policy import Policy

    assert isinstance(policy, Policy)
    rows = tuple(rows)
    catalog = ctx.catalog
    n_cand = len(rows)
    lengths = np.fromiter((len(r.items) for r in rows), dtype=np.intp, count=n_cand)
    lmax = max(int(lengths.max(initial=0)), 1)
    raw = np.full((n_cand, lmax), -1, dtype=np.int32)
    score = np.zeros(raw.shape, dtype=np.float64)
    if n_cand:
        filled = np.arange(lmax) < lengths[:, None]
        raw[filled] = np.concatenate([r.items for r in rows])
        score[filled] = np.concatenate([r.scores for r in rows])
    inside = (raw >= 0) & (raw < catalog.n)
    ok = inside & np.asarray(ctx.eligible, dtype=bool)[np.where(inside, raw, 0)]
    if ok.all(axis=1).all() or not (~ok & inside).any():
        M, S = raw, np.where(ok, np.maximum(score, 0.0), 0.0)
    else:
        order = np.argsort(~ok, axis=1, kind="stable")
        M = np.take_along_axis(np.where(ok, raw, -1), order, axis=1).astype(np.int32)
        S = np.take_along_axis(np.where(ok, np.maximum(score, 0.0), 0.0), order, axis=1)
    length = ok.sum(axis=1)
    top = S.max(axis=1, initial=0.0)
    valid = M >= 0
    Q = np.where(valid, np.divide(S, top[:, None], out=np.ones_like(S), where=top[:, None] > 0), 0.0)
    weight = np.maximum(np.fromiter((r.score for r in rows), dtype=np.float64, count=n_cand), 0.0)
    kinds = tuple(sorted({r.kind for r in rows}))
    code = {k: j for j, k in enumerate(kinds)}
    kind = np.fromiter((code[r.kind] for r in rows), dtype=np.intp, count=n_cand)
    declared_lists = [row_genres(r.evidence) if r.evidence else () for r in rows]
    genre_names = tuple(sorted({g for gs in declared_lists for g in gs}))
    gcode = {g: j for j, g in enumerate(genre_names)}
    declared = np.zeros((n_cand, len(genre_names)), dtype=bool)
    for r, gs in enumerate(declared_lists):  # packing: rows that declare genres (a few)
        if gs:
            declared[r, [gcode[g] for g in gs]] = True
    rr, cc = np.nonzero(valid)
    incidence = sp.csr_array((np.ones(len(rr), dtype=np.float32), (rr, M[rr, cc])), shape=(n_cand, catalog.n))
    prof = np.asarray(incidence @ np.asarray(catalog.genres, dtype=np.float64))
    norm = np.linalg.norm(prof, axis=1, keepdims=True)
    prof = np.divide(prof, norm, out=np.zeros_like(prof), where=norm > 0)
    a = policy.attention.row_decay ** np.arange(policy.n_rows, dtype=np.float64)
    b = policy.attention.column_decay ** np.arange(policy.row_length, dtype=np.float64)
    return Problem(
        rows=rows, policy=policy, catalog=catalog, device=ctx.device, M=M, Q=Q, length=length, weight=weight,
        kind=kind, kinds=kinds, genre_names=genre_names, declared=declared, profile=prof, a=a, b=b, incidence=incidence,
    )  # fmt: skip


def objective(problem: Problem, placed: Sequence[Placed]) -> float:
    """The page objective of ``placed`` (rows top to bottom); see the module docstring."""
    policy = problem.policy
    total = 0.0
    above: list[int] = []
    for p, pl in enumerate(placed):
        items = np.asarray(pl.items, dtype=np.int32)
        q = problem.values(pl.row, items)
        cells = problem.weight[pl.row] * float(np.dot(problem.b[: len(items)], q))
        near = NEAR ** np.arange(len(above) - 1, -1, -1, dtype=np.float64)
        penalty = float(near @ problem.redundancy(np.asarray(above), pl.row)) if above else 0.0
        total += problem.a[p] * (cells - policy.diversity * problem.full_row * penalty)
        above.append(pl.row)
    return total
