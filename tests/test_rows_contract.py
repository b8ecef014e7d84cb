"""The ranker contract for every built-in ranker, proof that it bites, and fault isolation."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from pagegen.testing import FixedModel, check_ranker, check_rows
from rows._context import make_context
from rows._registry import RANKERS, RankerFailure, candidate_rows, default_rankers


@pytest.fixture(scope="module")
def world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny", seed=0)


def _popularity_model(world) -> FixedModel:
    """Known outputs from the tiny world's plays: counts, a random similarity, scores = popularity + own taste."""
    cat, it = world.catalog, world.interactions
    plays = it.kind == 0
    counts = np.bincount(it.item[plays], minlength=cat.n).astype(np.float32)
    rng = np.random.default_rng(7)
    sim = rng.random((cat.n, cat.n)).astype(np.float32) * (rng.random((cat.n, cat.n)) < 0.1)
    return FixedModel(cat.n, scores=lambda u: counts + np.isin(np.arange(cat.n), u.items), popularity=counts, trending=counts / 3, similarity=sim)


def _members(world, k: int = 12) -> list[UserState]:
    return [world.user_state(u) for u in range(k)]


@pytest.mark.parametrize("name", sorted(RANKERS))
def test_contract_on_tiny_world_with_known_model(world, name):
    check_ranker(RANKERS[name], world.catalog, _popularity_model(world), _members(world), name=name)


@pytest.fixture(scope="module")
def fitted(world):
    fit_mod = pytest.importorskip("pagegen.models._fit", reason="the fitted model is not in this checkout yet")
    return fit_mod.fit(world.catalog, world.interactions, progress=False)


@pytest.mark.parametrize("name", sorted(RANKERS))
def test_contract_on_tiny_world_with_fitted_model(world, fitted, name):
    check_ranker(RANKERS[name], world.catalog, fitted, _members(world, 8), name=name, seed=3)


def test_every_member_of_the_tiny_world_gets_a_full_page_of_candidates(world, fitted):
    for u in range(0, len(world.profiles), 20):
        ctx = make_context(world.catalog, fitted, world.user_state(u), n=20, seed=0)
        rows, failures = candidate_rows(ctx)
        assert failures == []
        check_rows(ctx, rows)
        assert len(rows) >= 6
    cold = make_context(world.catalog, fitted, UserState.cold(world.now), n=20, seed=0)
    rows, failures = candidate_rows(cold)
    assert failures == [] and {"popular", "top10", "genre"} <= {r.kind for r in rows}


# -- the contract bites: deliberately broken rankers -------------------------------------------


def _row_unchecked(**fields) -> CandidateRow:
    """A CandidateRow that skips its own validation (as a buggy subclass or copy might)."""
    row = object.__new__(CandidateRow)
    defaults = {"kind": "custom", "key": "broken", "title": "Broken", "evidence": {}, "score": 0.5, "reasons": None}
    for key, value in {**defaults, **fields}.items():
        object.__setattr__(row, key, value)
    return row


def _eligible_items(ctx: RankContext, k: int = 3) -> np.ndarray:
    return np.flatnonzero(ctx.eligible)[:k].astype(np.int32)


def duplicates(ctx):
    items = _eligible_items(ctx)
    return [_row_unchecked(items=np.r_[items, items[:1]], scores=np.array([4, 3, 2, 1], np.float32))] if items.size == 3 else []


def ineligible(ctx):
    bad = np.flatnonzero(~ctx.eligible)[:1]
    return [CandidateRow("custom", "ineligible", "Ineligible", bad, np.ones(bad.size))] if bad.size else []


def unsorted(ctx):
    items = _eligible_items(ctx)
    return [CandidateRow("custom", "unsorted", "Unsorted", items, np.arange(items.size, dtype=np.float32))] if items.size == 3 else []


def nonfinite(ctx):
    items = _eligible_items(ctx)
    return [_row_unchecked(items=items, scores=np.full(items.size, np.nan, np.float32))] if items.size else []


def order_dependent(ctx, _calls=[0]):  # noqa: B006 - state across calls is the bug
    _calls[0] += 1
    items = _eligible_items(ctx, 1 + _calls[0] % 2)
    return [CandidateRow("custom", "flaky", "Flaky", items, np.zeros(items.size))] if items.size else []


def fails_cold(ctx):
    if ctx.user.is_cold:
        raise ZeroDivisionError("no history")
    return []


