"""Offline page replay: build each test member's page as of its cutoff, credit what it played next.

``evaluate(data, selectors, split)`` fits a model on the split's train events, builds every
test member's page with each selector (plus a baseline that wraps the single best ranked list,
``model.score``, into rows of the same shape) and scores the pages with ``pagegen.evaluate._metrics``.
``main(argv)`` is the command line (``pagegen evaluate``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pagegen.core._arrays import argtopk
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError, PagegenError
from pagegen.core._interactions import Interactions
from pagegen.core._progress import Progress
from pagegen.core._time import DAY
from pagegen.core._userstate import Profile, UserState
from pagegen.data._load import load_dataset, load_movielens
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.page._objective import SelectContext, Selection
from pagegen.serve._engine import SELECTORS, Engine, _selector, ranker_budget
from policies._policy import load_policy
from policies._shape import resize
from rows._registry import candidate_rows

from . import _metrics as M
from ._report import EvalResult, markdown_table, write_html, write_json
from ._splits import Split, dates_from_events, display_titles, leave_last_split, time_split, train_availability, truth_split
from ._stats import paired
from ._tally import PAIRED, Ctx, Tally

__all__ = ["BASELINE", "EvalConfig", "evaluate", "main", "make_split", "member_pages", "selection_grid", "wrap_list"]

#: Name of the baseline: the single ranked list ``model.score`` wrapped row by row into the page's shape.
BASELINE = "single_list"


class EvalConfig(BaseModel):
    """How a replay is run. Every field is documented once, here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    split: Literal["leave_last", "time"] = Field("leave_last", description="Per-member leave-last-k, or one global time cutoff.")
    relevance: Literal["played", "truth"] = Field("played", description="Relevant titles: those played after the cutoff, or (synthetic world) the ground-truth favourites.")
    selectors: tuple[str, ...] | None = Field(None, max_length=20, description="Selectors side by side; None: every registered one but 'exact'.")
    baseline: bool = Field(True, description="Also score the single ranked list wrapped into rows.")
    n_test: int = Field(5, ge=1, le=100, description="leave_last: titles held out per member.")
    min_interactions: int = Field(10, ge=2, le=10_000, description="leave_last: fewest distinct titles a tested member has.")
    quantile: float = Field(0.8, gt=0.0, lt=1.0, description="time: the cutoff at this quantile of play/rating times.")
    min_history: int = Field(1, ge=0, le=10_000, description="time: fewest distinct titles a tested member has before the cutoff.")
    horizon_days: float | None = Field(None, gt=0, le=36_500, description="time: only plays within this many days after the cutoff are relevant (None: all).")
    truth_k: int = Field(10, ge=1, le=1_000, description="truth: relevant titles per member (its top preferences not yet played).")
    sample: int | None = Field(None, ge=1, le=10_000_000, description="Evaluate at most this many test members (seeded draw); None: all.")
    policy: str = Field("default", min_length=1, description="Page policy: a preset name or a TOML/JSON file.")
    n_rows: int | None = Field(None, ge=1, le=100, description="Override the policy's row count (small pages, e.g. for the exact selector).")
    row_length: int | None = Field(None, ge=1, le=200, description="Override the policy's row length.")
    device: str = Field("web", min_length=1, description="Device whose visible window is the first screen.")
    seed: int = Field(0, ge=0, description="Seed of the member sample, the fit and every page request.")
    alpha: float = Field(M.CALIBRATION_ALPHA, gt=0.0, le=1.0, description="Smoothing of the calibration KL (Steck 2018).")
    compare_to: str | None = Field(None, min_length=1, description="The named baseline every builder is compared with, member by member (paired bootstrap CI and sign test); None: row_ranking when evaluated, else the first selector.")
    availability: Literal["auto", "catalog", "train"] = Field(
        "auto", description="When titles joined the service at page time: the catalog's dates, or rebuilt from the train events only (as a MovieLens folder derives them "
        "from ratings, held-out events included); auto: train when the catalog's dates are the titles' first events, else catalog.",
    )


