"""Selectors and the page objective on hand-computed instances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._errors import PagegenError
from pagegen.core._userstate import UserState
from pagegen.learned._learned import FEATURES
from pagegen.page._learned_select import learned_selector
from pagegen.page._objective import RANK_SCALE, ROW_SHARE, Placed, SelectContext, objective, prepare, title_values
from pagegen.page._registry import SELECTORS
from pagegen.page._select import greedy_fill, stage_key
from pagegen.page._select_exact import ExactConfig, ExactSelector
from pagegen.testing._strategies import NOW, instances
from policies._policy import Policy

CATALOG = Catalog.build([f"t{i}" for i in range(6)], [f"T{i}" for i in range(6)], [["Drama"], ["Drama"], ["Comedy"], ["Comedy"], ["Drama"], ["Comedy"]])
CTX = SelectContext(catalog=CATALOG, eligible=np.ones(CATALOG.n, dtype=bool))


def _policy(**kw):
    base = dict(n_rows=2, row_length=2, min_titles=1, windows={"web": {"rows": 1, "columns": 1}}, pins=[], genre_cap=None,
                attention={"row_decay": 0.5, "column_decay": 0.5}, diversity=0.0)  # fmt: skip
    return Policy(**{**base, **kw})


ROWS = [
    CandidateRow("a", "A", "A", [0, 1], [1.0, 0.5], score=2.0),
    CandidateRow("b", "B", "B", [1, 2], [0.8, 0.4], score=1.0),
]


def test_objective_by_hand():
    # A on top: 2 * (1 + 0.5 * 0.5) = 2.5; B refilled below with t2 only: 0.5 * (1 * 0.5 * 1) = 0.25
    sel = SELECTORS["stage_wise"](ROWS, _policy(), CTX)
    assert [(p.row, p.items.tolist()) for p in sel.rows] == [(0, [0, 1]), (1, [2])]
    assert sel.objective == pytest.approx(2.75)
    # redundancy of A and B: (different kinds 0 + genre cosine 1/sqrt(2) + overlap 1/2) / 3, weighted by
    # U = 2.5 (A alone as the top row) and the attention of row 1, D_10 = 0.5
    red = (0 + 1 / math.sqrt(2) + 0.5) / 3
    problem = prepare(ROWS, _policy(diversity=1.0), CTX)
    assert problem.redundancy(1)[0] == pytest.approx(red)
    assert problem.unit == pytest.approx(2.5)
    assert objective(problem, sel.rows) == pytest.approx(2.75 - 2.5 * 0.5 * red)


def test_values_on_one_scale_with_the_request_context():
    # the member ranks t0 > t1 > ... > t5; with t0 ineligible, t1 is its best eligible title: v = exp(-rank / 50)
    eligible = np.array([False, True, True, True, True, True])
    ctx = SelectContext(catalog=CATALOG, eligible=eligible, rank=_rank(eligible))
    assert title_values(ctx.rank).tolist() == pytest.approx([0.0, *np.exp(-np.arange(5) / RANK_SCALE)])
    rows = [
        CandidateRow("a", "A", "A", [1, 5], [9.0, 1.0], score=2.0),  # the member's best title, then its worst
        CandidateRow("b", "B", "B", [2, 3], [0.1, 0.1], score=1.0),  # flat ranker scores: no longer "as good as A"
    ]
    problem = prepare(rows, _policy(), ctx)
    v = np.exp(-np.arange(5) / RANK_SCALE)
    assert problem.Q[0].tolist() == pytest.approx([v[0], v[4]]) and problem.Q[1].tolist() == pytest.approx([v[1], v[2]])
    assert problem.weight.tolist() == pytest.approx([1.0, 1.0 - ROW_SHARE / 2])
    # A on top (its cells 1 + 0.5 v4 beat B's (1 - ROW_SHARE / 2) (v1 + 0.5 v2)), B below with row attention 0.5
    sel = SELECTORS["stage_wise"](rows, _policy(), ctx)
    assert [p.row for p in sel.rows] == [0, 1]
    assert sel.objective == pytest.approx(v[0] + 0.5 * v[4] + 0.5 * (1 - ROW_SHARE / 2) * (v[1] + 0.5 * v[2]))


def test_exact_beats_greedy_when_the_second_row_costs_more_than_it_brings():
    policy = _policy(diversity=1.0)
    greedy = SELECTORS["stage_wise"](ROWS, policy, CTX)
    exact = SELECTORS["exact"](ROWS, policy, CTX)
    assert len(greedy.rows) == 2 and greedy.objective == pytest.approx(2.75 - 1.25 * (1 / math.sqrt(2) + 0.5) / 3)
    assert [(p.row, p.items.tolist()) for p in exact.rows] == [(0, [0, 1])]
    assert exact.objective == pytest.approx(2.5) and exact.status == "OPTIMAL" and exact.gap == 0.0


def test_stage_wise_trades_value_for_diversity():
    rows = [
        CandidateRow("genre", "g1", "Drama 1", [0, 1], [1.0, 1.0], score=1.0),
        CandidateRow("genre", "g2", "Drama 2", [4, 1], [1.0, 1.0], score=0.9),
        CandidateRow("popular", "p", "Comedy", [2, 3], [1.0, 1.0], score=0.6),
    ]
    plain = SELECTORS["stage_wise"](rows, _policy(row_length=1), CTX)
    diverse = SELECTORS["stage_wise"](rows, _policy(row_length=1, diversity=2.0), CTX)
    assert [rows[p.row].key for p in plain.rows] == ["g1", "g2"]
    assert [rows[p.row].key for p in diverse.rows] == ["g1", "p"]


def test_row_ranking_and_template_orders():
    rows = [
        CandidateRow("popular", "p", "Popular", [0, 1], [1.0, 1.0], score=0.5),
        CandidateRow("top_picks", "t", "Top picks", [2, 3], [1.0, 1.0], score=0.2),
        CandidateRow("genre", "g", "Drama", [4, 5], [1.0, 1.0], score=0.9),
    ]
    policy = _policy(n_rows=3, template=("top_picks", "popular"))
    assert [rows[p.row].key for p in SELECTORS["row_ranking"](rows, policy, CTX).rows] == ["g", "p", "t"]
    assert [rows[p.row].key for p in SELECTORS["template"](rows, policy, CTX).rows] == ["t", "p", "g"]


def test_caps_pins_and_window_dedup():
    rows = [CandidateRow("byw", f"b{i}", "B", [i, (i + 1) % 6], [1.0, 1.0], score=1.0 - i / 10) for i in range(4)]
    rows.append(CandidateRow("top10", "top", "Top", [0, 5], [1.0, 0.5], score=0.01))
    policy = _policy(n_rows=4, row_length=2, max_rows_per_kind={"byw": 2}, pins=[{"kind": "top10", "at": 1}])
    sel = SELECTORS["stage_wise"](rows, policy, CTX)
    assert [rows[p.row].key for p in sel.rows] == ["b1", "top", "b3"]
    # window dedup (2 rows x 1 column): t0 shown in the window once; below the window titles may repeat
    window = _policy(n_rows=3, row_length=2, dedup="window", windows={"web": {"rows": 2, "columns": 1}})
    same = [CandidateRow("x", f"x{i}", "X", [0, 1], [1.0, 1.0], score=1.0) for i in range(3)]
    assert [p.items.tolist() for p in SELECTORS["stage_wise"](same, window, CTX).rows] == [[0, 1], [1], [0, 1]]


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "reference"])
def test_window_dedup_in_both_fills(monkeypatch, kernel):
    """The compiled kernel and the numpy reference (PAGEGEN_KERNEL=0) each keep the window's dedup rule."""
    from pagegen.page import _fill

    monkeypatch.setattr(_fill, "KERNEL", kernel)
    window = _policy(n_rows=3, row_length=2, dedup="window", windows={"web": {"rows": 2, "columns": 1}})
    same = [CandidateRow("x", f"x{i}", "X", [0, 1], [1.0, 1.0], score=1.0) for i in range(3)]
    assert [p.items.tolist() for p in SELECTORS["stage_wise"](same, window, CTX).rows] == [[0, 1], [1], [0, 1]]


