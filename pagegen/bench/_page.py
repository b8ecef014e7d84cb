"""Page-construction benchmark: ``python -m pagegen.bench._page`` (run with OPENBLAS_NUM_THREADS=1 for one core).

Three measurements, each printed as one line:

1. generated: on the synthetic world's catalog, ``--candidates`` candidate rows of ``--length``
   titles drawn from a pool of popular eligible titles (so rows overlap), selected into a
   ``--rows`` x ``--length`` page and written as JSON: p50/p99 per selector (template,
   row_ranking, stage_wise). No model is needed.
2. end to end (with ``--end-to-end``): a fitted model and the built-in rankers, then
   ``Engine.build`` + JSON per member (candidate rows, selection, JSON); ``--wide`` sets the genre
   and Because You Watched rankers to their widest, for more real candidate rows per request.
3. exact: small pages (3 rows x 4 titles, 8 candidates of 6 titles): the solver's time and the
   ratio of each greedy selector's objective to the optimum.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np

from pagegen.core._candidates import CandidateRow
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.models._model import Model
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from pagegen.serve._engine import Engine, assemble
from policies._policy import Policy, load_policy
from rows import BecauseYouWatched, BecauseYouWatchedConfig, GenreRows, GenreRowsConfig, candidate_rows, default_rankers

__all__ = ["main"]

GREEDY = ("template", "row_ranking", "stage_wise")
KINDS = ("top_picks", "trending", "because_you_watched", "genre", "new_releases", "popular")


class _Clock:
    """Wall time and this thread's CPU time of each timed call (CPU time is what one core spends,
    and stays meaningful when other processes share the machine)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> _Clock:
        self._w, self._c = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.thread_time() - self._c)

    def __str__(self) -> str:
        w, c = np.asarray(self.wall) * 1e3, np.asarray(self.cpu) * 1e3
        return (f"cpu p50 {np.percentile(c, 50):6.2f} ms p99 {np.percentile(c, 99):6.2f} ms | "
                f"wall p50 {np.percentile(w, 50):6.2f} ms p99 {np.percentile(w, 99):6.2f} ms (n={len(w)})")  # fmt: skip


def generated_rows(catalog, eligible: np.ndarray, rng: np.random.Generator, n_rows: int, length: int, pool: int) -> list[CandidateRow]:
    """Overlapping candidate rows: each draws ``length`` titles from a pool of ``pool`` eligible titles."""
    cand = np.flatnonzero(eligible)[:pool]
    rows = []
    genres = catalog.genre_names
    for r in range(n_rows):
        items = rng.choice(cand, size=min(length, len(cand)), replace=False)
        scores = np.sort(rng.random(len(items)).astype(np.float32))[::-1]
        kind = KINDS[r % len(KINDS)]
        evidence = {"genres": [genres[r % len(genres)]]} if kind == "genre" and genres else {}
        rows.append(CandidateRow(kind=kind, key=f"{kind}:{r}", title=f"Row {r}", items=items, scores=scores, evidence=evidence, score=float(rng.random())))
    return rows


def bench_generated(world, policy, args) -> None:
    catalog = world.catalog
    rng = np.random.default_rng(args.seed)
    eligible = catalog.displayable() & (catalog.added <= world.now)
    requests = [generated_rows(catalog, eligible, rng, args.candidates, args.length, args.pool) for _ in range(args.requests)]
    ctx = SelectContext(catalog=catalog, eligible=eligible, device="web", rng=rng)
    if not args.no_freeze:  # the pre-generated requests are a benchmark artifact, not per-request garbage
        gc.collect()
        gc.freeze()
    for name in GREEDY:
        clock = _Clock()
        parts = {"select": [], "assemble": [], "json": []}
        SELECTORS[name](requests[0], policy, ctx)  # warm-up (per-catalog caches), not timed
        for k, rows in enumerate(requests):
            with clock:
                t0 = time.thread_time()
                sel = SELECTORS[name](rows, policy, ctx)
                t1 = time.thread_time()
                page = assemble(rows, sel, catalog, user=f"u{k}", policy=policy.name, selector=name, device="web", now=world.now, seed=args.seed)
                t2 = time.thread_time()
                page.to_json()
                t3 = time.thread_time()
            for part, (a, b) in zip(parts, ((t0, t1), (t1, t2), (t2, t3)), strict=True):
                parts[part].append(b - a)
        split = ", ".join(f"{part} {1e3 * np.median(v):.2f}" for part, v in parts.items())
        print(f"generated  {name:>11}: {args.candidates} rows x {args.length} -> {len(page.rows)} x {args.length} page: {clock}  [cpu p50 ms: {split}]")


