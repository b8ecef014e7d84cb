"""The selection's shortcuts equal the plain computations they replace, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from pagegen.core._values import _entry_values
from pagegen.page._objective import (
    DEPTH,
    RANK_SCALE,
    SelectContext,
    prepare,
    title_values,
)
from pagegen.page._select import FillState, greedy_fill
from pagegen.testing._strategies import NOW
from policies._policy import Policy


def _reference_values(s: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """v(i) as the module docstring defines it: the eligible titles by score, ties by index (lexsort)."""
    s = np.asarray(s, dtype=np.float64)
    cand = np.flatnonzero(eligible)
    k = min(len(cand), int(DEPTH * RANK_SCALE))
    value = np.zeros(len(s))
    value[cand] = np.exp(-DEPTH)
    ranked = cand[np.lexsort((cand, -s[cand]))][:k]
    value[ranked] = np.exp(-np.arange(len(ranked)) / RANK_SCALE)
    return value


def _scores(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    if kind == 0:
        return rng.standard_normal(n).astype(np.float32)
    if kind == 1:  # many ties, also at the k-th
        return rng.integers(-3, 4, n).astype(np.float32)
    if kind == 2:  # signed zeros and subnormals
        s = (rng.standard_normal(n) * 1e-40).astype(np.float32)
        s[rng.random(n) < 0.2] = -0.0
        return s
    if kind == 3:  # not finite
        s = rng.standard_normal(n).astype(np.float32)
        for value, share in ((np.nan, 0.1), (np.inf, 0.05), (-np.inf, 0.05)):
            s[rng.random(n) < share] = value
        return s
    return rng.standard_normal(n)  # float64: the reference path


def _big_rank(rng: np.random.Generator, n: int, eligible: np.ndarray, scores: np.ndarray) -> RankContext:
    catalog = Catalog.build([f"t{i}" for i in range(n)], [f"T{i}" for i in range(n)], [["Drama"] if i % 3 else ["Comedy"] for i in range(n)])

    class Scores:
        def score(self, user):
            return scores

    return RankContext(catalog=catalog, model=Scores(), user=UserState.cold(NOW), eligible=eligible, n=40, rng=rng)


@pytest.mark.parametrize("kind", range(5))
def test_the_member_ranking_is_a_sort_by_score_then_title(kind):
    rng = np.random.default_rng(kind)
    for pos in range(40):
        n = int(rng.integers(1, 2500 if pos % 4 else 12_000))
        s = _scores(rng, n, kind)
        eligible = rng.random(n) < 0.8
        rank = _big_rank(rng, n, eligible, s)
        np.testing.assert_array_equal(title_values(rank), _reference_values(s.astype(np.float32), eligible))


def test_entry_values_equal_the_title_values_at_the_entries():
    """Q looks the entries up among the member's best titles: the values of title_values(rank)[M], 0 at
    pads, and 0 at a title the selection may show but the member's own eligibility excludes."""
    rng = np.random.default_rng(3)
    n = 1500  # more eligible titles than DEPTH * RANK_SCALE: the floor is reached
    scores = rng.integers(0, 300, n).astype(np.float32)  # ties, also at the k-th
    eligible = rng.random(n) < 0.9
    rank = _big_rank(rng, n, eligible, scores)
    np.testing.assert_array_equal(title_values(rank), _reference_values(scores, eligible))
    M = np.full((30, 25), -1, dtype=np.int32)
    for r in range(30):
        k = int(rng.integers(0, 26))
        M[r, :k] = rng.choice(np.flatnonzero(eligible), size=k, replace=False)
    valid = M >= 0
    want = np.where(valid, title_values(rank)[M], 0.0)
    np.testing.assert_array_equal(_entry_values(rank, M, valid, rank.eligible), want)
    wider = eligible.copy()  # the selection's own mask (another object): a title outside the member's is worth 0
    wider[~eligible] = True
    M[0, 0] = np.flatnonzero(~eligible)[0]
    want = np.where(valid, title_values(rank)[M], 0.0)
    assert want[0, 0] == 0.0
    np.testing.assert_array_equal(_entry_values(rank, M, valid, wider), want)


@pytest.mark.parametrize("kernel", [False, True])
def test_the_state_a_key_reads_is_computed_on_read(kernel):
    """FillState.used, .rank and .shown (read by the learned key) hold at every row index, in the reference and the kernel."""
    rng = np.random.default_rng(6)
    catalog = Catalog.build([f"t{i}" for i in range(30)], [f"T{i}" for i in range(30)], [["Drama"]] * 30)
    rows = [CandidateRow("abc"[r % 3], f"r{r}", "R", rng.choice(30, size=8, replace=False), np.linspace(1, 0.1, 8), score=float(rng.random())) for r in range(12)]
    policy = Policy(n_rows=6, row_length=5, min_titles=2, windows={"web": {"rows": 2, "columns": 3}}, pins=[], genre_cap=None, diversity=0.1)
    problem = prepare(rows, policy, SelectContext(catalog=catalog, eligible=rng.random(30) < 0.9))
    seen = []

    def key(pr, p, state: FillState):
        used = np.zeros(catalog.n, dtype=bool)
        for pl in state.placed:
            used[pl.items] = True
        np.testing.assert_array_equal(state.used, used)
        valid = (pr.M >= 0) & ~used[pr.M]  # the page's titles are used up (dedup over the page, nothing else withheld)
        rank = np.cumsum(valid, axis=1) * valid
        np.testing.assert_array_equal(state.rank, rank)
        shown, _ = state.shown()
        for r in range(pr.n_rows):
            titles = pr.M[r][valid[r]][: policy.row_length]
            assert shown[r][shown[r] >= 0].tolist() == titles.tolist()
        seen.append(p)
        return pr.alone

    assert len(greedy_fill(problem, key, kernel=kernel).rows) == len(seen) > 1