def test_an_at_pin_takes_the_last_row_when_the_page_ends_above_it():
    # after b0 no row may stand at row index 1 (the byw cap, and the pinned row waits for index 2): the page
    # ends there, and the pending pinned row takes that last row; without a pin the page is b0 alone
    rows = [CandidateRow("byw", "b0", "B", [0, 1], [1.0, 1.0], score=1.0), CandidateRow("top10", "top", "Top", [2, 3], [1.0, 0.5], score=0.5)]
    pinned = _policy(n_rows=3, row_length=2, max_rows_per_kind={"byw": 1}, pins=[{"kind": "top10", "at": 2}])
    for name in ("stage_wise", "row_ranking", "template"):
        assert [rows[p.row].key for p in SELECTORS[name](rows, pinned, CTX).rows] == ["b0", "top"], name
    alone = _policy(n_rows=3, row_length=2, max_rows_per_kind={"byw": 1, "top10": 0})
    assert [rows[p.row].key for p in SELECTORS["stage_wise"](rows, alone, CTX).rows] == ["b0"]

class _Scores:
    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float32)

    def score(self, user):
        return self.scores


def _rank(eligible, scores=(6, 5, 4, 3, 2, 1)):
    user = UserState.cold(NOW)
    return RankContext(catalog=CATALOG, model=_Scores(scores), user=user, eligible=np.asarray(eligible, dtype=bool), n=2, rng=np.random.default_rng(0))