def _dataset(data: Any, seed: int) -> tuple[str, Catalog, Interactions, Sequence[Profile] | None, Any]:
    """(name, catalog, interactions, profiles, truth) of a World, a Dataset, a folder or a world size name."""
    if isinstance(data, str) and (data.startswith("synthetic") or data in ("tiny", "small", "medium", "large")):
        size = data.split(":", 1)[1] if ":" in data else ("small" if data == "synthetic" else data)
        data = synthetic_world(size, seed)
        name = f"synthetic:{size}"
    elif isinstance(data, (str, Path)):
        path = Path(data)
        loaded = load_movielens(path)
        return path.name, loaded.catalog, loaded.interactions, None, None
    else:
        name = type(data).__name__
    if hasattr(data, "truth") and hasattr(data, "profiles"):
        config = getattr(data, "config", None)
        name = name if name != "World" else f"synthetic(n_titles={getattr(config, 'n_titles', '?')}, seed={getattr(config, 'seed', '?')})"
        return name, data.catalog, data.interactions, tuple(data.profiles), data.truth
    if isinstance(data, tuple) and len(data) in (2, 3):
        catalog, interactions = data[0], data[1]
        return "dataset", catalog, interactions, (data[2] if len(data) == 3 else None), None
    if hasattr(data, "catalog") and hasattr(data, "interactions"):
        return "dataset", data.catalog, data.interactions, None, None
    raise DataError("expected a World, a Dataset, a (catalog, interactions) tuple, a MovieLens folder or a world size", field="data", value=type(data).__name__)


def make_split(catalog: Catalog, interactions: Interactions, config: EvalConfig, truth: Any = None) -> Split:
    """The configured split, member sample and relevance."""
    if config.split == "leave_last":
        split = leave_last_split(catalog, interactions, n_test=config.n_test, min_interactions=config.min_interactions)
    else:
        horizon = None if config.horizon_days is None else int(config.horizon_days * DAY)
        split = time_split(catalog, interactions, quantile=config.quantile, min_history=config.min_history, horizon=horizon)
    split = split.sample(config.sample, config.seed)
    if config.relevance == "truth":
        if truth is None:
            raise DataError("ground-truth relevance needs a synthetic world", field="relevance", value="truth")
        split = truth_split(split, catalog, truth, k=config.truth_k)
    if len(split) == 0:
        raise DataError(f"the {config.split} split has no test member", field="split", value=config.split)
    return split


def wrap_list(scores: np.ndarray, eligible: np.ndarray, lengths: Sequence[int]) -> np.ndarray:
    """The baseline page: the eligible titles by descending score, row-major into rows of ``lengths``."""
    total = int(sum(lengths))
    cand = np.flatnonzero(eligible)
    ranked = cand[argtopk(scores[cand], total)]  # ties to the lower title
    grid = np.full((len(lengths), max(lengths, default=0)), -1, dtype=np.int32)
    start = 0
    for r, length in enumerate(lengths):
        part = ranked[start : start + length]
        grid[r, : len(part)] = part
        start += length
    return grid


