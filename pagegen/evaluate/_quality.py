"""Offline quality of the fitted models against the usual peers (MovieLens, generic data, synthetic worlds).

Protocol: every rating is an interaction; for each member with at least ``min_interactions``
ratings, sorted by (timestamp, movieId), the last ``n_test`` are held out as test and the rest
is train (members with fewer stay in train entirely). Each test member gets 10 and 20
titles, never one of their train titles, never an episode (it is shown as its series) and never
the series of an episode they played (``play_split`` does not count it as relevant). NDCG@K
with binary relevance; Recall@K = hits / min(K, |test|); means over the test members. The rating
predictor's RMSE is measured on the same held-out ratings.

``pagegen quality DATA_DIR`` (or ``--data``, ``--world``, ``--catalog`` with ``--events``) prints the
table in Markdown; a synthetic world is split by leave-last-5 plays (its ratings are not logged with
plays), a generic data set without ratings likewise.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagegen.core._errors import DataError, PagegenError
from pagegen.core._interactions import IMPRESSION, PLAY, RATING, Interactions
from pagegen.core._userstate import UserState
from pagegen.data._load import load_dataset, load_movielens
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import FitConfig, fit
from pagegen.models._popularity import fold_items

from ._stats import paired
from ._tuning import GRID, tune

__all__ = ["Split", "main", "play_split", "quality", "quality_table", "ranking_metrics", "synthetic_quality_table", "temporal_split"]


@dataclass(frozen=True)
class Split:
    """A per-member temporal split: ``train`` events and the held-out ratings of test members.

    ``test_users``: int32 user indices; ``test_items`` / ``test_ratings``: per test member, arrays
    of held-out titles and their ratings; ``cutoff``: per test member, 1 s after their last train
    event (the moment their recommendations are made).
    """

    train: Interactions
    test_users: np.ndarray
    test_items: tuple[np.ndarray, ...]
    test_ratings: tuple[np.ndarray, ...]
    cutoff: np.ndarray


def temporal_split(interactions: Interactions, n_test: int = 5, min_interactions: int = 10) -> Split:
    """Hold out each eligible member's last ``n_test`` ratings (and the plays logged with them)."""
    rate = np.flatnonzero(interactions.kind == RATING)
    user = interactions.user[rate]
    # events are sorted by (user, timestamp, item): rank each rating from the end of its member
    counts = np.bincount(user, minlength=interactions.n_users)
    ends = np.cumsum(counts)
    from_end = ends[user] - np.arange(len(rate)) - 1
    test_rate = rate[(from_end < n_test) & (counts[user] >= min_interactions)]
    # the play logged with a held-out rating (same member, title and time) is held out too
    key = np.stack([interactions.user, interactions.item, interactions.timestamp], axis=1)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    held = np.isin(group, group[test_rate])
    held &= (interactions.kind == RATING) | (interactions.kind == PLAY)
    train = interactions.select(~held)
    t_user = interactions.user[test_rate]
    test_users, starts = np.unique(t_user, return_index=True)
    bounds = np.r_[starts, len(t_user)]
    items = tuple(interactions.item[test_rate][a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    ratings = tuple(interactions.value[test_rate][a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    last_train = np.zeros(interactions.n_users, np.int64)
    np.maximum.at(last_train, train.user, train.timestamp)
    return Split(train, test_users.astype(np.int32), items, ratings, last_train[test_users] + 1)


def play_split(interactions: Interactions, fold: np.ndarray, n_test: int = 5, min_interactions: int = 10) -> Split:
    """Hold out each eligible member's last ``n_test`` plays: for worlds whose ratings are not
    logged with plays (the synthetic world). A member with at least ``min_interactions`` plays
    loses every event from their first held-out play on; their test titles are the held-out
    titles folded to tiles (``fold``), less the ones they played before. No test ratings."""
    play = interactions.kind == PLAY
    drop = np.zeros(interactions.n, bool)
    users, items, cutoffs = [], [], []
    for u in range(interactions.n_users):
        sl = interactions.span(u)
        idx = np.arange(sl.start, sl.stop)[play[sl]]
        if len(idx) < min_interactions:
            continue
        first = int(interactions.timestamp[idx[-n_test]])
        earlier = idx[interactions.timestamp[idx] < first]
        test = np.setdiff1d(fold[interactions.item[idx[-n_test:]]], fold[interactions.item[earlier]])
        if len(test) == 0 or len(earlier) == 0:
            continue
        drop[sl.start + np.flatnonzero(interactions.timestamp[sl] >= first)] = True
        users.append(u)
        items.append(test.astype(np.int32))
        cutoffs.append(first)
    empty = tuple(np.zeros(0, np.float32) for _ in users)
    return Split(interactions.select(~drop), np.asarray(users, np.int32), tuple(items), empty, np.asarray(cutoffs, np.int64))


#: The rating predictors measured (rows of the table): the model's predictor (MF plus the
#: neighbourhood corrections), the MF alone (biases plus factors), the bias baseline.
RATING_METHODS: dict[str, dict[str, bool]] = {
    "rating predictor": {},
    "rating MF": {"neighbours": False},
    "bias baseline": {"factors": False},
}
#: Pairs compared per member (method, baseline): the corrections against biases plus factors,
#: the factors against the biases.
RATING_PAIRS: tuple[tuple[str, str], ...] = (("rating predictor", "rating MF"), ("rating MF", "bias baseline"))


def ranking_metrics(ranked: np.ndarray, relevant: tuple[np.ndarray, ...], k: int) -> tuple[float, float]:
    """Mean NDCG@k (binary relevance) and Recall@k = hits / min(k, |relevant|) over members."""
    ranked = np.asarray(ranked)[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg = np.zeros(len(relevant))
    recall = np.zeros(len(relevant))
    for row, (rec, rel) in enumerate(zip(ranked, relevant, strict=True)):
        hit = np.isin(rec, rel)
        ideal = discounts[: min(k, len(rel))].sum()
        ndcg[row] = (discounts[: len(rec)] * hit).sum() / ideal if ideal else 0.0
        recall[row] = hit.sum() / min(k, len(rel)) if len(rel) else 0.0
    return float(ndcg.mean()), float(recall.mean())


def _top(scores: np.ndarray, seen: np.ndarray, k: int) -> np.ndarray:
    scores = np.where(seen, -np.inf, scores)
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def _measure(catalog, split: Split, states: list[UserState], cfg: FitConfig) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Fit on ``split.train`` and measure every method on its held-out part: the table and the
    per-member squared rating errors (``"rating MF"``, ``"bias baseline"``)."""
    start, cpu = time.perf_counter(), time.process_time()
    model = fit(catalog, split.train, cfg, progress=False)
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    methods = {
        "popularity": lambda st: model.popularity(st.now),
        "EASE": model.personal_ease,
        "ALS": model.personal_als,
        "recency-weighted item-item": model.personal_recent,
        "next-play transitions": model.next_play,
        "learned blend": model.score,
    }
    ranked = {name: [] for name in methods}
    sq_err: dict[str, list[np.ndarray]] = {name: [] for name in RATING_METHODS}
    fold = model.arrays["fold"]
    episode = fold != np.arange(model.n_items)
    for pos, state in enumerate(states):
        seen = state.seen_mask(model.n_items) | episode
        seen[fold[state.items]] = True
        for name, scorer in methods.items():
            ranked[name].append(_top(np.asarray(scorer(state), np.float64), seen, 20))
        items = split.test_items[pos]
        truth = split.test_ratings[pos]
        if len(truth):
            for name, options in RATING_METHODS.items():
                sq_err[name].append((model.predict_rating(state, items, **options) - truth) ** 2)
    table: dict[str, dict[str, float]] = {}
    for name in methods:
        rows = np.stack(ranked[name])
        n10, r10 = ranking_metrics(rows, split.test_items, 10)
        n20, r20 = ranking_metrics(rows, split.test_items, 20)
        table[name] = {"NDCG@10": n10, "Recall@10": r10, "NDCG@20": n20, "Recall@20": r20}
    for name, errs in sq_err.items():
        if errs:
            table[name] = {"RMSE": float(np.sqrt(np.concatenate(errs).mean()))}
    table["_info"] = {"test_users": float(len(split.test_users)), "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu}
    errors = {name: np.array([e.mean() for e in errs]) for name, errs in sq_err.items()}  # per member
    return table, errors


def _states(split: Split) -> list[UserState]:
    return [UserState.from_interactions(split.train, split.train.users.id(int(u)), int(split.cutoff[pos])) for pos, u in enumerate(split.test_users)]


def quality_table(data_dir: str | Path, config=None, *, tune_settings: bool = True) -> dict[str, dict]:
    """``quality`` on MovieLens (``data_dir``), split by ``temporal_split``."""
    data = load_movielens(data_dir)
    return quality(data.catalog, data.interactions, temporal_split, config, tune_settings=tune_settings)


def synthetic_quality_table(size: str = "small", config=None, *, tune_settings: bool = True, impressions: bool = True) -> dict[str, dict]:
    """``quality`` on the synthetic world of ``size`` (seed 0), split by ``play_split`` (its
    ratings are not logged with plays); ``impressions=False`` drops its impression events first."""
    world = synthetic_world(size, seed=0)
    fold = fold_items(world.catalog.series)
    events = world.interactions if impressions else world.interactions.select(world.interactions.kind != IMPRESSION)
    return quality(world.catalog, events, lambda it: play_split(it, fold), config, tune_settings=tune_settings)


def quality(catalog, interactions: Interactions, split_of, config=None, *, tune_settings: bool = True) -> dict[str, dict]:
    """Tune on a validation split, then fit on the train part and measure every method on test.

    ``split_of(interactions) -> Split`` is the rule; the validation split is ``split_of(train)``: the same rule applied to the train part,
    so test ratings never choose a setting (see ``_tuning``). ``config`` (default
    ``FitConfig(als=True)``, ALS fitted beside EASE) is where the search starts; with
    ``tune_settings=False`` it is used as is. Returns ``{method: {metric: value}}`` on test, plus
    ``"_validation"`` (the same table on the validation split, for the chosen settings),
    ``"_chosen"`` (the tuned settings), ``"_trials"``, ``"_rmse_paired"`` (paired bootstraps of the
    per-member squared-error difference: the rating predictor minus the MF, the MF minus the bias
    baseline; see ``RATING_PAIRS``) and ``"_info"``.
    """
    split = split_of(interactions)
    cfg = config or FitConfig(als=True)
    table: dict[str, dict] = {}
    if tune_settings:
        val = split_of(split.train)
        val_states = _states(val)
        tuned = tune(cfg, lambda c: _measure(catalog, val, val_states, c)[0])
        cfg = tuned.config
        table["_validation"] = tuned.validation
        table["_chosen"] = {step.field: getattr(cfg, step.field) for step in GRID}
        table["_trials"] = {f"{field}={value}": score for field, value, score in tuned.trials}
    test, errors = _measure(catalog, split, _states(split), cfg)
    table.update(test)
    if len(errors["rating MF"]):
        table["_rmse_paired"] = {}
        for method, baseline in RATING_PAIRS:
            diff = paired(errors[method], errors[baseline])
            table["_rmse_paired"][f"{method} vs {baseline}"] = {"mse_difference": diff.diff, "low": diff.low, "high": diff.high, "members": float(diff.members)}
    return table


def _markdown(table: dict[str, dict[str, float]]) -> str:
    cols = ["NDCG@10", "Recall@10", "NDCG@20", "Recall@20", "RMSE"]
    lines = []
    sections = (("validation (tuning)", table.get("_validation")), ("test", table)) if "_validation" in table else (("", table),)
    for title, part in sections:
        if title:
            lines += [f"{title}:", ""]
        lines += ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for name, row in part.items():
            if name.startswith("_"):
                continue
            cells = [f"{row[c]:.4f}" if c in row else "" for c in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if "_chosen" in table:
        lines.append("chosen on validation: " + ", ".join(f"{k}={v}" for k, v in table["_chosen"].items()))
    for pair, d in table.get("_rmse_paired", {}).items():
        lines.append(f"{pair}, per-member squared error difference: {d['mse_difference']:+.4f} (95% CI {d['low']:+.4f} to {d['high']:+.4f}, {int(d['members'])} members)")
    info = table.get("_info", {})
    if info:
        cpu = f", {info['fit_cpu_seconds']:.1f} s CPU" if "fit_cpu_seconds" in info else ""
        lines.append(f"{int(info['test_users'])} test members; fit on the train part in {info['fit_seconds']:.1f} s{cpu}")
    return "\n".join(lines).strip()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pagegen quality", description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("data_path", nargs="?", default=None, metavar="DATA", help="a MovieLens folder (the same as --data)")
    g = p.add_argument_group("data (one of them; a MovieLens folder or a generic pair is split per member by time, a synthetic world by leave-last-5 plays)")
    g.add_argument("--data", metavar="DIR", help="a MovieLens folder (ratings.csv, movies.csv, ...)")
    g.add_argument("--world", "--synthetic", choices=("tiny", "small", "medium", "large"), help="a synthetic world of this size")
    g.add_argument("--world-seed", type=int, default=0, metavar="N", help="seed of the synthetic world")
    g.add_argument("--no-impressions", action="store_true", help="with --world: drop the world's impression events (to measure what they bring)")
    g.add_argument("--catalog", metavar="FILE", help="generic catalog file (CSV or JSON lines), with --events")
    g.add_argument("--events", metavar="FILE", help="generic events file (CSV or JSON lines), with --catalog")
    g.add_argument("--lenient", action="store_true", help="skip bad input lines (each one reported) instead of stopping")
    g.add_argument("--model", metavar="FILE", help="not taken: the models are fitted on each split's train part (a saved model has seen the held-out events)")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def _table(args: argparse.Namespace) -> dict[str, dict]:
    given = [name for name, value in (("DATA", args.data_path), ("--data", args.data), ("--world", args.world), ("--catalog", args.catalog)) if value]
    if len(given) != 1:
        raise DataError(f"give one data source, not {' and '.join(given)}" if given else "give a data source: DATA, --data, --world or --catalog with --events", field=given[1] if given else "DATA")
    if bool(args.catalog) != bool(args.events):
        raise DataError("--catalog and --events go together", field="--catalog" if args.catalog else "--events")
    if args.no_impressions and not args.world:
        raise DataError("applies to a synthetic world (--world)", field="--no-impressions")
    if args.world:
        world = synthetic_world(args.world, seed=args.world_seed)
        fold = fold_items(world.catalog.series)
        events = world.interactions.select(world.interactions.kind != IMPRESSION) if args.no_impressions else world.interactions
        return quality(world.catalog, events, lambda it: play_split(it, fold))
    if args.catalog:
        data = load_dataset(args.catalog, args.events, lenient=args.lenient)
        if (data.interactions.kind == RATING).any():
            return quality(data.catalog, data.interactions, temporal_split)
        fold = fold_items(data.catalog.series)
        return quality(data.catalog, data.interactions, lambda it: play_split(it, fold))
    folder = args.data or args.data_path
    if not Path(folder).is_dir():
        raise DataError("not a folder", field="--data" if args.data else "DATA", value=folder)
    if args.lenient:
        data = load_movielens(folder, lenient=True)
        return quality(data.catalog, data.interactions, temporal_split)
    return quality_table(folder)


def main(argv: list[str] | None = None) -> int:
    """``pagegen quality``: print the quality table (validation, test, chosen settings). Exit 2 on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model is not None:
        parser.error(f"--model {args.model}: {parser.prog} fits its models on each split's train part; a saved model has seen the held-out events")
    try:
        table = _table(args)
    except PagegenError as err:
        if args.debug:
            raise
        print(f"pagegen quality: error: {err}", file=sys.stderr)
        return 2
    print(_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
