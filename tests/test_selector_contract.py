"""The selector contract (pagegen.testing.check_selector) passes every built-in selector and
bites on deliberately broken ones."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagegen import Placed, Selection
from pagegen.core._candidates import RankContext
from pagegen.page._objective import prepare
from pagegen.page._registry import SELECTORS
from pagegen.testing import check_selector, instances, shrink_policy


class _Scores:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user) -> np.ndarray:
        return self.scores


def rank(inst) -> RankContext:
    scores = np.cos(np.arange(inst.catalog.n) * 2.3).astype(np.float32)
    return RankContext(catalog=inst.catalog, model=_Scores(scores), user=inst.user, eligible=inst.eligible, n=inst.policy.row_length, rng=np.random.default_rng(0))


@given(instances(), st.sampled_from(("template", "row_ranking", "stage_wise", "stage_wise_intent", "stage_wise_ls", "learned")))
def test_greedy_selectors_keep_the_contract(inst, name):
    check_selector(SELECTORS[name], [inst], rank=rank)


@given(instances(max_rows=5, max_len=4))
def test_exact_keeps_the_contract(inst):
    small = type(inst)(inst.catalog, inst.user, inst.eligible, inst.rows, shrink_policy(inst.policy, 3, 3))
    check_selector(SELECTORS["exact"], [small])


# -- deliberately broken selectors: each must be caught -----------------------------------------


def _stage_wise(rows, policy, ctx):
    return SELECTORS["stage_wise"](rows, policy, ctx)


def twice(rows, policy, ctx):
    sel = _stage_wise(rows, policy, ctx)
    return Selection(rows=sel.rows + sel.rows[:1], objective=sel.objective)


def ineligible(rows, policy, ctx):
    """Shows each candidate's first titles, eligible or not."""
    placed = [Placed(r, np.asarray(row.items[: policy.row_length], dtype=np.int32)) for r, row in enumerate(rows[: policy.n_rows])]
    return Selection(rows=tuple(placed), objective=0.0)


def reversed_titles(rows, policy, ctx):
    sel = _stage_wise(rows, policy, ctx)
    flipped = [Placed(p.row, p.items[::-1].copy()) for p in sel.rows]
    return Selection(rows=tuple(flipped), objective=sel.objective)


def wrong_columns(rows, policy, ctx):
    sel = _stage_wise(rows, policy, ctx)
    moved = [Placed(p.row, p.items, None if p.columns is None else p.columns + 1) for p in sel.rows]
    return Selection(rows=tuple(moved), objective=sel.objective)


_calls = itertools.count()


def restless(rows, policy, ctx):
    """Drops its last row every other call: not a function of the request."""
    sel = _stage_wise(rows, policy, ctx)
    return sel if next(_calls) % 2 else Selection(rows=sel.rows[:-1], objective=sel.objective - 1.0)


def no_dedup(rows, policy, ctx):
    """Rows by score with their first eligible titles: never looks at what is already placed."""
    problem = prepare(rows, policy, ctx)
    order = np.argsort(-problem.weight, kind="stable")[: policy.n_rows]
    placed = [Placed(int(r), problem.M[r, : min(policy.row_length, problem.length[r])].copy()) for r in order if problem.length[r] >= policy.min_titles]
    return Selection(rows=tuple(placed), objective=0.0)


def not_a_selection(rows, policy, ctx):
    return list(_stage_wise(rows, policy, ctx).rows)


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (twice, "placed twice"),
        (ineligible, "an ineligible title"),
        (reversed_titles, "out of their candidate row's order"),
        (wrong_columns, "columns do not locate"),
        (restless, "another selection"),
        (no_dedup, "breaks its policy"),
        (not_a_selection, "returns a Selection"),
    ],
)
def test_the_contract_catches_a_broken_selector(broken, says):
    """Among 40 generated instances the contract rejects the broken selector for its own fault."""
    messages: list[str] = []

    @given(instances(max_rows=8, max_len=6))
    @settings(max_examples=40, derandomize=True, database=None)
    def run(inst):
        if broken is ineligible:
            inst = _with_first_titles_ineligible(inst)
        try:
            check_selector(broken, [inst])
        except AssertionError as err:
            messages.append(str(err))

    run()
    assert any(says in m for m in messages), f"{broken.__name__}: {messages[:3]}"


def _with_first_titles_ineligible(inst):
    """The same instance where each candidate row's first title may not be shown (rankers may
    return such titles; a selector must leave them out)."""
    eligible = inst.eligible.copy()
    for row in inst.rows:
        eligible[row.items[0]] = False
    return type(inst)(inst.catalog, inst.user, eligible, inst.rows, inst.policy)
