"""Page rules as constraints: every builder enforces them on every path, a user rule included, and the
rule contract (``pagegen.testing.check_constraint``) bites on a broken rule."""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from pagegen.page._assemble import assemble
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from pagegen.testing import check_constraint
from pagegen.testing._strategies import NOW
from policies import Policy, Violation, check, load_policy
from policies._builtin import GenreSpanCap

GREEDY = ("template", "row_ranking", "stage_wise", "learned")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_rule.py"


@functools.cache
def _example():
    """examples/custom_rule.py as a module (its FamilyCap rule)."""
    spec = importlib.util.spec_from_file_location("custom_rule_example", EXAMPLE)
    module = sys.modules["custom_rule_example"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Scores:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user) -> np.ndarray:
        return self.scores


def _build(rows, policy, catalog, user, selector, device="web"):
    eligible = np.ones(catalog.n, dtype=bool)
    rank = RankContext(catalog=catalog, model=_Scores(np.linspace(1.0, 0.1, catalog.n)), user=user, eligible=eligible, n=policy.row_length, rng=np.random.default_rng(0))
    ctx = SelectContext(catalog=catalog, eligible=eligible, device=device, rank=rank)
    sel = SELECTORS[selector](rows, policy, ctx)
    return assemble(rows, sel, catalog, user=user.user, policy=policy.name, selector=selector, device=device, now=NOW, seed=0)


@pytest.mark.parametrize("selector", [*GREEDY, "exact"])
def test_a_late_pinned_row_keeps_the_genre_cap(selector):
    """mobile: top10 is pinned at row 2 and may be the last row of a shorter page. With a Drama top_picks
    row and a Drama top10 row only, the greedy loop used to place top10 right below top_picks on its
    'late pin' path, which skipped the genre cap (1 Drama row within 3): the page broke it."""
    catalog = Catalog.build([f"t{i}" for i in range(12)], [f"T{i}" for i in range(12)], [["Drama"]] * 12)
    user = UserState.cold(NOW, user="m")
    rows = [
        CandidateRow("top_picks", "top_picks", "Top Picks", np.arange(0, 6), np.linspace(1.0, 0.5, 6), evidence={"genre": "Drama"}, score=1.0),
        CandidateRow("top10", "top10", "Top 10", np.arange(6, 12), np.linspace(1.0, 0.5, 6), evidence={"genre": "Drama"}, score=0.9),
    ]
    policy = load_policy("mobile")
    page = _build(rows, policy, catalog, user, selector, device="mobile")
    assert check(page, policy, user, catalog) == [], selector
    # the greedy loop places top_picks, then no row may follow it; exact (whose 'available' pins hold when
    # they can) shows top10 alone, as the last row of a one-row page
    assert [row.key for row in page.rows] == (["top10"] if selector == "exact" else ["top_picks"]), selector


