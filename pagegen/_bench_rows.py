"""Benchmark: all candidate rows for one member, on a synthetic world.

    python -m pagegen._bench_rows [--size medium] [--members 300] [--seed 0] [--n 40]

Builds the world, fits the model (not timed), then for each sampled member times
make_context + every built-in ranker (``candidate_rows``), split into the model calls the
rankers share (``model.score``, popularity, trending: computed once per request) and the
rankers themselves. Prints p50 / p99 / mean in milliseconds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

__all__ = ["bench_rows", "main"]


def bench_rows(world, model, members: np.ndarray, *, n: int = 40, seed: int = 0, repeat: int = 1) -> dict[str, np.ndarray]:
    """Per-member timings in milliseconds: context, model (shared per-request values), rankers, total."""
    from rows._context import make_context
    from rows._registry import candidate_rows

    out: dict[str, list[float]] = {"context": [], "model": [], "rankers": [], "total": [], "rows": []}
    clock = time.perf_counter
    for u in members.tolist():
        user = world.user_state(int(u))
        for _ in range(repeat):
            t0 = clock()
            ctx = make_context(world.catalog, model, user, n=n, seed=seed)
            t1 = clock()
            ctx.scores, ctx.popularity, ctx.trending  # noqa: B018 - the shared per-request model calls
            t2 = clock()
            rows, failures = candidate_rows(ctx)
            t3 = clock()
            if failures:
                raise RuntimeError(f"member {user.user}: rankers failed: {failures}")
            out["context"].append((t1 - t0) * 1e3)
            out["model"].append((t2 - t1) * 1e3)
            out["rankers"].append((t3 - t2) * 1e3)
            out["total"].append((t3 - t0) * 1e3)
            out["rows"].append(len(rows))
    return {k: np.asarray(v) for k, v in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    from ._fit import fit
    from ._synthetic import synthetic_world

    parser = argparse.ArgumentParser(prog="python -m pagegen._bench_rows", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--members", type=int, default=300, help="members sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=40, help="titles per row")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    world = synthetic_world(args.size, seed=args.seed)
    print(f"world {args.size}: {world} ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    model = fit(world.catalog, world.interactions, progress=False)
    print(f"fit: {time.perf_counter() - t:.1f} s")
    rng = np.random.default_rng(args.seed)
    members = rng.choice(len(world.profiles), size=min(args.members, len(world.profiles)), replace=False)
    bench_rows(world, model, members[:20], n=args.n, seed=args.seed)  # warm up: slice index, caches
    res = bench_rows(world, model, members, n=args.n, seed=args.seed)
    print(f"{len(members)} members, {world.catalog.n} titles ({int(world.catalog.displayable().sum())} displayable), {res['rows'].mean():.1f} candidate rows per member")
    print(f"{'ms':<10}{'p50':>8}{'p99':>8}{'mean':>8}")
    for key in ("context", "model", "rankers", "total"):
        v = res[key]
        print(f"{key:<10}{np.percentile(v, 50):8.2f}{np.percentile(v, 99):8.2f}{v.mean():8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
