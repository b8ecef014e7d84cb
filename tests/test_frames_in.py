"""Frames in: a DataFrame or an Arrow table gives what the generic loaders give for the same data
as a file, passes the same checks, and feeds ``fit`` directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pagegen import Catalog, DataError, Interactions, fit
from pagegen.core._interactions import EVENT_KINDS
from pagegen.data._load import load_catalog, load_events
from pagegen.models._config import FitConfig

GENERIC = Path(__file__).parent / "data" / "generic"
CATALOG_COLUMNS = ("titles", "kind", "series", "season", "episode", "duration", "maturity", "year", "released", "added", "genres", "regions")


def assert_same_catalog(a: Catalog, b: Catalog) -> None:
    assert a.ids.tolist() == b.ids.tolist()
    assert (a.genre_names, a.region_names, a.tag_names) == (b.genre_names, b.region_names, b.tag_names)
    for name in CATALOG_COLUMNS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
    assert (a.tags != b.tags).nnz == 0


def assert_same_interactions(a: Interactions, b: Interactions) -> None:
    assert a.users.ids.tolist() == b.users.ids.tolist()
    assert a.n_items == b.n_items
    for name in ("user", "item", "timestamp", "kind", "value", "indptr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


def world_events(world) -> pd.DataFrame:
    """The synthetic world's events as a frame with the generic columns (shuffled: order must not matter)."""
    inter = world.interactions
    frame = pd.DataFrame(
        {
            "user": inter.users.ids[inter.user],
            "item": world.catalog.ids[inter.item],
            "timestamp": inter.timestamp,
            "kind": np.asarray(EVENT_KINDS)[inter.kind],
            "value": inter.value.astype(np.float64),
        }
    )
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["catalog.csv", "catalog.jsonl"])
def test_catalog_from_pandas_equals_the_loaded_file(name: str) -> None:
    path = GENERIC / name
    frame = pd.read_csv(path) if name.endswith(".csv") else pd.read_json(path, lines=True)
    assert_same_catalog(Catalog.from_pandas(frame), load_catalog(path)[0])


def test_catalog_from_arrow_equals_from_pandas() -> None:
    frame = pd.read_json(GENERIC / "catalog.jsonl", lines=True)
    table = pa.table({"id": ["m1", "m2"], "title": ["Alien", "Toy Story"], "genres": [["Horror", "Sci-Fi"], []], "year": [1979, None]})
    expected = Catalog.from_pandas(pd.DataFrame({"id": ["m1", "m2"], "title": ["Alien", "Toy Story"], "genres": ["Horror|Sci-Fi", ""], "year": [1979, 0]}))
    assert_same_catalog(Catalog.from_arrow(table), expected)
    assert Catalog.from_arrow(pa.Table.from_pandas(frame.drop(columns="tags"))).ids.tolist() == ["m1", "s1", "e1", "e2", "m2"]


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl"])
def test_events_from_pandas_equal_the_loaded_file(name: str) -> None:
    path = GENERIC / name
    catalog = load_catalog(GENERIC / name.replace("events", "catalog"))[0]
    frame = pd.read_csv(path) if name.endswith(".csv") else pd.read_json(path, lines=True, dtype=False)
    assert_same_interactions(Interactions.from_pandas(frame, catalog=catalog), load_events(path, catalog)[0])


def test_world_events_as_a_frame_equal_the_same_events_as_csv(tiny_world, tmp_path: Path) -> None:
    frame = world_events(tiny_world)
    frame.to_csv(tmp_path / "events.csv", index=False)
    loaded = load_events(tmp_path / "events.csv", tiny_world.catalog)[0]
    from_frame = Interactions.from_pandas(frame, catalog=tiny_world.catalog)
    assert_same_interactions(from_frame, loaded)
    assert_same_interactions(Interactions.from_arrow(pa.Table.from_pandas(frame), catalog=tiny_world.catalog), loaded)


def test_times_as_datetimes_integers_or_iso_strings_agree(tiny_world) -> None:
    frame = world_events(tiny_world).head(200)
    seconds = Interactions.from_pandas(frame, catalog=tiny_world.catalog)
    naive = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="s"))
    zoned = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="s", utc=True).dt.tz_convert("Asia/Tokyo"))
    iso = frame.assign(timestamp=[f"{t}Z" for t in naive["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")])
    for other in (naive, zoned, iso):
        assert_same_interactions(Interactions.from_pandas(other, catalog=tiny_world.catalog), seconds)
    table = pa.Table.from_pandas(zoned)
    assert_same_interactions(Interactions.from_arrow(table, catalog=tiny_world.catalog), seconds)


