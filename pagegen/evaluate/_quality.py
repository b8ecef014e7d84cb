"""Offline quality of the fitted models on MovieLens, against the usual peers.

Protocol: every rating is an interaction; for each member with at least ``min_interactions``
ratings, sorted by (timestamp, movieId), the last ``n_test`` are held out as test and the rest
is train (members with fewer stay in train entirely). Each test member gets 10 and 20
titles, never one of their train titles. NDCG@K with binary relevance; Recall@K = hits /
min(K, |test|); means over the test members. The rating predictor's RMSE is measured on the
same held-out ratings.

``python -m pagegen.evaluate._quality DATA_DIR`` prints the table in Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagegen.core._interactions import PLAY, RATING, Interactions
from pagegen.core._userstate import UserState
from pagegen.data._load import load_movielens
from pagegen.models._fit import FitConfig, fit

__all__ = ["Split", "main", "quality_table", "ranking_metrics", "temporal_split"]


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


def quality_table(data_dir: str | Path, config=None) -> dict[str, dict[str, float]]:
    """Fit on the train part of the split and measure every method; ``{method: {metric: value}}``.

    ``config`` defaults to ``FitConfig(als=True)`` so that ALS is fitted beside EASE.
    """

    data = load_movielens(data_dir)
    split = temporal_split(data.interactions)
    cfg = config or FitConfig(als=True)
    start = time.perf_counter()
    model = fit(data.catalog, split.train, cfg, progress=False)
    fit_seconds = time.perf_counter() - start
    methods = {
        "popularity": lambda st: model.popularity(st.now),
        "EASE": model.personal_ease,
        "ALS": model.personal_als,
        "learned blend": model.score,
    }
    ranked = {name: [] for name in methods}
    sq_err, sq_err_bias = [], []
    for pos, u in enumerate(split.test_users):
        state = UserState.from_interactions(split.train, split.train.users.id(int(u)), int(split.cutoff[pos]))
        seen = state.seen_mask(model.n_items)
        for name, scorer in methods.items():
            ranked[name].append(_top(np.asarray(scorer(state), np.float64), seen, 20))
        items = split.test_items[pos]
        truth = split.test_ratings[pos]
        sq_err.append((model.predict_rating(state, items) - truth) ** 2)
        sq_err_bias.append((model.predict_rating(state, items, factors=False) - truth) ** 2)
    table: dict[str, dict[str, float]] = {}
    for name in methods:
        rows = np.stack(ranked[name])
        n10, r10 = ranking_metrics(rows, split.test_items, 10)
        n20, r20 = ranking_metrics(rows, split.test_items, 20)
        table[name] = {"NDCG@10": n10, "Recall@10": r10, "NDCG@20": n20, "Recall@20": r20}
    table["rating MF"] = {"RMSE": float(np.sqrt(np.concatenate(sq_err).mean()))}
    table["bias baseline"] = {"RMSE": float(np.sqrt(np.concatenate(sq_err_bias).mean()))}
    table["_info"] = {"test_users": float(len(split.test_users)), "fit_seconds": fit_seconds}
    return table


def _markdown(table: dict[str, dict[str, float]]) -> str:
    cols = ["NDCG@10", "Recall@10", "NDCG@20", "Recall@20", "RMSE"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, row in table.items():
        if name.startswith("_"):
            continue
        cells = [f"{row[c]:.4f}" if c in row else "" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    info = table.get("_info", {})
    if info:
        lines.append("")
        lines.append(f"{int(info['test_users'])} test members; fit on the train part in {info['fit_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.evaluate._quality", description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="the ml-latest-small folder (ratings.csv, movies.csv, ...)")
    args = parser.parse_args(argv)
    print(_markdown(quality_table(args.data_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