def bench_end_to_end(world, policy, args) -> None:
    start = time.perf_counter()
    if args.model and Path(args.model).with_suffix(".npz").exists():
        model = Model.load(args.model)
        print(f"(model loaded from {args.model})")
    else:
        model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
        print(f"(fit: {time.perf_counter() - start:.1f} s, not timed below)")
        if args.model:
            model.save(args.model)
    if not args.no_freeze:
        gc.collect()
        gc.freeze()
    rankers = None
    if args.wide:  # the built-in rankers at their widest: every genre slice row and anchor they allow
        rankers = default_rankers()
        rankers["genre"] = GenreRows(GenreRowsConfig(max_rows=50, max_fine_rows=50))
        rankers["because_you_watched"] = BecauseYouWatched(BecauseYouWatchedConfig(max_anchors=20))
    engine = Engine(world.catalog, model, policy, rankers=rankers, interactions=world.interactions, profiles=world.profiles, now=world.now, seed=args.seed)
    members = [world.interactions.users.id(i) for i in range(min(args.members, world.interactions.n_users))]
    n_cand = [len(candidate_rows(engine.rank_context(engine.state(m), args.seed), engine.rankers)[0]) for m in members]  # not timed
    for name in GREEDY:
        engine.build(members[0], selector=name)
        clock, n_rows = _Clock(), []
        for member in members:
            state = engine.state(member)
            with clock:
                page = engine.build(state, selector=name)
                page.to_json()
            n_rows.append(len(page.rows))
        print(f"end-to-end {name:>11}{' (wide)' if args.wide else ''}: {clock}  rows/page {np.mean(n_rows):.1f}, candidate rows {np.mean(n_cand):.1f}")


def bench_exact(world, args) -> None:
    policy = Policy(name="small", n_rows=3, row_length=4, min_titles=2, windows={"web": {"rows": 2, "columns": 4}}, pins=[], diversity=0.3)
    catalog = world.catalog
    rng = np.random.default_rng(args.seed)
    eligible = catalog.displayable() & (catalog.added <= world.now)
    ctx = SelectContext(catalog=catalog, eligible=eligible)
    clock, gaps, ratios = _Clock(), [], {name: [] for name in GREEDY}
    for _ in range(args.exact):
        rows = generated_rows(catalog, eligible, rng, 8, 6, 30)
        with clock:
            best = SELECTORS["exact"](rows, policy, ctx)
        gaps.append(best.gap or 0.0)
        for name in GREEDY:
            ratios[name].append(SELECTORS[name](rows, policy, ctx).objective / best.objective if best.objective > 0 else 1.0)
    print(f"exact (3 x 4 page, 8 candidates x 6): {clock}  max gap {max(gaps):.3g}")
    for name in GREEDY:
        r = np.asarray(ratios[name])
        print(f"  {name:>11} / optimum: mean {r.mean():.4f}  min {r.min():.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.bench", description="Time page construction.")
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--candidates", type=int, default=500, help="generated candidate rows per request")
    parser.add_argument("--length", type=int, default=40, help="titles per candidate row and per page row")
    parser.add_argument("--pool", type=int, default=3000, help="titles the generated rows draw from")
    parser.add_argument("--requests", type=int, default=100, help="generated requests per selector")
    parser.add_argument("--end-to-end", action="store_true", help="also fit a model and time Engine.build with the built-in rankers")
    parser.add_argument("--model", default=None, help="end to end: load the fitted model from this file when it exists, else fit and save it there")
    parser.add_argument("--members", type=int, default=100, help="members timed end to end")
    parser.add_argument("--wide", action="store_true", help="end to end: the genre and Because You Watched rankers at their widest (up to 50 genre rows and 20 anchors)")
    parser.add_argument("--exact", type=int, default=20, help="small exact instances (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-freeze", action="store_true", help="leave the loaded world to Python's cyclic garbage collector (see below)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    world = synthetic_world(args.size)
    print(f"{world}  (built in {time.perf_counter() - start:.1f} s)")
    if not args.no_freeze:
        # what a page server does once its catalog and model are loaded: move the long-lived objects out
        # of the cyclic collector's reach, so that a full collection (tens of ms on a loaded world, every
        # few dozen requests) does not land on a request
        gc.collect()
        gc.freeze()
        print("(gc.freeze() after loading; --no-freeze to time without it)")
    policy = load_policy("default").model_copy(update={"row_length": args.length}) if args.length != 40 else load_policy("default")
    bench_generated(world, policy, args)
    if args.exact:
        bench_exact(world, args)
    if args.end_to_end:
        bench_end_to_end(world, policy, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
