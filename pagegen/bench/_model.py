"""Benchmark: the Model calls of one page request, and fit time, on a synthetic world or MovieLens.

    python -m pagegen.bench model [--size medium] [--members 200] [--seed 0] [--model FILE]
    python -m pagegen.bench model --movielens DIR        # fit time on ml-latest-small only

Builds the world and fits the model (timed: wall and process CPU), then, for each sampled
member, times the calls the built-in rankers make into the model for one request: ``score``,
``popularity(now)``, ``popularity(now, window=...)`` for the Top 10 / Popular windows,
``trending(now)`` and ``similarity`` of up to three anchors. Two settings: every request at
the world's ``now`` (a batch: per-``now`` values are shared) and each request at its own
``now`` (nothing shared). Prints p50 / p99 / mean in ms per call and in total.

On a machine shared with other jobs, run it with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``:
a multi-threaded BLAS then spends more time waiting for its threads than computing (the EASE
solve of the synthetic small world: 0.1 s single-threaded, up to 2.5 s with two busy threads).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pagegen.core._time import DAY
from pagegen.data._load import load_movielens
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.models._model import Model

__all__ = ["bench_requests", "main", "request_calls", "timed_fit"]

#: The popularity windows the built-in rankers ask for (Top 10: 1, 7, 30 days; Popular: 30 days).
WINDOWS: tuple[int, ...] = (DAY, 7 * DAY, 30 * DAY)


def request_calls(model, user, anchors: np.ndarray) -> dict[str, Callable[[], object]]:
    """The model calls of one page request, by name, in the order the rankers make them."""
    now = user.now
    calls: dict[str, Callable[[], object]] = {"score": lambda: model.score(user), "popularity": lambda: model.popularity(now)}
    for w in WINDOWS:
        calls[f"popularity_{w // DAY}d"] = lambda w=w: model.popularity(now, window=w)
    calls["trending"] = lambda: model.trending(now)
    if len(anchors):
        calls["similarity"] = lambda: model.similarity(anchors)
    return calls


def _anchors(catalog, user, k: int = 3) -> np.ndarray:
    """The member's ``k`` most recently played titles, episodes counted as their series."""
    if not len(user.items):
        return np.zeros(0, np.int64)
    order = np.argsort(-user.last, kind="stable")
    items = user.items[order]
    series = catalog.series[items]
    items = np.where(series >= 0, series, items)
    _, first = np.unique(items, return_index=True)
    return items[np.sort(first)][:k].astype(np.int64)


def bench_requests(world, model, members: np.ndarray, *, shared_now: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-member wall times (ms) of each request call and their total.

    ``shared_now=False``: each member is served at its own ``now`` (up to 30 days before the
    world's end), so no per-``now`` value can be reused across requests.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {}
    for u in members.tolist():
        now = world.now if shared_now else int(world.now - rng.integers(0, 30 * DAY))
        user = world.user_state(int(u), now)
        total = 0.0
        for name, call in request_calls(model, user, _anchors(world.catalog, user)).items():
            t = time.perf_counter()
            call()
            spent = (time.perf_counter() - t) * 1e3
            out.setdefault(name, []).append(spent)
            total += spent
        out.setdefault("total", []).append(total)
    return {k: np.asarray(v) for k, v in out.items()}


def timed_fit(catalog, interactions, config=None, **kwargs):
    """``fit`` with its wall and process-CPU seconds: ``(model, wall, cpu)``."""

    t, c = time.perf_counter(), time.process_time()
    model = fit(catalog, interactions, config, progress=False, **kwargs)
    return model, time.perf_counter() - t, time.process_time() - c


def _table(res: dict[str, np.ndarray]) -> str:
    lines = [f"{'ms':<16}{'p50':>8}{'p99':>8}{'mean':>8}"]
    for key, v in res.items():
        lines.append(f"{key:<16}{np.percentile(v, 50):8.2f}{np.percentile(v, 99):8.2f}{v.mean():8.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.bench model", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--members", type=int, default=200, help="members sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, default=None, help="model file: loaded when it exists, else fitted and saved there")
    parser.add_argument("--movielens", type=Path, default=None, help="a MovieLens folder: time the fit on it and stop")
    args = parser.parse_args(argv)

    if args.movielens is not None:
        data = load_movielens(args.movielens)
        model, wall, cpu = timed_fit(data.catalog, data.interactions)
        print(f"fit {args.movielens.name}: {wall:.2f} s wall, {cpu:.2f} s CPU; {model!r}")
        return 0
    t = time.perf_counter()
    world = synthetic_world(args.size, seed=args.seed)
    print(f"world {args.size}: {world} ({time.perf_counter() - t:.1f} s)")
    if args.model is not None and (args.model.exists() or args.model.with_name(args.model.name + ".npz").exists()):
        model = Model.load(args.model)
        print(f"loaded {args.model}")
    else:
        model, wall, cpu = timed_fit(world.catalog, world.interactions, profiles=world.profiles)
        print(f"fit: {wall:.2f} s wall, {cpu:.2f} s CPU; {model!r}")
        if args.model is not None:
            model.save(args.model)
    rng = np.random.default_rng(args.seed)
    members = rng.choice(len(world.profiles), size=min(args.members, len(world.profiles)), replace=False)
    bench_requests(world, model, members[:10])  # warm up
    for shared in (True, False):
        res = bench_requests(world, model, members, shared_now=shared, seed=args.seed)
        print(f"\n{len(members)} members, {'same now (a batch)' if shared else 'each at its own now'}:")
        print(_table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
