"""The synthetic world's truth has impression fatigue: each unplayed showing lowers P(play | shown)."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._errors import DataError
from pagegen.core._interactions import IMPRESSION, PLAY
from pagegen.data._synthetic import synthetic_world
from pagegen.data._world_config import SIZES
from pagegen.models._popularity import fold_items


def test_preference_falls_by_the_fatigue_per_unplayed_showing(tiny_world) -> None:
    truth = tiny_world.truth
    assert truth.fatigue == SIZES["tiny"].fatigue > 0
    items = np.arange(5)
    fresh = truth.preference(0, items)
    tired = truth.preference(0, items, shown=np.array([0, 1, 2, 3, 10]))
    logit = np.log(fresh / (1 - fresh))
    expected = 1 / (1 + np.exp(-(logit - truth.fatigue * np.array([0, 1, 2, 3, 10]))))
    np.testing.assert_allclose(tired, expected, rtol=1e-9)
    assert np.all(np.diff(tired / fresh) < 0)
    pairs = truth.preference_pairs(np.zeros(5, np.int64), items, shown=np.array([0, 1, 2, 3, 10]))
    np.testing.assert_allclose(pairs, tired, rtol=1e-6)


@pytest.mark.parametrize("shown", [np.array([1, 2]), np.array([1, -1, 0, 0, 0]), np.array([np.nan, 0, 0, 0, 0])])
def test_bad_showing_counts_name_the_field(tiny_world, shown) -> None:
    with pytest.raises(DataError) as err:
        tiny_world.truth.preference(0, np.arange(5), shown=shown)
    assert err.value.field == "shown"


def _late_starts(world) -> int:
    """Titles a member started after the first time they were shown it (so: after unplayed showings)."""
    it = world.interactions
    fold = fold_items(world.catalog.series)
    imp, play = it.kind == IMPRESSION, it.kind == PLAY
    first_shown: dict[tuple[int, int], int] = {}
    for u, i, t in zip(it.user[imp].tolist(), it.item[imp].tolist(), it.timestamp[imp].tolist(), strict=True):
        first_shown.setdefault((u, i), t)
    first_play: dict[tuple[int, int], int] = {}
    for u, i, t in zip(it.user[play].tolist(), fold[it.item[play]].tolist(), it.timestamp[play].tolist(), strict=True):
        first_play.setdefault((u, i), t)
    return sum(1 for key, t in first_play.items() if key in first_shown and t > first_shown[key])


def test_the_worlds_members_tire_of_titles_they_pass_on() -> None:
    """With strong fatigue, a title passed on once is almost never started at a later showing."""
    base = SIZES["tiny"]
    none = synthetic_world(base.model_copy(update={"fatigue": 0.0}))
    strong = synthetic_world(base.model_copy(update={"fatigue": 5.0}))
    assert _late_starts(strong) < 0.2 * _late_starts(none)
