"""The MovieLens loader: exact figures on ml-latest-small, and every rule on a tiny hand-made folder."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ML_TINY

import pagegen.data._load_common as load_common
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, PLAY, RATING
from pagegen.data._load import load_movielens, parse_year

TINY = ML_TINY


def _ratings_by_csv_module(path: Path) -> list[tuple[str, str, float, int]]:
    """An independent reading of ratings.csv (the csv module), to check the vectorized loader against."""
    with (path / "ratings.csv").open(newline="") as f:
        return [(r["userId"], r["movieId"], float(r["rating"]), int(r["timestamp"])) for r in csv.DictReader(f)]


# -- ml-latest-small -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml(ml_small_dir: Path):
    return load_movielens(ml_small_dir)


def test_ml_small_counts(ml) -> None:
    inter = ml.interactions
    kinds = np.bincount(inter.kind, minlength=len(EVENT_KINDS))
    assert kinds[RATING] == 100_836
    assert kinds[PLAY] == 100_836  # threshold 0: every rated title counts as watched
    assert inter.n_users == 610
    assert ml.catalog.n == 9_742
    assert len(ml.catalog.genre_names) == 20
    assert "(no genres listed)" in ml.catalog.genre_names
    assert ml.report.skipped == ()
    assert ml.report.counts[str(ml_small_path(ml) / "ratings.csv")] == 100_836


def ml_small_path(ml) -> Path:
    return Path(next(iter(ml.report.counts))).parent


def test_ml_small_spot_check_toy_story(ml) -> None:
    cat = ml.catalog
    i = cat.index("1")
    assert cat.titles[i] == "Toy Story (1995)"
    assert cat.year[i] == 1995
    assert cat.released[i] == 788_918_400  # 1995-01-01T00:00:00Z
    assert cat.genres_of(i) == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    tags = dict(zip(np.asarray(cat.tag_names)[cat.tags[[i]].indices].tolist(), cat.tags[[i]].data.tolist(), strict=True))
    assert tags == {"pixar": 2.0, "fun": 1.0}
    assert ml.links is not None and ml.links.imdb[i] == 114_709 and ml.links.tmdb[i] == 862


def test_ml_small_title_oddities(ml) -> None:
    cat = ml.catalog
    assert cat.year[cat.index("27008")] == 1999  # "... (1999) " with a trailing space
    assert cat.titles[cat.index("27008")] == "From Dusk Till Dawn 2: Texas Blood Money (1999)"
    assert cat.year[cat.index("171749")] == 2006  # "(2006–2007)"
    assert cat.year[cat.index("40697")] == 0  # "Babylon 5": no year
    assert cat.released[cat.index("40697")] == 0


def test_ml_small_matches_an_independent_reading(ml) -> None:
    rows = _ratings_by_csv_module(ml_small_path(ml))
    inter = ml.interactions
    rating = inter.kind == RATING
    got = sorted(
        zip(
            inter.users.ids[inter.user[rating]].tolist(),
            ml.catalog.ids[inter.item[rating]].tolist(),
            inter.value[rating].tolist(),
            inter.timestamp[rating].tolist(),
            strict=True,
        )
    )
    assert got == sorted(rows)
    first = {}
    for _, movie, _, ts in rows:
        first[movie] = min(ts, first.get(movie, ts))
    movies = list(first)
    assert np.array_equal(ml.catalog.added[[ml.catalog.index(m) for m in movies]], [first[m] for m in movies])


def test_ml_small_play_threshold(ml_small_dir: Path) -> None:
    rows = _ratings_by_csv_module(ml_small_dir)
    ds = load_movielens(ml_small_dir, play_threshold=4.0)
    plays = ds.interactions.kind == PLAY
    assert plays.sum() == sum(r >= 4.0 for _, _, r, _ in rows)
    assert np.all(ds.interactions.value[plays] == 1.0)


# -- the tiny hand-made folder ------------------------------------------------------------


def test_tiny_catalog() -> None:
    ds = load_movielens(TINY)
    cat = ds.catalog
    assert cat.ids.tolist() == ["1", "2", "3", "5", "10"]
    assert cat.titles.tolist() == ["Alpha (1995)", "Beta, The (2001)", "Gamma Show (2007-)", "Delta", "Epsilon: Part 2 (1987–1990)"]
    assert cat.year.tolist() == [1995, 2001, 2007, 0, 1987]
    assert cat.genres_of(cat.index("5")) == ["(no genres listed)"]
    assert cat.genres_of(cat.index("3")) == ["Comedy", "Drama"]
    assert np.all(cat.kind == 0) and np.all(cat.maturity == 0) and np.all(cat.series == -1)
    # added = first rating; movie 10 was never rated: the last rating time of the file
    assert cat.added.tolist() == [964_000_003, 1_000_000_000, 964_000_001, 1_200_000_000, 1_300_000_000]


def test_tiny_tags_are_normalized_and_counted() -> None:
    cat = load_movielens(TINY).catalog
    assert cat.tag_names == ("classic", "quiet, slow", "space")
    dense = cat.tags.toarray()
    assert dense[cat.index("1")].tolist() == [1.0, 0.0, 2.0]  # "Space" and " space " are one tag
    assert dense[cat.index("2")].tolist() == [0.0, 1.0, 0.0]


def test_tiny_links() -> None:
    ds = load_movielens(TINY)
    assert ds.links.imdb.tolist() == [101, 102, 103, 105, 110]
    assert ds.links.tmdb.tolist() == [901, -1, 903, 905, 910]  # empty tmdbId -> -1


def test_tiny_events_sorted_with_a_play_before_each_rating() -> None:
    inter = load_movielens(TINY).interactions
    assert inter.users.ids.tolist() == ["1", "2", "3", "10"]  # userIds in numeric order
    assert inter.n == 14
    u1 = inter.span(inter.users.index("1"))
    assert inter.timestamp[u1].tolist() == [964_000_001, 964_000_001, 964_000_003, 964_000_003]
    assert inter.kind[u1].tolist() == [PLAY, RATING, PLAY, RATING]
    assert inter.value[u1].tolist() == [1.0, 2.5, 1.0, 4.0]
    # same-second ratings of user 10 come in item order
    u10 = inter.span(inter.users.index("10"))
    assert inter.item[u10].tolist() == [0, 0, 3, 3]


def test_tiny_play_threshold_keeps_every_rating() -> None:
    inter = load_movielens(TINY, play_threshold=3.5).interactions
    assert (inter.kind == RATING).sum() == 7
    play_items = sorted(inter.item[inter.kind == PLAY].tolist())
    assert play_items == [0, 0, 0, 1]  # ratings 4.0, 5.0, 3.5 of movie 1 and 4.5 of movie 2


def test_optional_files_may_be_absent(tmp_path: Path) -> None:
    for name in ("movies.csv", "ratings.csv"):
        shutil.copy(TINY / name, tmp_path / name)
    ds = load_movielens(tmp_path)
    assert ds.links is None
    assert ds.catalog.tag_names == ()
    assert set(ds.report.counts) == {str(tmp_path / "movies.csv"), str(tmp_path / "ratings.csv")}


def test_chunked_reading_gives_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few lines (and a block re-read line by line) load exactly what one block does."""
    for name in ("movies.csv", "ratings.csv"):
        shutil.copy(TINY / name, tmp_path / name)
    whole = load_movielens(tmp_path).interactions
    monkeypatch.setattr(load_common, "CHUNK_BYTES", 40)
    chunked = load_movielens(tmp_path).interactions
    text = (tmp_path / "ratings.csv").read_text().replace("2,2,3.0,", '2,2,"3.0",')  # a quote forces the slow path
    (tmp_path / "ratings.csv").write_text(text)
    slow = load_movielens(tmp_path).interactions
    for got in (chunked, slow):
        for name in ("user", "item", "timestamp", "kind", "value"):
            assert np.array_equal(getattr(got, name), getattr(whole, name)), name


