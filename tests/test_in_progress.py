"""Continue Watching: one definition of "in progress" for the ranker and the pin, and rows that may be short."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.core._catalog import Catalog
from pagegen.core._errors import PolicyError
from pagegen.core._page import Page, PageRow, Slot
from pagegen.core._resume import resumable
from pagegen.core._userstate import Profile, UserState
from pagegen.serve._engine import Engine
from pagegen.testing import FixedModel
from pagegen.testing._strategies import catalogs
from policies._check import check
from policies._policy import PRESETS, Policy, load_policy, policy_eligible
from policies._rules import member_eligible
from rows._context import make_context
from rows._continue import ContinueWatching, ContinueWatchingConfig

DAY = 86_400
NOW = 1_700_000_000


def _page(rows: list[tuple[str, list[str]]], now: int = NOW) -> Page:
    return Page(user="m", policy="p", selector="s", device="web", now=now, seed=0,
                rows=[PageRow(kind=kind, key=f"{kind}:{r}", title=kind, evidence={}, slots=[Slot(id=i, title=i, score=1.0) for i in ids]) for r, (kind, ids) in enumerate(rows)])  # fmt: skip


@st.composite
def _histories(draw, catalog: Catalog) -> UserState:
    """A member whose plays (movies, series, episodes) are spread over two years before now."""
    n = draw(st.integers(0, catalog.n))
    items = draw(st.permutations(range(catalog.n)))[:n]
    ages = sorted(draw(st.lists(st.integers(1, 730 * DAY), min_size=n, max_size=n, unique=True)))
    fractions = draw(st.lists(st.sampled_from((0.05, 0.3, 0.6, 0.89, 0.9, 1.0)), min_size=n, max_size=n))
    region = draw(st.sampled_from((None, *catalog.region_names)))
    return UserState(now=NOW, items=items, last=[NOW - a for a in ages], fraction=fractions, rated=[], ratings=[], profile=Profile(maturity=draw(st.integers(0, 4)), region=region), user="m")


@given(st.data(), st.sampled_from((30.0, 365.0)), st.sampled_from((0.0, 0.25)), st.integers(1, 4), st.sampled_from((None, "kids")))
def test_the_pin_requires_continue_watching_exactly_when_the_ranker_can_fill_it(data, max_age_days, min_fraction, least, preset):
    catalog = data.draw(catalogs())
    user = data.draw(_histories(catalog))
    base = (load_policy(preset) if preset else Policy()).model_dump()
    pin = {"kind": "continue_watching", "within": 2, "when": "in_progress", "max_age_days": max_age_days, "min_fraction": min_fraction}
    policy = Policy(**{**base, "pins": [pin], "min_titles_per_kind": {"continue_watching": least}})
    ctx = make_context(catalog, FixedModel(catalog.n), user, n=policy.row_length, seed=0)
    ctx = type(ctx)(catalog=catalog, model=ctx.model, user=user, eligible=ctx.eligible & policy_eligible(policy, catalog), n=ctx.n, rng=ctx.rng)
    rows = ContinueWatching(ContinueWatchingConfig(max_age_days=max_age_days, min_fraction=min_fraction))(ctx)
    shown = len(rows[0]) if rows else 0
    ok = member_eligible(catalog, user) & policy_eligible(policy, catalog)
    assert shown == min(resumable(user, catalog, ok, max_age_days=max_age_days, min_fraction=min_fraction).count(), policy.row_length)
    # a page without the row breaks the pin exactly when the ranker gives a row long enough to stand
    assert ("pins" in {v.rule for v in check(_page([]), policy, user, catalog)}) == (shown >= least)
    if rows:
        found = {v.rule for v in check(_page([("continue_watching", catalog.ids[rows[0].items].tolist())]), policy, user, catalog)}
        assert "pins" not in found and ("row_length" in found) == (shown < least)


def test_a_title_played_longer_ago_than_the_rankers_max_age_does_not_require_the_row():
    catalog = Catalog.build([f"t{i}" for i in range(8)], [f"T{i}" for i in range(8)], [["Drama"]] * 8)
    user = UserState(now=NOW, items=[0, 1, 2, 3], last=[NOW - 400 * DAY - k for k in range(4)], fraction=[0.5] * 4, rated=[], ratings=[], user="m")
    assert check(_page([("top_picks", ["t4", "t5", "t6"])]), Policy(), user, catalog) == []
    recent = UserState(now=NOW, items=[0], last=[NOW - DAY], fraction=[0.5], rated=[], ratings=[], user="m")
    (v,) = check(_page([("top_picks", ["t4", "t5", "t6"])]), Policy(), recent, catalog)
    assert v.rule == "pins" and "can resume 1 eligible titles" in v.message


def test_continue_watching_stands_from_one_title_while_other_rows_keep_min_titles():
    policy = Policy()
    assert policy.min_titles_of("continue_watching") == 1 and policy.min_titles_of("genre") == policy.min_titles == 3
    for preset in PRESETS:
        assert load_policy(preset).min_titles_of("continue_watching") == 1, preset
    catalog = Catalog.build([f"t{i}" for i in range(8)], [f"T{i}" for i in range(8)], [["Drama"]] * 8)
    user = UserState(now=NOW, items=[0], last=[NOW - DAY], fraction=[0.5], rated=[], ratings=[], user="m")
    assert check(_page([("continue_watching", ["t0"]), ("top_picks", ["t1", "t2", "t3"])]), policy, user, catalog) == []
    (v,) = check(_page([("continue_watching", ["t0"]), ("genre", ["t1", "t2"])]), policy, user, catalog)
    assert (v.rule, v.row) == ("row_length", 1) and "min_titles (3)" in v.message
    strict = policy.model_copy(update={"min_titles_per_kind": {"continue_watching": 2}})
    found = check(_page([("continue_watching", ["t0"]), ("top_picks", ["t1", "t2", "t3"])]), strict, user, catalog)
    assert [(v.rule, v.row) for v in found] == [("row_length", 0)] and "min_titles_per_kind.continue_watching (2)" in found[0].message


@pytest.mark.parametrize(("value", "field"), [({"continue_watching": 0}, "min_titles_per_kind.continue_watching (0)"), ({"genre": 41}, "min_titles_per_kind.genre (41)")])
def test_a_per_kind_minimum_outside_the_row_is_a_named_policy_error(value, field):
    with pytest.raises(PolicyError, match=field.replace("(", r"\(").replace(")", r"\)")):
        Policy(min_titles_per_kind=value)


@pytest.fixture(scope="module")
def small():
    from pagegen import fit, synthetic_world

    world = synthetic_world("small")
    return world, fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)


def test_a_member_back_a_year_later_gets_a_valid_page(small):
    """u96's in-progress titles are older than the ranker's max age a year after the world ends."""
    world, model = small
    eng = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now, debug=True)
    page = eng.build("u96", now=1735603200)
    assert "continue_watching" not in [r.kind for r in page.rows]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("selector", ["template", "row_ranking", "stage_wise", "learned"])
def test_a_member_with_one_title_in_progress_gets_continue_watching(small, preset, selector):
    world, model = small
    eng = Engine(world.catalog, model, preset, interactions=world.interactions, profiles=world.profiles, now=world.now, debug=True)
    ok = np.flatnonzero(member_eligible(world.catalog, UserState.cold(world.now)) & policy_eligible(eng.policy, world.catalog))
    title = world.catalog.ids[ok[7]]
    user = UserState.from_history(world.catalog, [{"item": title, "timestamp": world.now - 3 * DAY, "kind": "play", "value": 0.4}], world.now, user="new")
    page = eng.build(user, selector=selector)
    (row,) = [r for r in page.rows if r.kind == "continue_watching"]
    assert [s.id for s in row.slots] == [title] and page.rows.index(row) < 2


def test_a_ranker_and_a_pin_that_define_in_progress_differently_are_refused(small):
    from rows._registry import default_rankers

    world, model = small
    rankers = {**default_rankers(), "continue_watching": ContinueWatching(ContinueWatchingConfig(max_age_days=30))}
    with pytest.raises(PolicyError, match=r"pins\[0\]\.max_age_days \(365\.0\) differs from the 'continue_watching' ranker's config\.max_age_days \(30\.0\)"):
        Engine(world.catalog, model, "default", rankers=rankers, interactions=world.interactions, profiles=world.profiles)
    data = load_policy("default").model_dump()
    data["pins"][0]["max_age_days"] = 30
    eng = Engine(world.catalog, model, Policy(**data), rankers=rankers, interactions=world.interactions, profiles=world.profiles, now=world.now, debug=True)
    for u in range(0, 3000, 150):  # 60 days after the world's end: plays of its last month are too old for this ranker
        eng.build(f"u{u}", now=world.now + 60 * DAY)
