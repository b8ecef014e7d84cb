"""The generic catalog/events format: the documented examples, defaults, CSV vs JSON lines, fast vs slow path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pagegen.data._load_common as load_common
from pagegen.core._catalog import ITEM_KINDS, MATURITY_LEVELS, Catalog
from pagegen.core._interactions import EVENT_KINDS, PLAY
from pagegen.data._load import MAX_TIMESTAMP, load_catalog, load_dataset, load_events

GENERIC = Path(__file__).parent / "data" / "generic"


def test_catalog_csv_example() -> None:
    cat, report = load_catalog(GENERIC / "catalog.csv")
    assert report.skipped == () and report.counts == {str(GENERIC / "catalog.csv"): 4}
    assert cat.ids.tolist() == ["m1", "s1", "e1", "m2"]
    assert cat.titles.tolist() == ["Alien", "Dark", "Secrets", "Toy Story"]
    assert [ITEM_KINDS[k] for k in cat.kind] == ["movie", "series", "episode", "movie"]
    assert cat.series.tolist() == [-1, -1, 1, -1]
    assert cat.season.tolist() == [0, 0, 1, 0] and cat.episode.tolist() == [0, 0, 1, 0]
    assert cat.duration.tolist() == [117.0, 0.0, 51.0, 81.0]
    assert [MATURITY_LEVELS[m] for m in cat.maturity] == ["16+", "16+", "16+", "all"]
    assert cat.year.tolist() == [1979, 2017, 2017, 1995]
    assert cat.released[0] == 283_996_800  # no release_date: Jan 1 of the year
    assert cat.added.tolist() == [1_577_836_800, 1_622_505_600, 1_622_505_600, 0]  # ISO dates; absent -> 0
    assert cat.genres_of(0) == ["Horror", "Sci-Fi"]
    assert cat.region_names == ("GB", "US")
    assert cat.available_in("GB").tolist() == [True, True, True, True]  # no regions: everywhere
    assert cat.regions.sum(axis=1).tolist() == [2, 0, 0, 0]
    assert cat.tag_names == ("classic", "space", "time travel")
    assert cat.tags.toarray().tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]


def test_catalog_jsonl_example() -> None:
    cat, _ = load_catalog(GENERIC / "catalog.jsonl")
    assert cat.ids.tolist() == ["m1", "s1", "e1", "e2", "m2"]
    assert cat.series.tolist() == [-1, -1, 1, 1, -1]
    assert cat.year[1] == 2017 and cat.released[1] == 1_512_086_400  # from release_date 2017-12-01
    assert cat.year[2] == 0 and cat.released[2] == 0  # unknown
    assert cat.tags.toarray()[1].tolist() == [0, 0, 3]  # {"time travel": 3}


def test_events_csv_and_jsonl_examples() -> None:
    csv_ds = load_dataset(GENERIC / "catalog.csv", GENERIC / "events.csv")
    inter = csv_ds.interactions
    assert inter.users.ids.tolist() == ["u1", "u2"]
    assert csv_ds.catalog.ids[inter.item].tolist() == ["m1", "e1", "m2", "s1"]
    assert inter.timestamp.tolist() == [1_700_000_000, 1_700_003_600, 1_700_000_000, 1_700_000_100]
    assert [EVENT_KINDS[k] for k in inter.kind] == ["play", "play", "rating", "impression"]
    assert inter.value.tolist() == pytest.approx([0.95, 0.4, 4.5, 0.0])
    assert set(csv_ds.report.counts.values()) == {4}
    js = load_dataset(GENERIC / "catalog.jsonl", GENERIC / "events.jsonl")
    assert js.interactions.n == 5
    assert [EVENT_KINDS[k] for k in js.interactions.kind] == ["play", "play", "rating", "impression", "click"]
    assert js.interactions.value.tolist() == pytest.approx([0.95, 0.4, 4.5, 0.0, 0.0])


def test_play_value_defaults_to_one(tmp_path: Path) -> None:
    cat, _ = load_catalog(GENERIC / "catalog.csv")
    path = tmp_path / "events.csv"
    path.write_text("timestamp,item,user\n1700000000,m1,u9\n")  # columns in any order, kind and value absent
    inter, _ = load_events(path, cat)
    assert inter.kind.tolist() == [PLAY] and inter.value.tolist() == [1.0]
    assert inter.users.ids.tolist() == ["u9"]


def test_iso_and_epoch_times_agree(tmp_path: Path) -> None:
    cat, _ = load_catalog(GENERIC / "catalog.csv")
    path = tmp_path / "events.jsonl"
    lines = [
        {"user": "a", "item": "m1", "timestamp": "2023-11-14T22:13:20Z"},
        {"user": "a", "item": "m1", "timestamp": "2023-11-14T23:13:20+01:00"},
        {"user": "a", "item": "m1", "timestamp": "2023-11-14T22:13:20"},
        {"user": "a", "item": "m1", "timestamp": "1700000000"},
        {"user": "a", "item": "m1", "timestamp": 1_700_000_000},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    inter, _ = load_events(path, cat)
    assert inter.timestamp.tolist() == [1_700_000_000] * 5


# -- CSV fast path vs line-by-line path vs JSON lines -----------------------------------


_ids = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)
_event = st.tuples(
    _ids,
    st.sampled_from(["m1", "s1", "e1", "m2"]),
    st.integers(0, MAX_TIMESTAMP - 1),
    st.sampled_from(EVENT_KINDS),
    st.floats(0.0, 1.0, allow_nan=False, width=32),
)


def _write_all(tmp_path: Path, events: list[tuple]) -> tuple[Path, Path, Path]:
    fast = tmp_path / "fast.csv"
    slow = tmp_path / "slow.csv"  # one quoted cell per block sends every block down the line-by-line path
    js = tmp_path / "events.jsonl"
    head = "user,item,timestamp,kind,value\n"
    fast.write_text(head + "".join(f"{u},{i},{t},{k},{v!r}\n" for u, i, t, k, v in events))
    slow.write_text(head + "".join(f'"{u}",{i},{t},{k},{v!r}\n' for u, i, t, k, v in events))
    js.write_bytes(b"".join(orjson.dumps({"user": u, "item": i, "timestamp": t, "kind": k, "value": v}) + b"\n" for u, i, t, k, v in events))
    return fast, slow, js


@given(events=st.lists(_event, min_size=1, max_size=40))
def test_every_path_loads_the_same_events(tmp_path_factory: pytest.TempPathFactory, events: list[tuple]) -> None:
    cat = Catalog.build(["m1", "s1", "e1", "m2"], ["A", "B", "C", "D"])
    paths = _write_all(tmp_path_factory.mktemp("ev"), events)
    loaded = [load_events(p, cat)[0] for p in paths]
    users = sorted({e[0] for e in events})
    expected = sorted((u, cat.index(i), t, EVENT_KINDS.index(k), np.float32(v)) for u, i, t, k, v in events)
    for inter in loaded:
        assert inter.users.ids.tolist() == users
        got = list(zip(inter.users.ids[inter.user].tolist(), inter.item.tolist(), inter.timestamp.tolist(), inter.kind.tolist(), inter.value.tolist(), strict=True))
        assert sorted(got) == [(u, i, t, k, float(v)) for u, i, t, k, v in expected]


def test_small_blocks_give_the_same_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    cat = Catalog.build(["m1", "s1", "e1", "m2"], ["A", "B", "C", "D"])
    events = [(f"u{rng.integers(30)}", ["m1", "s1", "e1", "m2"][rng.integers(4)], int(rng.integers(1e9, 2e9)), "play", float(rng.random())) for _ in range(300)]
    fast, slow, _ = _write_all(tmp_path, events)
    whole = load_events(fast, cat)[0]
    monkeypatch.setattr(load_common, "CHUNK_BYTES", 100)
    for path in (fast, slow):
        got = load_events(path, cat)[0]
        assert got.users == whole.users
        for name in ("user", "item", "timestamp", "kind", "value"):
            assert np.array_equal(getattr(got, name), getattr(whole, name)), name


@pytest.mark.parametrize("n", [200, 300])  # the vectorized path takes fields up to 256 bytes wide
def test_long_ids_are_not_truncated(tmp_path: Path, n: int) -> None:
    cat = Catalog.build(["m" * n, "m" * (n - 1)], ["Long", "Shorter"])
    path = tmp_path / "events.csv"
    path.write_text(f"user,item,timestamp\n{'u' * n},{'m' * n},1700000000\n{'u' * (n - 1)},{'m' * (n - 1)},1700000001\n")
    inter, _ = load_events(path, cat)
    assert inter.users.ids.tolist() == ["u" * (n - 1), "u" * n]
    assert inter.item.tolist() == [1, 0]


def test_ids_are_stripped(tmp_path: Path) -> None:
    cat, _ = load_catalog(GENERIC / "catalog.csv")
    path = tmp_path / "events.csv"
    path.write_text("user,item,timestamp,kind,value\n u1 , m1 ,1700000000,play,0.5\n")
    inter, _ = load_events(path, cat)
    assert inter.users.ids.tolist() == ["u1"] and inter.item.tolist() == [0]


@pytest.mark.parametrize("colliding", ["everything", "users only"])
def test_hash_collisions_fall_back_to_comparing_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colliding: str) -> None:
    import pagegen.data._load_generic as load_generic

    cat = Catalog.build(["a", "bb", "ccc", "dddd"], ["A", "B", "C", "D"])
    path = tmp_path / "events.csv"
    path.write_text("user,item,timestamp\nu2,bb,1700000000\nu1,ccc,1700000001\nu2,a,1700000002\nu3,zz,1700000003\n")
    with pytest.warns(UserWarning, match="skipped 1 bad line"):
        expected = load_events(path, cat, lenient=True)
    if colliding == "everything":
        monkeypatch.setattr(load_generic, "string_keys", lambda s: np.zeros(len(s), np.uint64))
    else:  # ids of one length share a key: the catalog ids all differ in length, the users do not
        monkeypatch.setattr(load_generic, "string_keys", lambda s: np.strings.str_len(np.asarray(s, np.str_)).astype(np.uint64))
    with pytest.warns(UserWarning, match="skipped 1 bad line"):
        got, report = load_events(path, cat, lenient=True)
    assert [(s.line, s.field, s.value) for s in report.skipped] == [(5, "item", "zz")]
    assert got.users == expected[0].users and got.users.ids.tolist() == ["u1", "u2"]
    for name in ("user", "item", "timestamp", "kind", "value"):
        assert np.array_equal(getattr(got, name), getattr(expected[0], name)), name