def _family_rows():
    """Nine genre rows, the best ones of the 'dark' family: without a family cap they fill the first screen."""
    genres = ["Crime", "Horror", "Thriller", "War", "Comedy", "Romance", "Action", "Sci-Fi", "Family"]
    catalog = Catalog.build([f"t{i}" for i in range(45)], [f"T{i}" for i in range(45)], [[genres[i // 5]] for i in range(45)])
    rows = [
        CandidateRow("genre", f"genre:{g}", g, np.arange(5 * k, 5 * k + 5), np.linspace(1.0, 0.6, 5), evidence={"genres": [g]}, score=1.0 - 0.05 * k)
        for k, g in enumerate(genres)
    ]  # fmt: skip
    return catalog, rows


@pytest.mark.parametrize("selector", [*GREEDY, "exact"])
def test_a_user_rule_is_enforced_while_building(selector):
    """The example's family cap (at most 2 rows of one genre family in the visible window) in Policy.rules:
    every builder's page holds it; the page built without it breaks it."""
    example = _example()
    catalog, rows = _family_rows()
    user = UserState.cold(NOW, user="m")
    plain = Policy(n_rows=4, row_length=3, min_titles=2, windows={"web": {"rows": 3, "columns": 3}}, pins=[], genre_cap=None, diversity=0.0)
    rule = example.family_cap(plain, max_rows=1 if selector == "exact" else 2)
    ruled = plain.model_copy(update={"rules": (rule,)})
    without = _build(rows, plain, catalog, user, selector)
    assert rule.violations(without, plain, user, catalog) != [], selector
    with_rule = _build(rows, ruled, catalog, user, selector)
    assert check(with_rule, ruled, user, catalog) == [], selector
    assert [v.rule for v in check(without, ruled, user, catalog)] == ["family_cap"] * len(rule.violations(without, plain, user, catalog))


def test_policy_constraints_and_rules():
    policy = load_policy("default")
    assert [c.name for c in policy.constraints()] == ["dedup", "eligibility", "genre_cap", "kind_cap", "pins", "row_count", "row_length", "unique_keys"]
    rule = _example().family_cap(policy)
    ruled = policy.model_copy(update={"rules": (rule,)})
    assert ruled.constraints()[-1] is rule and policy.constraints()[-1] is not rule
    assert "rules" not in ruled.model_dump()


def _one_family(policy):
    """The example's family cap with every generated genre in one family, one row of it in the window."""
    return _example().FamilyCap(dict.fromkeys(("Action", "Comedy", "Drama", "Horror", "Kids"), "any"), {d: w.rows for d, w in policy.windows.items()}, 1)


def test_the_example_rule_keeps_the_contract():
    check_constraint(_one_family, max_examples=15)


@pytest.mark.parametrize("name", ["genre_cap", "kind_cap", "dedup"])
def test_built_in_rules_keep_the_contract(name):
    """The built-in rules as a policy holds them (a genre cap of 1 row within 3 when the policy has none)."""
    check_constraint(lambda policy: next((c for c in policy.constraints() if c.name == name), GenreSpanCap(1, 3)), builders=("template", "stage_wise", "exact"), max_examples=15)


@dataclass(frozen=True, eq=False)
class _OneChartRow:
    """At most one chart row (top10, trending, popular) in the visible window: a rule the generated pages often meet."""

    window_rows: dict
    name: str = "one_chart_row"
    kinds: frozenset = frozenset({"top10", "trending", "popular"})

    def _chart(self, rows) -> np.ndarray:
        return np.array([row.kind in self.kinds for row in rows], dtype=bool)

    def entries(self, loop):
        return None

    def rows(self, loop):
        if loop.p >= self.window_rows[loop.candidates.device]:
            return None
        chart = self._chart(loop.candidates.rows)
        return ~chart if chart[loop.placed].any() else None

    def add_to(self, model):
        chart = model.rows_of(self._chart(model.candidates.rows))
        window = min(self.window_rows[model.candidates.device], model.n_rows)
        model.model.add(sum(model.u[p, r] for p in range(window) for r in chart) <= 1)

    def violations(self, page, policy, user, catalog):
        rows = page.rows[: self.window_rows[page.device]]
        return [Violation(self.name, r, None, None, "a second chart row in the window") for r in range(len(rows)) if rows[r].kind in self.kinds and any(q.kind in self.kinds for q in rows[:r])]


def _one_chart_row(policy):
    return _OneChartRow({d: w.rows for d, w in policy.windows.items()})


def test_a_rule_of_the_test_keeps_the_contract():
    check_constraint(_one_chart_row, max_examples=20)


@dataclass(frozen=True, eq=False)
class _Forgetful:
    """A rule whose greedy face forgets it (its other faces are right)."""

    inner: object
    name: str = "one_chart_row"

    def entries(self, loop):
        return None

    def rows(self, loop):
        return None

    def add_to(self, model):
        self.inner.add_to(model)

    def violations(self, page, policy, user, catalog):
        return self.inner.violations(page, policy, user, catalog)


def test_the_contract_bites_on_a_rule_whose_mask_forgets_it():
    with pytest.raises(AssertionError, match="one_chart_row: a page built by stage_wise under a policy holding the rule breaks it"):
        check_constraint(lambda policy: _Forgetful(_one_chart_row(policy)), builders=("stage_wise",), max_examples=100)


@pytest.mark.parametrize("selector", [*GREEDY, "exact"])
def test_the_policy_eligibility_holds_when_the_request_lets_every_title_in(selector):
    """The eligibility constraint keeps the policy's excluded genres off the page even when the request's
    eligible titles (``ctx.eligible``) do not leave them out."""
    catalog = Catalog.build([f"t{i}" for i in range(8)], [f"T{i}" for i in range(8)], [["Horror"] if i % 2 else ["Comedy"] for i in range(8)])
    user = UserState.cold(NOW, user="m")
    rows = [CandidateRow("top_picks", "tp", "Top Picks", np.arange(8), np.linspace(1.0, 0.3, 8), score=1.0)]
    policy = Policy(n_rows=2, row_length=4, min_titles=2, windows={"web": {"rows": 1, "columns": 4}}, pins=[], genre_cap=None, eligibility={"exclude_genres": ["Horror"]})
    page = _build(rows, policy, catalog, user, selector)
    assert [slot.id for slot in page.rows[0].slots] == ["t0", "t2", "t4", "t6"], selector
    assert check(page, policy, user, catalog) == [], selector


def test_resize_keeps_the_users_rules():
    from policies import Policy, resize

    class Never:
        name = "never"

    rule = Never()
    small = resize(Policy(rules=(rule,)), 3, 4)
    assert small.rules == (rule,) and (small.n_rows, small.row_length) == (3, 4)