def fails_on_empty_catalog(ctx):
    return [CandidateRow("custom", "first", "First", [0], [1.0])] if ctx.catalog.n == 0 or ctx.eligible[0] else []


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (duplicates, "a title appears twice"),
        (ineligible, "ineligible title"),
        (unsorted, "not sorted by score"),
        (nonfinite, "non-finite score"),
        (order_dependent, "not deterministic"),
        (fails_cold, "raised ZeroDivisionError"),
        (fails_on_empty_catalog, "unknown title index 0"),
    ],
)
def test_the_contract_catches_a_broken_ranker(world, broken, message):
    with pytest.raises(AssertionError, match=message):
        check_ranker(broken, world.catalog, _popularity_model(world), _members(world, 4))


def test_check_rows_catches_repeated_keys_and_unserializable_evidence(world):
    ctx = make_context(world.catalog, _popularity_model(world), world.user_state(0), n=5, seed=0)
    items = _eligible_items(ctx, 2)
    row = CandidateRow("custom", "k", "K", items, [2.0, 1.0])
    with pytest.raises(AssertionError, match="row key repeats"):
        check_rows(ctx, [row, row])
    with pytest.raises(AssertionError, match="not JSON-friendly"):
        check_rows(ctx, [CandidateRow("custom", "k", "K", items, [2.0, 1.0], evidence={"x": object()})])


# -- fault isolation --------------------------------------------------------------------------


def test_candidate_rows_drops_faulty_rankers_and_records_why(world):
    ctx = make_context(world.catalog, _popularity_model(world), world.user_state(2), n=10, seed=0)

    def raises(ctx):
        raise RuntimeError("model offline")

    rankers = {**default_rankers(), "raises": raises, "ineligible": ineligible, "unsorted": unsorted, "nonfinite": nonfinite, "dup": duplicates}
    rows, failures = candidate_rows(ctx, rankers)
    assert [f.name for f in failures] == ["raises", "ineligible", "unsorted", "nonfinite", "dup"]
    assert failures[0] == RankerFailure("raises", "RuntimeError: model offline")
    assert "not sorted" in failures[2].error
    good, none = candidate_rows(ctx)
    assert none == [] and [r.key for r in rows] == [r.key for r in good]


def test_candidate_rows_rejects_key_clashes_and_names_plain_functions(world):
    ctx = make_context(world.catalog, _popularity_model(world), world.user_state(2), n=10, seed=0)

    def popular_again(ctx):
        return RANKERS["popular"](ctx)

    rows, failures = candidate_rows(ctx, [RANKERS["popular"], popular_again])
    assert [r.key for r in rows] == ["popular"]
    assert failures == [RankerFailure("popular_again", "row key 'popular' used twice")]


def test_default_rankers_is_a_copy():
    mine = default_rankers()
    mine.pop("popular")
    assert "popular" in RANKERS and set(mine) < set(RANKERS)


def test_empty_catalog_gives_no_rows():
    ctx = make_context(Catalog.build([], []), FixedModel(0), UserState.cold(10), n=10, seed=0)
    assert candidate_rows(ctx) == ([], [])


def test_rows_problems_name_each_problem_of_each_row(world):
    from pagegen.core._candidates import rows_problems

    ctx = make_context(world.catalog, _popularity_model(world), world.user_state(2), n=10, seed=0)
    items = _eligible_items(ctx, 4)
    low = CandidateRow("custom", "low", "Low", items[:2], [2.0, 1.0])
    high = CandidateRow("custom", "high", "High", items[2:], [9.0, 8.0])  # a row may start above the last one's end
    assert rows_problems(ctx, [low, high]) == []
    unsorted_row = CandidateRow("custom", "up", "Up", items[2:], [1.0, 3.0])
    assert rows_problems(ctx, [low, unsorted_row]) == ["row 'up': not sorted by score (position 1 beats the one above)"]
    bad = np.flatnonzero(~ctx.eligible)[:1]
    inel = CandidateRow("custom", "inel", "Inel", bad, [1.0])
    assert [p.split(":")[0] for p in rows_problems(ctx, [low, inel, high])] == ["row 'inel'"]
    out_of_range = CandidateRow("custom", "far", "Far", [world.catalog.n], [1.0])
    assert rows_problems(ctx, [high, out_of_range]) == [f"row 'far': unknown title index {world.catalog.n} (catalog has {world.catalog.n})"]
    wrapped = int(items[0]) - world.catalog.n  # a negative index that numpy would read as an eligible title
    negative = CandidateRow("custom", "neg", "Neg", [wrapped], [1.0])
    for rows in ([negative], [high, negative]):
        assert rows_problems(ctx, rows) == [f"row 'neg': unknown title index {wrapped} (catalog has {world.catalog.n})"]
    swapped = CandidateRow("custom", "swapped", "Swapped", items[:2], [2.0, 1.0])
    object.__setattr__(swapped, "items", np.r_[items[:1], items[:1]])  # changed after its own validation
    assert rows_problems(ctx, [low, swapped]) == ["row 'swapped': a title appears twice"]
