"""fit: configuration, the pieces it learns on tiny data, the progress bar, determinism."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydantic import ValidationError
from test_model import CONFIG, EVENTS, NOW, plays, tiny_catalog

from pagegen.core._errors import DataError
from pagegen.core._progress import Progress
from pagegen.core._userstate import UserState
from pagegen.models._blend import FEATURES, fit_logistic
from pagegen.models._fit import FitConfig, fit


def test_config_is_frozen_strict_and_bounded():
    cfg = FitConfig()
    with pytest.raises(ValidationError):
        cfg.ease_lambda = 5.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        FitConfig(unknown=1)
    with pytest.raises(ValidationError):
        FitConfig(ease_lambda=-1)
    with pytest.raises(ValidationError, match="trend_long"):
        FitConfig(trend_short=10, trend_long=5)


def test_fit_rejects_mismatched_inputs():
    with pytest.raises(DataError, match="titles"):
        fit(tiny_catalog(), plays(EVENTS, n_items=7), CONFIG, progress=False)
    with pytest.raises(DataError, match="profiles"):
        fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False, profiles=[])


def test_fit_is_deterministic_for_a_seed():
    a = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)
    b = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)
    for name, arr in a.arrays.items():
        np.testing.assert_array_equal(arr, b.arrays[name], err_msg=name)


def test_large_catalog_path_uses_topk_neighbours_and_als():
    cfg = CONFIG.model_copy(update={"ease_max_items": 1, "als_factors": 4, "als_iterations": 3, "neighbors": 2})
    model = fit(tiny_catalog(), plays(EVENTS), cfg, progress=False)
    assert model.personal_method == "als"
    assert "topk_indptr" in model.arrays and "ease_weights" not in model.arrays
    # each title keeps at most 2 collaborative neighbours
    assert np.all(np.diff(model.arrays["topk_indptr"]) <= 2)
    user = UserState(now=NOW, items=[0], last=[NOW - 1], fraction=[1.0], rated=[], ratings=[])
    scores = model.personal(user)
    assert np.all(np.isfinite(scores)) and scores[1] > scores[4]


def test_blend_is_learned_from_temporal_positives(tiny_world):
    model = fit(tiny_world.catalog, tiny_world.interactions, progress=False, profiles=tiny_world.profiles)
    weights = model.arrays["blend_weights"]
    assert weights.shape == (len(FEATURES),) and np.any(weights != 0)
    state = tiny_world.user_state(0)
    scores = model.score(state)
    assert scores.shape == (tiny_world.catalog.n,) and np.all(np.isfinite(scores))
    assert model.personal_method == "ease"
    # the blend's top titles are ones members like more than the average title (ground truth)
    show = np.flatnonzero(tiny_world.catalog.displayable())
    top_pref, all_pref = [], []
    for user in range(40):
        state = tiny_world.user_state(user)
        ranked = show[np.argsort(-model.score(state)[show], kind="stable")]
        ranked = ranked[~np.isin(ranked, state.items)][:10]
        top_pref.append(tiny_world.truth.preference(user, ranked).mean())
        all_pref.append(tiny_world.truth.preference(user, show).mean())
    assert np.mean(top_pref) > 1.2 * np.mean(all_pref)


def test_logistic_regression_recovers_a_separating_direction():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)
    w, b, mean, scale = fit_logistic(x, y, 1e-4)
    assert w[0] > 0 and w[2] < 0 and abs(w[1]) < 0.2 * w[0]
    logit = ((x - mean) / scale) @ w + b
    assert np.mean((logit > 0) == (y > 0)) > 0.95


def test_progress_bar_draws_only_when_enabled():
    stream = io.StringIO()
    bar = Progress("fit", 2, stream=stream)  # StringIO is not a terminal
    bar.step("one")
    bar.close()
    assert stream.getvalue() == ""
    bar = Progress("fit", 2, enabled=True, stream=stream)
    bar.step("one")
    bar.step("two")
    bar.close()
    text = stream.getvalue()
    assert "1/2 one" in text and "2/2 two" in text and text.endswith("\n")


def test_fit_progress_goes_to_stderr(capsys):
    fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=True)
    err = capsys.readouterr().err
    assert "fit [" in err and "done" in err


@pytest.fixture(scope="module")
def tiny_world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny", seed=0)


def test_blend_leaves_out_the_features_asked(tiny_world):
    cfg = FitConfig(blend_without=("next", "hour"))
    model = fit(tiny_world.catalog, tiny_world.interactions, cfg, progress=False)
    weights = dict(zip(FEATURES, model.arrays["blend_weights"], strict=True))
    assert weights["next"] == 0 and weights["hour"] == 0 and weights["personal"] != 0
    with pytest.raises(ValidationError, match="blend feature"):
        FitConfig(blend_without=("nope",))
