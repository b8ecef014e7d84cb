"""The exact selector against brute force: on tiny pages every page the checker accepts is enumerated, and
the exact optimum is the best of them, in both of the model's formulations (subsets of titles, columns)."""

from __future__ import annotations

from itertools import combinations, permutations, product

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pagegen.core._candidates import RankContext
from pagegen.core._errors import PagegenError
from pagegen.page._assemble import assemble
from pagegen.page._objective import Placed, SelectContext, Selection, objective, prepare
from pagegen.page._select_exact import ExactConfig, ExactSelector
from pagegen.testing._strategies import NOW, instances, policies
from policies._check import check


class _Scores:
    """A stand-in model for the RankContext: a fixed score per title (the values then depend on the title)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user) -> np.ndarray:
        return self.scores


def rank_context(inst) -> RankContext:
    scores = np.cos(np.arange(inst.catalog.n) * 2.3).astype(np.float32)
    return RankContext(catalog=inst.catalog, model=_Scores(scores), user=inst.user, eligible=inst.eligible, n=inst.policy.row_length, rng=np.random.default_rng(0))


FORMULATIONS = {"subsets": ExactConfig(), "columns": ExactConfig(max_patterns=0, hint=False), "unpruned": ExactConfig(prune=False)}


def brute_force(inst, ctx: SelectContext) -> float | None:
    """The best objective over every page check() accepts (rows: distinct candidates, each an order-preserving
    subset of its eligible titles), among those holding every pin that has a row long enough (the exact
    selector's semantics; when none does, the 'available' pins give way); None when no page qualifies."""
    policy = inst.policy
    problem = prepare(inst.rows, policy, ctx)
    shows, low = {}, {}
    for r in range(problem.n_rows):
        low[r] = max(policy.min_titles_of(problem.rows[r].kind), 1)
        entries = problem.M[r, : problem.length[r]]
        shows[r] = [entries[list(s)] for k in range(low[r], min(policy.row_length, len(entries)) + 1) for s in combinations(range(len(entries)), k)]
    standing = {pin.kind: pin.when for pin in policy.pins if any(problem.rows[r].kind == pin.kind and problem.length[r] >= low[r] for r in range(problem.n_rows))}
    best: dict[str, float] = {}
    for n in range(policy.n_rows + 1):
        for rows in permutations([r for r in shows if shows[r]], n):
            for titles in product(*(shows[r] for r in rows)):
                placed = [Placed(r, np.asarray(t, dtype=np.int32)) for r, t in zip(rows, titles, strict=True)]
                page = assemble(inst.rows, Selection(tuple(placed), 0.0), inst.catalog, user=inst.user.user, policy=policy.name, selector="brute", device="web", now=NOW, seed=0)
                if check(page, policy, inst.user, inst.catalog):
                    continue
                kinds = {problem.rows[r].kind for r in rows}
                value = objective(problem, placed)
                for mode, needed in (("strict", standing), ("relaxed", {k for k, w in standing.items() if w == "in_progress"})):
                    if all(k in kinds for k in needed):
                        best[mode] = max(best.get(mode, -np.inf), value)
    return best.get("strict", best.get("relaxed"))


@settings(max_examples=12)
@given(st.data())
def test_exact_is_the_brute_force_optimum(data):
    policy = data.draw(policies(max_rows=2, max_len=3))
    inst = data.draw(instances(policy=policy, max_rows=4, max_len=3))
    ctx = SelectContext(catalog=inst.catalog, eligible=inst.eligible, rank=rank_context(inst))
    truth = brute_force(inst, ctx)
    assume(truth is not None)
    for name, config in FORMULATIONS.items():
        try:
            sel = ExactSelector(config)(inst.rows, policy, ctx)
        except PagegenError:
            raise AssertionError(f"{name}: no page found, brute force found one worth {truth}") from None
        assert sel.status == "OPTIMAL", name
        assert abs(sel.objective - truth) <= 1e-5 * max(1.0, abs(truth)), (name, sel.objective, truth)
