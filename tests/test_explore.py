"""Exploration as a logged policy: drawn per (member, visit), with exact propensities in the page."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_rows_families import DAY, NOW, catalog, member

from pagegen.core._errors import DataError
from pagegen.core._page import PAGE_FORMAT_VERSION
from pagegen.serve._engine import Engine
from pagegen.testing import FixedModel
from rows._context import make_context
from rows._genre import GenreRows, GenreRowsConfig

CFG = GenreRowsConfig(min_titles=1, min_eligible=1, explore=1.0, explore_epsilon=0.1, max_rows=2, max_fine_rows=1, prior=1.0)


def _ctx(visit, seed=0):
    model = FixedModel(11, scores=np.arange(11, dtype=np.float32))
    return make_context(catalog(), model, member(["m1"], [NOW - DAY], [0.5]), n=5, seed=seed, visit=visit)


def test_the_draw_differs_between_visits_and_repeats_within_one():
    draws = {tuple(r.key for r in GenreRows(CFG)(_ctx(v))) for v in range(30)}
    assert len(draws) > 3  # the old generator ignored the visit: one draw for all 30
    again = [tuple((r.key, r.propensity) for r in GenreRows(CFG)(_ctx("req-7"))) for _ in range(2)]
    assert again[0] == again[1]
    assert tuple(r.key for r in GenreRows(CFG)(_ctx(None))) == tuple(r.key for r in GenreRows(CFG)(_ctx(NOW)))  # a visit defaults to now


def test_draw_probabilities_are_a_distribution_and_match_the_rows_propensities():
    genre = GenreRows(CFG)
    ctx = _ctx(0)
    keys = genre.index(ctx.catalog).keys
    total = sum(genre.draw_probability(_ctx(0), seq) for seq in itertools.permutations(keys, 2))
    assert total == pytest.approx(1.0, abs=1e-12)  # every ordered pair the draw can make, and nothing else
    for v in range(20):
        rows = genre(_ctx(v))
        assert math.prod(r.propensity for r in rows) == pytest.approx(genre.draw_probability(_ctx(v), [r.key for r in rows]), rel=1e-12)
        assert all(0 < r.propensity < 1 for r in rows)
    assert genre.draw_probability(ctx, [keys[0]]) == 0.0  # the draw does not stop after one slice


def test_draw_frequencies_follow_the_propensities():
    genre = GenreRows(CFG)
    n = 3000
    seen: dict[tuple, int] = {}
    for v in range(n):
        seq = tuple(r.key for r in genre(_ctx(v)))
        seen[seq] = seen.get(seq, 0) + 1
    for seq, count in seen.items():
        p = genre.draw_probability(_ctx(0), seq)
        assert abs(count / n - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-9, seq


def test_without_exploration_the_draw_is_greedy_with_propensity_one():
    greedy = GenreRows(CFG.model_copy(update={"explore": 0.0}))
    rows = greedy(_ctx(3))
    assert [r.propensity for r in rows] == [1.0, 1.0] and not any(r.evidence["explored"] for r in rows)
    assert greedy.draw_probability(_ctx(4), [r.key for r in rows]) == 1.0
    assert GenreRows(CFG).draw_probability(_ctx(4), [r.key for r in rows]) < 1.0


@pytest.fixture(scope="module")
def engine(tiny_world, tiny_model):
    return Engine(tiny_world.catalog, tiny_model, "default", interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)


def test_pages_carry_visit_and_propensities(engine, tiny_world):
    users = tiny_world.interactions.users
    explored = 0
    for u in range(0, 200, 10):
        member_id = users.id(u)
        page = engine.build(member_id, visit="r1")
        assert page.version == PAGE_FORMAT_VERSION == "1.2" and page.visit == "r1"
        for row in page.rows:
            assert all(s.propensity == row.propensity for s in row.slots)
            if row.kind != "genre":
                assert row.propensity == 1.0
        on_page = math.prod(r.propensity for r in page.rows)
        assert page.propensity <= on_page + 1e-15  # drawn slices the builder did not place count too
        explored += page.propensity < 1
        ctx = engine.rank_context(engine.state(member_id), engine.seed, visit="r1")
        assert engine.rankers["genre"].draw_probability(ctx, page.draw) == pytest.approx(page.propensity, rel=1e-12)
        assert engine.build(member_id, visit="r1").to_json() == page.to_json()
    assert explored > 10
    assert engine.build(users.id(0)).visit == tiny_world.now


def test_repeated_visits_explore_other_rows(engine, tiny_world):
    users = tiny_world.interactions.users
    varied = sum(len({tuple(r.key for r in engine.build(users.id(u), visit=v).rows) for v in range(6)}) > 1 for u in range(20))
    assert varied >= 8  # (the generator of (seed, member) alone gave every visit the same rows: 0)


@pytest.mark.parametrize("visit", [-1, True, "", "x" * 257, 1.5, 2**64])
def test_a_bad_visit_is_a_named_error(engine, tiny_world, visit):
    with pytest.raises(DataError) as err:
        engine.build(tiny_world.interactions.users.id(0), visit=visit)
    assert err.value.field == "visit"
