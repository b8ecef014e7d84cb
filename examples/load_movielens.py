"""Load a MovieLens folder (ml-latest-small, ml-25m, ...) and print what was loaded.

    python examples/load_movielens.py path/to/ml-latest-small [--play-threshold 4.0] [--lenient]
"""
# needs: movielens

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import numpy as np

from pagegen import EVENT_KINDS, DataError, load_movielens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a MovieLens folder with movies.csv and ratings.csv")
    parser.add_argument("--play-threshold", type=float, default=0.0, help="ratings at or above this also count as plays")
    parser.add_argument("--lenient", action="store_true", help="skip bad lines (each is reported) instead of stopping")
    args = parser.parse_args()

    start = time.perf_counter()
    try:
        ds = load_movielens(args.folder, play_threshold=args.play_threshold, lenient=args.lenient)
    except DataError as err:
        sys.exit(f"error: {err}")
    seconds = time.perf_counter() - start
    cat, inter = ds.catalog, ds.interactions

    print(f"loaded {args.folder} in {seconds:.2f} s")
    for source, n in ds.report.counts.items():
        print(f"  {source}: {n:,} records")
    if ds.report.skipped:
        print(f"  skipped {ds.report.n_skipped} bad lines, first: {ds.report.skipped[0]}")
    kinds = np.bincount(inter.kind, minlength=len(EVENT_KINDS))
    print(f"titles: {cat.n:,}   members: {inter.n_users:,}   events: {inter.n:,} ({', '.join(f'{k} {c:,}' for k, c in zip(EVENT_KINDS, kinds, strict=True) if c)})")
    if inter.n:
        first, last = (datetime.fromtimestamp(int(t), UTC).date() for t in (inter.timestamp.min(), inter.timestamp.max()))
        print(f"events from {first} to {last}")
    years = cat.year[cat.year > 0]
    if len(years):
        print(f"release years {years.min()}-{years.max()} ({cat.n - len(years)} titles without a year)")
    plays = np.bincount(inter.item[inter.kind == EVENT_KINDS.index("play")], minlength=cat.n)
    titles_per_genre = cat.genres.sum(axis=0)
    plays_per_genre = plays @ cat.genres
    print(f"{len(cat.genre_names)} genre labels; top genres by titles (plays):")
    for j in np.argsort(-titles_per_genre, kind="stable")[:8]:
        print(f"  {cat.genre_names[j]:<20} {titles_per_genre[j]:>7,} ({plays_per_genre[j]:,})")
    print("most played:")
    for i in np.argsort(-plays, kind="stable")[:5]:
        print(f"  {cat.titles[i]} - {plays[i]:,} plays")
    print(f"{len(cat.tag_names):,} distinct tags on {int(np.count_nonzero(np.diff(cat.tags.indptr))):,} titles")


if __name__ == "__main__":
    main()
