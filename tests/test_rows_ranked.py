"""The member's affinity and the rankers' reading of the member's scores."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.testing import FixedModel
from rows._context import make_context
from rows._genre import GenreRows, GenreRowsConfig


@pytest.fixture(scope="module")
def world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny", seed=0)


def _scores(n: int, kind: int):
    """Per member, scores with many ties (kind 0), signed zeros among few values (1), or distinct (2)."""

    def score(user) -> np.ndarray:
        rng = np.random.default_rng([kind, len(user.items)])
        if kind == 0:
            return rng.integers(0, 6, n).astype(np.float32)
        if kind == 1:
            s = rng.integers(-1, 2, n).astype(np.float32) * np.float32(1e-3)
            s[s == 0] = np.where(rng.random(int((s == 0).sum())) < 0.5, np.float32(-0.0), np.float32(0.0))
            return s
        return rng.standard_normal(n).astype(np.float32)

    return score


def test_affinity_is_the_logistic_of_the_scores_z_over_the_eligible_titles(world):
    """RankContext.affinity from the eligible titles' mean and spread (eligible_items), and from every
    title's when none is eligible."""
    from pagegen.core._candidates import eligible_items
    from pagegen.core._userstate import UserState

    model = FixedModel(world.catalog.n, scores=_scores(world.catalog.n, 2))

    def reference(s: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        ref = (s[eligible] if eligible.any() else s).astype(np.float64)
        mean = ref.sum() / ref.size
        sd = np.sqrt(((ref - mean) ** 2).sum() / ref.size)
        z = np.clip((s - np.float32(mean)) * np.float32(1.0 / sd), -30.0, 30.0)
        return np.float32(1.0) / (np.exp(-z) + np.float32(1.0))

    nobody = UserState.cold(int(world.catalog.added.min()) - 1)  # before the first title was added
    for user in [world.user_state(u) for u in (0, 7)] + [nobody]:
        ctx = make_context(world.catalog, model, user, n=5, seed=1)
        np.testing.assert_array_equal(eligible_items(ctx), np.flatnonzero(ctx.eligible))
        assert not eligible_items(ctx).flags.writeable
        np.testing.assert_allclose(ctx.affinity, reference(ctx.scores, ctx.eligible), rtol=1e-6)
    assert not ctx.eligible.any()


def test_choose_takes_slices_by_value_with_at_most_max_fine_fine_ones():
    """_choose equals the head of a stable sort by value, without the fine slices past max_fine."""
    from rows._genre import _choose

    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        value = rng.integers(-3, 4, n).astype(np.float64)  # ties
        fine = rng.random(n) < 0.6
        cand = np.flatnonzero(rng.random(n) < 0.8)
        max_rows, max_fine = int(rng.integers(1, 10)), int(rng.integers(0, 4))
        order = cand[np.argsort(-value[cand], kind="stable")]
        allowed = ~fine[order] | (fine[order].cumsum() <= max_fine)
        assert _choose(value, cand, fine.tolist(), max_rows, max_fine) == order[allowed][:max_rows].tolist()


def test_slice_availability_counts_the_mask_titles_of_each_slice(world):
    """GenreRows.available, from the shared context's counts (or the profile's) less the titles the
    mask lacks: each slice's titles in the mask, unseen or eligible."""
    genre = GenreRows(GenreRowsConfig(min_titles=3))
    idx = genre.index(world.catalog)
    model = FixedModel(world.catalog.n, scores=_scores(world.catalog.n, 2))
    for u in range(0, 200, 10):
        ctx = make_context(world.catalog, model, world.user_state(u), n=5, seed=1)
        alone = make_context(world.catalog, model, world.user_state(u), n=5, seed=1)
        object.__setattr__(alone, "shared", None)  # the profile's counts, corrected
        for mask in (ctx.unseen, ctx.eligible):
            want = idx.members.toarray() @ mask.astype(np.float64)
            np.testing.assert_array_equal(genre.available(ctx, idx, mask), want)
            np.testing.assert_array_equal(genre.available(alone, idx, np.asarray(mask)), want)
