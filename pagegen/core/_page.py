"""The output: Page / PageRow / Slot (pydantic), JSON through orjson, and the page grid."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from ._catalog import Catalog

__all__ = ["JSON_OPTIONS", "PAGE_FORMAT_VERSION", "Page", "PageRow", "Slot", "Trace", "TraceCandidate", "TraceFailure", "TraceStep", "jsonable", "page_grid", "trusted_models"]

#: The format version written in every Page; bumped when the JSON layout changes.
PAGE_FORMAT_VERSION = "1.0"

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: orjson options of the page JSON: sorted keys (byte-identical for equal pages), numpy values allowed
JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
# to_json's direct path: any value whose pydantic dump could differ from the object itself (a dataclass,
# a datetime, a subclass of str/int/dict/list) makes orjson fail, and the page goes the pydantic way
_DIRECT_OPTIONS = JSON_OPTIONS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


class Slot(BaseModel):
    """One tile: a title, its score in the row, and why it is there."""

    model_config = _FROZEN

    id: str = Field(description="External title id.")
    title: str = Field(description="Display title.")
    score: float = Field(description="The title's score in its row (the ranker's).")
    reason: str | None = Field(None, description="Why this title, when the ranker says.")


class PageRow(BaseModel):
    """One row of the page."""

    model_config = _FROZEN

    kind: str = Field(description="Row family, e.g. 'because_you_watched'.")
    key: str = Field(description="Stable row identity, e.g. 'byw:1234'.")
    title: str = Field(description="Display title of the row.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="Why the row is on the page (JSON values).")
    slots: list[Slot] = Field(description="The titles, left to right.")


class TraceCandidate(BaseModel):
    """A candidate row the selector considered."""

    model_config = _FROZEN

    kind: str
    key: str
    score: float = Field(description="The row's own score from its ranker.")
    n: int = Field(description="Eligible titles in the candidate row.")


class TraceStep(BaseModel):
    """One row placement: what was chosen at a row index and with what marginal gain."""

    model_config = _FROZEN

    row: int = Field(description="0-based row index on the page.")
    key: str = Field(description="Key of the chosen candidate row.")
    gain: float = Field(description="The selector's value for the choice (stage-wise: marginal objective gain).")
    feasible: int = Field(description="Candidate rows that could stand here.")
    runner_up: str | None = Field(None, description="Key of the second-best feasible candidate.")
    runner_up_gain: float | None = None


class TraceFailure(BaseModel):
    """A ranker dropped for this request, and why."""

    model_config = _FROZEN

    ranker: str
    error: str


class Trace(BaseModel):
    """Debugging record of one build (present when asked with ``trace=True``)."""

    model_config = _FROZEN

    candidates: list[TraceCandidate] = Field(default_factory=list)
    steps: list[TraceStep] = Field(default_factory=list)
    failures: list[TraceFailure] = Field(default_factory=list)
    objective: float = Field(0.0, description="The page objective (pagegen.page._objective) of the built page.")
    status: str | None = Field(None, description="Solver status (exact selector).")
    gap: float | None = Field(None, description="Relative optimality gap reported by the solver (exact selector).")


class Page(BaseModel):
    """A member's homepage: titled rows of titles, with how and for whom it was built."""

    model_config = _FROZEN

    version: str = Field(PAGE_FORMAT_VERSION, description="Page format version.")
    user: str | None = Field(description="External member id (None for an anonymous state).")
    policy: str = Field(description="Name of the page policy.")
    selector: str = Field(description="Name of the page-construction approach.")
    device: str = Field(description="Device the page is shaped for (a key of the policy's windows).")
    now: int = Field(description="Request time (epoch seconds); only events before it were used.")
    seed: int = Field(description="Seed of the request's random generator.")
    rows: list[PageRow] = Field(description="The rows, top to bottom.")
    trace: Trace | None = Field(None, description="Optional build trace.")

    def to_json(self) -> bytes:
        """Compact JSON (orjson, sorted keys): byte-identical for equal pages.

        The same bytes as ``orjson.dumps(self.model_dump(mode="python"))``: a page made only of
        these exact model classes and plain values is dumped from its models' own field dicts;
        anything else (a subclass, a value pydantic would convert) takes the pydantic dump.
        """
        direct = _direct(self)
        if direct is not None:
            try:
                return orjson.dumps(direct, option=_DIRECT_OPTIONS)
            except orjson.JSONEncodeError:
                pass
        return orjson.dumps(self.model_dump(mode="python"), option=JSON_OPTIONS)

    @classmethod
    def from_json(cls, data: bytes | str) -> Page:
        return cls.model_validate(orjson.loads(data))

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The published JSON Schema of the page format."""
        return cls.model_json_schema()

    def items(self) -> list[list[str]]:
        """The title ids, row by row."""
        return [[s.id for s in row.slots] for row in self.rows]


_fields_of = attrgetter("__dict__")
_slots_of = attrgetter("slots")
_M = TypeVar("_M", bound=BaseModel)
_new = object.__new__
_set_dict = vars(BaseModel)["__dict__"].__set__
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


def _direct(page: Page) -> dict[str, Any] | None:
    """The page as ``model_dump`` would give it, built from the models' field dicts, or None when the
    page holds anything but Page / PageRow / Slot / Trace instances (then only pydantic knows)."""
    if type(page) is not Page or (page.trace is not None and type(page.trace) is not Trace):
        return None
    rows = page.rows
    if type(rows) is not list or not set(map(type, rows)) <= {PageRow}:
        return None
    slots = list(map(_slots_of, rows))
    if not set(map(type, slots)) <= {list} or not set(map(type, chain.from_iterable(slots))) <= {Slot}:
        return None
    out = list(map(dict.copy, map(_fields_of, rows)))
    for fields, row_slots in zip(out, slots, strict=True):
        fields["slots"] = list(map(_fields_of, row_slots))
    fields = page.__dict__.copy()
    fields["rows"] = out
    if page.trace is not None:
        fields["trace"] = page.trace.model_dump(mode="python")
    return fields


def trusted_models(cls: type[_M], values: Sequence[dict[str, Any]], fields_set: set[str]) -> list[_M]:
    """Instances of ``cls`` made from field dicts without validation, for data already known valid.

    Each dict becomes an instance's ``__dict__`` as it is, so it must hold every field of ``cls``
    in declaration order with a value of the declared type (defaults included): then the instances
    equal what validation of the same dicts gives, with the same repr and dumps. ``fields_set``
    (the fields the input gave, not defaulted) is shared by the instances, as sets are costly:
    pydantic never changes it on a frozen model, and a copy gets its own.
    """
    if not issubclass(cls, BaseModel) or not cls.model_config.get("frozen") or cls.__private_attributes__:
        raise TypeError(f"trusted_models makes frozen models without private attributes, not {cls.__name__}")
    objs = list(map(_new, repeat(cls, len(values))))
    deque(map(_set_dict, objs, values), maxlen=0)
    deque(map(_set_fields_set, objs, repeat(fields_set)), maxlen=0)
    deque(map(_set_extra, objs, repeat(None)), maxlen=0)
    deque(map(_set_private, objs, repeat(None)), maxlen=0)
    return objs


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (numpy scalars and arrays included), via an orjson round trip."""
    return orjson.loads(orjson.dumps(value, option=JSON_OPTIONS))


def page_grid(page: Page, catalog: Catalog) -> np.ndarray:
    """int32 (n_rows, longest row): catalog indices of the page's titles, -1 where a row is shorter."""
    width = max((len(r.slots) for r in page.rows), default=0)
    grid = np.full((len(page.rows), width), -1, dtype=np.int32)
    for r, row in enumerate(page.rows):
        if row.slots:
            grid[r, : len(row.slots)] = catalog.vocab.indices([s.id for s in row.slots], what="item id")
    return grid