def test_integer_ids_and_nullable_dtypes() -> None:
    catalog = Catalog.from_pandas(pd.DataFrame({"id": [10, 20], "title": ["A", "B"]}))
    assert catalog.ids.tolist() == ["10", "20"]
    frame = pd.DataFrame({"user": pd.array([7, 8], dtype="Int64"), "item": [20, 10], "timestamp": [5, 6], "value": pd.array([0.5, None], dtype="Float64")})
    events = Interactions.from_pandas(frame, catalog=catalog)
    assert events.users.ids.tolist() == ["7", "8"]
    assert events.item.tolist() == [1, 0] and events.value.tolist() == [0.5, 1.0]  # no value: a whole play
    # an integer column with a missing id is stored as floats: the error names the missing one
    with pytest.raises(DataError, match=r"^DataFrame:1: field 'item' = nan: missing id"):
        Interactions.from_pandas(frame.assign(item=[20.0, np.nan]), catalog=catalog)
    assert Interactions.from_pandas(frame.assign(item=[20.0, 10.0]), catalog=catalog).item.tolist() == [1, 0]


def test_fit_from_a_frame_equals_fit_from_the_loaded_events(tiny_world, tmp_path: Path) -> None:
    frame = world_events(tiny_world)
    frame.to_csv(tmp_path / "events.csv", index=False)
    config = FitConfig(seed=3)
    loaded = fit(tiny_world.catalog, load_events(tmp_path / "events.csv", tiny_world.catalog)[0], config, progress=False)
    for events in (frame, pa.Table.from_pandas(frame)):
        model = fit(tiny_world.catalog, events, config, progress=False)
        assert sorted(model.arrays) == sorted(loaded.arrays)
        for name, arr in loaded.arrays.items():
            np.testing.assert_array_equal(model.arrays[name], arr, err_msg=name)
        assert model.meta["origin"] == loaded.meta["origin"]


def test_fit_names_what_it_cannot_take(tiny_world) -> None:
    with pytest.raises(DataError, match="expected Interactions, a pandas DataFrame or an Arrow table") as err:
        fit(tiny_world.catalog, [("u1", "m1", 5)], progress=False)
    assert err.value.field == "interactions" and err.value.value == "list"


# -- bad frames --------------------------------------------------------------------------


def catalog_ab() -> Catalog:
    return Catalog.from_pandas(pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"]}))


def events(**columns) -> pd.DataFrame:
    base = {"user": ["u1", "u2", "u3"], "item": ["a", "b", "a"], "timestamp": [100, 200, 300]}
    return pd.DataFrame({**base, **columns})


@pytest.mark.parametrize(
    ("frame", "where", "field", "value", "message"),
    [
        (events().drop(columns="timestamp"), "DataFrame: ", "timestamp", None, "missing required column"),
        (events(when=[1, 2, 3]), "DataFrame: ", "when", "when", "unknown column"),
        (events(item=["a", np.nan, "b"]), "DataFrame:1: ", "item", np.nan, "missing id"),
        (events(user=["u1", None, "u3"]), "DataFrame:1: ", "user", None, "missing id"),
        (events(item=["a", "b", "zz"]), "DataFrame:2: ", "item", "zz", "unknown item id (not in the catalog)"),
        (events(user=["u1", "x\0y", "u3"]), "DataFrame:1: ", "user", "x\0y", "an id may not hold a NUL character"),
        (events(user=["u1", "u" * 1025, "u3"]), "DataFrame:1: ", "user", "u" * 40 + "... (1,025 characters)", "longer than 1,024 characters"),
        (events(item=["a", True, "b"]), "DataFrame:1: ", "item", True, "expected a string or integer id"),
        (events(timestamp=[100, "yesterday", 300]), "DataFrame:1: ", "timestamp", "yesterday", "not epoch seconds, a datetime or an ISO 8601 time"),
        (events(timestamp=[100.0, 200.5, 300.0]), "DataFrame:1: ", "timestamp", 200.5, "not a whole number of seconds"),
        (events(timestamp=pd.to_datetime([100, None, 300], unit="s")), "DataFrame:1: ", "timestamp", None, "missing time (NaT)"),
        (events(timestamp=[100, -5, 300]), "DataFrame:1: ", "timestamp", -5, "time outside"),
        (events(kind=["play", "watch", "play"]), "DataFrame:1: ", "kind", "watch", "expected one of play, rating, impression, click"),
        (events(kind=["play", 3, "play"]), "DataFrame:1: ", "kind", 3, "expected one of play, rating, impression, click (a string)"),
        (events(kind=["play", "rating", "play"], value=[1.0, np.nan, 0.5]), "DataFrame:1: ", "value", None, "a rating needs a value"),
        (events(value=[1.0, 1.5, 0.5]), "DataFrame:1: ", "value", 1.5, "watched fraction outside [0, 1]"),
        (events(value=[1.0, "lots", 0.5]), "DataFrame:1: ", "value", "lots", "not a number"),
    ],
)
def test_a_bad_event_frame_names_the_row_column_and_value(frame, where, field, value, message) -> None:
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame, catalog=catalog_ab())
    text = str(err.value)
    assert text.startswith(where + f"field {field!r}"), text
    assert message in text, text
    assert err.value.field == field
    assert pd.isna(err.value.value) if value is None or value is np.nan else err.value.value == value


