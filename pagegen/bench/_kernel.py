"""``python -m pagegen.bench kernel``: the greedy loop's compiled kernel against its numpy reference.

Both build the same pages (``tests/test_kernel.py``); here they are timed A/B, interleaved request by
request in one process (the order alternating), so that load from other processes falls on both alike.
For each generated shape (candidate rows x titles -> page rows x titles, on the synthetic world's
catalog), stage_wise: the selection alone and the whole page (selection, assembly, JSON), CPU time of
this thread p50/p99, and the reference's time over the kernel's. With ``--end-to-end``: ``Engine.build``
+ JSON per member of the world, both ways. Run with one BLAS thread (OPENBLAS_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.page import _fill
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from pagegen.serve._engine import Engine, assemble
from policies._policy import load_policy
from rows import BecauseYouWatched, BecauseYouWatchedConfig, GenreRows, GenreRowsConfig, candidate_rows, default_rankers

from ._page import generated_rows

__all__ = ["main"]

#: (candidate rows, titles per row, page rows): the issue's shapes, the last one Netflix size.
SHAPES = ((500, 40, 25), (1000, 40, 25), (2000, 75, 40))
MODES = ("kernel", "reference")


def _stats(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _line(label: str, times: dict[str, list[float]]) -> str:
    k50, k99 = _stats(times["kernel"])
    r50, r99 = _stats(times["reference"])
    return f"{label:<34} kernel p50 {k50:6.2f} p99 {k99:6.2f} | reference p50 {r50:6.2f} p99 {r99:6.2f} | ratio p50 {r50 / k50:5.2f} p99 {r99 / k99:5.2f}"


def _first_call(world) -> float:
    """Seconds of the kernel's first call in this process: its compile, or the load of the cached compile."""
    policy = load_policy("default").model_copy(update={"n_rows": 3, "row_length": 5})
    eligible = world.catalog.displayable()
    rows = generated_rows(world.catalog, eligible, np.random.default_rng(0), 8, 5, 30)
    start = time.perf_counter()
    _fill.KERNEL = True
    SELECTORS["stage_wise"](rows, policy, SelectContext(catalog=world.catalog, eligible=eligible))
    return time.perf_counter() - start


def bench_shapes(world, args) -> None:
    catalog = world.catalog
    rng = np.random.default_rng(args.seed)
    eligible = catalog.displayable() & (catalog.added <= world.now)
    ctx = SelectContext(catalog=catalog, eligible=eligible, device="web", rng=rng)
    print("generated, stage_wise, CPU ms of this thread (ratio: reference / kernel)")
    for n_cand, length, n_rows in SHAPES:
        policy = load_policy("default").model_copy(update={"row_length": length, "n_rows": n_rows})
        requests = [generated_rows(catalog, eligible, rng, n_cand, length, args.pool) for _ in range(args.requests)]
        gc.collect()
        gc.freeze()  # the pre-generated requests are a benchmark artifact, not per-request garbage (as in bench._page)
        select = {m: [] for m in MODES}
        page = {m: [] for m in MODES}
        for k, rows in enumerate([requests[0], *requests]):  # the first: warm-up, not kept
            for mode in MODES if k % 2 else MODES[::-1]:
                _fill.KERNEL = mode == "kernel"
                t0 = time.thread_time()
                sel = SELECTORS["stage_wise"](rows, policy, ctx)
                t1 = time.thread_time()
                assemble(rows, sel, catalog, user=f"u{k}", policy=policy.name, selector="stage_wise", device="web", now=world.now, seed=args.seed).to_json()
                t2 = time.thread_time()
                if k:
                    select[mode].append(1e3 * (t1 - t0))
                    page[mode].append(1e3 * (t2 - t0))
        shape = f"{n_cand} x {length} -> {n_rows} x {length}"
        print(_line(f"{shape} select", select))
        print(_line(f"{shape} whole page", page))


def bench_end_to_end(world, args) -> None:
    start = time.perf_counter()
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    print(f"(fit: {time.perf_counter() - start:.1f} s, not timed below)")
    rankers = None
    if args.wide:  # the built-in rankers at their widest: more candidate rows per request
        rankers = default_rankers()
        rankers["genre"] = GenreRows(GenreRowsConfig(max_rows=50, max_fine_rows=50))
        rankers["because_you_watched"] = BecauseYouWatched(BecauseYouWatchedConfig(max_anchors=20))
    engine = Engine(world.catalog, model, "default", rankers=rankers, interactions=world.interactions, profiles=world.profiles, now=world.now, seed=args.seed)
    members = [world.interactions.users.id(i) for i in range(min(args.members, world.interactions.n_users))]
    n_cand = [len(candidate_rows(engine.rank_context(engine.state(m), args.seed), engine.rankers)[0]) for m in members[:20]]
    gc.collect()
    times = {m: [] for m in MODES}
    for k, member in enumerate([members[0], *members]):
        state = engine.state(member)
        for mode in MODES if k % 2 else MODES[::-1]:
            _fill.KERNEL = mode == "kernel"
            t0 = time.thread_time()
            engine.build(state, selector="stage_wise").to_json()
            if k:
                times[mode].append(1e3 * (time.thread_time() - t0))
    print(_line(f"end to end{' (wide)' if args.wide else ''}, {np.mean(n_cand):.0f} cand. rows", times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.bench kernel", description="Time the greedy loop's kernel against its reference.")
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--requests", type=int, default=50, help="generated requests per shape")
    parser.add_argument("--pool", type=int, default=3000, help="titles the generated rows draw from")
    parser.add_argument("--end-to-end", action="store_true", help="also fit a model and time Engine.build + JSON per member")
    parser.add_argument("--wide", action="store_true", help="end to end: the genre and Because You Watched rankers at their widest")
    parser.add_argument("--members", type=int, default=100, help="members timed end to end")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    world = synthetic_world(args.size)
    print(world)
    print(f"kernel first call: {_first_call(world):.2f} s (its compile, or the load of the cached compile)")
    gc.collect()
    gc.freeze()  # the world is long-lived: keep the cyclic collector off it, as a page server does
    try:
        bench_shapes(world, args)
        if args.end_to_end:
            bench_end_to_end(world, args)
    finally:
        _fill.KERNEL = True
    return 0
