"""The page replay end to end: tiny synthetic world, and a MovieLens sample (data test)."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from pagegen.core._errors import DataError
from pagegen.evaluate._replay import BASELINE, EvalConfig, evaluate, main, wrap_list

SELECTORS = ("template", "row_ranking", "stage_wise")


def test_wrap_list_fills_rows_row_major_with_the_best_eligible_titles() -> None:
    scores = np.array([0.1, 0.9, 0.8, 0.7, 0.95, 0.2, 0.3])
    eligible = np.array([True, True, True, True, False, True, True])
    grid = wrap_list(scores, eligible, [2, 3])
    assert grid.tolist() == [[1, 2, -1], [3, 6, 5]]
    assert wrap_list(scores, eligible, [4, 4]).tolist() == [[1, 2, 3, 6], [5, 0, -1, -1]]
    assert wrap_list(scores, eligible, []).shape == (0, 0)


def check_sane(result, selectors) -> None:
    assert list(result.selectors) == [*selectors, BASELINE]
    assert result.members > 0 and result.mean_relevant > 0
    rows, cols = result.shape
    for name, res in result.selectors.items():
        assert res.members == result.members, name
        assert res.duplicates == 0, name
        for value in (res.recall, res.recall_page, res.n2dcg, res.hit_rate, res.coverage, res.coverage_screen, res.genre_diversity):
            assert 0.0 <= value <= 1.0, name
        assert res.recall <= res.recall_page + 1e-12, name
        assert res.coverage_screen <= res.coverage, name
        assert math.isnan(res.calibration_kl) or res.calibration_kl >= 0.0
        assert res.novelty > 0.0
        assert len(res.curve) == rows and np.all(np.diff(res.curve) >= -1e-12)
        assert res.curve[-1] <= res.recall_page + 1e-12  # the curve reads the window's columns only
        assert res.curve[result.window[0] - 1] == pytest.approx(res.recall)  # at the first screen's depth
        assert len(res.heatmap) == rows and all(len(r) == cols for r in res.heatmap)
        hits = sum(map(sum, res.heatmap))
        if hits:
            assert sum(res.kind_share.values()) == pytest.approx(1.0)
        assert res.seconds > 0.0


@pytest.fixture(scope="module")
def tiny_result():
    return evaluate("synthetic:tiny", SELECTORS, "leave_last", sample=12, progress=False)


def test_replay_on_the_tiny_world(tiny_result) -> None:
    check_sane(tiny_result, SELECTORS)
    assert tiny_result.dataset == "synthetic:tiny"
    assert tiny_result.members == 12
    assert tiny_result.config["sample"] == 12
    assert set(tiny_result.timings) >= {"fit", "replay"}


def test_replay_is_deterministic(tiny_result) -> None:
    again = evaluate("synthetic:tiny", SELECTORS, "leave_last", sample=12, progress=False)
    assert again.to_dict()["selectors"].keys() == tiny_result.to_dict()["selectors"].keys()
    for name in SELECTORS:
        a, b = again.selectors[name], tiny_result.selectors[name]
        assert (a.recall, a.n2dcg, a.coverage, a.heatmap) == (b.recall, b.n2dcg, b.coverage, b.heatmap)


def test_time_split_with_truth_relevance() -> None:
    result = evaluate("synthetic:tiny", ["stage_wise"], "time", relevance="truth", truth_k=5, sample=8, n_rows=6, row_length=12, progress=False)
    check_sane(result, ("stage_wise",))
    assert result.split == "truth" and result.mean_relevant <= 5
    assert result.shape == (6, 12)  # the policy's page shape, overridden for small pages


def test_bad_options_are_named() -> None:
    with pytest.raises(DataError, match="selectors"):
        evaluate("synthetic:tiny", ["no_such_selector"], sample=2, progress=False)
    with pytest.raises(DataError, match="sample"):
        evaluate("synthetic:tiny", SELECTORS, sample=0, progress=False)
    with pytest.raises(DataError, match="bogus"):
        evaluate("synthetic:tiny", SELECTORS, bogus=1, progress=False)
    with pytest.raises(DataError, match="data"):
        evaluate(42, SELECTORS)
    assert EvalConfig().split == "leave_last"


def test_cli_writes_json_and_html(tmp_path, capsys) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code = main(["synthetic:tiny", "--selectors", "stage_wise,template", "--sample", "5", "--json", str(out_json), "--html", str(out_html), "--no-progress"])
    assert code == 0
    table = capsys.readouterr().out
    assert "| stage_wise |" in table and f"| {BASELINE} |" in table
    data = orjson.loads(out_json.read_bytes())
    assert data["members"] == 5 and set(data["selectors"]) == {"stage_wise", "template", BASELINE}
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["synthetic:tiny", "--selectors", "nope", "--no-progress"]) == 2
    assert "selectors" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.slow
def test_movielens_replay_sample(ml_small_dir) -> None:
    result = evaluate(ml_small_dir, SELECTORS, "leave_last", sample=40, progress=False)
    check_sane(result, SELECTORS)
    assert result.dataset == "ml-latest-small"
    assert result.mean_relevant == pytest.approx(5.0)
    assert result.members == 40


def test_member_pages_match_lone_builds() -> None:
    from pagegen.core._page import page_grid
    from pagegen.data._synthetic import synthetic_world
    from pagegen.evaluate._replay import member_pages
    from pagegen.models._fit import fit
    from pagegen.serve._engine import Engine

    world = synthetic_world("tiny", 1)
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    engine = Engine(world.catalog, model, interactions=world.interactions, profiles=world.profiles, seed=3)
    for user in ("u0", "u7"):
        state = engine.state(user)
        pages, ctx, _, seconds, _ = member_pages(engine, state, SELECTORS, device="tv", seed=3)
        assert set(seconds) >= set(SELECTORS)
        for name in SELECTORS:
            page = engine.build(state, device="tv", selector=name, seed=3)
            grid, kinds = pages[name]
            assert np.array_equal(grid, page_grid(page, world.catalog))
            assert kinds == [row.kind for row in page.rows]