def test_ineligible_titles_are_never_placed():
    eligible = np.array([False, True, True, True, True, True])
    ctx = SelectContext(catalog=CATALOG, eligible=eligible, rank=_rank(eligible))
    for name, select in SELECTORS.items():
        sel = select(ROWS, _policy(), ctx)
        assert 0 not in np.concatenate([p.items for p in sel.rows]), name


def test_exact_refuses_large_pages_and_reports_limits():
    with pytest.raises(PagegenError, match="max_cells"):
        ExactSelector(ExactConfig(max_cells=3))(ROWS, _policy(), CTX)
    assert list(SELECTORS) == sorted(SELECTORS) == ["exact", "learned", "row_ranking", "stage_wise", "stage_wise_intent", "stage_wise_ls", "template"]


@given(instances())
def test_stage_wise_gains_add_up_to_the_objective(inst):
    ctx = SelectContext(catalog=inst.catalog, eligible=inst.eligible)
    sel = SELECTORS["stage_wise"](inst.rows, inst.policy, ctx)
    assert sum(s["gain"] for s in sel.steps) == pytest.approx(sel.objective, abs=1e-9)
    assert sel.objective == pytest.approx(objective(prepare(inst.rows, inst.policy, ctx), [Placed(p.row, p.items) for p in sel.rows]))


def test_learned_runs_inside_the_constrained_loop():
    # a scorer that prefers rows far down the candidate list: left alone it would take b3, b2, b1 and
    # never the top10 row; the shared loop still enforces the kind cap (2) and the pin at row 1
    rows = [CandidateRow("byw", f"b{i}", "B", [i, (i + 1) % 6], [1.0, 1.0], score=1.0 - i / 10) for i in range(4)]
    rows.append(CandidateRow("top10", "top", "Top", [0, 5], [1.0, 0.5], score=0.01))
    policy = _policy(n_rows=4, row_length=2, max_rows_per_kind={"byw": 2}, pins=[{"kind": "top10", "at": 1}])
    seen = []

    def low_row_score(x):
        seen.append(x)
        return -x[:, FEATURES.index("row_score")]

    ctx = SelectContext(catalog=CATALOG, eligible=np.ones(6, dtype=bool), rank=_rank(np.ones(6)))
    sel = learned_selector(low_row_score)(rows, policy, ctx)
    keys = [rows[p.row].key for p in sel.rows]
    assert keys[1] == "top" and sum(k.startswith("b") for k in keys) == 2 and keys[0] == "b3"
    assert sel.objective == pytest.approx(objective(prepare(rows, policy, ctx), sel.rows))
    # the features see the rows above: at row index 1 the byw candidates count one row of their kind above
    assert seen[0][:, FEATURES.index("same_kind")].max() == 0 and seen[1][:4, FEATURES.index("same_kind")].min() == pytest.approx(1 / 3)
    with pytest.raises(PagegenError, match="ctx.rank"):
        learned_selector(low_row_score)(rows, policy, CTX)


def test_redundancy_is_the_formula_on_every_pair():
    """red(r, s) = ([same kind] + clipped genre cosine + shared titles / shorter row) / 3, for every pair."""
    rng = np.random.default_rng(0)
    rows = []
    for r in range(30):
        items = rng.choice(6, size=int(rng.integers(1, 7)), replace=False)
        rows.append(CandidateRow(("a", "b", "c")[r % 3], f"r{r}", "R", items, np.sort(rng.random(len(items)))[::-1], score=float(rng.random())))
    ctx = SelectContext(catalog=CATALOG, eligible=np.array([True, True, False, True, True, True]))
    problem = prepare(rows, _policy(n_rows=5, diversity=1.0), ctx)
    titles = [set(problem.M[r, : problem.length[r]].tolist()) for r in range(len(rows))]
    for s in range(len(rows)):
        want = [
            ((rows[r].kind == rows[s].kind) + min(max(float(problem.profile[r] @ problem.profile[s]), 0.0), 1.0)
             + (len(titles[r] & titles[s]) / min(len(titles[r]), len(titles[s])) if min(len(titles[r]), len(titles[s])) else 0.0)) / 3
            for r in range(len(rows))
        ]  # fmt: skip
        np.testing.assert_allclose(problem.redundancy(s), want, rtol=0, atol=1e-12)