def selection_grid(selection: Any, rows: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """The page grid (as ``page_grid`` of the assembled Page) and row kinds of a selection."""
    lengths = [len(placed.items) for placed in selection.rows]
    grid = np.full((len(lengths), max(lengths, default=0)), -1, dtype=np.int32)
    for r, placed in enumerate(selection.rows):
        grid[r, : lengths[r]] = placed.items
    return grid, [rows[placed.row].kind for placed in selection.rows]


def member_pages(engine: Any, state: UserState, selectors: Sequence[str], *, device: str, seed: int) -> tuple[dict[str, tuple[np.ndarray, list[str]]], Any, list[Any], dict[str, float], list[Any]]:
    """Every selector's page for one member, as (grid, row kinds), from one set of candidate rows.

    The same steps as ``Engine.build`` (context, policy eligibility, rankers with fault
    isolation, selection), with the rankers run once for all selectors: each selector gets a
    generator in the state a lone ``build`` would hand it, so the pages are identical; the
    Page objects are not assembled (the metrics need only the grid). Returns ({selector: (grid,
    kinds)}, the RankContext, the ranker failures, {selector: seconds}, the candidate rows) where a selector's
    seconds are the shared context and rankers plus its own selection. A member for whom nothing
    can be shown (no candidate row, or none that fits the policy) gets an empty page, which earns
    no credit, where ``Engine.build`` raises.
    """
    start = time.perf_counter()
    policy = engine.policy_for(state.profile, device)
    policy.window(device)
    ctx = engine.rank_context(state, seed, policy)
    rows, failures = candidate_rows(ctx, engine.rankers, budget=ranker_budget(policy))
    after_rankers = ctx.rng.bit_generator.state
    shared = time.perf_counter() - start
    pages, seconds = {}, {"_shared": shared}
    for name in selectors:
        start = time.perf_counter()
        _, select = _selector(name)
        rng = np.random.Generator(type(ctx.rng.bit_generator)())
        rng.bit_generator.state = after_rankers
        empty = Selection(rows=(), objective=0.0)
        selection = select(rows, policy, SelectContext(catalog=engine.catalog, eligible=ctx.eligible, device=device, rng=rng, rank=ctx)) if rows else empty
        pages[name] = selection_grid(selection, rows)
        seconds[name] = shared + time.perf_counter() - start
    return pages, ctx, failures, seconds, rows


def evaluate(
    data: Any,
    selectors: Sequence[str] | None = None,
    split: str | None = None,
    *,
    config: EvalConfig | None = None,
    fit_config: Any = None,
    progress: bool | None = None,
    **options: Any,
) -> EvalResult:
    """Replay ``data`` (a World, a Dataset, a (catalog, interactions[, profiles]) tuple, a MovieLens
    folder or a synthetic world size such as ``"synthetic:small"``) and compare page selectors.

    ``selectors`` and ``split`` override ``config``; other keyword options are EvalConfig fields.
    """

    fields = {**(config or EvalConfig()).model_dump(), **options}
    if selectors is not None:
        fields["selectors"] = tuple(selectors)
    if split is not None:
        fields["split"] = split
    try:
        config = EvalConfig(**fields)
    except ValidationError as err:
        raise DataError(f"bad evaluation option: {err.errors()[0]['msg']}", field=".".join(map(str, err.errors()[0]["loc"]))) from None
    names = list(config.selectors) if config.selectors is not None else [s for s in SELECTORS if s != "exact"]
    unknown = [s for s in names if s not in SELECTORS]
    if unknown:
        raise DataError(f"unknown selector, expected one of {', '.join(SELECTORS)}", field="selectors", value=unknown[0])
    reference = config.compare_to or ("row_ranking" if "row_ranking" in names else names[0])
    if reference not in names and not (reference == BASELINE and config.baseline):
        raise DataError(f"the baseline to compare with is not evaluated, expected one of {', '.join(names + [BASELINE] * config.baseline)}", field="compare_to", value=reference)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    name, catalog, interactions, profiles, truth = _dataset(data, config.seed)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sp = make_split(catalog, interactions, config, truth)
    if config.availability == "train" or (config.availability == "auto" and dates_from_events(catalog, interactions)):
        catalog = train_availability(catalog, sp.train)  # no held-out event decides what is on the service at page time
    timings["split"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit(catalog, sp.train, fit_config, progress=progress, profiles=profiles)
    timings["fit"] = time.perf_counter() - t0
    policy = load_policy(config.policy)
    if config.n_rows is not None or config.row_length is not None:
        policy = resize(policy, config.n_rows or policy.n_rows, config.row_length or policy.row_length)
    if config.device not in policy.windows:
        raise DataError(f"the policy has no window for this device, expected one of {', '.join(policy.windows)}", field="device", value=config.device)
    win = policy.windows[config.device]
    ctx = Ctx((win.rows, win.columns), (policy.n_rows, policy.row_length), catalog.genres, config.alpha)
    engine = Engine(catalog, model, policy, interactions=sp.train, profiles=profiles, seed=config.seed)
    tallies = {s: Tally(s, catalog.n, ctx.shape) for s in names}
    if config.baseline:
        tallies[BASELINE] = Tally(BASELINE, catalog.n, ctx.shape)
    pops: dict[int, np.ndarray] = {}
    failures: dict[str, int] = {}
    bar = Progress(f"evaluate {name}", len(sp), enabled=progress)
    t0 = time.perf_counter()
    for k, (u, now) in enumerate(zip(sp.users.tolist(), sp.now.tolist(), strict=True)):
        bar.step(f"member {k + 1}")
        state = engine.state(sp.train.users.id(u), now=now)
        rel = sp.relevance(k)
        history = display_titles(catalog, state.items)
        pages, rank_ctx, dropped, seconds, _ = member_pages(engine, state, names, device=config.device, seed=config.seed)
        if now not in pops:  # the request's popularity as of now (shared with the rankers)
            pops = {now: np.asarray(rank_ctx.popularity, dtype=np.float64)}
        for f in dropped:
            failures[f.name] = failures.get(f.name, 0) + 1
        for s, (grid, _) in pages.items():
            if not grid.size:
                failures[f"{s}: empty page"] = failures.get(f"{s}: empty page", 0) + 1
        ref = pages["stage_wise" if "stage_wise" in pages else names[0]][0]
        lengths = (ref >= 0).sum(axis=1).tolist()
        grids = dict(pages)
        if config.baseline:
            start = time.perf_counter()
            grids[BASELINE] = (wrap_list(np.asarray(rank_ctx.scores, dtype=np.float64), rank_ctx.eligible, lengths), [BASELINE] * len(lengths))
            seconds[BASELINE] = seconds["_shared"] + time.perf_counter() - start
        for s, (grid, kinds) in grids.items():
            tallies[s].seconds += seconds[s]
            tallies[s].add(grid, kinds, rel, history, pops[now], ctx)
    bar.close()
    timings["replay"] = time.perf_counter() - t0
    displayable = catalog.displayable()
    return EvalResult(
        dataset=name,
        split=sp.name,
        device=config.device,
        window=ctx.window,
        shape=ctx.shape,
        members=len(sp),
        mean_relevant=float(len(sp.items) / len(sp)),
        selectors={s: t.result(displayable) for s, t in tallies.items()},
        timings=timings,
        config=config.model_dump(mode="json"),
        failures=failures,
        baseline=reference,
        comparisons={s: {m: paired(t.values[m], tallies[reference].values[m], seed=config.seed) for m in PAIRED} for s, t in tallies.items() if s != reference},
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pagegen evaluate", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Replay history and compare page selectors side by side. The model is fitted on each split's train part "
        "(a saved model would have seen the held-out events, so --model is refused).",
    )  # fmt: skip
    p.add_argument("data_path", nargs="?", default=None, metavar="DATA", help="a MovieLens folder, or synthetic:SIZE (the same as --data / --world)")
    g = p.add_argument_group("data (default: the synthetic world 'small')")
    g.add_argument("--data", metavar="DIR", help="a MovieLens folder (movies.csv, ratings.csv, ...)")
    g.add_argument("--world", choices=("tiny", "small", "medium", "large"), help="synthetic world size")
    g.add_argument("--world-seed", type=int, default=None, metavar="N", help="seed of the synthetic world (default: --seed)")
    g.add_argument("--catalog", metavar="FILE", help="generic catalog file (CSV or JSON lines), with --events")
    g.add_argument("--events", metavar="FILE", help="generic events file (CSV or JSON lines), with --catalog")
    g.add_argument("--lenient", action="store_true", help="skip bad input lines (each one reported) instead of stopping")
    g.add_argument("--model", metavar="FILE", help="not taken: the models are fitted on each split's train part (a saved model has seen the held-out events)")
    p.add_argument("--split", choices=("leave_last", "time"), default="leave_last", help="per-member leave-last-k, or one global time cutoff")
    p.add_argument("--selectors", default=None, help="comma-separated selectors (default: all registered but exact)")
    p.add_argument("--no-baseline", action="store_true", help="skip the single-list baseline")
    p.add_argument("--relevance", choices=("played", "truth"), default="played", help="'truth': ground-truth favourites (synthetic only)")
    p.add_argument("--sample", type=int, default=None, help="evaluate at most this many members (seeded)")
    p.add_argument("--n-test", type=int, default=5, help="leave_last: titles held out per member")
    p.add_argument("--quantile", type=float, default=0.8, help="time: cutoff quantile of event times")
    p.add_argument("--horizon-days", type=float, default=None, help="time: relevance window after the cutoff")
    p.add_argument("--policy", default="default", help="policy preset name or file")
    p.add_argument("--device", default="web", help="device whose visible window is the first screen")
    p.add_argument("--n-rows", type=int, default=None, help="override the policy's row count (small pages for exact)")
    p.add_argument("--row-length", type=int, default=None, help="override the policy's row length")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample, fit and pages")
    p.add_argument("--compare-to", default=None, metavar="SELECTOR", help="the baseline every builder is compared with, member by member (default: row_ranking)")
    p.add_argument("--availability", choices=("auto", "catalog", "train"), default="auto", help="titles' dates at page time: the catalog's, or from the train events only (auto: train when the dates are the titles' first events)")
    p.add_argument("--json", dest="json_path", default=None, help="write the full results as JSON here")
    p.add_argument("--html", dest="html_path", default=None, help="write the self-contained HTML report here")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: when stderr is a terminal)")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return p


def _data_argument(args: argparse.Namespace) -> Any:
    """What ``evaluate`` reads: one of the positional DATA, --data, --world, --catalog with --events."""
    given = [name for name, value in (("DATA", args.data_path), ("--data", args.data), ("--world", args.world), ("--catalog", args.catalog)) if value]
    if len(given) > 1:
        raise DataError(f"give one data source, not {' and '.join(given)}", field=given[1])
    if bool(args.catalog) != bool(args.events):
        raise DataError("--catalog and --events go together", field="--catalog" if args.catalog else "--events")
    if args.catalog:
        return load_dataset(args.catalog, args.events, lenient=args.lenient)
    if args.data:
        if not Path(args.data).is_dir():
            raise DataError("not a folder", field="--data", value=args.data)
        return load_movielens(args.data, lenient=True) if args.lenient else args.data  # a folder is named after itself
    if args.world:
        return synthetic_world(args.world, args.seed if args.world_seed is None else args.world_seed)
    return args.data_path or "synthetic:small"


def main(argv: Sequence[str] | None = None) -> int:
    """``pagegen evaluate``: print the Markdown table; optionally write JSON and HTML. Exit 2 on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model is not None:
        parser.error(f"--model {args.model}: {parser.prog} fits its models on each split's train part; a saved model has seen the held-out events")
    try:
        result = evaluate(
            _data_argument(args),
            args.selectors.split(",") if args.selectors else None,
            args.split,
            progress=args.progress,
            baseline=not args.no_baseline,
            relevance=args.relevance,
            sample=args.sample,
            n_test=args.n_test,
            quantile=args.quantile,
            horizon_days=args.horizon_days,
            policy=args.policy,
            device=args.device,
            n_rows=args.n_rows,
            row_length=args.row_length,
            seed=args.seed,
            compare_to=args.compare_to,
            availability=args.availability,
        )
    except PagegenError as err:
        if args.debug:
            raise
        print(f"pagegen evaluate: error: {err}", file=sys.stderr)
        return 2
    print(markdown_table(result), end="")
    if args.json_path:
        write_json(result, args.json_path)
    if args.html_path:
        write_html(result, args.html_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
