"""Benchmark: all candidate rows for one member, on a synthetic world.

    python -m pagegen._bench_rows [--size medium] [--members 300] [--seed 0] [--n 40] [--model FILE]

Builds the world, fits the model (not timed), then for each sampled member times
make_context + every built-in ranker (``candidate_rows``), split into the time spent in the
model's methods (score, popularity, trending, similarity) and the rest (context and rankers;
also as process CPU time, less sensitive to a busy machine). Prints p50 / p99 / mean in ms.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["bench_rows", "main"]


class _TimedModel:
    """Wraps a model; accumulates the wall time spent in its methods (to tell model cost from ranker cost)."""

    def __init__(self, model) -> None:
        self._model = model
        self.spent = 0.0

    def __getattr__(self, name: str):
        attr = getattr(self._model, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - t

        return timed


def bench_rows(world, model, members: np.ndarray, *, n: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-member timings in milliseconds: total (make_context + candidate_rows), of which the
    model's methods (score, popularity, trending, similarity), the rest (context and rankers),
    and its process CPU time."""
    from rows._context import make_context
    from rows._registry import candidate_rows

    timed = _TimedModel(model)
    out: dict[str, list[float]] = {"total": [], "model": [], "rankers": [], "rankers_cpu": [], "rows": []}
    for u in members.tolist():
        user = world.user_state(int(u))
        timed.spent = 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        ctx = make_context(world.catalog, timed, user, n=n, seed=seed)
        rows, failures = candidate_rows(ctx)
        t1, c1 = time.perf_counter(), time.process_time()
        if failures:
            raise RuntimeError(f"member {user.user}: rankers failed: {failures}")
        out["total"].append((t1 - t0) * 1e3)
        out["model"].append(timed.spent * 1e3)
        out["rankers"].append((t1 - t0 - timed.spent) * 1e3)
        out["rankers_cpu"].append(max(0.0, (c1 - c0 - timed.spent)) * 1e3)
        out["rows"].append(len(rows))
    return {k: np.asarray(v) for k, v in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    from ._fit import fit
    from ._model import Model
    from ._synthetic import synthetic_world

    parser = argparse.ArgumentParser(prog="python -m pagegen._bench_rows", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--members", type=int, default=300, help="members sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=40, help="titles per row")
    parser.add_argument("--model", type=Path, default=None, help="model file: loaded when it exists, else fitted and saved there")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    world = synthetic_world(args.size, seed=args.seed)
    print(f"world {args.size}: {world} ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    if args.model is not None and (args.model.exists() or args.model.with_name(args.model.name + ".npz").exists()):
        model = Model.load(args.model)
        print(f"loaded {args.model}: {time.perf_counter() - t:.1f} s")
    else:
        model = fit(world.catalog, world.interactions, progress=False)
        print(f"fit: {time.perf_counter() - t:.1f} s")
        if args.model is not None:
            model.save(args.model)
    rng = np.random.default_rng(args.seed)
    members = rng.choice(len(world.profiles), size=min(args.members, len(world.profiles)), replace=False)
    bench_rows(world, model, members[:20], n=args.n, seed=args.seed)  # warm up: slice index, caches
    res = bench_rows(world, model, members, n=args.n, seed=args.seed)
    print(f"{len(members)} members, {world.catalog.n} titles ({int(world.catalog.displayable().sum())} displayable), {res['rows'].mean():.1f} candidate rows per member")
    print(f"{'ms':<10}{'p50':>8}{'p99':>8}{'mean':>8}")
    for key in ("total", "model", "rankers", "rankers_cpu"):
        v = res[key]
        print(f"{key:<10}{np.percentile(v, 50):8.2f}{np.percentile(v, 99):8.2f}{v.mean():8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
