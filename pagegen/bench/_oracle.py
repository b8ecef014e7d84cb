"""The optimality report: ``python -m pagegen.bench oracle [--movielens DIR] ...`` prints three tables.

1. **exact on real pages** (with ``--movielens``): a model fitted on a MovieLens folder, a seeded sample of
   its members, each one's page as of the last event, its candidate rows from the built-in rankers under
   the default policy cut to ``--shape`` (4x6): per member the exact
   selector's status, wall and CPU time and gap; the fraction proved optimal within ``--time-limit``
   seconds; and stage_wise and stage_wise_ls as fractions of the optimum.
2. **greedy against the optimum on small instances**: the page benchmark's exact instances (3 x 4 pages, 8
   generated candidates of 6 titles): each greedy selector's objective over the optimum, mean and worst.
3. **the cost of the local search**: full-size pages (the default policy) of synthetic worlds with the
   built-in rankers; per member the selection of stage_wise, stage_wise_ls and the local search with a
   smaller budget (``--budget`` pages) timed one after the other, the order rotating member by member
   (CPU time of this thread, so other processes on the machine count less).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from pagegen.data._load import load_movielens
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.page._local_search import LocalSearch, LocalSearchConfig
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from pagegen.page._select_exact import ExactConfig, ExactSelector
from pagegen.serve._engine import Engine, ranker_budget
from policies._policy import Policy, load_policy
from policies._shape import resize
from rows._registry import candidate_rows

from ._page import generated_rows

__all__ = ["main"]

GREEDY = ("row_ranking", "stage_wise", "stage_wise_ls")


def _requests(engine: Engine, members: list[tuple[str, int | None]], seed: int) -> list[tuple[list, Policy, SelectContext]]:
    """Each member's candidate rows, policy and selection context, as ``Engine.build`` makes them."""
    out = []
    for member, now in members:
        state = engine.state(member, now=now) if now is not None else engine.state(member)
        policy = engine.policy_for(state.profile, "web")
        ctx = engine.rank_context(state, seed, policy)
        rows, _ = candidate_rows(ctx, engine.rankers, budget=ranker_budget(policy))
        if rows:
            out.append((rows, policy, SelectContext(catalog=engine.catalog, eligible=ctx.eligible, device="web", rng=np.random.default_rng(seed), rank=ctx)))
    return out


