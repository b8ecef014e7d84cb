"""The stage-wise loop, row features, the logging policy, impression logs and the trained scorer."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError, ModelFileError
from pagegen.learned._learned import FEATURES, MAX_WEIGHT, LearnedScorer, Request, StepConfig, gain_scorer, greedy, run_steps, step_probabilities, train, training_rows
from pagegen.learned._logging_policy import LoggingConfig, log_pages, plackett_luce, read_impressions, write_impressions
from pagegen.learned._train import main

N = 80
GENRES = ("Action", "Comedy", "Drama", "Horror")
NOW = 1_700_000_000
DAY = 86_400


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    rng = np.random.default_rng(0)
    genres = [[GENRES[i % 4]] + ([GENRES[(i // 4) % 4]] if i % 3 == 0 else []) for i in range(N)]
    added = [NOW - int(d) * DAY for d in rng.integers(1, 2000, N)]
    return Catalog.build([f"t{i}" for i in range(N)], [f"Title {i}" for i in range(N)], [sorted(set(g)) for g in genres], added=added)


# hidden truth: comedies are loved, horror is not; the model's relevance is a noisy copy
TRUTH = np.where(np.arange(N) % 4 == 1, 0.35, np.where(np.arange(N) % 4 == 3, 0.01, 0.08))


def preference(member: int, items: np.ndarray) -> np.ndarray:
    return TRUTH[items]


def _requests(n_members: int, views: int = 1) -> list[Request]:
    out = []
    for m in range(n_members):
        rng = np.random.default_rng(100 + m)
        rows = []
        for g in range(4):  # one "genre" row per genre, best-relevance first
            items = np.arange(g, N, 4)
            rows.append(CandidateRow("genre", f"genre:{GENRES[g]}", GENRES[g], rng.permutation(items), np.zeros(len(items))))
        mixed = rng.permutation(N)[:30]
        rows.append(CandidateRow("top_picks", "top_picks", "Top Picks", mixed, np.zeros(30)))
        rows.append(CandidateRow("popular", "popular", "Popular", np.arange(30), np.zeros(30)))
        relevance = np.clip(TRUTH * 2 + rng.normal(0, 0.2, N), 0, 1)
        out.extend(Request(m, f"u{m}", NOW, v, tuple(rows), relevance, activity=m % 7) for v in range(views))
    return out


CONFIG = StepConfig(n_rows=5, n_cols=8, min_titles=2)


def test_loop_places_each_title_once_and_respects_the_shape(catalog: Catalog) -> None:
    req = _requests(1)[0]
    steps = run_steps(catalog, req, CONFIG, greedy(gain_scorer))
    shown = steps.grid[steps.grid >= 0]
    assert len(shown) == len(np.unique(shown))
    assert steps.grid.shape == (5, 8) and len(set(steps.chosen.tolist())) == 5
    assert steps.features.shape == (5, len(FEATURES))
    # greedy on gain starts with the best-looking row
    first = steps.features[0, FEATURES.index("gain")]
    all_first = run_steps(catalog, req, StepConfig(n_rows=1, n_cols=8), lambda s, x, ok: (int(np.argmax(np.where(ok, x[:, 1], -1))), 1.0)).features[0, 1]
    assert first == pytest.approx(all_first)
    # redundancy: "popular" shares titles with rows above, its overlap feature says so
    popular = [i for i, c in enumerate(req.candidates) if c.key == "popular"][0]
    if popular in steps.chosen.tolist():
        r = steps.chosen.tolist().index(popular)
        if r > 0:
            assert steps.features[r, FEATURES.index("overlap")] > 0


def test_loop_stops_when_no_candidate_has_enough_new_titles(catalog: Catalog) -> None:
    rows = (CandidateRow("popular", "a", "A", np.arange(5), np.zeros(5)), CandidateRow("popular", "b", "B", np.arange(6), np.zeros(6)))
    req = Request(0, "u0", NOW, 0, rows, np.full(N, 0.5), 0)
    steps = run_steps(catalog, req, StepConfig(n_rows=4, n_cols=5, min_titles=1), greedy(gain_scorer))
    assert len(steps.chosen) == 2 and steps.grid[1].tolist() == [5, -1, -1, -1, -1]


def test_a_chooser_cannot_place_an_exhausted_row(catalog: Catalog) -> None:
    req = _requests(1)[0]
    with pytest.raises(DataError, match="choice"):
        run_steps(catalog, req, CONFIG, lambda step, x, ok: (0, 1.0))  # row 0 again at step 1


def test_step_probabilities() -> None:
    ok = np.array([True, False, True, True])
    scores = np.array([1.0, 9.0, 2.0, 2.0])
    p = step_probabilities(scores, ok, 1.0, 0.1)
    assert p.sum() == pytest.approx(1.0) and p[1] == 0.0 and p[2] == pytest.approx(p[3]) and p[2] > p[0]
    assert step_probabilities(scores, ok, None).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert step_probabilities(scores, ok, 1e-3, 0.3).min(where=ok, initial=1) >= 0.1 - 1e-12


def test_logs_are_deterministic_and_carry_true_propensities(catalog: Catalog, tmp_path) -> None:
    reqs = _requests(6, views=2)
    cfg = LoggingConfig(temperature=0.1, epsilon=0.2)
    a = log_pages(catalog, reqs, preference, config=cfg, step_config=CONFIG, seed=3)
    b = log_pages(catalog, reqs[::-1], preference, config=cfg, step_config=CONFIG, seed=3)[::-1]
    assert a == b
    assert a != log_pages(catalog, reqs, preference, config=cfg, step_config=CONFIG, seed=4)
    # replay the logged page: each propensity is the policy's probability of that row given the rows above
    rec, req = a[0], reqs[0]
    keys = [c.key for c in req.candidates]
    logged = [keys.index(row["key"]) for row in rec["rows"]]

    def replay(step, x, ok):
        p = step_probabilities(gain_scorer(x), ok, cfg.temperature, cfg.epsilon)
        assert p[logged[step]] == pytest.approx(rec["rows"][step]["propensity"])
        return logged[step], None

    run_steps(catalog, req, CONFIG, replay)
    path = tmp_path / "logs.jsonl"
    write_impressions(path, a)
    assert read_impressions(path) == a
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_log_lines_are_named(tmp_path) -> None:
    good = {"member": "u", "now": 1, "view": 0, "rows": [{"kind": "genre", "key": "g", "items": [], "propensity": 0.5, "features": []}], "play": None}
    cases = {
        b"{not json\n": "line 1",
        orjson.dumps({**good, "rows": [{**good["rows"][0], "propensity": 0}]}) + b"\n": "rows\\[0\\].propensity",
        orjson.dumps({k: v for k, v in good.items() if k != "now"}) + b"\n": "'now'",
        orjson.dumps({**good, "play": {"row": 3}}) + b"\n": "'play'",
    }
    for raw, where in cases.items():
        path = tmp_path / "bad.jsonl"
        path.write_bytes(orjson.dumps(good) + b"\n" + raw)
        with pytest.raises(DataError, match=where) as err:
            read_impressions(path)
        assert "bad.jsonl:" in str(err.value) and ":2" in str(err.value)


def test_training_learns_what_gets_played_and_round_trips(catalog: Catalog, tmp_path) -> None:
    logs = log_pages(catalog, _requests(60, views=4), preference, config=LoggingConfig(temperature=0.2, epsilon=0.3), step_config=CONFIG, seed=1)
    x, y, w = training_rows(logs)
    assert len(x) > len(logs) and 0 < y.sum() <= len(logs)
    scorer = train(x, y, weights=w)
    # the comedy row holds the loved titles: the scorer ranks it above the horror row from features alone
    req = _requests(1)[0]
    first = run_steps(catalog, req, StepConfig(n_rows=1, n_cols=8, min_titles=2), greedy(scorer))
    assert req.candidates[int(first.chosen[0])].key == "genre:Comedy"
    path = tmp_path / "scorer.json"
    scorer.save(path)
    again = LearnedScorer.load(path)
    assert np.allclose(again(x[:20]), scorer(x[:20]))
    # the CLI trains the same scorer from the log file
    logs_path = tmp_path / "logs.jsonl"
    write_impressions(logs_path, logs)
    assert main(["train", str(logs_path), str(tmp_path / "cli.json"), "--weights", "propensity"]) == 0
    assert np.allclose(LearnedScorer.load(tmp_path / "cli.json").weights, scorer.weights)
    assert main(["train", str(logs_path), str(tmp_path / "plain.json")]) == 0
    assert np.allclose(LearnedScorer.load(tmp_path / "plain.json").weights, train(x, y).weights)


def test_corrupt_scorer_files(tmp_path) -> None:
    path = tmp_path / "s.json"
    with pytest.raises(ModelFileError):
        LearnedScorer.load(path)
    path.write_bytes(b'{"format": "pagegen.learned_scorer"')
    with pytest.raises(ModelFileError):
        LearnedScorer.load(path)
    path.write_bytes(orjson.dumps({"format": "pagegen.learned_scorer", "version": 1, "features": ["x"], "weights": [1], "bias": 0, "mean": [0], "scale": [1], "n_train": 1}))
    with pytest.raises(ModelFileError, match="features"):
        LearnedScorer.load(path)


def test_train_rejects_bad_shapes() -> None:
    with pytest.raises(DataError, match="features"):
        train(np.zeros((3, 2)), np.zeros(3))
    x = np.random.default_rng(0).normal(size=(3, len(FEATURES)))
    for bad in (np.ones(2), np.array([1.0, 0.0, 1.0]), np.array([1.0, np.nan, 1.0])):
        with pytest.raises(DataError, match="weights"):
            train(x, np.array([0.0, 1.0, 0.0]), weights=bad)


def test_training_rows_weigh_each_row_by_its_inverse_propensity(catalog: Catalog) -> None:
    logs = log_pages(catalog, _requests(30, views=2), preference, config=LoggingConfig(temperature=0.2, epsilon=0.3), step_config=CONFIG, seed=2)
    x, y, w = training_rows(logs)
    reached = [row["propensity"] for rec in logs for row in rec["rows"][: (rec["play"]["row"] + 1 if rec["play"] else len(rec["rows"]))]]
    inverse = 1.0 / np.asarray(reached)
    assert len(w) == len(x) == len(inverse)
    assert w == pytest.approx(np.minimum(inverse / inverse.mean(), MAX_WEIGHT))
    assert len(set(np.round(w, 9).tolist())) > 1  # the logging policy's choices differ in probability


def test_a_weight_counts_as_that_many_copies_of_the_row() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, len(FEATURES)))
    y = (rng.random(600) < 1.0 / (1.0 + np.exp(-x[:, 1]))).astype(float)
    weights = rng.integers(1, 4, size=600).astype(float)
    copies = np.repeat(np.arange(600), weights.astype(int))
    # without the penalty the fit does not depend on how the features are standardized: the same minimum
    weighted, copied, plain = train(x, y, weights=weights, l2=0.0), train(x[copies], y[copies], l2=0.0), train(x, y, l2=0.0)
    z = rng.normal(size=(20, len(FEATURES)))
    assert np.allclose(weighted(z), copied(z), atol=1e-4)
    assert not np.allclose(weighted(z), plain(z), atol=1e-3)  # the weights move the fit


def test_a_log_without_propensities_is_refused(catalog: Catalog) -> None:
    logs = log_pages(catalog, _requests(2), preference, step_config=CONFIG, seed=1)
    logs[0]["rows"][0]["propensity"] = 0.0
    with pytest.raises(DataError, match="propensity"):
        training_rows(logs)


def test_a_mixture_logging_policy_records_the_mixture_propensity(catalog: Catalog) -> None:
    req = _requests(1)[0]
    cfg = LoggingConfig(temperature=0.1, epsilon=0.1)
    fresh = FEATURES.index("fresh")

    def by_fresh(x: np.ndarray) -> np.ndarray:
        return x[:, fresh]

    seen: list[tuple[float, float]] = []
    inner = plackett_luce((gain_scorer, by_fresh), np.random.default_rng(0), cfg)

    def spy(step, x, ok):
        pick, prop = inner(step, x, ok)
        mix = 0.5 * (step_probabilities(gain_scorer(x), ok, 0.1, 0.1) + step_probabilities(by_fresh(x), ok, 0.1, 0.1))
        seen.append((prop, float(mix[pick])))
        return pick, prop

    run_steps(catalog, req, CONFIG, spy)
    assert len(seen) == 5 and all(a == pytest.approx(b) for a, b in seen)
    with pytest.raises(DataError, match="scorer"):
        plackett_luce((), np.random.default_rng(0))


def test_ineligible_titles_never_reach_the_page(catalog: Catalog) -> None:
    base = _requests(1)[0]
    eligible = np.ones(N, dtype=bool)
    eligible[::3] = False
    req = Request(base.member, base.user, base.now, 0, base.candidates, base.relevance, base.activity, eligible)
    grid = run_steps(catalog, req, CONFIG, greedy(gain_scorer)).grid
    shown = grid[grid >= 0]
    assert len(shown) and eligible[shown].all()
    # the overlap feature counts titles on the page, not ineligible ones: the first row has none
    assert run_steps(catalog, req, CONFIG, greedy(gain_scorer)).features[0, FEATURES.index("overlap")] == 0.0
