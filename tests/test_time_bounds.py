"""Times at the edges of [MIN_TIMESTAMP, MAX_TIMESTAMP): the last second in is accepted, the first
second out is refused with the field named, in every loader that reads a time."""

from __future__ import annotations

import pytest

from pagegen import DataError, load_catalog, load_dataset, load_movielens
from pagegen.data._load import MAX_TIMESTAMP, MIN_TIMESTAMP

CATALOG = "id,title\nm1,Alien\n"
EDGES = [(MIN_TIMESTAMP, True), (MAX_TIMESTAMP - 1, True), (MIN_TIMESTAMP - 1, False), (MAX_TIMESTAMP, False)]


@pytest.mark.parametrize(("ts", "ok"), EDGES)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_event_times(tmp_path, ts, ok, fmt):
    cat = tmp_path / "catalog.csv"
    cat.write_text(CATALOG)
    events = tmp_path / f"events.{fmt}"
    events.write_text(f"user,item,timestamp\nu1,m1,{ts}\n" if fmt == "csv" else f'{{"user": "u1", "item": "m1", "timestamp": {ts}}}\n')
    if ok:
        assert load_dataset(cat, events).interactions.timestamp.tolist() == [ts]
    else:
        with pytest.raises(DataError, match="timestamp") as err:
            load_dataset(cat, events)
        assert str(ts) in str(err.value) and "events" in str(err.value)


@pytest.mark.parametrize(("ts", "ok"), EDGES)
def test_movielens_rating_times(tmp_path, ts, ok):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Alien (1979),Horror|Sci-Fi\n")
    (tmp_path / "ratings.csv").write_text(f"userId,movieId,rating,timestamp\n1,1,4.0,{ts}\n")
    if ok:
        assert load_movielens(tmp_path).interactions.timestamp.tolist() == [ts, ts]  # a rating and its play
    else:
        with pytest.raises(DataError, match="timestamp") as err:
            load_movielens(tmp_path)
        assert str(ts) in str(err.value) and "ratings.csv:2" in str(err.value)


@pytest.mark.parametrize(("ts", "ok"), [(MAX_TIMESTAMP - 1, True), (MAX_TIMESTAMP, False)])
def test_catalog_dates(tmp_path, ts, ok):
    cat = tmp_path / "catalog.csv"
    cat.write_text(f"id,title,date_added\nm1,Alien,{ts}\n")
    if ok:
        assert load_catalog(cat)[0].added.tolist() == [ts]
    else:
        with pytest.raises(DataError, match="date_added"):
            load_catalog(cat)
