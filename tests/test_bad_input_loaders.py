"""The loaders' bad-input corpus: adversarial files, each case checking what the error says.

Every case writes one bad file next to good ones, loads it strictly and expects a DataError whose
message is one line naming the file, the line, the field and (a piece of) the value. Lenient
loads and the command line are tested at the end.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ML_TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from pagegen.core._errors import DataError
from pagegen.data._load import MAX_FIELD_LENGTH, MAX_ID_LENGTH, MAX_TITLE_LENGTH, load_catalog, load_events, load_movielens

GENERIC = Path(__file__).parent / "data" / "generic"
BOM = "\ufeff"
DIGITS30 = "1" * 30
EVENTS_CSV = "user,item,timestamp,kind,value\nu1,m1,1700000000,play,0.5\n"
EVENT_JSON = '{"user": "u1", "item": "m1", "timestamp": 1700000000}\n'
CATALOG_CSV = "id,title,genres,kind,series_id,duration,maturity,year,tags\nm1,Alien,Horror,movie,,117,16+,1979,space\n"
CATALOG_JSON = '{"id": "m1", "title": "Alien"}\n'


@dataclass(frozen=True)
class Case:
    """One bad file: ``name`` is catalog.*, events.* (over the generic catalog) or ml/*.csv (a
    MovieLens folder with that file replaced); the error must name ``line``, ``field`` and quote
    ``value`` (a piece of it), and say ``says``."""

    id: str
    name: str
    text: str
    line: int | None
    field: str | None
    value: str | None
    says: str


def ml_text(name: str, line: str) -> str:
    return (ML_TINY / f"{name}.csv").read_text(encoding="utf-8") + line + "\n"


CASES = [
    # a file holding only a byte order mark is empty (it was "generator raised StopIteration")
    Case("bom-only catalog csv", "catalog.csv", BOM, 1, None, None, "empty catalog file (nothing but a byte order mark)"),
    Case("bom-only catalog jsonl", "catalog.jsonl", BOM, 1, None, None, "empty catalog file (nothing but a byte order mark)"),
    Case("bom-only events csv", "events.csv", BOM, 1, None, None, "empty events file (nothing but a byte order mark)"),
    Case("bom-only events jsonl", "events.jsonl", BOM, 1, None, None, "empty events file (nothing but a byte order mark)"),
    Case("bom-only movies", "ml/movies.csv", BOM, 1, None, None, "nothing but a byte order mark"),
    Case("bom-only ratings", "ml/ratings.csv", BOM, 1, None, None, "nothing but a byte order mark"),
    Case("empty catalog header", "catalog.csv", "\n\n", 1, None, None, "empty header line"),
    # fields past the csv module's 131,072-character limit (it was an internal csv.Error)
    Case("200k catalog title", "catalog.csv", "id,title\nm1," + "x" * 200_000 + "\n", 2, "title", "xxxxxxxx", f"longer than {MAX_FIELD_LENGTH:,} characters"),
    Case("200k quoted catalog title", "catalog.csv", 'id,title\nm1,"' + "x\n" * 100_000 + '"\nm2,B\n', 2, "title", "x", f"longer than {MAX_FIELD_LENGTH:,} characters"),
    Case("200k events item", "events.csv", EVENTS_CSV + "u1," + "m" * 200_000 + ",1700000000,play,0.5\n", 3, "item", "mmmmmmmm", "characters"),
    Case("200k movies title", "ml/movies.csv", ml_text("movies", "9," + "T" * 200_000 + ",Drama"), 7, "title", "TTTTTTTT", "characters"),
    Case("200k ratings userId", "ml/ratings.csv", ml_text("ratings", "1" * 200_000 + ",1,4.0,964000003"), 9, "userId", "11111111", "characters"),
    Case("200k tag", "ml/tags.csv", ml_text("tags", "1,1," + "t" * 200_000 + ",964982800"), 6, "tag", "tttttttt", "characters"),
    # the longest id, title and field (a 100,000-character id made the loader allocate 22.4 GiB)
    Case("100k user csv", "events.csv", EVENTS_CSV + "u" * 100_000 + ",m1,1700000000,play,0.5\n", 3, "user", "uuuuuuuu", f"longer than {MAX_ID_LENGTH:,} characters"),
    Case("100k user jsonl", "events.jsonl", EVENT_JSON + '{"user": "' + "u" * 100_000 + '", "item": "m1", "timestamp": 1700000000}\n', 2, "user", "100,000 characters", "longer than"),
    Case("long user csv", "events.csv", EVENTS_CSV + "u" * (MAX_ID_LENGTH + 1) + ",m1,1700000000,play,0.5\n", 3, "user", "uuuuuuuu", "longer than"),
    Case("long kind csv", "events.csv", EVENTS_CSV + "u1,m1,1700000000," + "p" * 5000 + ",0.5\n", 3, "kind", "pppppppp", "longer than"),
    Case("long catalog title", "catalog.csv", "id,title\nm1," + "x" * (MAX_TITLE_LENGTH + 1) + "\n", 2, "title", "xxxxxxxx", f"longer than {MAX_TITLE_LENGTH:,} characters"),
    Case("long catalog id jsonl", "catalog.jsonl", '{"id": "' + "i" * (MAX_ID_LENGTH + 1) + '", "title": "A"}\n', 1, "id", "iiiiiiii", "longer than"),
    Case("long genre label", "catalog.jsonl", '{"id": "m1", "title": "A", "genres": ["' + "g" * 5000 + '"]}\n', 1, "genres", "gggggggg", "longer than"),
    Case("long tag key", "catalog.jsonl", '{"id": "m1", "title": "A", "tags": {"' + "t" * 5000 + '": 1}}\n', 1, "tags", "tttttttt", "longer than"),
    Case("long tag list csv", "catalog.csv", "id,title,tags\nm1,A," + "|".join(["tag"] * 20_000) + "\n", 2, "tags", "tag|tag|", f"longer than {MAX_FIELD_LENGTH:,} characters"),
    Case("long movies title", "ml/movies.csv", ml_text("movies", "9," + "T" * 5000 + ",Drama"), 7, "title", "TTTTTTTT", "longer than"),
    # a NUL would be cut from the end of a numpy string, merging "u1\0" into "u1"
    Case("trailing NUL in user", "events.csv", EVENTS_CSV + "u1\0,m1,1700000000,play,0.5\n", 3, "user", "u1", "NUL character"),
    Case("NUL in item jsonl", "events.jsonl", EVENT_JSON + '{"user": "u1", "item": "m1\\u0000", "timestamp": 1700000000}\n', 2, "item", "m1", "NUL character"),
    Case("NUL in catalog id", "catalog.csv", "id,title\nm1,A\nm1\0,B\n", 3, "id", "m1", "NUL character"),
    # numbers past int64 (they were OverflowErrors)
    Case("30-digit timestamp csv", "events.csv", EVENTS_CSV + f"u1,m1,{DIGITS30},play,0.5\n", 3, "timestamp", DIGITS30[:20], "not epoch seconds"),
    Case("30-digit timestamp jsonl", "events.jsonl", EVENT_JSON + f'{{"user": "u1", "item": "m1", "timestamp": {DIGITS30}}}\n', 2, "timestamp", "1.111", "not epoch seconds"),
    Case("30-digit userId", "ml/ratings.csv", ml_text("ratings", f"{DIGITS30},1,4.0,964000003"), 9, "userId", DIGITS30[:20], "integer outside"),
    Case("30-digit rating timestamp", "ml/ratings.csv", ml_text("ratings", f"1,1,4.0,{DIGITS30}"), 9, "timestamp", DIGITS30[:20], "integer outside"),
    Case("30-digit movieId", "ml/movies.csv", ml_text("movies", f"{DIGITS30},X (1990),Drama"), 7, "movieId", DIGITS30[:20], "integer too large"),
    Case("30-digit imdbId", "ml/links.csv", ml_text("links", f"1,{DIGITS30},5"), 7, "imdbId", DIGITS30[:20], "integer too large"),
    Case("30-digit tmdbId", "ml/links.csv", ml_text("links", f"3,5,{DIGITS30}"), 7, "tmdbId", DIGITS30[:20], "integer too large"),
    Case("30-digit catalog date", "catalog.csv", f"id,title,date_added\nm1,A,{DIGITS30}\n", 2, "date_added", DIGITS30[:20], "time outside"),
    # JSON values of the wrong type (a title given as a list became "['Toy', 'Story']")
    Case("list title", "catalog.jsonl", '{"id": "m1", "title": ["Toy", "Story"]}\n', 1, "title", "Toy", "expected a string"),
    Case("object title", "catalog.jsonl", '{"id": "m1", "title": {"en": "Toy Story"}}\n', 1, "title", "Toy", "expected a string"),
    Case("number title", "catalog.jsonl", CATALOG_JSON + '{"id": "m2", "title": 12}\n', 2, "title", "12", "expected a string"),
    Case("list kind", "catalog.jsonl", '{"id": "m1", "title": "A", "kind": ["movie"]}\n', 1, "kind", "movie", "expected a string"),
    Case("bool duration", "catalog.jsonl", '{"id": "m1", "title": "A", "duration": true}\n', 1, "duration", "True", "expected a number"),
    Case("string year", "catalog.jsonl", '{"id": "m1", "title": "A", "year": "1979"}\n', 1, "year", "1979", "expected a number"),
    Case("list series", "catalog.jsonl", '{"id": "m1", "title": "A", "series_id": ["s1"]}\n', 1, "series_id", "s1", "expected a string or integer id"),
    Case("string genres", "catalog.jsonl", '{"id": "m1", "title": "A", "genres": "Drama"}\n', 1, "genres", "Drama", "expected a list of strings"),
    Case("number in genres", "catalog.jsonl", '{"id": "m1", "title": "A", "genres": ["Drama", 3]}\n', 1, "genres", "Drama", "expected a list of strings"),
    Case("object date", "catalog.jsonl", '{"id": "m1", "title": "A", "date_added": {"y": 2020}}\n', 1, "date_added", "2020", "expected an ISO 8601 string or a number"),
    Case("string tag weight", "catalog.jsonl", '{"id": "m1", "title": "A", "tags": {"x": "3"}}\n', 1, "tags", "'x'", "tag weight"),
    Case("string value", "events.jsonl", EVENT_JSON + '{"user": "u1", "item": "m1", "timestamp": 1700000000, "value": "0.5"}\n', 2, "value", "0.5", "expected a JSON number"),
    Case("list kind event", "events.jsonl", EVENT_JSON + '{"user": "u1", "item": "m1", "timestamp": 1700000000, "kind": ["play"]}\n', 2, "kind", "play", "expected one of"),
    Case("list timestamp", "events.jsonl", EVENT_JSON + '{"user": "u1", "item": "m1", "timestamp": [1700000000]}\n', 2, "timestamp", "1700000000", "not epoch seconds"),
    Case("float item", "events.jsonl", EVENT_JSON + '{"user": "u1", "item": 1.5, "timestamp": 1700000000}\n', 2, "item", "1.5", "expected a string or integer id"),
]


def write_case(tmp_path: Path, case: Case) -> tuple[Path, object]:
    """Write the case's file; returns its path and the call that loads it."""
    if case.name.startswith("ml/"):
        root = tmp_path / "ml"
        shutil.copytree(ML_TINY, root)
        path = root / case.name[3:]
        path.write_text(case.text, encoding="utf-8")
        return path, lambda: load_movielens(root)
    path = tmp_path / case.name
    path.write_text(case.text, encoding="utf-8")
    if case.name.startswith("catalog"):
        return path, lambda: load_catalog(path)
    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    return path, lambda: load_events(path, catalog)


def expect_error(call, *, source: Path, line: int | None, field: str | None, value: str | None, says: str) -> DataError:
    with pytest.raises(DataError) as info:
        call()
    err = info.value
    text = str(err)
    assert "\n" not in text and len(text) < 600, text[:600]
    assert err.source == str(source) and err.line == line and err.field == field, text
    assert text.startswith(f"{source}:{line}: " if line is not None else f"{source}: "), text
    if field is not None:
        assert f"field {field!r}" in text, text
    if value is not None:
        assert value in text, text
    assert says in text, text
    return err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file(tmp_path: Path, case: Case) -> None:
    path, call = write_case(tmp_path, case)
    expect_error(call, source=path, line=case.line, field=case.field, value=case.value, says=case.says)


@pytest.mark.parametrize("name", ["catalog.csv", "catalog.jsonl", "events.csv", "events.jsonl"])
def test_a_leading_bom_is_accepted_in_every_format(tmp_path: Path, name: str) -> None:
    """CSV and JSON lines alike: a UTF-8 byte order mark before the first line changes nothing."""
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + (GENERIC / name).read_bytes())
    if name.startswith("catalog"):
        got, want = load_catalog(path)[0], load_catalog(GENERIC / name)[0]
        assert got.ids.tolist() == want.ids.tolist() and got.titles.tolist() == want.titles.tolist()
        return
    catalog = load_catalog(GENERIC / name.replace("events", "catalog"))[0]
    got, want = load_events(path, catalog)[0], load_events(GENERIC / name, catalog)[0]
    assert got.users == want.users
    for column in ("user", "item", "timestamp", "kind", "value"):
        assert np.array_equal(getattr(got, column), getattr(want, column)), column


def test_a_long_field_is_skipped_in_lenient_mode(tmp_path: Path) -> None:
    """Lenient mode skips the line with the too-long field, reports it shortened, keeps the next."""
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV + "u1," + "m" * 200_000 + ",1700000000,play,0.5\nu2,m2,1700000001,play,1\n", encoding="utf-8")
    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    with pytest.warns(UserWarning, match="skipped 1 bad line"):
        events, report = load_events(path, catalog, lenient=True)
    assert events.users.ids.tolist() == ["u1", "u2"] and events.n == 2
    (skipped,) = report.skipped
    assert (skipped.line, skipped.field) == (3, "item") and len(str(skipped.value)) < 100


# -- memory: nothing as large as the longest field times the number of lines ----------------


def _events_with_one_long_user(path: Path, width: int, n: int = 30_000) -> None:
    users = [f"u{k % 200}" for k in range(n)]
    users[n // 2] = "x" * width
    if path.suffix == ".csv":
        path.write_text("user,item,timestamp\n" + "".join(f"{u},m1,{1_700_000_000 + k}\n" for k, u in enumerate(users)))
    else:
        path.write_text("".join(f'{{"user": "{u}", "item": "m1", "timestamp": {1_700_000_000 + k}}}\n' for k, u in enumerate(users)))


@pytest.mark.parametrize(("name", "width"), [("events.csv", 200), ("events.csv", MAX_ID_LENGTH), ("events.jsonl", MAX_ID_LENGTH)])
def test_one_long_id_does_not_widen_every_line(tmp_path: Path, name: str, width: int) -> None:
    """30,000 lines and one id of ``width`` characters: the load's peak stays far below what
    numpy string arrays as wide as that id for every line would take (30,000 x width x 4 bytes
    per column: the loader took 94 MiB at width 200, 249 MiB at 1,024; now 17 MiB)."""
    import tracemalloc

    path = tmp_path / name
    _events_with_one_long_user(path, width)
    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    tracemalloc.start()
    try:
        events, _ = load_events(path, catalog)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events.n == 30_000 and len(events.users) == 201 and "x" * width in events.users
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"


# -- request times: the API's now and the command line's --now -----------------------------


BAD_NOW = [float("nan"), float("inf"), -float("inf"), "abc", "1.5e3", 10**30, True, None.__class__]


@pytest.mark.parametrize("now", BAD_NOW, ids=repr)
def test_bad_now_in_the_api(now: object) -> None:
    """UserState, Engine(now=...) and Engine.build(now=...): a DataError naming ``now``, not a
    bare ValueError, OverflowError or TypeError."""
    from pagegen.core._userstate import UserState
    from pagegen.serve._engine import Engine

    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    calls = [lambda: UserState.cold(now), lambda: Engine(catalog, None, now=now), lambda: Engine(catalog, None, now=1).build("u1", now=now)]
    for call in calls:
        with pytest.raises(DataError) as info:
            call()
        assert info.value.field == "now" and "expected epoch seconds" in str(info.value)


def test_good_now_in_the_api() -> None:
    from pagegen.core._userstate import UserState

    assert [UserState.cold(now).now for now in (7, 7.9, np.int64(7), "7")] == [7, 7, 7, 7]


# -- the command line: exit code 2, one line on stderr, no output file -----------------------


def cli(tmp_path: Path, capsys, *argv: str, catalog: Path = GENERIC / "catalog.csv", events: Path = GENERIC / "events.csv") -> str:
    """Run ``pagegen build u1`` on the files; it must fail as a user error, leaving no page."""
    from pagegen._cli import main

    out = tmp_path / "page.json"
    code = main(["build", "u1", "--catalog", str(catalog), "--events", str(events), "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("pagegen build: error: "), err
    assert not out.exists() and list(tmp_path.iterdir()) in ([], [catalog], [events], sorted([catalog, events]))
    return err


@pytest.mark.parametrize(("now", "says"), [(DIGITS30, "outside [0, 4102444800]"), ("-5", "outside"), ("nan", "expected epoch seconds"), ("2018-13-01", "expected epoch seconds")])
def test_bad_now_on_the_command_line(tmp_path: Path, capsys, now: str, says: str) -> None:
    err = cli(tmp_path, capsys, "--now", now)
    assert f"field '--now' = '{now[:20]}" in err and says in err


# -- lenient mode with nothing left: an error, with the skipped lines still listed -----------


LENIENT_ALL_BAD = [
    ("events.csv", "user,item,timestamp\nu1,zz,1700000000\n,m1,1700000000\nu2,m1,-5\n", 3, "event lines", "line 2: field 'item' = 'zz'"),
    ("events.jsonl", '{"user": "u1"}\n[1]\n{"user": "u1", "item": "zz", "timestamp": 1700000000}\n', 3, "event lines", "line 1: field 'item'"),
    ("catalog.csv", "id,title,kind\nm1,A,film\nm2,B,show\n", 2, "title lines", "line 2: field 'kind' = 'film'"),
    ("catalog.jsonl", '{"id": "m1", "title": ["A"]}\nnot json\n', 2, "title lines", "line 1: field 'title'"),
    ("ml/ratings.csv", "userId,movieId,rating,timestamp\n1,999,4.0,964000003\n1,1,9.0,964000003\n", 2, "rating lines", "line 2: field 'movieId' = 999"),
    ("ml/movies.csv", "movieId,title,genres\nx,A (1990),Drama\n2,,Drama\n", 2, "movie lines", "line 2: field 'movieId' = 'x'"),
    ("ml/tags.csv", "userId,movieId,tag,timestamp\n1,999,x,964982800\n", 1, "tag lines", "line 2: field 'movieId' = '999'"),
    ("ml/links.csv", "movieId,imdbId,tmdbId\n999,1,2\n", 1, "link lines", "line 2: field 'movieId' = '999'"),
]


@pytest.mark.parametrize(("name", "text", "n", "what", "first"), LENIENT_ALL_BAD, ids=[c[0] for c in LENIENT_ALL_BAD])
def test_lenient_load_with_every_line_bad_fails(tmp_path: Path, name: str, text: str, n: int, what: str, first: str) -> None:
    """A lenient load that skipped every line has nothing to return: it warns with the skipped
    lines and raises, instead of returning an empty catalog or no events."""
    path, _ = write_case(tmp_path, Case(name, name, text, None, None, None, ""))
    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    if name.startswith("ml/"):
        call = lambda: load_movielens(path.parent, lenient=True)  # noqa: E731
    elif name.startswith("catalog"):
        call = lambda: load_catalog(path, lenient=True)  # noqa: E731
    else:
        call = lambda: load_events(path, catalog, lenient=True)  # noqa: E731
    with pytest.warns(UserWarning, match=rf"skipped {n} bad line"):
        err = expect_error(call, source=path, line=None, field=None, value=None, says=f"nothing usable: all {n} {what} were bad and skipped")
    assert f"the first, {first}" in str(err)


def test_lenient_cli_with_every_event_bad_says_so(tmp_path: Path, capsys) -> None:
    """It said "unknown member 'u1' (the data has 0 members, e.g. )" after loading no event."""
    events = tmp_path / "events.csv"
    events.write_text("user,item,timestamp\nu1,zz,1700000000\nu1,m1,-5\n")
    with pytest.warns(UserWarning, match="skipped 2 bad line"):
        err = cli(tmp_path, capsys, "--lenient", events=events)
    assert "nothing usable: all 2 event lines were bad and skipped" in err and str(events) in err


def test_a_member_of_data_without_events() -> None:
    from pagegen.core._interactions import Interactions
    from pagegen.core._vocab import Vocab
    from pagegen.serve._sources import Source, check_member

    catalog = load_catalog(GENERIC / "catalog.csv")[0]
    none = np.zeros(0, np.int64)
    empty = Interactions(users=Vocab([]), n_items=catalog.n, user=none, item=none, timestamp=none, kind=none, value=none)
    with pytest.raises(DataError, match="no events were loaded"):
        check_member(Source(catalog, empty, None, 0), "u1")


def test_lenient_catalog_skips_a_value_of_the_wrong_json_type(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text('{"id": "m1", "title": ["Toy", "Story"]}\n{"id": "m2", "title": "Alien"}\nnot json\n')
    with pytest.warns(UserWarning, match="skipped 2 bad line"):
        catalog, report = load_catalog(path, lenient=True)
    assert catalog.ids.tolist() == ["m2"] and catalog.titles.tolist() == ["Alien"]
    assert sorted((s.line, s.field) for s in report.skipped) == [(1, "title"), (3, None)]


CLI_CASES = [c for c in CASES if c.id in ("bom-only catalog csv", "100k user csv", "list title", "200k events item", "string value")]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_bad_file_on_the_command_line(tmp_path: Path, capsys, case: Case) -> None:
    """The corpus's errors reach the command line as one line and exit code 2, naming the file."""
    path, _ = write_case(tmp_path, case)
    if case.name.startswith("catalog"):
        err = cli(tmp_path, capsys, catalog=path)
    else:
        err = cli(tmp_path, capsys, catalog=GENERIC / path.name.replace("events", "catalog"), events=path)
    assert f"{path}:{case.line}: " in err and case.says in err and (case.field is None or f"field {case.field!r}" in err)


def test_bad_movielens_file_on_the_command_line(tmp_path: Path, capsys) -> None:
    from pagegen._cli import main

    path, _ = write_case(tmp_path, next(c for c in CASES if c.id == "30-digit userId"))
    code = main(["build", "1", "--data", str(path.parent), "--out", str(tmp_path / "page.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{path}:9: field 'userId'" in err and "integer outside" in err
    assert not (tmp_path / "page.json").exists()


# -- the whole class: any mangled file gives a DataError or loads, never another exception ---


_PIECES = ["\ufeff", "\x00", '"', ",", "\n", "\r", "|", "1" * 30, "-1", "nan", "1e400", "[", "{", "}", "null", "true", "x" * 2000, "\u2028", "é", "\t", "2023-02-30", "1_0", "\\u0000", '{"a":1}', "episode"]
_FILES = ["catalog.csv", "catalog.jsonl", "events.csv", "events.jsonl", "ml/movies.csv", "ml/ratings.csv", "ml/tags.csv", "ml/links.csv"]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(_FILES), edits=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(_PIECES), st.integers(0, 6)), min_size=1, max_size=4), lenient=st.booleans())
def test_mangled_files_give_a_data_error_or_load(tmp_path_factory: pytest.TempPathFactory, name: str, edits: list, lenient: bool) -> None:
    """Valid files with pieces inserted or cut: each load either succeeds or raises a one-line
    DataError (a bug-hunting run of 11,000 such files found no other exception)."""
    tmp = tmp_path_factory.mktemp("mangled")
    source = ML_TINY / name[3:] if name.startswith("ml/") else GENERIC / name
    text = source.read_text(encoding="utf-8")
    for where, piece, cut in edits:
        at = int(where * len(text))
        text = text[:at] + piece + text[at + cut :]
    path, _ = write_case(tmp, Case(name, name, text, None, None, None, ""))
    catalog = load_catalog(GENERIC / ("catalog.jsonl" if name == "events.jsonl" else "catalog.csv"))[0]
    if name.startswith("ml/"):
        call = lambda: load_movielens(path.parent, lenient=lenient)  # noqa: E731
    elif name.startswith("catalog"):
        call = lambda: load_catalog(path, lenient=lenient)  # noqa: E731
    else:
        call = lambda: load_events(path, catalog, lenient=lenient)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except DataError as err:
            assert "\n" not in str(err) and str(err).startswith(str(path.parent) if name.startswith("ml/") else str(path))
