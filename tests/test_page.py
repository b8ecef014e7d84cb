"""Page: JSON through orjson (byte-stable, round trip), the published schema, the grid; assembly without re-validation."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import warnings

import numpy as np
import orjson
import pytest
from pydantic import ValidationError, field_serializer

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._page import (
    PAGE_FORMAT_VERSION,
    Page,
    PageRow,
    Slot,
    Trace,
    TraceStep,
    jsonable,
    page_grid,
)
from pagegen.page._assemble import assemble, assemble_json
from pagegen.page._objective import Placed, Selection


def _page(**kw):
    rows = [
        PageRow(kind="top10", key="top10", title="Top 10", evidence={"region": "US", "n": 2}, slots=[Slot(id="b", title="B", score=0.5), Slot(id="a", title="A", score=0.25, reason="popular")]),
        PageRow(kind="genre", key="genre:Drama", title="Drama", evidence={"genre": "Drama"}, slots=[Slot(id="c", title="C", score=1.0)]),
    ]
    return Page(user="u1", policy="default", selector="stage_wise", device="tv", now=123, seed=7, rows=rows, **kw)


def test_json_is_sorted_compact_and_round_trips():
    page = _page(trace=Trace(steps=[TraceStep(row=0, key="top10", gain=1.5, feasible=3)], objective=2.0))
    data = page.to_json()
    assert data == _page(trace=page.trace).to_json()
    parsed = orjson.loads(data)
    assert list(parsed) == sorted(parsed) and parsed["version"] == PAGE_FORMAT_VERSION
    assert parsed["rows"][0]["slots"][1] == {"id": "a", "reason": "popular", "score": 0.25, "title": "A", "propensity": 1.0, "genres": []}
    back = Page.from_json(data)
    assert back == page and back.to_json() == data
    assert Page.from_json(data.decode()) == page


def test_schema_is_published():
    schema = Page.json_schema()
    assert schema["title"] == "Page"
    assert {"version", "user", "policy", "selector", "device", "now", "seed", "visit", "propensity", "rows", "trace"} <= set(schema["properties"])
    assert "Slot" in schema["$defs"] and "PageRow" in schema["$defs"]


def test_page_grid_maps_ids_to_catalog_indices():
    catalog = Catalog.build(["a", "b", "c"], ["A", "B", "C"])
    grid = page_grid(_page(), catalog)
    assert grid.dtype == np.int32
    assert grid.tolist() == [[1, 0], [2, -1]]
    empty = Page(user=None, policy="p", selector="s", device="web", now=0, seed=0, rows=[])
    assert page_grid(empty, catalog).shape == (0, 0)


def test_jsonable_turns_numpy_into_plain_json():
    value = jsonable({"items": np.arange(3, dtype=np.int32), "w": np.float32(0.5), "k": "x"})
    assert value == {"items": [0, 1, 2], "k": "x", "w": 0.5}
    assert all(type(v) in (list, float, str) for v in value.values())


# -- assembly without re-validation, and to_json from the models' field dicts ------------------


def _assembled(*, trace: bool = False, key: object = "genre:Drama", reasons: tuple | None = ("r0", None, "r2"), user: object = "u1", json: bool = False) -> Page | bytes:
    catalog = Catalog.build(["a", "b", "c", "d", "e"], ["A", "B", "C", "D", "E"], [["Drama"], [], ["Comedy", "Drama"], ["Sci-Fi"], []])
    rows = [
        CandidateRow("genre", key, "Drama", np.array([3, 1, 0]), np.array([0.9, 0.5, 0.1234567], np.float32), {"genres": ["Drama"], "w": np.float32(0.5)}, 2.0, reasons),
        CandidateRow("popular", "popular", "Popular", np.array([4, 2, 3, 1]), np.array([1.0, 0.75, 0.5, 0.25], np.float32), {}, 1.0),
    ]
    selection = Selection(rows=(Placed(1, np.array([2, 4], np.int32)), Placed(0, np.array([0, 3, 1], np.int32))), objective=1.5,
                          steps=({"row": 0, "key": "popular", "gain": 1.0, "feasible": 2}, {"row": 1, "key": key, "gain": 0.5, "feasible": 1}))  # fmt: skip
    if json:  # the batch's way: the JSON only, no trace
        return assemble_json(rows, selection, catalog, user=user, policy="default", selector="stage_wise", device="web", now=100, seed=3)
    return assemble(rows, selection, catalog, user=user, policy="default", selector="stage_wise", device="web", now=100, seed=3, failures=[("x", "boom")], trace=trace)


def _fields_sets(page: Page) -> list:
    return [page.model_fields_set] + [(r.model_fields_set, [s.model_fields_set for s in r.slots]) for r in page.rows]


def test_assembled_page_is_the_validated_page_field_by_field():
    for trace in (False, True):
        page = _assembled(trace=trace)
        validated = Page.model_validate(page.model_dump(exclude_unset=True))
        assert page == validated and repr(page) == repr(validated)
        assert _fields_sets(page) == _fields_sets(validated) and "version" not in page.model_fields_set
        assert page.model_dump() == validated.model_dump() and page.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
        assert page.to_json() == validated.to_json() == orjson.dumps(validated.model_dump(mode="python"), option=orjson.OPT_SORT_KEYS)
        assert Page.from_json(page.to_json()) == page
        assert [[type(v) for v in s.__dict__.values()] for s in page.rows[1].slots] == [[str, str, float, str, list, float]] * 2 + [[str, str, float, type(None), list, float]]
    catalog = Catalog.build(["a"], ["A"])
    empty = assemble([], Selection(rows=(), objective=0.0), catalog, user=None, policy="p", selector="s", device="web", now=0, seed=0)
    assert empty == Page(user=None, policy="p", selector="s", device="web", now=0, seed=0, rows=[], trace=None) and empty.to_json() == _pydantic_json(empty)
    page = _assembled()
    assert page.items() == [["c", "e"], ["a", "d", "b"]]
    assert [[s.score for s in r.slots] for r in page.rows] == [[0.75, 1.0], [0.123457, 0.9, 0.5]]
    assert [s.reason for s in page.rows[1].slots] == ["r2", "r0", None]
    assert [[s.genres for s in r.slots] for r in page.rows] == [[["Comedy", "Drama"], []], [["Drama"], ["Sci-Fi"], []]]  # the catalog's, in its order
    assert page.rows[1].evidence == {"genres": ["Drama"], "w": 0.5}


def test_assembly_validates_what_is_not_plain():
    class Key(str):
        pass

    page = _assembled(key=Key("genre:Drama"))  # converted by validation, as before
    assert type(page.rows[1].key) is str and page == _assembled()
    with pytest.raises(ValidationError):
        _assembled(key=5)
    with pytest.raises(ValidationError):
        _assembled(reasons=("r0", 1, "r2"))
    with pytest.raises(ValidationError):
        _assembled(user=7)


def test_assembled_json_is_the_json_of_the_assembled_page():
    class Key(str):
        pass

    assert _assembled(json=True) == _assembled().to_json() == _pydantic_json(_assembled())
    assert _assembled(json=True, reasons=None) == _assembled(reasons=None).to_json()
    assert _assembled(json=True, key=Key("genre:Drama")) == _assembled().to_json()  # converted by validation
    with pytest.raises(ValidationError):
        _assembled(json=True, key=5)
    with pytest.raises(ValidationError):
        _assembled(json=True, user=7)
    catalog = Catalog.build(["a"], ["A"])
    empty = assemble_json([], Selection(rows=(), objective=0.0), catalog, user=None, policy="p", selector="s", device="web", now=0, seed=0)
    assert empty == Page(user=None, policy="p", selector="s", device="web", now=0, seed=0, rows=[]).to_json()


def _pydantic_json(page: Page) -> bytes:
    return orjson.dumps(page.model_dump(mode="python"), option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)


@dataclasses.dataclass
class _Point:
    y: int
    x: int


class _Name(str):
    pass


class _Slot2(Slot):
    extra: int = 1


class _Trace2(Trace):
    secret: str = "s"


class _Page2(Page):
    note: str = "n"

    @field_serializer("policy")
    def _shout(self, value: str) -> str:
        return value.upper()


def test_to_json_is_the_pydantic_dump_for_any_page():
    evidences = [{}, {"a": [1, 2.5, None, True]}, {"t": (1, 2)}, {"n": np.arange(3)}, {"f": np.float64(0.1)}, {"when": datetime.datetime(2024, 1, 2, 3, 4, 5)},
                 {"p": _Point(1, 2)}, {"s": _Name("x")}, {"d": collections.OrderedDict(b=1, a=2)}, {"nested": {"z": 1, "a": {"y": 2, "b": 3}}}]  # fmt: skip
    for evidence in evidences:
        page = _page().model_copy(update={"rows": [PageRow(kind="k", key="k", title="K", evidence=evidence, slots=[Slot(id="a", title="A", score=1.0)])]})
        assert page.to_json() == _pydantic_json(page), evidence
    odd = [
        _page().model_copy(update={"rows": [PageRow.model_construct(kind="k", key="k", title="K", evidence={}, slots=[_Slot2(id="a", title="A", score=1.0)])]}),
        _Page2(**_page().model_dump()),
        _page(trace=Trace(steps=[TraceStep(row=0, key="top10", gain=1.5, feasible=3)])),
        _page(trace=_Trace2()),
        Page.model_construct(**{**_page().model_dump(exclude={"rows"}), "rows": [PageRow(kind="k", key="k", title="K", slots=[Slot(id="a", title="A", score=1)])]}),
    ]
    for page in odd:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic's serializer warnings on the deliberately odd values
            assert page.to_json() == _pydantic_json(page)


def test_to_json_follows_changes_to_the_mutable_parts():
    page = _assembled()
    before = page.to_json()
    page.rows[0].slots.append(Slot(id="z", title="Z", score=0.0))
    page.rows[1].evidence["added"] = 1
    after = orjson.loads(page.to_json())
    assert page.to_json() != before and after["rows"][0]["slots"][-1]["id"] == "z" and after["rows"][1]["evidence"]["added"] == 1
    assert page.to_json() == _pydantic_json(page)
