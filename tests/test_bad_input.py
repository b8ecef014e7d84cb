"""The bad-input corpus: one test per failure mode, each checking what the error says.

Every DataError names the file (``source``), the line, the field and the value; ``str(err)``
carries all four. Strict mode raises on the first bad line; lenient mode is tested at the end.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ML_TINY

import pagegen.data._load_common as load_common
from pagegen.core._errors import DataError
from pagegen.core._interactions import RATING
from pagegen.data._load import load_catalog, load_dataset, load_events, load_movielens

DATA = Path(__file__).parent / "data"
TINY = ML_TINY
GENERIC = DATA / "generic"


def ml_folder(tmp_path: Path, **files: str) -> Path:
    """A copy of the tiny MovieLens folder; ``ratings="..."`` replaces ratings.csv, and so on."""
    root = tmp_path / "ml"
    shutil.copytree(TINY, root)
    for name, text in files.items():
        (root / f"{name}.csv").write_text(text, encoding="utf-8")
    return root


def with_line(name: str, line: str) -> str:
    """The tiny folder's file ``name`` with one more line at the end."""
    return (TINY / f"{name}.csv").read_text(encoding="utf-8") + line + "\n"


def expect(call, *, source: Path, line: int | None, field: str | None, value: object = None, says: str = "") -> DataError:
    with pytest.raises(DataError) as info:
        call()
    err = info.value
    text = str(err)
    assert err.source == str(source)
    assert text.startswith(str(source) + (f":{line}: " if line is not None else ": "))
    assert err.line == line
    assert err.field == field
    if field is not None:
        assert f"field {field!r}" in text
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(err.value, float) and math.isnan(err.value)
    else:
        assert err.value == value
    if value is not None:
        assert repr(value if not isinstance(value, str) else value)[:20].strip("'") in text
    assert says in text
    return err


# -- MovieLens: files ---------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    expect(lambda: load_movielens(tmp_path / "nope"), source=tmp_path / "nope", line=None, field=None, says="not found")


def test_missing_ratings_file(tmp_path: Path) -> None:
    root = ml_folder(tmp_path)
    (root / "ratings.csv").unlink()
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=None, field=None, says="not found")


def test_empty_file(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, ratings="")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=1, field=None, says="empty")


