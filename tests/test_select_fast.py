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
    TitleIndex,
    _shared_titles,
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


def test_shared_titles_equal_the_title_index_counts():
    rng = np.random.default_rng(4)
    for n_rows, n in ((1, 5), (7, 9), (40, 60)):
        M = np.full((n_rows, 8), -1, dtype=np.int32)
        for r in range(n_rows):
            k = int(rng.integers(0, min(n, 8) + 1))
            M[r, :k] = rng.choice(n, size=k, replace=False)
        prepared = np.sort(np.where(M >= 0, M, n), axis=1)  # left-packed, as prepare's M
        M = np.where(prepared < n, prepared, -1).astype(np.int32)
        np.testing.assert_array_equal(_shared_titles(M, n), TitleIndex.of(M, n).shared(n_rows))


def test_the_state_a_key_reads_is_computed_on_read():
    """FillState.used, .rank and .shown (read by the learned key) hold at every row index."""
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
        rank = np.cumsum(state._valid, axis=1) * state._valid
        np.testing.assert_array_equal(state.rank, rank)
        shown, _ = state.shown()
        for r in range(pr.n_rows):
            titles = pr.M[r][state._valid[r] != 0][: policy.row_length]  # (a 0/1 mask)
            assert shown[r][shown[r] >= 0].tolist() == titles.tolist()
        seen.append(p)
        return pr.alone

    assert len(greedy_fill(problem, key).rows) == len(seen) > 1


@pytest.mark.parametrize("attention", [{"row_decay": 0.8, "column_decay": 0.7}, {"model": "log"}])
def test_stage_wise_inline_gains_equal_the_fill_state_sums(attention):
    """stage_wise's loop computes its gains inline (few entries, geometric attention): the same floats
    as _stage_key reading FillState at every row index (a key that is not _stage_key itself)."""
    from pagegen.page._select import _stage_key

    rng = np.random.default_rng(8)
    catalog = Catalog.build([f"t{i}" for i in range(40)], [f"T{i}" for i in range(40)], [["Drama"] if i % 2 else ["Comedy"] for i in range(40)])
    rows = []
    for r in range(30):
        items = rng.choice(40, size=int(rng.integers(2, 12)), replace=False)
        rows.append(CandidateRow("abc"[r % 3], f"r{r}", "R", items, np.sort(rng.random(len(items)))[::-1], score=float(rng.random())))
    policy = Policy(n_rows=8, row_length=5, min_titles=2, windows={"web": {"rows": 2, "columns": 3}}, pins=[], genre_cap=None, diversity=0.3, attention=attention)
    problem = prepare(rows, policy, SelectContext(catalog=catalog, eligible=rng.random(40) < 0.9))
    inline = greedy_fill(problem, _stage_key)
    via_state = greedy_fill(problem, lambda pr, p, state: _stage_key(pr, p, state))
    assert len(inline.steps) == 8
    assert inline.steps == via_state.steps  # rows, gains and runners-up, to the bit
    assert [(pl.row, pl.items.tolist()) for pl in inline.rows] == [(pl.row, pl.items.tolist()) for pl in via_state.rows]


def test_kind_caps_kept_per_policy_equal_the_policy_caps():
    """kind_caps keeps each policy's caps by kind: the values of policy.kind_cap, for kinds seen before
    and new ones, and per policy (two equal-looking policies with other caps do not share them)."""
    from pagegen.page._fill import kind_caps

    base = {"n_rows": 6, "row_length": 4, "min_titles": 1, "windows": {"web": {"rows": 2, "columns": 2}}, "genre_cap": None}
    capped = Policy(**base, max_rows_per_kind={"genre": 2}, pins=[{"kind": "top10", "at": 1}])
    other = Policy(**base, max_rows_per_kind={"genre": 4}, pins=[])
    for policy in (capped, other, capped):
        for kinds in (("genre", "popular"), ("because_you_watched", "genre", "top10"), ()):
            assert kind_caps(policy, kinds) == [policy.kind_cap(k) for k in kinds]
    assert kind_caps(capped, ("genre", "top10", "popular")) == [2, 1, 6]
    assert kind_caps(other, ("genre", "top10", "popular")) == [4, 6, 6]
