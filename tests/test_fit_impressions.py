"""The fit learns from impressions: titles shown to a member and not played are blend negatives."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._interactions import IMPRESSION
from pagegen.core._userstate import UserState
from pagegen.models._blend import fit_logistic
from pagegen.models._fit import FitConfig, fit


@pytest.fixture(scope="module")
def without(tiny_world):
    it = tiny_world.interactions
    return fit(tiny_world.catalog, it.select(it.kind != IMPRESSION), progress=False)


def test_impressions_change_the_blend(tiny_world, tiny_model, without) -> None:
    assert not np.allclose(tiny_model.arrays["blend_weights"], without.arrays["blend_weights"], atol=1e-3)
    off = fit(tiny_world.catalog, tiny_world.interactions, FitConfig(blend_impression_share=0.0), progress=False)
    for name, arr in without.arrays.items():  # share 0: the impressions are not read at all
        np.testing.assert_array_equal(off.arrays[name], arr, err_msg=name)


def test_titles_a_member_passed_on_rank_lower(tiny_world, tiny_model, without) -> None:
    """Member level: the titles each member was shown and did not play sit lower in their ranking."""
    it = tiny_world.interactions
    fold = tiny_model.arrays["fold"]
    tiles = np.flatnonzero(fold == np.arange(len(fold)))
    shifts = []
    for u in range(it.n_users):
        state = UserState.from_interactions(it, it.users.id(u), tiny_world.now)
        passed, _ = state.unplayed_impressions(0, fold)
        if not len(passed):
            continue
        below = []
        for model in (tiny_model, without):
            s = model.score(state)
            below.append(float((s[tiles][None, :] > s[passed][:, None]).mean()))  # share of tiles ranked above them
        shifts.append(below[0] - below[1])
    shifts = np.array(shifts)
    assert len(shifts) > 100
    assert shifts.mean() > 0.01 and (shifts > 0).mean() > 0.6


def test_example_weights_within_a_class() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + rng.normal(size=400) > 0).astype(float)
    plain = fit_logistic(x, y, 1e-3)
    uniform = fit_logistic(x, y, 1e-3, np.full(400, 7.0))
    np.testing.assert_allclose(plain[0], uniform[0], rtol=1e-6, atol=1e-8)
    # weighting the negatives with a large x[:, 1] up moves its weight
    tilted = fit_logistic(x, y, 1e-3, np.where((y == 0) & (x[:, 1] > 0), 10.0, 1.0))
    assert tilted[0][1] < plain[0][1] - 0.1


def test_the_quality_table_measures_with_and_without_impressions() -> None:
    from pagegen.evaluate._quality import synthetic_quality_table

    with_ = synthetic_quality_table("tiny", tune_settings=False)["learned blend"]
    without = synthetic_quality_table("tiny", tune_settings=False, impressions=False)["learned blend"]
    assert with_ != without
    assert synthetic_quality_table("tiny", tune_settings=False)["popularity"] == synthetic_quality_table("tiny", tune_settings=False, impressions=False)["popularity"]


def test_no_impressions_needs_a_synthetic_world(capsys, tmp_path) -> None:
    from pagegen.evaluate._quality import main

    assert main(["--data", str(tmp_path), "--no-impressions"]) == 2
    assert "--no-impressions" in capsys.readouterr().err
