"""The reusable contract of a page rule (``check_constraint``), as ``check_ranker`` is for rankers.

A constraint (``policies.Constraint``) must hold on every page a builder makes under a policy that
holds it, and its greedy face must agree with its violations face: replaying a page built without the
rule, every row its violations name is a row where the mask refuses the row placed (a mask may be
stricter than the check: the dedup mask keeps a used title out of a whole row, not only its visible part).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

from pagegen.core._candidates import RankContext
from pagegen.core._page import Page
from pagegen.page._assemble import assemble
from pagegen.page._objective import Problem, SelectContext, Selection, prepare
from pagegen.page._registry import SELECTORS
from policies._constraint import Constraint, Loop, RowMask
from policies._policy import Policy

from ._strategies import NOW, Instance, instances

__all__ = ["check_constraint", "refused_rows"]

#: The builders a constraint must hold for: the greedy selectors and the exact one.
BUILDERS = ("template", "row_ranking", "stage_wise", "stage_wise_intent", "learned", "exact")


class _Scores:
    """A stand-in model for the RankContext the learned selector reads: a fixed score per title."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user) -> np.ndarray:
        return self.scores


def _build(inst: Instance, policy: Policy, selector: str) -> tuple[Page, Problem, Selection]:
    scores = np.cos(np.arange(inst.catalog.n) * 2.3).astype(np.float32)
    rank = RankContext(catalog=inst.catalog, model=_Scores(scores), user=inst.user, eligible=inst.eligible, n=policy.row_length, rng=np.random.default_rng(0))
    ctx = SelectContext(catalog=inst.catalog, eligible=inst.eligible, device="web", rng=np.random.default_rng(0), rank=rank)
    sel = SELECTORS[selector](inst.rows, policy, ctx)
    page = assemble(inst.rows, sel, inst.catalog, user=inst.user.user, policy=policy.name, selector=selector, device="web", now=NOW, seed=0)
    return page, prepare(inst.rows, policy, ctx), sel


def refused_rows(constraint: Constraint, problem: Problem, selection: Selection) -> set[int]:
    """The row indices of ``selection`` where the constraint's greedy face refuses the row placed (or one of its
    titles), replaying the page top to bottom (each row counts the titles it shows as refilled)."""
    loop = Loop(candidates=problem)
    out: set[int] = set()
    valid = problem.M >= 0
    for p, pl in enumerate(selection.rows):
        loop.p = p
        items = np.asarray(pl.items)
        entries = constraint.entries(loop)
        allowed = valid if entries is None else valid & np.asarray(entries, dtype=bool)
        titles = problem.M[pl.row][allowed[pl.row]]
        if not np.isin(items, titles).all():
            out.add(p)
        loop.refilled = np.count_nonzero(allowed, axis=1)
        loop.refilled[pl.row] = len(items)
        mask = constraint.rows(loop)
        if isinstance(mask, RowMask):
            last = mask.last is not None and mask.last[pl.row]
            if not mask.allowed[pl.row] or (last and p != len(selection.rows) - 1):
                out.add(p)
        elif mask is not None and not mask[pl.row]:
            out.add(p)
        loop.placed.append(pl.row)
        loop.shown.append(items)
    return out


def check_constraint(
    constraint: Constraint | Callable[[Policy], Constraint], *, builders: Sequence[str] = BUILDERS, max_examples: int = 25, policy: Policy | None = None,
) -> None:  # fmt: skip
    """Check ``constraint`` (or a function making it for a policy) on hypothesis-generated instances.

    1. every builder's page under a policy holding the constraint (``Policy.rules``) has no violation of it;
    2. on pages built without it, its greedy face refuses every row its violations name (``refused_rows``;
       violations of the whole page, with no row, are not compared): a mask that forgets its rule fails here.

    Raises AssertionError (hypothesis's smallest failing example) when either does not hold.
    ``policy``: a fixed policy (e.g. a preset shrunk with ``shrink_policy``) instead of generated ones.
    """
    make = constraint if not hasattr(constraint, "violations") else (lambda _policy: constraint)

    # the same instances on every run; no shrinking: a failing instance is reported as found, in seconds rather than minutes
    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate), derandomize=True)
    @given(instances(policy=policy))
    def holds(inst: Instance) -> None:
        rule = make(inst.policy)
        ruled = inst.policy.model_copy(update={"rules": (*inst.policy.rules, rule)})
        for selector in builders:
            page, _, _ = _build(inst, ruled, selector)
            found = rule.violations(page, ruled, inst.user, inst.catalog)
            assert found == [], f"{rule.name}: a page built by {selector} under a policy holding the rule breaks it: {[str(v) for v in found]}"
        for selector in builders:
            page, problem, sel = _build(inst, inst.policy, selector)
            named = {v.row for v in rule.violations(page, inst.policy, inst.user, inst.catalog) if v.row is not None}
            refused = refused_rows(rule, problem, sel)
            assert named <= refused, f"{rule.name}: on a page built by {selector} without the rule, the violations name rows {sorted(named)} but the mask refuses only rows {sorted(refused)}"

    holds()