def test_an_available_pin_leaves_the_titles_of_a_required_pin():
    """Top 10 (pinned at row 0, 'available') holds only titles that Continue Watching (pinned within 2
    rows, 'in_progress') needs: placing it first would leave Continue Watching one title (< min_titles)
    although the member has 5 titles in progress, which check() reports. Top 10 gives way instead."""
    from pagegen.serve._engine import assemble
    from policies._check import check

    catalog = Catalog.build([f"t{i}" for i in range(9)], [f"T{i}" for i in range(9)], [["Drama"]] * 9)
    user = UserState.from_history(catalog, [{"item": f"t{i}", "timestamp": NOW - 10 + k, "kind": "play", "value": 0.5} for k, i in enumerate((0, 1, 2, 3, 8))], NOW, user="m")
    eligible = np.isin(np.arange(9), [0, 1, 2, 3, 8])
    rows = [
        CandidateRow("continue_watching", "cw", "cw", [8, 3, 2, 1, 0], np.zeros(5), score=0.0),
        CandidateRow("top10", "top10:0", "top10:0", [0, 1, 2, 3], np.zeros(4), score=0.0),
    ]
    policy = _policy(n_rows=2, row_length=4, min_titles=2, pins=[{"kind": "continue_watching", "within": 2, "when": "in_progress"}, {"kind": "top10", "at": 0}])
    rank = RankContext(catalog=catalog, model=_Scores(np.arange(9, 0, -1)), user=user, eligible=eligible, n=4, rng=np.random.default_rng(0))
    ctx = SelectContext(catalog=catalog, eligible=eligible, rank=rank)
    for name, select in SELECTORS.items():
        sel = select(rows, policy, ctx)
        page = assemble(rows, sel, catalog, user="m", policy=policy.name, selector=name, device="web", now=NOW, seed=0)
        assert check(page, policy, user, catalog) == [], name
        assert "cw" in [row.key for row in page.rows], name
    # the greedy selectors: Top 10 cannot stand at row 0 without those titles, so the pin is inactive
    assert [(rows[p.row].key, p.items.tolist()) for p in SELECTORS["stage_wise"](rows, policy, ctx).rows] == [("cw", [8, 3, 2, 1])]


