"""Benchmark: all candidate rows for one member, on a synthetic world.

    python -m pagegen.bench rows [--size medium] [--members 300] [--seed 0] [--n 40] [--model FILE] [--repeat 1]

Builds the world, fits the model (not timed), then for each sampled member times
make_context + every built-in ranker (``candidate_rows``), split into the time spent in the
model's methods and the rest (context and rankers' own code). Each part is given as wall time
and as CPU time of the calling thread (less sensitive to a busy machine; BLAS helper threads
of the model are not counted). ``--repeat R`` times each member R times (a fresh request each
time) and keeps the fastest, which filters out a busy machine's stalls. Prints p50 / p99 /
mean in ms, which model methods a request calls and what each costs, and the load average.

For latency, run one request per core with single-threaded BLAS (``OPENBLAS_NUM_THREADS=1``):
on a busy two-core machine the model's matrix products otherwise wait for a second BLAS
thread (the benchmark prints the thread settings it ran with).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pagegen.core._errors import ModelFileError
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.models._model import Model
from rows._context import make_context
from rows._registry import RANKERS, candidate_rows

__all__ = ["bench_rows", "main"]


class _TimedModel:
    """Wraps a model; accumulates wall and CPU time and call counts per method name."""

    def __init__(self, model) -> None:
        self._model = model
        self.calls: dict[str, list[float]] = {}  # name -> [calls, wall seconds, cpu seconds]

    def reset(self) -> None:
        self.calls = {}

    def spent(self, column: int) -> float:
        return sum(v[column] for v in self.calls.values())

    def __getattr__(self, name: str):
        attr = getattr(self._model, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            t, c = time.perf_counter(), time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                key = name if name != "popularity" else f"popularity(window={kwargs.get('window')}, region={kwargs.get('region')})"
                entry = self.calls.setdefault(key, [0, 0.0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t
                entry[2] += time.thread_time() - c

        return timed


def bench_rows(world, model, members: np.ndarray, *, n: int = 40, seed: int = 0, repeat: int = 1) -> dict[str, object]:
    """Per-member timings in milliseconds (arrays): ``total`` and ``total_cpu`` (make_context +
    candidate_rows), of which ``model`` / ``model_cpu`` in the model's methods and ``rankers`` /
    ``rankers_cpu`` the rest (each the fastest of ``repeat`` runs), itself split into
    ``make_context`` and each built-in ranker by name (own CPU, run through ``candidate_rows``
    one at a time); ``rows`` per member; and ``methods``: per model method (popularity by window and region) the calls per member and
    the mean wall ms per call."""

    timed = _TimedModel(model)
    out: dict[str, list[float]] = {k: [] for k in ("total", "total_cpu", "model", "model_cpu", "rankers", "rankers_cpu", "rows", "make_context", *RANKERS)}
    methods: dict[str, list[float]] = {}
    for u in members.tolist():
        user = world.user_state(int(u))
        best: dict[str, float] = {}
        for _ in range(max(1, repeat)):
            timed.reset()
            t0, c0 = time.perf_counter(), time.thread_time()
            ctx = make_context(world.catalog, timed, user, n=n, seed=seed)
            now = {"make_context": time.thread_time() - c0}
            rows = []
            for name, ranker in RANKERS.items():  # one by one, to tell each ranker's own CPU time
                c, spent = time.thread_time(), timed.spent(2)
                got, failures = candidate_rows(ctx, {name: ranker})
                now[name] = max(0.0, time.thread_time() - c - (timed.spent(2) - spent))
                if failures:
                    raise RuntimeError(f"member {user.user}: rankers failed: {failures}")
                rows.extend(got)
            t1, c1 = time.perf_counter(), time.thread_time()
            wall, cpu = timed.spent(1), timed.spent(2)
            now.update(total=t1 - t0, total_cpu=c1 - c0, model=wall, model_cpu=cpu, rankers=t1 - t0 - wall, rankers_cpu=max(0.0, c1 - c0 - cpu))
            best = {k: min(v, best.get(k, v)) for k, v in now.items()}
        for k, v in best.items():
            out[k].append(v * 1e3)
        out["rows"].append(len(rows))
        for key, (calls, spent, _) in timed.calls.items():  # the last repetition's calls
            entry = methods.setdefault(key, [0, 0.0])
            entry[0] += calls
            entry[1] += spent
    res: dict[str, object] = {k: np.asarray(v) for k, v in out.items()}
    res["methods"] = {k: (calls / max(len(members), 1), spent * 1e3 / calls) for k, (calls, spent) in sorted(methods.items())}
    return res


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.bench rows", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--members", type=int, default=300, help="members sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=40, help="titles per row")
    parser.add_argument("--repeat", type=int, default=1, help="time each member this many times, keep the fastest")
    parser.add_argument("--model", type=Path, default=None, help="model file: loaded when it exists, else fitted and saved there")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    world = synthetic_world(args.size, seed=args.seed)
    print(f"world {args.size}: {world} ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    model = None
    if args.model is not None and (args.model.exists() or args.model.with_name(args.model.name + ".npz").exists()):
        try:
            model = Model.load(args.model)
            print(f"loaded {args.model}: {time.perf_counter() - t:.1f} s")
        except ModelFileError as err:  # e.g. written by another version of pagegen: fit again
            print(f"not using {args.model}: {err}")
    if model is None:
        t = time.perf_counter()
        model = fit(world.catalog, world.interactions, progress=False)
        print(f"fit: {time.perf_counter() - t:.1f} s")
        if args.model is not None:
            model.save(args.model)
    rng = np.random.default_rng(args.seed)
    members = rng.choice(len(world.profiles), size=min(args.members, len(world.profiles)), replace=False)
    bench_rows(world, model, members[:20], n=args.n, seed=args.seed)  # warm up: slice index, caches
    load = os.getloadavg()[0]
    res = bench_rows(world, model, members, n=args.n, seed=args.seed, repeat=args.repeat)
    rows = res["rows"]
    assert isinstance(rows, np.ndarray)
    print(f"{len(members)} members, {world.catalog.n} titles ({int(world.catalog.displayable().sum())} displayable), {rows.mean():.1f} candidate rows per member")
    print(f"{'ms':<12}{'p50':>8}{'p99':>8}{'mean':>8}")
    for key in ("total", "total_cpu", "model", "model_cpu", "rankers", "rankers_cpu"):
        v = res[key]
        assert isinstance(v, np.ndarray)
        print(f"{key:<12}{np.percentile(v, 50):8.2f}{np.percentile(v, 99):8.2f}{v.mean():8.2f}")

    print("rankers_cpu by part (p50 ms):", ", ".join(f"{k} {np.percentile(res[k], 50):.3f}" for k in ("make_context", *RANKERS)))
    print("model calls per member (mean wall ms per call):")
    methods = res["methods"]
    assert isinstance(methods, dict)
    for key, (calls, ms) in methods.items():
        print(f"  {key:<50}{calls:6.2f}{ms:8.2f}")
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ) or "BLAS threads: library default"
    print(f"load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after; {threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