def test_header_only_file(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, ratings="userId,movieId,rating,timestamp\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=2, field=None, says="no data lines")


def test_missing_required_column(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, ratings="userId,movieId,timestamp\n1,1,964000003\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=1, field="rating", says="missing required column")


def test_unknown_column(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, ratings="userId,movieId,score,rating,timestamp\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=1, field="score", value="score", says="unknown column")


# -- MovieLens: ratings lines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "field", "value", "says"),
    [
        ("1,1,4.0", None, "1,1,4.0", "expected 4 fields"),
        ("1,1,4.0,964000003,extra", None, "1,1,4.0,964000003,extra", "found 5"),
        ("", None, "", "found 0"),
        ("1,1,abc,964000003", "rating", "abc", "not a number"),
        ("1.5,1,4.0,964000003", "userId", "1.5", "not an integer"),
        ("1,1,4.0,9.6e8", "timestamp", "9.6e8", "not an integer"),
        ("1,1,4.0,964_000_003", "timestamp", "964_000_003", "not an integer"),
        ("1,1,nan,964000003", "rating", float("nan"), "not a finite number"),
        ("1,1,inf,964000003", "rating", float("inf"), "not a finite number"),
        ("1,1,7.0,964000003", "rating", 7.0, "rating outside [0.5, 5.0]"),
        ("1,1,4.0,-5", "timestamp", -5, "time outside"),
        ("1,1,4.0,5000000000", "timestamp", 5_000_000_000, "2100-01-01"),
        ("1,999,4.0,964000003", "movieId", 999, "unknown movieId"),
        ("-3,1,4.0,964000003", "userId", -3, "negative id"),
    ],
)
def test_bad_ratings_line(tmp_path: Path, bad_line: str, field: str | None, value: object, says: str) -> None:
    root = ml_folder(tmp_path, ratings=with_line("ratings", bad_line) + "1,2,3.0,964000003\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=9, field=field, value=value, says=says)


def test_first_bad_line_is_reported(tmp_path: Path) -> None:
    lines = with_line("ratings", "1,999,4.0,964000003") + "1,1,nan,964000003\n"
    root = ml_folder(tmp_path, ratings=lines.replace("1,3,2.5,964000001", "1,3,2.5,-1"))
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=3, field="timestamp", value=-1)


def test_bad_line_in_a_later_chunk_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_common, "CHUNK_BYTES", 32)
    root = ml_folder(tmp_path, ratings=with_line("ratings", "2,3,4.0,964000003") + "1,1,9.5,964000003\n" + "2,1,4.0,964000003\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=10, field="rating", value=9.5)


def test_not_utf8(tmp_path: Path) -> None:
    root = ml_folder(tmp_path)
    (root / "ratings.csv").write_bytes((TINY / "ratings.csv").read_bytes() + b"1,\xff\xfe,4.0,964000003\n")
    expect(lambda: load_movielens(root), source=root / "ratings.csv", line=9, field=None, value=b"1,\xff\xfe,4.0,964000003", says="not UTF-8")


def test_bad_play_threshold() -> None:
    with pytest.raises(DataError, match="play_threshold"):
        load_movielens(TINY, play_threshold=float("nan"))


# -- MovieLens: movies, tags, links --------------------------------------------------------


def test_duplicate_movie_id(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, movies=with_line("movies", "1,Alpha Again (1996),Drama"))
    expect(lambda: load_movielens(root), source=root / "movies.csv", line=7, field="movieId", value="1", says="duplicate id (first at line 2)")


def test_movies_wrong_field_count(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, movies=with_line("movies", "11,Zeta (1990)"))
    expect(lambda: load_movielens(root), source=root / "movies.csv", line=7, field=None, value="11,Zeta (1990)", says="expected 3 fields")


def test_movies_bad_id(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, movies=with_line("movies", "x11,Zeta (1990),Drama"))
    expect(lambda: load_movielens(root), source=root / "movies.csv", line=7, field="movieId", value="x11", says="not an integer")


def test_tag_of_unknown_movie(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, tags=with_line("tags", "1,77,weird,964982800"))
    expect(lambda: load_movielens(root), source=root / "tags.csv", line=6, field="movieId", value="77", says="unknown movieId")


def test_empty_tag(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, tags=with_line("tags", '1,1,"  ",964982800'))
    expect(lambda: load_movielens(root), source=root / "tags.csv", line=6, field="tag", value="  ", says="empty tag")


def test_duplicate_link(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, links=with_line("links", "3,0000103,903"))
    expect(lambda: load_movielens(root), source=root / "links.csv", line=7, field="movieId", value="3", says="duplicate id (first at line 4)")


def test_bad_imdb_id(tmp_path: Path) -> None:
    root = ml_folder(tmp_path, links=(TINY / "links.csv").read_text().replace("0000103", "tt0000103"))
    expect(lambda: load_movielens(root), source=root / "links.csv", line=4, field="imdbId", value="tt0000103", says="not an integer")


# -- generic format ------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(GENERIC / "catalog.csv")[0]


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.xlsx", "id,title\n")
    expect(lambda: load_catalog(path), source=path, line=None, field="path", value=".xlsx", says="expected .csv, .jsonl")


def test_missing_events_file(tmp_path: Path, catalog) -> None:
    expect(lambda: load_events(tmp_path / "events.csv", catalog), source=tmp_path / "events.csv", line=None, field=None, says="not found")


def test_empty_events_jsonl(tmp_path: Path, catalog) -> None:
    path = write(tmp_path, "events.jsonl", "")
    expect(lambda: load_events(path, catalog), source=path, line=1, field=None, says="empty")


EVENTS_HEAD = "user,item,timestamp,kind,value\nu1,m1,1700000000,play,0.5\n"


@pytest.mark.parametrize(
    ("bad_line", "field", "value", "says"),
    [
        ("u1,zz,1700000000,play,0.5", "item", "zz", "unknown item id"),
        ("u1,m1,1700000000,play,1.5", "value", 1.5, "watched fraction outside [0, 1]"),
        ("u1,m1,1700000000,play,-0.1", "value", -0.1, "watched fraction outside [0, 1]"),
        ("u1,m1,1700000000,rating,11", "value", 11.0, "rating outside [0.0, 10.0]"),
        ("u1,m1,1700000000,rating,", "value", None, "a rating needs a value"),
        ("u1,m1,1700000000,play,inf", "value", float("inf"), "not a finite number"),
        ("u1,m1,1700000000,play,NaN", "value", float("nan"), "not a finite number"),
        ("u1,m1,1700000000,rating,4_5", "value", "4_5", "not a number"),
        ("u1,m1,1700000000,watch,0.5", "kind", "watch", "expected one of play, rating"),
        ("u1,m1,2023-13-45T00:00:00,play,0.5", "timestamp", "2023-13-45T00:00:00", "not epoch seconds or an ISO 8601 time"),
        ("u1,m1,2150-01-01T00:00:00Z,play,0.5", "timestamp", 5_680_281_600, "time outside"),
        ("u1,m1,-1,play,0.5", "timestamp", -1, "time outside"),
        (",m1,1700000000,play,0.5", "user", "", "empty id"),
        ("u1,m1,1700000000", None, "u1,m1,1700000000", "expected 5 fields"),
    ],
)
def test_bad_events_csv_line(tmp_path: Path, catalog, bad_line: str, field: str | None, value: object, says: str) -> None:
    path = write(tmp_path, "events.csv", EVENTS_HEAD + bad_line + "\n")
    expect(lambda: load_events(path, catalog), source=path, line=3, field=field, value=value, says=says)


def test_events_missing_required_column(tmp_path: Path, catalog) -> None:
    path = write(tmp_path, "events.csv", "user,timestamp\nu1,1700000000\n")
    expect(lambda: load_events(path, catalog), source=path, line=1, field="item", says="missing required column")


@pytest.mark.parametrize(
    ("bad_line", "field", "value", "says"),
    [
        ('{"user": "u1", "item": "m1", "timestamp": 1700000000', None, '{"user": "u1", "item": "m1", "timestamp": 1700000000', "bad JSON"),
        ('["u1", "m1", 1700000000]', None, '["u1", "m1", 1700000000]', "expected a JSON object"),
        ('{"user": "u1", "item": "m1"}', "timestamp", None, "missing required field"),
        ('{"user": "u1", "item": "m1", "timestamp": 1700000000, "watched": 0.5}', "watched", 0.5, "unknown field"),
        ('{"user": "u1", "item": "m1", "timestamp": 1700000000, "value": "lots"}', "value", "lots", "not a number"),
        ('{"user": "u1", "item": "m1", "timestamp": 1.5}', "timestamp", 1.5, "not epoch seconds"),
        ('{"user": ["u1"], "item": "m1", "timestamp": 1700000000}', "user", ["u1"], "expected a string or integer id"),
    ],
)
def test_bad_events_jsonl_line(tmp_path: Path, catalog, bad_line: str, field: str | None, value: object, says: str) -> None:
    path = write(tmp_path, "events.jsonl", '{"user": "u1", "item": "m1", "timestamp": 1700000000}\n' + bad_line + "\n")
    expect(lambda: load_events(path, catalog), source=path, line=2, field=field, value=value, says=says)


CATALOG_HEAD = "id,title,genres,kind,series_id,duration,maturity,year,date_added\ns1,Dark,Drama,series,,,16+,2017,\n"


@pytest.mark.parametrize(
    ("bad_line", "field", "value", "says"),
    [
        ("s1,Dark Again,Drama,series,,,16+,2017,", "id", "s1", "duplicate id (first at line 2)"),
        ("e1,Pilot,Drama,episode,,50,16+,2017,", "series_id", None, "an episode needs the id of its series"),
        ("e1,Pilot,Drama,episode,m9,50,16+,2017,", "series_id", "m9", "not the id of a series title"),
        ("m1,Alien,Horror,movie,s1,117,16+,1979,", "series_id", "s1", "only episodes belong to a series"),
        ("m1,Alien,Horror,film,,117,16+,1979,", "kind", "film", "expected one of movie, series, episode"),
        ("m1,Alien,Horror,movie,,117,R,1979,", "maturity", "R", "expected one of all, 7+"),
        ("m1,Alien,Horror,movie,,nan,16+,1979,", "duration", "nan", "not a finite number"),
        ("m1,Alien,Horror,movie,,-3,16+,1979,", "duration", "-3", "outside [0.0, 100000.0]"),
        ("m1,Alien,Horror,movie,,117,16+,79,", "year", "79", "year outside [1870, 2100]"),
        ("m1,Alien,Horror,movie,,117,16+,1979,yesterday", "date_added", "yesterday", "not epoch seconds or an ISO 8601 date"),
        ("m1,Alien,Horror||Sci-Fi,movie,,117,16+,1979,", "genres", ["Horror", "", "Sci-Fi"], "empty label"),
        ("m1,,Horror,movie,,117,16+,1979,", "title", None, "missing required field"),
        ("m1,Alien,Horror,movie,,117,16+", None, "m1,Alien,Horror,movie,,117,16+", "expected 9 fields"),
    ],
)
def test_bad_catalog_csv_line(tmp_path: Path, bad_line: str, field: str | None, value: object, says: str) -> None:
    path = write(tmp_path, "catalog.csv", CATALOG_HEAD + bad_line + "\n")
    expect(lambda: load_catalog(path), source=path, line=3, field=field, value=value, says=says)


def test_catalog_unknown_jsonl_field(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.jsonl", '{"id": "m1", "title": "Alien"}\n{"id": "m2", "title": "Heat", "genre": ["Crime"]}\n')
    expect(lambda: load_catalog(path), source=path, line=2, field="genre", value=["Crime"], says="unknown field")


def test_catalog_bad_json(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.jsonl", '{"id": "m1", "title": "Alien"}\n{"id": "m2", "title": Heat}\n')
    expect(lambda: load_catalog(path), source=path, line=2, field=None, value='{"id": "m2", "title": Heat}', says="bad JSON")


def test_catalog_missing_required_column(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.csv", "id,genres\nm1,Drama\n")
    expect(lambda: load_catalog(path), source=path, line=1, field="title", says="missing required column")


def test_catalog_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.csv", "id,title\n")
    expect(lambda: load_catalog(path), source=path, line=2, field=None, says="no titles")


# -- lenient mode --------------------------------------------------------------------------


def test_lenient_movielens_skips_and_reports_every_bad_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_common, "CHUNK_BYTES", 48)  # bad lines fall in several blocks
    ratings = with_line("ratings", "1,1,abc,964000003") + "1,999,4.0,964000003\n2,3,4.0,964000003\n1,5,4.0\n3,3,4.0,-7\n"
    root = ml_folder(tmp_path, ratings=ratings, tags=with_line("tags", "1,77,weird,964982800"))
    with pytest.warns(UserWarning, match=r"skipped 5 bad line\(s\) \(4 in .*ratings.csv, 1 in .*tags.csv\)"):
        ds = load_movielens(root, lenient=True)
    skipped = [(Path(s.source).name, s.line, s.field, s.value) for s in ds.report.skipped]
    assert skipped == [
        ("ratings.csv", 9, "rating", "abc"),
        ("ratings.csv", 10, "movieId", 999),
        ("ratings.csv", 12, None, "1,5,4.0"),
        ("ratings.csv", 13, "timestamp", -7),
        ("tags.csv", 6, "movieId", "77"),
    ]
    assert ds.report.n_skipped == 5
    assert "ratings.csv:10: field 'movieId' = 999: unknown movieId" in str(ds.report.skipped[1])
    # the good lines are all there, the bad ones not even half: 7 + 1 ratings, each with its play
    inter = ds.interactions
    assert (inter.kind == RATING).sum() == 8 and inter.n == 16
    assert ds.report.counts[str(root / "ratings.csv")] == 8
    assert ds.report.counts[str(root / "tags.csv")] == 4


def test_lenient_generic_skips_an_episode_whose_series_was_bad(tmp_path: Path) -> None:
    cat_path = write(tmp_path, "catalog.csv", CATALOG_HEAD.replace("s1,Dark,Drama,series,,,16+,2017,", "s1,Dark,Drama,series,,,PG,2017,") + "e1,Pilot,Drama,episode,s1,50,16+,2017,\nm1,Alien,Horror,movie,,117,16+,1979,\n")
    ev_path = write(tmp_path, "events.csv", "user,item,timestamp,kind,value\nu1,m1,1700000000,play,0.5\nu1,e1,1700000001,play,0.5\nu2,m1,1700000002,rating,\n")
    with pytest.warns(UserWarning, match=r"skipped 4 bad line"):
        ds = load_dataset(cat_path, ev_path, lenient=True)
    assert ds.catalog.ids.tolist() == ["m1"]
    assert [(Path(s.source).name, s.line, s.field) for s in ds.report.skipped] == [
        ("catalog.csv", 2, "maturity"),
        ("catalog.csv", 3, "series_id"),
        ("events.csv", 3, "item"),
        ("events.csv", 4, "value"),
    ]
    assert ds.interactions.n == 1 and ds.interactions.users.ids.tolist() == ["u1"]


def test_strict_mode_does_not_warn(recwarn: pytest.WarningsRecorder, tmp_path: Path) -> None:
    """Strict (the default) reads clean files without a warning, and stops at a bad line with an
    error, never a warning and a skipped line; lenient mode on clean files does not warn either."""
    ds = load_movielens(TINY)
    assert ds.report.skipped == () and np.all(np.isfinite(ds.interactions.value))
    assert load_movielens(TINY, lenient=True).report.skipped == ()
    bad = tmp_path / "ml"
    shutil.copytree(TINY, bad)
    with (bad / "ratings.csv").open("a", encoding="utf-8") as fh:
        fh.write("1,1,not-a-rating,964982703\n")
    with pytest.raises(DataError, match="rating"):
        load_movielens(bad)
    assert not [w for w in recwarn if "skipped" in str(w.message)]
