"""Catalog, Interactions, Vocab and CandidateRow: construction, validation, immutability."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen import CandidateRow, Catalog, DataError, Interactions, Vocab


def small_catalog() -> Catalog:
    return Catalog.build(
        ["m1", "s1", "e1", "e2"],
        ["Movie", "Show", "Show S1E1", "Show S1E2"],
        [["Drama"], ["Comedy"], ["Comedy"], ["Comedy"]],
        kind=["movie", "series", "episode", "episode"],
        series=[None, None, "s1", "s1"],
        season=[0, 0, 1, 1],
        episode=[0, 0, 1, 2],
        maturity=["all", "13+", "13+", "13+"],
        regions=[["us"], [], [], ["fr"]],
    )


def test_vocab_round_trip_and_errors() -> None:
    vocab = Vocab([10, "b", 3])
    assert vocab.index(10) == 0 and vocab.index("10") == 0
    assert vocab.id(2) == "3"
    assert vocab.indices(["b", 3]).tolist() == [1, 2]
    with pytest.raises(DataError, match=r"field 'item id' = 'zz': unknown item id"):
        vocab.index("zz", what="item id")
    with pytest.raises(DataError, match="duplicate id"):
        Vocab(["a", "b", "a"])


def test_catalog_columns_and_views() -> None:
    cat = small_catalog()
    assert cat.n == 4 and cat.genre_names == ("Comedy", "Drama")
    assert cat.genres_of(0) == ["Drama"]
    assert cat.series.tolist() == [-1, -1, 1, 1]
    assert cat.displayable().tolist() == [True, True, False, False]
    # a title with no region is available everywhere
    assert cat.available_in("us").tolist() == [True, True, True, False]
    assert cat.available_in(None).all()
    with pytest.raises(DataError, match="unknown region"):
        cat.available_in("xx")
    with pytest.raises(ValueError):
        cat.kind[0] = 2  # columns are read-only


def test_catalog_rejects_bad_columns() -> None:
    with pytest.raises(DataError, match="field 'kind' = 'film'"):
        Catalog.build(["a"], ["A"], kind=["film"])
    with pytest.raises(DataError, match="field 'titles'"):
        Catalog.build(["a", "b"], ["A"])
    with pytest.raises(DataError, match="non-finite duration"):
        Catalog.build(["a"], ["A"], duration=[float("nan")])
    with pytest.raises(DataError, match="unknown series id"):
        Catalog.build(["a"], ["A"], series=["nope"])


def test_interactions_sorted_and_sliced_per_user() -> None:
    ev = Interactions(
        users=Vocab(["u", "v"]),
        user=[1, 0, 0, 1],
        item=[0, 1, 2, 3],
        timestamp=[50, 30, 10, 20],
        kind=[0, 0, 1, 0],
        value=[1.0, 0.5, 4.0, 0.2],
        n_items=4,
    )
    assert ev.user.tolist() == [0, 0, 1, 1]
    assert ev.timestamp[ev.span(0)].tolist() == [10, 30]
    assert ev.timestamp[ev.span(1)].tolist() == [20, 50]
    assert ev.before(30).n == 2
    assert ev.of_kind("rating").item.tolist() == [2]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("item", [0, 9], "field 'item' = 9: index out of range"),
        ("value", [0.5, float("inf")], "non-finite value"),
        ("value", [0.5, 1.5], "watched fraction outside"),
    ],
)
def test_interactions_reject_bad_values(column: str, value: list, message: str) -> None:
    cols = {"user": [0, 0], "item": [0, 1], "timestamp": [1, 2], "kind": [0, 0], "value": [1.0, 1.0]}
    cols[column] = value
    with pytest.raises(DataError, match=message):
        Interactions(users=Vocab(["u"]), n_items=2, **cols)


def test_candidate_row_validation() -> None:
    row = CandidateRow("popular", "popular", "Popular", items=[3, 1], scores=[2.0, 1.0])
    assert row.items.dtype == np.int32 and len(row) == 2
    with pytest.raises(DataError, match="non-finite score at position 1"):
        CandidateRow("popular", "p", "P", items=[3, 1], scores=[2.0, float("nan")])
    with pytest.raises(DataError, match="a title appears twice"):
        CandidateRow("popular", "p", "P", items=[3, 3], scores=[2.0, 1.0])
    with pytest.raises(DataError, match="2 items but 1 scores"):
        CandidateRow("popular", "p", "P", items=[3, 1], scores=[2.0])
    with pytest.raises(DataError, match="row 'p': 1 reasons for 2 items"):
        CandidateRow("popular", "p", "P", items=[3, 1], scores=[2.0, 1.0], reasons=["a"])


def test_candidate_row_names_a_non_finite_score_and_keeps_the_callers_arrays() -> None:
    big = np.full(3, 3e38, np.float32)  # finite scores (their float32 sum would not be)
    np.testing.assert_array_equal(CandidateRow("popular", "p", "P", items=[5, 4, 3], scores=big).scores, big)
    for bad, pos in (([1.0, float("inf"), 0.0], 1), ([float("-inf"), 0.0, 0.0], 0), ([2.0, 1.0, float("nan")], 2)):
        with pytest.raises(DataError, match=f"non-finite score at position {pos}"):
            CandidateRow("popular", "p", "P", items=[0, 1, 2], scores=bad)
    items, scores = np.array([7, 2], np.int32), np.array([1.0, 0.5], np.float32)
    row = CandidateRow("popular", "p", "P", items, scores)
    assert items.flags.writeable and scores.flags.writeable  # the row's own views are read-only, not the caller's arrays
    assert not row.items.flags.writeable and not row.scores.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        row.items[0] = 1


def test_candidate_row_constructor_is_the_dataclass_one() -> None:
    """Keyword and positional arguments, defaults (a fresh evidence dict per row), replace() and frozen fields."""
    import dataclasses

    a = CandidateRow("genre", "genre:Drama", "Drama", [1, 2], [0.5, 0.25])
    b = CandidateRow(kind="genre", key="genre:Comedy", title="Comedy", items=[3], scores=[1.0], score=0.5, reasons=["r"])
    assert a.evidence == {} and a.evidence is not b.evidence and a.score == 0.0 and a.reasons is None
    assert isinstance(b.score, float) and b.reasons == ("r",)
    c = dataclasses.replace(a, key="genre:Crime", evidence={"x": 1})
    assert (c.kind, c.key, c.title, c.evidence) == ("genre", "genre:Crime", "Drama", {"x": 1})
    np.testing.assert_array_equal(c.items, a.items)
    assert [f.name for f in dataclasses.fields(CandidateRow)] == ["kind", "key", "title", "items", "scores", "evidence", "score", "reasons", "propensity"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        CandidateRow("genre", "k", "t", [1], [1.0], {}, "0.5")  # type: ignore[arg-type]  # a row score is a number
    with pytest.raises(DataError, match="non-finite row score"):
        CandidateRow("genre", "k", "t", [1], [1.0], score=float("inf"))