def test_last_line_without_newline(tmp_path: Path) -> None:
    shutil.copy(TINY / "movies.csv", tmp_path / "movies.csv")
    (tmp_path / "ratings.csv").write_bytes((TINY / "ratings.csv").read_bytes().rstrip(b"\n"))
    assert load_movielens(tmp_path).interactions.n == 14


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("Toy Story (1995)", 1995),
        ("Toy Story (1995) ", 1995),
        ("Big Bang Theory, The (2007-)", 2007),
        ("Death Note: Desu nôto (2006–2007)", 2006),
        ("Cosmos (1980 - 1981)", 1980),
        ("Babylon 5", 0),
        ("1984 (1956)", 1956),
        ("Blade Runner 2049", 0),
        ("Odd (0999)", 0),
    ],
)
def test_parse_year(title: str, year: int) -> None:
    assert parse_year(title) == year


@pytest.mark.parametrize("wide", [False, True])
def test_time_order_matches_lexsort(wide: bool) -> None:
    """Both ways of ordering events (one packed key; item pass then user/time key) equal lexsort."""
    from pagegen.data._load_ratings import time_order

    rng = np.random.default_rng(3)
    n, n_items = 5_000, 70_000 if wide else 50  # wide: 23 + 32 + 17 bits do not fit one key
    user = rng.integers(0, (1 << 23) if wide else 20, n).astype(np.int32)
    ts = rng.integers(0, 4_000_000_000 if wide else 30, n).astype(np.int64)
    item = rng.integers(0, n_items, n).astype(np.int32)
    assert np.array_equal(time_order(user, ts, item, n_items), np.lexsort((item, ts, user)))


def test_large_movie_ids_are_looked_up_too(tmp_path: Path) -> None:
    """Ids too sparse for a direct table take the binary-search path, with the same result."""
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n3000000000,Big (1988),Comedy\n7,Small (1990),Drama\n")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,7,4.0,964000003\n1,3000000000,3.0,964982704\n")
    ds = load_movielens(tmp_path)
    rating = ds.interactions.kind == RATING
    assert ds.catalog.ids[ds.interactions.item[rating]].tolist() == ["7", "3000000000"]
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,8,4.0,964000003\n")
    with pytest.raises(DataError, match="ratings.csv:2: field 'movieId' = 8: unknown movieId"):
        load_movielens(tmp_path)