def test_a_bad_frame_is_the_same_error_as_the_same_csv_line(tmp_path: Path) -> None:
    frame = events(item=["a", "b", "zz"], kind=["play", "play", "play"])
    frame.to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(DataError) as from_file:
        load_events(tmp_path / "events.csv", catalog_ab())
    with pytest.raises(DataError) as from_frame:
        Interactions.from_pandas(frame, catalog=catalog_ab())
    assert (from_frame.value.message, from_frame.value.field, from_frame.value.value) == (from_file.value.message, from_file.value.field, from_file.value.value)
    assert (from_file.value.line, from_frame.value.line) == (4, 2)  # the file's line 4 is the frame's row 2


def test_a_filtered_frame_names_the_index_label_too() -> None:
    frame = events(item=["a", "b", "zz"]).set_axis([10, 20, 30])
    with pytest.raises(DataError, match=r"^DataFrame:2: field 'item' = 'zz': unknown item id \(not in the catalog\) \(index label 30\)$") as err:
        Interactions.from_pandas(frame, catalog=catalog_ab())
    assert (err.value.line, err.value.field, err.value.value) == (2, "item", "zz")
    with pytest.raises(DataError, match=r"^DataFrame:1: field 'title': missing required field \(index label 'y'\)$"):
        Catalog.from_pandas(pd.DataFrame({"id": ["a", "b"], "title": ["A", None]}, index=["x", "y"]))


def test_lenient_skips_bad_rows_with_a_warning_and_keeps_the_rest() -> None:
    frame = events(item=["a", "zz", np.nan])
    with pytest.warns(UserWarning, match=r"skipped 2 bad line\(s\) \(2 in DataFrame\)"):
        kept = Interactions.from_pandas(frame, catalog=catalog_ab(), lenient=True)
    assert kept.users.ids.tolist() == ["u1"] and kept.n == 1


@pytest.mark.parametrize(
    ("frame", "where", "field", "value", "message"),
    [
        (pd.DataFrame({"id": ["a", "b"]}), "DataFrame: ", "title", None, "missing required column"),
        (pd.DataFrame({"id": ["a", None], "title": ["A", "B"]}), "DataFrame:1: ", "id", None, "missing required field"),
        (pd.DataFrame({"id": ["a", "a"], "title": ["A", "B"]}), "DataFrame:1: ", "id", "a", "duplicate id (first at line 0)"),
        (pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"], "year": ["1999", "2001"]}), "DataFrame:0: ", "year", "1999", "expected a number"),
        (pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"], "maturity": ["all", "R"]}), "DataFrame:1: ", "maturity", "R", "expected one of all, 7+, 13+, 16+, 18+"),
        (pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"], "kind": ["movie", "episode"]}), "DataFrame:1: ", "series_id", None, "an episode needs the id of its series"),
    ],
)
def test_a_bad_catalog_frame_names_the_row_column_and_value(frame, where, field, value, message) -> None:
    with pytest.raises(DataError) as err:
        Catalog.from_pandas(frame)
    text = str(err.value)
    assert text.startswith(where + f"field {field!r}"), text
    assert message in text and err.value.field == field and err.value.value == value, text


def test_not_a_frame_is_named() -> None:
    with pytest.raises(DataError, match="expects a pandas DataFrame") as err:
        Catalog.from_pandas({"id": ["a"], "title": ["A"]})
    assert err.value.value == "dict"
    with pytest.raises(DataError, match="expects a pyarrow Table"):
        Interactions.from_arrow(events(), catalog=catalog_ab())


# -- the optional extra ------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_the_frame_modules_load_neither_pandas_nor_pyarrow_on_import() -> None:
    """(OR-Tools' CP-SAT module, which the exact selector loads, imports pandas itself.)"""
    done = run_python(
        "import sys\nfrom pagegen import Catalog, Interactions, Page, fit, load_events\n"
        "import pagegen.data._frames\nprint(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_pandas_a_frame_call_names_the_extra_to_install() -> None:
    done = run_python(
        "import sys\nsys.modules['pandas'] = None\nsys.modules['pyarrow'] = None\n"
        "from pagegen import Catalog, PagegenError\n"
        "try:\n    Catalog.from_pandas(object())\nexcept PagegenError as err:\n    print(type(err).__name__, err)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PagegenError Catalog.from_pandas needs pandas, which is not installed: pip install 'pagegen[frames]'"
