"""Impression fatigue at request time: a title shown again and again without a play moves down."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pydantic import ValidationError

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._page import page_grid
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.page._fatigue import FatigueConfig, demote_fatigued
from pagegen.serve._engine import Engine

MEMBER = "u3"


def _engine(world, model, **kw) -> Engine:
    return Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now, **kw)


def _shown(state: UserState, item: int, times: int, *, before: int = 3600) -> UserState:
    """``state`` with ``times`` more impressions of ``item`` in the hour before now, none played."""
    at = state.now - before + np.arange(times) * 60
    return dataclasses.replace(state, shown=np.r_[state.shown, np.full(times, item)], shown_at=np.r_[state.shown_at, at])


def _position(page, title: str) -> tuple[int, int] | None:
    for r, row in enumerate(page.rows):
        for c, slot in enumerate(row.slots):
            if slot.id == title:
                return r, c
    return None


def test_ten_unplayed_impressions_move_the_title_off_the_first_screen(tiny_world, tiny_model) -> None:
    eng = _engine(tiny_world, tiny_model)
    state = eng.state(MEMBER)
    before = eng.build(state)
    top = before.rows[0].slots[0].id  # the member's top-left title
    tired = _shown(state, tiny_world.catalog.index(top), 10)
    after = eng.build(tired, trace=True)
    window = eng.policy.window("web")
    grid = page_grid(after, tiny_world.catalog)[: window.rows, : window.columns]
    assert tiny_world.catalog.index(top) not in grid  # it left the first screen
    assert after.to_json() != before.to_json()
    record = {f.id: f for f in after.trace.fatigue}[top]
    assert record.impressions == 10 and record.rows >= 1 and record.factor == pytest.approx(0.5**8)


def test_fatigue_off_leaves_the_page_as_it_was(tiny_world, tiny_model) -> None:
    eng = _engine(tiny_world, tiny_model, fatigue=None)
    state = eng.state(MEMBER)
    before = eng.build(state)
    tired = _shown(state, tiny_world.catalog.index(before.rows[0].slots[0].id), 10)
    assert eng.build(tired).to_json() == before.to_json()


def test_old_or_answered_impressions_do_not_fatigue(tiny_world, tiny_model) -> None:
    eng = _engine(tiny_world, tiny_model)
    state = eng.state(MEMBER)
    before = eng.build(state)
    item = tiny_world.catalog.index(before.rows[0].slots[0].id)
    old = _shown(state, item, 10, before=30 * DAY)  # outside the 14-day window
    assert eng.build(old).to_json() == before.to_json()
    few = _shown(state, item, 2)  # fewer than k = 3
    assert eng.build(few).to_json() == before.to_json()


def test_exactly_k_impressions_fatigue(tiny_world, tiny_model) -> None:
    """k = 3 unplayed impressions are enough (the bound is not off by one): the factor is (1 - strength) ** 1."""
    eng = _engine(tiny_world, tiny_model)
    state = eng.state(MEMBER)
    top = eng.build(state).rows[0].slots[0].id
    after = eng.build(_shown(state, tiny_world.catalog.index(top), 3), trace=True)
    record = {f.id: f for f in after.trace.fatigue}[top]
    assert record.impressions == 3 and record.factor == pytest.approx(0.5)


def test_logged_impressions_reach_the_page(tiny_world, tiny_model) -> None:
    """Impressions in the event log, not only in a state given directly, demote the title."""
    from pagegen.core._interactions import IMPRESSION, Interactions

    base = _engine(tiny_world, tiny_model)
    before = base.build(MEMBER)
    top = before.rows[0].slots[0].id
    inter = tiny_world.interactions
    n = 10
    more = Interactions(
        users=inter.users, user=np.r_[inter.user, np.full(n, inter.users.index(MEMBER))], item=np.r_[inter.item, np.full(n, tiny_world.catalog.index(top))],
        timestamp=np.r_[inter.timestamp, tiny_world.now - 3600 + np.arange(n)], kind=np.r_[inter.kind, np.full(n, IMPRESSION)], value=np.r_[inter.value, np.zeros(n)], n_items=inter.n_items,
    )  # fmt: skip
    eng = Engine(tiny_world.catalog, tiny_model, "default", interactions=more, profiles=tiny_world.profiles, now=tiny_world.now)
    after = eng.build(MEMBER, trace=True)
    assert _position(after, top) != (0, 0) and top in {f.id for f in after.trace.fatigue}


def _catalog() -> Catalog:
    return Catalog.build(["a", "b", "c", "d"], ["A", "B", "C", "D"])


def test_demotion_reorders_rows_and_keeps_them_sorted() -> None:
    cat = _catalog()
    now = 10 * DAY
    state = UserState(now=now, items=[], last=[], fraction=[], rated=[], ratings=[], shown=[0] * 4, shown_at=now - 100 + np.arange(4))
    rows = [
        CandidateRow("top_picks", "tp", "Top", [0, 1, 2], [3.0, 2.0, 1.0], reasons=("x", "y", "z")),
        CandidateRow("genre", "g", "Neg", [0, 3], [-1.0, -2.0]),
        CandidateRow("continue_watching", "cw", "CW", [0, 1], [1.0, 0.5]),
    ]
    out, records = demote_fatigued(rows, state, cat, FatigueConfig(k=3, strength=0.5))
    # 4 impressions, k = 3: factor 0.5 ** 2 = 0.25; 3.0 -> 0.75 (below 1.0 and 2.0); -1.0 -> -4.0
    assert out[0].items.tolist() == [1, 2, 0] and out[0].reasons == ("y", "z", "x")
    assert out[1].items.tolist() == [3, 0]
    assert out[2] is rows[2]  # an exempt kind keeps its ranker's order
    assert [(r.item, r.impressions, r.factor, r.rows) for r in records] == [(0, 4, 0.25, 2)]
    for row in out:
        assert np.all(np.diff(row.scores) <= 0)


def test_a_config_with_bad_values_names_the_field(tiny_world, tiny_model) -> None:
    with pytest.raises(ValidationError, match="strength"):
        FatigueConfig(strength=1.5)
    with pytest.raises(DataError) as err:
        _engine(tiny_world, tiny_model, fatigue={"k": 3})
    assert err.value.field == "fatigue"


def test_an_impression_outside_the_catalog_names_the_field() -> None:
    state = UserState(now=DAY, items=[], last=[], fraction=[], rated=[], ratings=[], shown=[9], shown_at=[5])
    with pytest.raises(DataError) as err:
        demote_fatigued([CandidateRow("top_picks", "tp", "Top", [0], [1.0])], state, _catalog(), FatigueConfig())
    assert err.value.field == "shown" and err.value.value == 9
