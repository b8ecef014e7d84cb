"""End to end on the tiny synthetic world: logs -> scorer -> selectors in the simulator, and OPE vs truth."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

#: Fresh logged views per evaluated member for the off-policy test (60 members).
VIEWS = 12


@pytest.fixture(scope="module")
def setup():
    from pagegen.data._synthetic import synthetic_world
    from pagegen.evaluate._learned_report import ReportConfig, member_requests, step_config
    from pagegen.learned._learned import Request, train, training_rows
    from pagegen.learned._logging_policy import log_pages
    from pagegen.models._fit import fit
    from policies._policy import load_policy

    world = synthetic_world("tiny", seed=1)
    model = fit(world.catalog, world.interactions, profiles=world.profiles)
    policy = load_policy("default")
    config = ReportConfig(size="tiny", seed=1, train_members=60, eval_members=60)
    steps = step_config(policy)
    train_m = member_requests(world, model, policy, range(60), seed=1)
    views = [Request(m.request.member, m.request.user, m.request.now, v, m.request.candidates, m.request.relevance, m.request.activity) for m in train_m for v in range(3)]
    logs = log_pages(world.catalog, views, world.truth.preference, config=config.logging, step_config=steps, browse_config=config.browse, seed=1)
    x, y, _ = training_rows(logs)
    scorer = train(x, y)
    eval_m = member_requests(world, model, policy, range(100, 160), seed=1)
    return world, policy, config, steps, scorer, eval_m, model


def test_off_policy_intervals_cover_the_true_value(setup) -> None:
    """On the first screen (the rows the logs support), with logging close to both greedy targets.

    Coverage is a rate, so it is measured over 10 independently drawn logs: a 95% interval that
    covers the truth in 6 or fewer of 10 draws has probability about 0.001, an interval that is
    biased or too narrow fails. The replay must see the features the logging loop and the truth
    saw (a replay shrunk to ``depth`` rows once shifted the ``position`` feature and biased the
    learned target low)."""
    from collections import Counter

    from pagegen.evaluate._learned_report import off_policy, true_value
    from pagegen.learned._learned import Request, gain_scorer
    from pagegen.learned._logging_policy import LoggingConfig, log_pages

    world, policy, config, steps, scorer, eval_m, _model = setup
    depth = 3
    fresh = [Request(m.request.member, m.request.user, m.request.now, v, m.request.candidates, m.request.relevance, m.request.activity) for m in eval_m for v in range(VIEWS)]
    targets = {"gain": gain_scorer, "learned": scorer}
    logging = LoggingConfig(temperature=0.2, epsilon=0.1)
    truth = {name: true_value(world, world.catalog, eval_m, target, steps, config.browse, depth=depth) for name, target in targets.items()}
    covered: Counter = Counter()
    for seed in range(10):
        logs = log_pages(world.catalog, fresh, world.truth.preference, scorer=tuple(targets.values()), config=logging, step_config=steps, browse_config=config.browse, seed=seed)
        for name, ests in off_policy(world.catalog, eval_m, logs, targets, steps, scorer, depth=depth).items():
            assert 0 < truth[name] < 1
            for est in ests:
                assert est.n == len(fresh)
                assert est.half_width < 0.2, (name, est)  # informative (values near 0.5), not a [-inf, inf] interval
                covered[(name, est.method)] += est.covers(truth[name])
    assert len(covered) == 6 and min(covered.values()) >= 7, dict(covered)


def test_replay_sees_the_logged_features(setup) -> None:
    """Replaying a logged page's first rows computes, for each logged row, the features logging recorded."""
    from pagegen.learned._learned import Request, gain_scorer, run_steps
    from pagegen.learned._logging_policy import log_pages

    world, policy, config, steps, scorer, eval_m, _model = setup
    mem = eval_m[0]
    req = Request(mem.request.member, mem.request.user, mem.request.now, 0, mem.request.candidates, mem.request.relevance, mem.request.activity)
    (rec,) = log_pages(world.catalog, [req], world.truth.preference, scorer=(gain_scorer, scorer), step_config=steps, browse_config=config.browse, seed=5)
    keys = [c.key for c in mem.request.candidates]
    logged = [keys.index(row["key"]) for row in rec["rows"][:3]]
    seen = []

    def choose(step, x, ok):
        seen.append(x[logged[step]])
        return logged[step], None

    replay = run_steps(world.catalog, mem.request, steps, choose, limit=len(logged))
    assert replay.chosen.tolist() == logged
    np.testing.assert_allclose(np.asarray(seen), [row["features"] for row in rec["rows"][:3]])


def test_comparison_table(setup) -> None:
    from pagegen.evaluate._learned_report import compare, format_report

    world, policy, config, steps, scorer, eval_m, _model = setup
    table = compare(world, world.catalog, eval_m, scorer, policy, config)
    for name in ("template", "row_ranking", "stage_wise", "learned"):
        row = table[name]
        assert row["duplicates"] == 0
        for key in ("plays_per_view", "expected_plays_per_view"):
            ci = row[key]
            assert 0 <= ci["mean"] <= 1 and ci["low"] <= ci["mean"] <= ci["high"]
        assert 0 <= row["n2dcg"] <= 1 and 0 <= row["recall@window"] <= 1
    diff = table["learned - stage_wise"]["expected_plays_per_view"]
    assert diff["mean"] == pytest.approx(table["learned"]["expected_plays_per_view"]["mean"] - table["stage_wise"]["expected_plays_per_view"]["mean"])
    text = format_report({"config": {"size": "tiny", "seed": 1}, "logged_views": 0, "training_rows": 0, "training_plays": 0, "eval_members": len(eval_m), "selectors": table, "ope": {}})
    assert "learned - stage_wise" in text


def test_learned_selector_fits_the_page_builder_interface(setup) -> None:
    from pagegen.core._errors import PagegenError
    from pagegen.page._learned_select import learned_selector
    from pagegen.page._objective import SelectContext
    from pagegen.serve._engine import assemble
    from policies._check import check
    from rows._context import make_context
    from rows._registry import candidate_rows

    world, policy, config, steps, scorer, eval_m, model = setup
    select = learned_selector(scorer)
    user = world.user_state(120)
    rank = make_context(world.catalog, model, user, n=policy.row_length, seed=1)
    rows, _ = candidate_rows(rank)
    with pytest.raises(PagegenError, match="ctx.rank"):
        select(rows, policy, SelectContext(world.catalog, rank.eligible, "web", rank.rng))
    selection = select(rows, policy, SelectContext(world.catalog, rank.eligible, "web", rank.rng, rank=rank))
    shown = np.concatenate([p.items for p in selection.rows])
    assert len(shown) == len(np.unique(shown)) and rank.eligible[shown].all()
    assert all(len(p.items) >= policy.min_titles for p in selection.rows)
    page = assemble(rows, selection, world.catalog, user=user.user, policy=policy.name, selector="learned", device="web", now=user.now, seed=1)
    assert page.selector == "learned" and len(page.rows) == len(selection.rows)
    assert check(page, policy, user, world.catalog) == []
    assert np.isfinite(selection.objective)
