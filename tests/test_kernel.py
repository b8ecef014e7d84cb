"""The compiled kernel of the greedy loop chooses exactly what the numpy reference chooses.

On 10,000 generated requests (every preset cut to a small page and policies drawn at random: dedup over
the page or the window, repeats within it and outside it, per-kind minimum row lengths, kind caps, genre caps, pins, policy eligibility, user rules with their
own entries and rows masks; values from a RankContext or from the rows' scores) the selections of the
kernel and of the reference are equal, each request built by one of template, row_ranking and stage_wise
in turn: the rows, the titles, their columns, the objective and every step of the trace, to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from pagegen.page import _fill
from pagegen.page._objective import SelectContext
from pagegen.page._select import row_ranking, stage_wise, template
from pagegen.testing._strategies import NOW
from policies import Policy, Violation, resize

CASES = 10_000
CHUNKS = 20
GENRES = ("Action", "Comedy", "Drama", "Horror", "Kids")
KINDS = ("continue_watching", "top10", "top_picks", "trending", "because_you_watched", "genre", "popular")
SELECTORS = {"template": template, "row_ranking": row_ranking, "stage_wise": stage_wise}


@dataclass(frozen=True, eq=False)
class _Withhold:
    """A user rule: at odd row indices the entries of ``titles`` are withheld (a 0/1 integer mask, or an
    array changed in place when ``in_place``); at every third row index the candidates ``banned`` may not stand."""

    titles: tuple[int, ...]
    banned: tuple[int, ...]
    in_place: bool
    name: str = "withhold"

    def entries(self, loop):
        M = loop.candidates.M
        held = loop.memo.setdefault(self, {"mask": np.ones(M.shape, dtype=bool)})
        if loop.p % 2 == 0:
            return None
        mask = np.isin(M, self.titles, invert=True)
        if self.in_place:
            held["mask"][:] = mask
            return held["mask"]
        return mask.astype(np.int8)

    def rows(self, loop):
        if loop.p % 3:
            return None
        allowed = np.ones(len(loop.candidates.rows), dtype=bool)
        allowed[[r for r in self.banned if r < len(allowed)]] = False
        return allowed

    def add_to(self, model) -> None:  # the exact selector is not compared here
        raise NotImplementedError

    def violations(self, page, policy, user, catalog) -> list[Violation]:
        return []


class _Scores:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user):
        return self.scores


def _policy(rng: np.random.Generator, n_items: int) -> tuple[Policy, str]:
    n_rows, row_length = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    if rng.random() < 0.5:
        policy = resize(str(rng.choice(("default", "kids", "mobile", "tv"))), n_rows, row_length)
    else:
        pins = []
        if rng.random() < 0.6:
            pins.append({"kind": "continue_watching", "within": int(rng.integers(1, min(2, n_rows) + 1)), "when": str(rng.choice(("in_progress", "available")))})
        if rng.random() < 0.5:
            at = int(rng.integers(0, n_rows))
            if not pins or at >= pins[0]["within"] or pins[0]["within"] > 1:
                pins.append({"kind": "top10", "at": at})
        dedup = str(rng.choice(("page", "window")))
        policy = Policy(
            name="generated", n_rows=n_rows, row_length=row_length, min_titles=int(rng.integers(1, row_length + 1)),
            windows={d: {"rows": int(rng.integers(1, n_rows + 1)), "columns": int(rng.integers(1, row_length + 1))} for d in ("web", "tv")},
            dedup=dedup, max_appearances=int(rng.integers(1, 3)),
            max_appearances_below=int(rng.integers(1, 3)) if dedup == "window" and rng.random() < 0.5 else None,
            min_titles_per_kind={"continue_watching": int(rng.integers(1, row_length + 1))},
            max_rows_per_kind={"because_you_watched": int(rng.integers(0, 3)), "genre": int(rng.integers(1, 4))},
            genre_cap=[None, {"max_rows": 1, "span": 2}, {"max_rows": 2, "span": 3}][int(rng.integers(0, 3))], pins=pins,
            diversity=float(rng.choice((0.0, 0.3, 1.0))), eligibility={"exclude_genres": ("Horror",) if rng.random() < 0.3 else ()},
            attention={"model": str(rng.choice(("geometric", "log"))), "row_decay": float(rng.choice((0.6, 0.85, 1.0))), "column_decay": float(rng.choice((0.7, 0.92, 1.0)))},
        )  # fmt: skip
    if rng.random() < 0.25:
        titles = tuple(rng.choice(n_items, size=int(rng.integers(1, 6)), replace=False).tolist())
        rule = _Withhold(titles, tuple(rng.integers(0, 30, size=3).tolist()), bool(rng.random() < 0.5))
        policy = policy.model_copy(update={"rules": (rule,)})
    return policy, str(rng.choice(sorted(policy.windows)))


def _case(seed: int) -> tuple[list[CandidateRow], Policy, SelectContext]:
    rng = np.random.default_rng(seed)
    n_items = int(rng.integers(6, 60))
    genres = [[g for g in GENRES if rng.random() < 0.3] or ["Drama"] for _ in range(n_items)]
    catalog = Catalog.build([f"t{i}" for i in range(n_items)], [f"T{i}" for i in range(n_items)], genres)
    eligible = rng.random(n_items) < 0.85
    pool = int(rng.integers(3, n_items + 1))  # a small pool: the rows overlap, so dedup and pins bite
    rows = []
    for r in range(int(rng.integers(1, 40))):
        kind = str(rng.choice(KINDS))
        items = rng.choice(pool, size=int(rng.integers(1, min(pool, 15) + 1)), replace=False)
        # ties: scores drawn from few values, row scores repeated
        scores = np.sort(rng.integers(0, 4, len(items)).astype(np.float32) / 3 if rng.random() < 0.3 else rng.random(len(items)).astype(np.float32))[::-1]
        evidence = {"genres": list(rng.choice(GENRES, size=int(rng.integers(1, 3)), replace=False))} if kind == "genre" else {}
        key = f"{kind}:{rng.integers(0, 30) if rng.random() < 0.2 else r}"  # some keys repeat
        rows.append(CandidateRow(kind=kind, key=key, title=key, items=items, scores=scores, evidence=evidence, score=float(rng.integers(0, 3)) if rng.random() < 0.3 else float(rng.random())))
    policy, device = _policy(rng, n_items)
    rank = None
    if rng.random() < 0.5:  # values from the member's ranking: not in the rows' order
        scores = rng.integers(0, 5, n_items).astype(np.float32) if rng.random() < 0.3 else rng.random(n_items)
        rank = RankContext(catalog=catalog, model=_Scores(scores), user=UserState.cold(NOW), eligible=eligible, n=40, rng=rng)
    return rows, policy, SelectContext(catalog=catalog, eligible=eligible, device=device, rng=np.random.default_rng(seed), rank=rank)


def _select(monkeypatch, name: str, rows, policy, ctx, kernel: bool):
    monkeypatch.setattr(_fill, "KERNEL", kernel)
    return SELECTORS[name](rows, policy, ctx)


def _same(a, b) -> bool:
    placed = len(a.rows) == len(b.rows) and all(
        x.row == y.row and np.array_equal(x.items, y.items) and np.array_equal(x.columns, y.columns) for x, y in zip(a.rows, b.rows, strict=True)
    )
    return placed and a.objective == b.objective and a.steps == b.steps


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_the_kernel_chooses_what_the_reference_chooses(monkeypatch, chunk):
    size = CASES // CHUNKS
    compared = rows_placed = 0
    for seed in range(chunk * size, (chunk + 1) * size):
        rows, policy, ctx = _case(seed)
        name = tuple(SELECTORS)[seed % len(SELECTORS)]
        reference = _select(monkeypatch, name, rows, policy, ctx, kernel=False)
        kernel = _select(monkeypatch, name, rows, policy, ctx, kernel=True)
        assert _same(kernel, reference), f"case {seed}, {name}: kernel {[p.row for p in kernel.rows]} != reference {[p.row for p in reference.rows]}"
        compared += 1
        rows_placed += len(reference.rows)
    assert compared == size and rows_placed > size  # the cases place rows, not only empty pages


def test_the_comparison_bites(monkeypatch):
    """A kernel that forgets the dedup rule's titles is caught on the generated cases."""
    monkeypatch.setattr(_fill.KernelState, "_withhold_used", lambda self, p: None)
    caught = 0
    for seed in range(200):
        rows, policy, ctx = _case(seed)
        reference = _select(monkeypatch, "stage_wise", rows, policy, ctx, kernel=False)
        caught += not _same(_select(monkeypatch, "stage_wise", rows, policy, ctx, kernel=True), reference)
    assert caught > 20