def test_title_index_finds_every_entry_of_a_title():
    from pagegen.page._objective import TitleIndex

    rng = np.random.default_rng(1)
    M = np.full((7, 5), -1, dtype=np.int32)
    for r in range(7):
        k = int(rng.integers(0, 6))
        M[r, :k] = rng.choice(9, size=k, replace=False)
    index = TitleIndex.of(M, 9)
    for titles in ([0], [3, 7], list(range(9)), []):
        want = np.flatnonzero(np.isin(M.ravel(), titles) & (M.ravel() >= 0))
        assert sorted(index.entries_of(np.asarray(titles, dtype=np.intp)).tolist()) == want.tolist()
        assert sorted(index.rows_of(np.asarray(titles, dtype=np.intp)).tolist()) == (want // 5).tolist()


def test_gains_add_up_to_the_objective():
    """Every greedy selector's objective is the sum of the marginal gains of its rows: the page objective."""
    rng = np.random.default_rng(2)
    rows = []
    for r in range(30):
        items = rng.choice(6, size=int(rng.integers(1, 7)), replace=False)
        rows.append(CandidateRow(("a", "b", "c")[r % 3], f"r{r}", "R", items, np.sort(rng.random(len(items)))[::-1], score=float(rng.random())))
    ctx = SelectContext(catalog=CATALOG, eligible=np.array([True, True, False, True, True, True]))
    policy = _policy(n_rows=5, diversity=1.0, max_appearances=2)
    for name in ("template", "row_ranking", "stage_wise"):
        sel = SELECTORS[name](rows, policy, ctx)
        assert len(sel.rows) == 5
        assert sel.objective == pytest.approx(objective(prepare(rows, policy, ctx), sel.rows), rel=1e-12), name


@pytest.mark.parametrize("model", ["geometric", "log"])
def test_refilled_values_equal_the_cells_of_each_candidate(model):
    """At every row index the refilled value of a candidate is sum_c D_pc q over the titles it would show."""
    rng = np.random.default_rng(5)
    catalog = Catalog.build([f"t{i}" for i in range(40)], [f"T{i}" for i in range(40)], [["Drama"] if i % 2 else ["Comedy"] for i in range(40)])
    rows = []
    for r in range(60):
        items = rng.choice(40, size=int(rng.integers(2, 12)), replace=False)
        rows.append(CandidateRow(("a", "b", "c")[r % 3], f"r{r}", "R", items, np.sort(rng.random(len(items)))[::-1], score=float(rng.random())))
    ctx = SelectContext(catalog=catalog, eligible=rng.random(40) < 0.9)
    policy = _policy(n_rows=8, row_length=5, diversity=0.2, attention={"model": model, "row_decay": 0.8, "column_decay": 0.7})
    problem = prepare(rows, policy, ctx)
    checked = []

    def key(pr, p, state):
        _, pos = state.shown()
        fresh = [sum(pr.D[p, c] * pr.Q[r, j] for c, j in enumerate(pos[r]) if j >= 0) for r in range(pr.n_rows)]
        np.testing.assert_allclose(state.refilled_value, fresh, rtol=1e-12, atol=0)
        checked.append(p)
        return stage_key(pr, p, state)

    sel = greedy_fill(problem, key)
    assert len(sel.rows) == 8 and checked == list(range(8))
    assert sel.objective == pytest.approx(SELECTORS["stage_wise"](rows, policy, ctx).objective, rel=1e-12)


def _overlapping_rows(rng, n_rows, pool, longest):
    rows = []
    for r in range(n_rows):
        items = rng.choice(pool, size=int(rng.integers(1, longest + 1)), replace=False)
        rows.append(CandidateRow(("a", "b", "genre")[r % 3], f"r{r}", "R", items, np.sort(rng.random(len(items)))[::-1], evidence={"genre": "Drama"} if r % 3 == 2 else {}, score=float(rng.random())))
    return rows


def test_shared_titles_and_profiles_equal_the_sparse_products():
    """The pairwise shared-title counts (from the title index) and the genre profiles (gathered when the
    candidates are few) equal the products with the rows x titles incidence matrix."""
    import pagegen.page._objective as objective_module

    rng = np.random.default_rng(9)
    catalog = Catalog.build([f"t{i}" for i in range(50)], [f"T{i}" for i in range(50)], [["Drama", "Comedy"][: 1 + i % 2] if i % 3 else ["Horror"] for i in range(50)])
    ctx = SelectContext(catalog=catalog, eligible=rng.random(50) < 0.85)
    rows = _overlapping_rows(rng, 40, 50, 12)
    policy = _policy(n_rows=6, row_length=8)
    problem = prepare(rows, policy, ctx)
    import scipy.sparse as sp

    entries = problem.M[problem.M >= 0]  # the rows x titles incidence, row by row
    inc = sp.csr_array((np.ones(len(entries), dtype=np.float32), entries, np.r_[0, np.cumsum(problem.length)]), shape=(problem.n_rows, catalog.n))
    np.testing.assert_array_equal(problem.by_title.shared(problem.n_rows), (inc @ inc.T).toarray())
    norm = np.linalg.norm(np.asarray(inc @ objective_module._genres(catalog), dtype=np.float64), axis=1, keepdims=True)
    sparse = np.asarray(inc @ objective_module._genres(catalog), dtype=np.float64) / np.where(norm > 0, norm, 1.0)
    np.testing.assert_array_equal(problem.profile, sparse)
    assert problem.M.size <= objective_module.DENSE_ENTRIES  # the gathered path was the one taken


def test_a_row_without_genres_has_a_zero_profile():
    """The genre profiles are the rows' genre counts over their norm, and 0 for a row whose titles have no
    genre (the quotients where the norm is positive: the masked division, taken only then)."""
    catalog = Catalog.build([f"t{i}" for i in range(6)], [f"T{i}" for i in range(6)], [["Drama"], [], ["Comedy", "Drama"], [], ["Comedy"], ["Drama"]])
    ctx = SelectContext(catalog=catalog, eligible=np.ones(6, dtype=bool))
    bare = CandidateRow("a", "bare", "Bare", [1, 3], [1.0, 0.5], score=1.0)
    rich = CandidateRow("b", "rich", "Rich", [0, 2, 4], [1.0, 0.8, 0.5], score=0.5)
    counts = np.asarray(catalog.genres, dtype=np.float64)[[0, 2, 4]].sum(axis=0)
    for rows, profiles in (([rich], [counts / np.sqrt(counts @ counts)]), ([bare, rich], [np.zeros(len(counts)), counts / np.sqrt(counts @ counts)])):
        np.testing.assert_array_equal(prepare(rows, _policy(), ctx).profile, np.array(profiles))