def _q(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def exact_on_movielens(args) -> None:
    start = time.perf_counter()
    data = load_movielens(Path(args.movielens))
    model = fit(data.catalog, data.interactions, progress=False)
    n_rows, row_length = args.shape
    engine = Engine(data.catalog, model, resize(load_policy("default"), n_rows, row_length), interactions=data.interactions, seed=args.seed)
    users = np.sort(np.random.default_rng(args.seed).choice(data.interactions.n_users, size=min(args.members, data.interactions.n_users), replace=False))
    members = [(data.interactions.users.id(int(u)), None) for u in users]
    requests = _requests(engine, members, args.seed)
    print(f"MovieLens ({Path(args.movielens).name}): {len(requests)} members (seeded sample, seed {args.seed}), default policy cut to {n_rows} x {row_length}, "
          f"{np.mean([len(r) for r, _, _ in requests]):.1f} candidate rows each; setup {time.perf_counter() - start:.1f} s")  # fmt: skip
    exact = ExactSelector(ExactConfig(time_limit=args.time_limit))
    wall, cpu, gaps, proved, ratios = [], [], [], [], {name: [] for name in GREEDY}
    for rows, policy, ctx in requests:
        w, c = time.perf_counter(), time.thread_time()
        best = exact(rows, policy, ctx)
        wall.append(time.perf_counter() - w)
        cpu.append(time.thread_time() - c)
        gaps.append(best.gap or 0.0)
        proved.append(best.status == "OPTIMAL" and wall[-1] <= args.time_limit)
        for name in GREEDY:
            ratios[name].append(SELECTORS[name](rows, policy, ctx).objective / best.objective if best.objective > 0 else 1.0)
    print(f"  exact: proved optimal within {args.time_limit:g} s: {np.mean(proved):.1%} ({sum(proved)}/{len(proved)}); "
          f"not proved: {sum(not p for p in proved)}, max gap {max(gaps):.3g}")  # fmt: skip
    print(f"  exact time: wall p50 {_q(wall, 50):.2f} s, p90 {_q(wall, 90):.2f} s, max {max(wall):.2f} s | cpu p50 {_q(cpu, 50):.2f} s, p90 {_q(cpu, 90):.2f} s, max {max(cpu):.2f} s")
    for name in GREEDY:
        r = np.asarray(ratios[name])
        print(f"  {name:>13} / optimum: mean {r.mean():.4f}  min {r.min():.4f}  optimal on {np.mean(r >= 1 - 1e-6):.0%} of members")


def greedy_on_small(args) -> None:
    world = synthetic_world(args.size)
    policy = Policy(name="small", n_rows=3, row_length=4, min_titles=2, windows={"web": {"rows": 2, "columns": 4}}, pins=[], diversity=0.3)
    catalog = world.catalog
    eligible = catalog.displayable() & (catalog.added <= world.now)
    ctx = SelectContext(catalog=catalog, eligible=eligible)
    for seed in args.small_seeds:
        rng = np.random.default_rng(seed)
        ratios: dict[str, list[float]] = {name: [] for name in GREEDY}
        statuses = []
        for _ in range(args.instances):
            rows = generated_rows(catalog, eligible, rng, 8, 6, 30)
            best = SELECTORS["exact"](rows, policy, ctx)
            statuses.append(best.status)
            for name in GREEDY:
                ratios[name].append(SELECTORS[name](rows, policy, ctx).objective / best.objective if best.objective > 0 else 1.0)
        print(f"small instances ({args.size} world, seed {seed}: {args.instances} pages of 3 x 4, 8 candidates x 6, diversity 0.3; exact proved {statuses.count('OPTIMAL')}/{len(statuses)})")
        for name in GREEDY:
            r = np.asarray(ratios[name])
            print(f"  {name:>13} / optimum: mean {r.mean():.4f}  min {r.min():.4f}")


def local_search_cost(args) -> None:
    for size in args.cost_sizes:
        world = synthetic_world(size)
        model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
        engine = Engine(world.catalog, model, load_policy("default"), interactions=world.interactions, profiles=world.profiles, now=world.now, seed=args.seed)
        n = min(args.cost_members, world.interactions.n_users)
        requests = _requests(engine, [(world.interactions.users.id(i), None) for i in range(n)], args.seed)
        short = f"stage_wise_ls(max_pages={args.budget})"
        selectors = {"stage_wise": SELECTORS["stage_wise"], "stage_wise_ls": SELECTORS["stage_wise_ls"], short: LocalSearch(LocalSearchConfig(max_pages=args.budget))}
        times: dict[str, list[float]] = {name: [] for name in selectors}
        gains: dict[str, list[float]] = {name: [] for name in selectors if name != "stage_wise"}
        for k, (rows, policy, ctx) in enumerate(requests):
            objectives = {}
            names = list(selectors)
            for name in names[k % len(names) :] + names[: k % len(names)]:  # the order rotates member by member
                start = time.thread_time()
                objectives[name] = selectors[name](rows, policy, ctx).objective
                times[name].append(time.thread_time() - start)
            for name in gains:
                gains[name].append(objectives[name] / objectives["stage_wise"] - 1.0 if objectives["stage_wise"] > 0 else 0.0)
        rows_per = np.mean([len(r) for r, _, _ in requests])
        print(f"local search cost ({size} world, {len(requests)} members, default policy {policy.n_rows} x {policy.row_length}, {rows_per:.1f} candidate rows; selection only, cpu ms per page):")
        for name, t in times.items():
            ms = np.asarray(t) * 1e3
            print(f"  {name:>28}: p50 {np.percentile(ms, 50):7.2f}  p90 {np.percentile(ms, 90):7.2f}  mean {ms.mean():7.2f}")
        for name, g in gains.items():
            print(f"  {name} objective over stage_wise: mean +{np.mean(g):.4%}, improved on {np.mean(np.asarray(g) > 1e-12):.0%} of pages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.bench oracle", description="How close the greedy selectors come to the optimum, and how fast exact proves it.")
    parser.add_argument("--movielens", default=None, help="a MovieLens folder (ml-latest-small): the exact selector on its members' real pages (skipped when absent)")
    parser.add_argument("--members", type=int, default=40, help="MovieLens members (a seeded sample)")
    parser.add_argument("--shape", type=int, nargs=2, default=(4, 6), metavar=("ROWS", "LENGTH"), help="the MovieLens page shape")
    parser.add_argument("--time-limit", type=float, default=10.0, help="the exact selector's budget in seconds")
    parser.add_argument("--size", default="medium", help="synthetic world of the small instances")
    parser.add_argument("--instances", type=int, default=20, help="small instances per seed")
    parser.add_argument("--small-seeds", type=int, nargs="+", default=[0], help="seeds of the small instances (0: the page benchmark's)")
    parser.add_argument("--cost-sizes", nargs="*", default=["small", "medium"], help="synthetic worlds whose full-size pages time the local search")
    parser.add_argument("--cost-members", type=int, default=100, help="members timed per world")
    parser.add_argument("--budget", type=int, default=12, help="the local search's max_pages of the third timed selector (a budget for full-size pages)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("$ python -m pagegen.bench oracle " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)))
    if args.movielens:
        exact_on_movielens(args)
    if args.instances:
        greedy_on_small(args)
    if args.cost_sizes:
        local_search_cost(args)
    return 0
