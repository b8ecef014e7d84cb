"""What one request costs the model, and the shared helpers the fast paths rely on."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.testing import FixedModel
from rows._context import history_liking, liking, make_context, top_k, visit_entropy
from rows._registry import RANKERS, candidate_rows


@pytest.fixture(scope="module")
def world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny", seed=0)


class CountingModel:
    """Counts the calls a request makes (method and arguments) on a FixedModel."""

    def __init__(self, model: FixedModel) -> None:
        self.model = model
        self.calls: Counter = Counter()
        self.similarity_rows: list[int] = []

    def __getattr__(self, name: str):
        attr = getattr(self.model, name)

        def counted(*args, **kwargs):
            self.calls[name, tuple(kwargs.items())] += 1
            if name == "similarity":
                self.similarity_rows.append(len(args[0]))
            return attr(*args, **kwargs)

        return counted


def _model(world, *, recent_plays: bool = True) -> CountingModel:
    cat, it = world.catalog, world.interactions
    counts = np.bincount(it.item[it.kind == 0], minlength=cat.n).astype(np.float32)
    rng = np.random.default_rng(3)
    sim = rng.random((cat.n, cat.n)).astype(np.float32) * (rng.random((cat.n, cat.n)) < 0.2)

    def popularity(now, window, region):
        return counts if (window is None or recent_plays) else np.zeros(cat.n, np.float32)

    return CountingModel(FixedModel(cat.n, scores=lambda u: counts + 0.5 * np.isin(np.arange(cat.n), u.items), popularity=popularity, trending=counts / 3, similarity=sim))


def test_a_request_calls_each_model_method_once_and_asks_for_similarity_rows_of_its_anchors_only(world):
    for u in (0, 5, 11):
        model = _model(world)
        ctx = make_context(world.catalog, model, world.user_state(u), n=10, seed=0)
        rows, failures = candidate_rows(ctx)
        assert failures == [] and rows
        assert all(c == 1 for c in model.calls.values()), model.calls  # popularity once per (window, region)
        names = Counter(name for name, _ in model.calls)
        assert names["score"] == names["trending"] == 1 and names["similarity"] <= 1
        assert (("popularity", ()) not in model.calls), "all-time counts were asked for although the window had enough titles"
        byw = [r for r in rows if r.kind == "because_you_watched"]
        anchors = RANKERS["because_you_watched"].config.max_anchors
        assert all(k <= anchors for k in model.similarity_rows) and len(byw) <= sum(model.similarity_rows)  # rows of its anchors only


def test_all_time_popularity_is_asked_for_only_when_the_windows_are_empty(world):
    model = _model(world, recent_plays=False)
    ctx = make_context(world.catalog, model, world.user_state(3), n=10, seed=0)
    rows, failures = candidate_rows(ctx)
    assert failures == []
    assert model.calls["popularity", ()] == 1  # shared by Top 10 (all time) and Popular (fallback)
    assert {r.kind for r in rows} >= {"popular", "top10"}
    assert next(r for r in rows if r.kind == "popular").evidence["window"] is None


def test_a_cold_member_costs_no_similarity_call(world):
    model = _model(world)
    rows, failures = candidate_rows(make_context(world.catalog, model, UserState.cold(world.now), n=10, seed=0))
    assert failures == [] and rows
    assert not any(name == "similarity" for name, _ in model.calls)


def test_recency_of_a_history_played_throughout_is_the_decay_of_every_play():
    from rows._context import _recency, decay

    rng = np.random.default_rng(2)
    for case in range(200):
        n = int(rng.integers(1, 30))
        age = rng.integers(0, 900 * DAY, size=n)
        undated = rng.random(n) < (0.3 if case % 2 else 0.0)  # half the cases: every title played
        age[undated & (rng.random(n) < 0.5)] = -1  # rated, never played
        played = age >= 0
        want = np.zeros(n)  # the general steps: the decay of the played titles, the undated raised
        want[played] = decay(age[played], 30 * DAY)
        want = np.where(undated, np.maximum(want, 0.5), want)
        got = _recency(age, undated, 0.5, 30 * DAY)
        assert got.dtype == np.float64 and got.tobytes() == want.tobytes(), case


def test_request_and_ranker_generators_are_seeded_by_the_seed_member_and_visit_as_a_list_of_ints(world):
    import zlib

    for seed in (0, 7, 2**32 - 1, 2**40 + 5):
        for u, visit in ((0, None), (5, None), (5, 3), (5, "req-1")):
            state = world.user_state(u)
            ctx = make_context(world.catalog, _model(world), state, n=10, seed=seed, visit=visit)
            entropy = [seed & 0xFFFFFFFF, zlib.crc32((state.user if state.user is not None else f"#{state.user_index}").encode()), *visit_entropy(state.now if visit is None else visit)]
            assert ctx.rng.random(4).tolist() == np.random.default_rng(np.random.SeedSequence(entropy)).random(4).tolist()
            child = np.random.SeedSequence(entropy, spawn_key=(zlib.crc32(b"genre"),))
            assert ctx.rng_for("genre").gumbel(size=4).tolist() == np.random.default_rng(child).gumbel(size=4).tolist()


def test_top_k_is_the_best_of_the_mask_ties_to_the_lower_title():
    values = np.array([1.0, 3.0, 3.0, 0.0, 3.0, 2.0], np.float32)
    mask = np.array([True, True, False, True, True, True])
    items, scores = top_k(values, mask, 3)
    assert items.tolist() == [1, 4, 5] and scores.tolist() == [3.0, 3.0, 2.0]
    assert items.dtype == np.int32 and scores.dtype == np.float32


def test_the_request_cached_history_equals_the_direct_computation(world):
    for u in range(0, len(world.profiles), 17):
        user = world.user_state(u)
        ctx = make_context(world.catalog, FixedModel(world.catalog.n), user, n=5, seed=0)
        for half_life in (30 * DAY, 180 * DAY):  # two rankers, two half-lives, one history
            got = liking(ctx, rating_max=5.0, undated_recency=0.5, half_life=half_life)
            want = history_liking(user, world.catalog, rating_max=5.0, undated_recency=0.5, half_life=half_life)
            for a, b in zip(got, want, strict=True):
                np.testing.assert_array_equal(a, b)
        assert len([k for k in ctx._cache if k[0] == "history"]) == 1


def _same_rows(a, b) -> None:
    assert [(r.kind, r.key, r.title, r.evidence, r.score, r.reasons) for r in a] == [(r.kind, r.key, r.title, r.evidence, r.score, r.reasons) for r in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.items, y.items)
        np.testing.assert_array_equal(x.scores, y.scores)
        assert x.items.dtype == y.items.dtype and x.scores.dtype == y.scores.dtype


def test_a_shared_context_gives_the_rows_of_a_request_on_its_own(world):
    """Members of one profile at one now share the member-independent work (one trending call for
    all of them); their rows are those of contexts that compute everything themselves."""
    from pagegen.core._candidates import RankContext

    model = _model(world)
    members = range(0, len(world.profiles), 3)
    for u in members:
        user = world.user_state(u)
        ctx = make_context(world.catalog, model, user, n=10, seed=4)
        assert ctx.shared is not None and ctx.shared.base[ctx.eligible].all()
        again = make_context(world.catalog, model, user, n=10, seed=4)
        alone = RankContext(catalog=world.catalog, model=model, user=user, eligible=again.eligible, n=10, rng=again.rng)
        rows, failures = candidate_rows(ctx)
        rows_alone, failures_alone = candidate_rows(alone)
        assert failures == failures_alone == [] and rows
        _same_rows(rows, rows_alone)
    profiles = {(world.profiles[u].maturity, world.profiles[u].region) for u in members}
    shared_calls = model.calls["trending", ()] - len(list(members))  # the contexts on their own: one call each
    assert shared_calls == len(profiles)


def test_a_shared_context_of_another_model_or_time_is_refused(world):
    from pagegen.core._candidates import RankContext
    from pagegen.core._errors import DataError

    user = world.user_state(1)
    ctx = make_context(world.catalog, FixedModel(world.catalog.n), user, n=5, seed=0)
    with pytest.raises(DataError, match="shared context"):
        RankContext(catalog=world.catalog, model=FixedModel(world.catalog.n), user=user, eligible=ctx.eligible, n=5, rng=ctx.rng, shared=ctx.shared)
    with pytest.raises(DataError, match="shared context"):
        make_context(world.catalog, ctx.model, world.user_state(1, world.now - DAY), n=5, seed=0, shared=ctx.shared)


def test_shared_contexts_keep_few_models_alive(world):
    import gc
    import weakref

    from rows._context import SHARED_MODELS

    refs = []
    for _ in range(SHARED_MODELS + 3):
        model = FixedModel(world.catalog.n)
        make_context(world.catalog, model, world.user_state(2), n=5, seed=0)
        refs.append(weakref.ref(model))
    del model
    gc.collect()
    assert sum(r() is not None for r in refs) <= SHARED_MODELS
