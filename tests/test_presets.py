"""The presets keep their promises: the tv repeat rule, an honest Top 10, honest rows for a cold member."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._catalog import Catalog
from pagegen.core._errors import PolicyError
from pagegen.core._page import Page, PageRow, Slot, page_grid
from pagegen.core._userstate import UserState
from pagegen.serve._engine import Engine
from policies._check import check
from policies._policy import Policy, load_policy
from rows._top_picks import TopPicks

NOW = 1_700_000_000


@pytest.fixture(scope="module")
def small():
    from pagegen import fit, synthetic_world

    world = synthetic_world("small")
    return world, fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)


def _page(rows: list[list[str]], device: str = "tv") -> Page:
    return Page(user="m", policy="tv", selector="s", device=device, now=NOW, seed=0,
                rows=[PageRow(kind="genre", key=f"g:{r}", title="G", evidence={}, slots=[Slot(id=i, title=i, score=1.0) for i in ids]) for r, ids in enumerate(rows)])  # fmt: skip


@pytest.mark.parametrize("selector", ["template", "row_ranking", "stage_wise", "learned"])
def test_tv_pages_show_a_title_once_on_the_first_screen_and_at_most_twice_outside_it(small, selector):
    world, model = small
    eng = Engine(world.catalog, model, "tv", interactions=world.interactions, profiles=world.profiles, now=world.now, debug=True)
    worst = 0
    for u in range(0, 300, 15):
        page = eng.build(f"u{u}", device="tv", selector=selector)
        grid = page_grid(page, world.catalog)
        first = grid[:4, :5]
        assert np.bincount(first[first >= 0]).max(initial=0) <= 1
        outside = grid.copy()
        outside[:4, :5] = -1
        worst = max(worst, int(np.bincount(outside[outside >= 0]).max(initial=0)))
    assert worst <= 2


def test_the_repeat_rule_is_checked_outside_the_window():
    policy = load_policy("tv")
    catalog = Catalog.build([f"t{i}" for i in range(30)], [f"T{i}" for i in range(30)], [["Drama"]] * 30)
    user = UserState.cold(NOW)
    first = [[f"t{5 * r + c}" for c in range(5)] for r in range(4)]  # the first screen: t0..t19
    twice = _page([*first, ["t20", "t21", "t22", "t23", "t24"], ["t20", "t25", "t26", "t27", "t28"]])
    assert check(twice, policy, user, catalog) == []
    (v,) = check(_page([*first, ["t20", "t21", "t22", "t23", "t24"], ["t20", "t25", "t26", "t27", "t28"], ["t29", "t20", "t21", "t22", "t23"]]), policy, user, catalog)
    assert (v.rule, v.row, v.column, v.title) == ("dedup", 6, 1, "t20") and "max_appearances_below (2)" in v.message
    right = _page([[*first[0], "t20"], [*first[1], "t20"], [*first[2], "t20"], first[3]])  # right of the window is outside it too
    (v,) = check(right, policy, user, catalog)
    assert (v.rule, v.row, v.column) == ("dedup", 2, 5)


def test_a_repeat_limit_outside_the_window_needs_the_window_scope():
    with pytest.raises(PolicyError, match="max_appearances_below \\(2\\) needs dedup = 'window'"):
        Policy(dedup="page", max_appearances_below=2)


@pytest.mark.parametrize("preset", ["default", "kids", "mobile", "tv"])
@pytest.mark.parametrize("selector", ["template", "row_ranking", "stage_wise", "learned"])
def test_a_member_without_history_gets_popular_rows_not_top_picks_for_them(small, preset, selector):
    """Nothing is "for you" without history; the popular row leads where the selector follows row scores
    (the learned selector follows its own scorer: there the popular rows are only somewhere on the page)."""
    world, model = small
    eng = Engine(world.catalog, model, preset, interactions=world.interactions, profiles=world.profiles, now=world.now, debug=True)
    page = eng.build("someone-new", selector=selector)
    titles = [row.title for row in page.rows]
    assert "top_picks" not in [row.kind for row in page.rows] and not any("for You" in t for t in titles)
    kinds = [row.kind for row in page.rows]
    assert {"popular", "trending", "top10"} & set(kinds[: len(kinds) if selector == "learned" else 5]) and {"popular", "trending"} & set(kinds)
    (warm,) = TopPicks()(eng.rank_context(eng.state("u1"), 0))
    assert warm.title == "Top Picks for You"
