"""Stage-wise with the intent-coverage term (``stage_wise_intent``) on hand-computed instances."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from pagegen.page._coverage import Coverage, IntentCover, coverage_objective
from pagegen.page._objective import Placed, SelectContext, prepare
from pagegen.page._registry import SELECTORS
from pagegen.page._select import stage_wise_intent_selector
from pagegen.testing._strategies import NOW
from policies._policy import Policy

#: Titles 0-3 are dramas, 4-7 comedies: two intents, each half of the catalog.
CATALOG = Catalog.build([f"t{i}" for i in range(8)], [f"T{i}" for i in range(8)], [["Drama"]] * 4 + [["Comedy"]] * 4)
CTX = SelectContext(catalog=CATALOG, eligible=np.ones(CATALOG.n, dtype=bool))
DRAMA, COMEDY = CATALOG.genre_names.index("Drama"), CATALOG.genre_names.index("Comedy")
#: A softer term than the default, for numbers by hand: rows off the intent are entered too, and serve half.
SOFT = Coverage(enter_floor=0.2, enter_gain=0.8, satisfaction=0.5)


def _policy(**kw):
    base = dict(n_rows=2, row_length=2, min_titles=1, windows={"web": {"rows": 1, "columns": 1}}, pins=[], genre_cap=None,
                attention={"row_decay": 0.5, "column_decay": 0.5}, diversity=0.0)  # fmt: skip
    return Policy(**{**base, **kw})


# Without a RankContext a row's cells are worth its row score (its titles' relative scores are 1 and 0.5):
# the two drama rows are worth more than the comedy row on their own.
ROWS = [
    CandidateRow("drama1", "d1", "Drama I", [0, 1], [1.0, 0.5], score=3.0),
    CandidateRow("drama2", "d2", "Drama II", [2, 3], [1.0, 0.5], score=2.0),
    CandidateRow("comedy", "c", "Comedy", [4, 5], [1.0, 0.5], score=1.9),
]


def test_a_row_on_an_unserved_intent_beats_one_on_a_served_intent():
    # the catalog's mix: pi = (1/2, 1/2); a drama row enters with 1 under drama, 0.2 under comedy
    intents = IntentCover.of(prepare(ROWS, _policy(), CTX), SOFT)
    assert intents.pi[[DRAMA, COMEDY]].tolist() == pytest.approx([0.5, 0.5])
    first = intents.cover([])
    assert first.tolist() == pytest.approx([0.6, 0.6, 0.6])  # 0.5 * 1 + 0.5 * 0.2 for every row
    problem = prepare(ROWS, _policy(), CTX)
    after = IntentCover.of(problem, SOFT).cover([_placed(0)])
    # served: drama 1 - 0.5 * 1 = 0.5 left, comedy 1 - 0.5 * 0.2 = 0.9 left
    assert after.tolist() == pytest.approx([0.5 * (0.5 + 0.9 * 0.2), 0.5 * (0.5 + 0.9 * 0.2), 0.5 * (0.5 * 0.2 + 0.9)])
    assert after[2] > after[1]
    plain = SELECTORS["stage_wise"](ROWS, _policy(), CTX)
    covered = stage_wise_intent_selector(SOFT)(ROWS, _policy(), CTX)
    assert [p.row for p in plain.rows] == [0, 1]  # the plain objective repeats the served intent
    assert [p.row for p in covered.rows] == [0, 2]  # 1.9 * 0.5 beats 2.0 * 0.34
    # the default term: a row serves all of the intent it is on, and rows off an intent are not entered
    assert [p.row for p in SELECTORS["stage_wise_intent"](ROWS, _policy(), CTX).rows] == [0, 2]
    # the check bites: when rows serve nothing, the served intent is repeated
    unserved = stage_wise_intent_selector(Coverage(enter_floor=0.2, enter_gain=0.8, satisfaction=0.0))
    assert [p.row for p in unserved(ROWS, _policy(), CTX).rows] == [0, 1]


def test_without_coverage_it_is_stage_wise():
    # every row entered under every intent and nothing served: cover = 1, the plain marginal gains
    flat = stage_wise_intent_selector(Coverage(enter_floor=1.0, satisfaction=0.0))
    for policy in (_policy(), _policy(diversity=1.0), _policy(n_rows=3)):
        a, b = flat(ROWS, policy, CTX), SELECTORS["stage_wise"](ROWS, policy, CTX)
        assert [(p.row, p.items.tolist()) for p in a.rows] == [(p.row, p.items.tolist()) for p in b.rows]


def test_the_member_history_sets_the_intent_mass():
    # a member who played comedies only: the comedy row goes on top although the drama rows weigh more
    user = UserState(now=NOW, items=np.array([6, 7], dtype=np.int32), last=np.array([NOW - 1, NOW - 2]), fraction=np.ones(2, np.float32), rated=np.zeros(0, np.int32), ratings=np.zeros(0, np.float32))
    ctx = SelectContext(catalog=CATALOG, eligible=CTX.eligible, rank=_rank(user))
    intents = IntentCover.of(prepare(ROWS, _policy(), ctx), Coverage())
    # two comedies and one title's worth of the catalog's mix
    assert intents.pi[[DRAMA, COMEDY]].tolist() == pytest.approx([0.5 / 3, 2.5 / 3])
    rows = [ROWS[0], CandidateRow("comedy", "c", "Comedy", [4, 5], [1.0, 0.5], score=2.9)]
    sel = SELECTORS["stage_wise_intent"](rows, _policy(n_rows=1), ctx)
    assert [p.row for p in sel.rows] == [1]
    assert [p.row for p in SELECTORS["stage_wise"](rows, _policy(n_rows=1), ctx).rows] == [0]


def test_the_keys_add_up_to_the_coverage_objective():
    for policy in (_policy(), _policy(diversity=1.0), _policy(n_rows=3, row_length=1)):
        sel = SELECTORS["stage_wise_intent"](ROWS, policy, CTX)
        assert sel.objective == pytest.approx(coverage_objective(prepare(ROWS, policy, CTX), sel.rows, Coverage()))
        assert sum(step["gain"] for step in sel.steps) == pytest.approx(sel.objective)
        soft = stage_wise_intent_selector(SOFT)(ROWS, policy, CTX)
        assert sum(step["gain"] for step in soft.steps) == pytest.approx(coverage_objective(prepare(ROWS, policy, CTX), soft.rows, SOFT))


def test_the_same_request_gives_the_same_selection():
    a, b = (SELECTORS["stage_wise_intent"](ROWS, _policy(n_rows=3), CTX) for _ in range(2))
    assert [(p.row, p.items.tolist()) for p in a.rows] == [(p.row, p.items.tolist()) for p in b.rows]
    assert a.objective == b.objective


def test_bad_coverage_settings_are_refused():
    with pytest.raises(ValueError, match="satisfaction"):
        Coverage(satisfaction=1.5)
    with pytest.raises(ValueError, match="extra"):
        Coverage(intents=3)


def _placed(row: int) -> Placed:
    return Placed(row=row, items=np.asarray(ROWS[row].items, dtype=np.int32))


class _Scores:
    def score(self, user) -> np.ndarray:
        return np.zeros(CATALOG.n, dtype=np.float32)


def _rank(user: UserState) -> RankContext:
    return RankContext(catalog=CATALOG, model=_Scores(), user=user, eligible=CTX.eligible, n=2, rng=np.random.default_rng(0))
