"""Engine and build_page on the tiny synthetic world: real rankers, fault isolation, determinism."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow
from pagegen.core._errors import DataError, PagegenError, PolicyError
from pagegen.core._page import Page, page_grid
from pagegen.core._userstate import UserState
from pagegen.serve._engine import Engine, build_page
from policies._check import PageCheckError, check
from policies._policy import PRESETS, Policy, load_policy


@pytest.fixture(scope="module")
def world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny")


@pytest.fixture(scope="module")
def model(world):
    from pagegen.models._fit import fit

    return fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)


def engine(world, model, policy="default", **kw):
    return Engine(world.catalog, model, policy, interactions=world.interactions, profiles=world.profiles, now=world.now, **kw)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("selector", ["template", "row_ranking", "stage_wise", "stage_wise_intent", "learned"])
def test_every_preset_and_selector_gives_a_valid_page(world, model, preset, selector):
    eng = engine(world, model, preset, debug=True)
    for member, device in (("u0", "tv"), ("u3", "web"), ("u7", "mobile")):
        page = eng.build(member, device=device, selector=selector)
        assert page.rows and page.policy == preset and page.selector == selector and page.device == device
        assert check(page, eng.policy, eng.state(member), world.catalog) == []


def test_same_seed_same_bytes_and_the_trace(world, model):
    eng = engine(world, model)
    page = eng.build("u2", seed=11, trace=True)
    assert page.to_json() == eng.build("u2", seed=11, trace=True).to_json()
    assert page.to_json() == engine(world, model).build("u2", seed=11, trace=True).to_json()
    assert Page.from_json(page.to_json()) == page
    assert page.trace is not None and len(page.trace.steps) == len(page.rows)
    assert [s.key for s in page.trace.steps] == [r.key for r in page.rows]
    assert sum(s.gain for s in page.trace.steps) == pytest.approx(page.trace.objective)
    assert {r.key for r in page.rows} <= {c.key for c in page.trace.candidates}
    assert page.now == world.now and page.seed == 11 and page.user == "u2"
    grid = page_grid(page, world.catalog)
    assert np.unique(grid[grid >= 0]).size == (grid >= 0).sum()  # default policy: deduplicated page


def test_stage_wise_intent_gives_the_same_bytes_and_its_objective_in_the_trace(world, model):
    eng = engine(world, model)
    for member in ("u2", "u5", "u9"):
        page = eng.build(member, seed=3, selector="stage_wise_intent", trace=True)
        assert page.to_json() == engine(world, model).build(member, seed=3, selector="stage_wise_intent", trace=True).to_json()
        assert sum(s.gain for s in page.trace.steps) == pytest.approx(page.trace.objective)


def test_a_cold_member_gets_a_full_page_from_the_fallbacks(world, model):
    policy = Policy(name="short", n_rows=6, row_length=10, windows={"web": {"rows": 3, "columns": 6}})
    eng = engine(world, model, policy, debug=True)
    for member in ("someone-new", UserState.cold(world.now, user="anon")):
        page = eng.build(member)
        assert len(page.rows) == 6
        assert all(len(r.slots) >= policy.min_titles for r in page.rows)


def test_continue_watching_is_pinned_when_the_member_has_titles_in_progress(world, model):
    eng = engine(world, model, debug=True)
    for u in range(40):
        state = eng.state(f"u{u}")
        page = eng.build(state)
        kinds = [r.kind for r in page.rows]
        if "continue_watching" in kinds:
            assert kinds.index("continue_watching") < 2


def _raises(ctx):
    raise ValueError("boom")


def _nan(ctx):
    items = np.flatnonzero(ctx.eligible)[:3]
    return [CandidateRow.__new__(CandidateRow)] if False else [_bad_row(items, np.array([1.0, np.nan, 0.0]))]


def _bad_row(items, scores):
    row = object.__new__(CandidateRow)
    for name, value in {"kind": "x", "key": "bad", "title": "Bad", "items": items, "scores": scores, "evidence": {}, "score": 1.0, "reasons": None}.items():
        object.__setattr__(row, name, value)
    return row


def _unknown(ctx):
    return [_bad_row(np.array([ctx.catalog.n + 5]), np.array([1.0], np.float32))]


def test_faulty_rankers_are_dropped_logged_and_traced(world, model, caplog):
    from rows._registry import default_rankers

    eng = engine(world, model, rankers={**default_rankers(), "raises": _raises, "nan": _nan, "unknown": _unknown})
    with caplog.at_level(logging.WARNING, logger="pagegen"):
        page = eng.build("u1", trace=True)
    assert page.rows
    dropped = {f.ranker for f in page.trace.failures}
    assert dropped == {"raises", "nan", "unknown"}
    assert "ranker 'raises' dropped for member u1: ValueError: boom" in caplog.text
    assert engine(world, model).build("u1").rows == page.rows  # the other rows are untouched


def test_nothing_to_build_is_a_clear_error(world, model):
    with pytest.raises(PagegenError, match="no candidate rows .*raises: ValueError: boom"):
        engine(world, model, rankers={"raises": _raises}).build("u1")
    with pytest.raises(PagegenError, match="none of the .* candidate rows fits policy"):
        engine(world, model, Policy(min_titles=40, pins=[]), rankers={"top10": __import__("rows._registry", fromlist=["RANKERS"]).RANKERS["top10"]}).build("u1")


def test_bad_requests_are_named(world, model):
    eng = engine(world, model)
    with pytest.raises(PolicyError, match="no device 'watch'"):
        eng.build("u1", device="watch")
    with pytest.raises(DataError, match="unknown selector"):
        eng.build("u1", selector="magic")
    with pytest.raises(DataError, match="own now"):
        eng.build(eng.state("u1"), now=world.now - 5)


def test_debug_switch_raises_on_a_violation(world, model):
    from pagegen.page._objective import Selection

    def sloppy(rows, policy, ctx):  # every row with all its titles, no dedup
        from pagegen.page._objective import Placed, prepare

        problem = prepare(rows, policy, ctx)
        return Selection(rows=tuple(Placed(r, problem.M[r, : problem.length[r]]) for r in range(min(len(rows), policy.n_rows))), objective=0.0)

    assert engine(world, model, selector=sloppy).build("u1").rows
    with pytest.raises(PageCheckError) as err:
        engine(world, model, selector=sloppy, debug=True).build("u1")
    assert err.value.violations and "dedup" in {v.rule for v in err.value.violations}


def test_exact_on_a_small_page(world, model):
    policy = Policy(name="small", n_rows=3, row_length=3, min_titles=2, windows={"web": {"rows": 2, "columns": 3}}, pins=[{"kind": "top10", "at": 2}])
    from rows._registry import RANKERS

    rankers = {k: RANKERS[k] for k in ("top10", "trending", "popular", "new_releases")}
    eng = engine(world, model, policy, rankers=rankers, debug=True)
    exact = eng.build("u4", selector="exact", trace=True)
    greedy = eng.build("u4", selector="stage_wise", trace=True)
    assert exact.trace.status == "OPTIMAL" and exact.trace.gap == 0.0
    assert greedy.trace.objective <= exact.trace.objective + 1e-6


def test_build_page_with_an_engine_and_load_policy(world, model):
    eng = engine(world, model, load_policy("mobile"))
    page = build_page("u5", engine=eng, device="mobile")
    assert page.policy == "mobile" and page.user == "u5"
    assert build_page(engine=eng).user == world.interactions.users.id(0)


@pytest.mark.slow
def test_build_page_with_no_arguments_uses_the_synthetic_world():
    page = build_page()
    assert page.rows and page.policy == "default"
    assert build_page(page.user).to_json() == page.to_json()


def test_build_many_returns_exactly_the_pages_of_build(world, model):
    eng = engine(world, model)
    members = ["u0", "u3", "nobody", "u7", "u3", eng.state("u5")]
    pages = eng.build_many(members, device="tv", seed=4)
    assert [p.user for p in pages] == ["u0", "u3", "nobody", "u7", "u3", "u5"]
    assert [p.to_json() for p in pages] == [eng.build(m, device="tv", seed=4).to_json() for m in members]
    assert eng.build_many([]) == []
    assert eng.dump_many(members, device="tv", seed=4) == [p.to_json() for p in pages]  # the batch's way: JSON only
    assert eng.dump_many([]) == []
    checked = engine(world, model, debug=True)  # every page checked: made as a Page, then dumped
    assert checked.dump_many(members[:3], device="tv", seed=4) == [p.to_json() for p in pages[:3]]
