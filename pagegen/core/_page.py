"""The output: Page / PageRow / Slot (pydantic), JSON through orjson, and the page grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._catalog import Catalog
from ._page_html import page_html

__all__ = ["JSON_OPTIONS", "PAGE_FORMAT_VERSION", "PAGE_SCHEMA_ID", "Page", "PageRow", "PageWindow", "Slot", "Trace", "TraceCandidate", "TraceFailure", "TraceFatigue", "TraceStep", "jsonable", "page_grid"]

#: The format version written in every Page; bumped when the JSON layout changes
#: (1.1: ``visit``, ``draw``, and the ``propensity`` of the page, its rows and tiles; 1.2: each tile's ``genres``).
PAGE_FORMAT_VERSION = "1.2"
#: The ``$id`` of the published page schema (one per format version).
PAGE_SCHEMA_ID = f"urn:pagegen:schema:page:{PAGE_FORMAT_VERSION}"

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: orjson options of the page JSON: sorted keys (byte-identical for equal pages), numpy values allowed
JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


class Slot(BaseModel):
    """One tile: a title, its score in the row, and why it is there."""

    model_config = _FROZEN

    id: str = Field(description="External title id.")
    title: str = Field(description="Display title.")
    score: float = Field(description="The title's score in its row (the ranker's).")
    reason: str | None = Field(None, description="Why this title, when the ranker says.")
    genres: list[str] = Field(default_factory=list, description="The title's genres in the catalog, so a page renders without it.")
    propensity: float = Field(1.0, gt=0.0, le=1.0, description="The propensity of the tile's row: the tile is offered with its row (its column follows from the page's draw).")


class PageRow(BaseModel):
    """One row of the page."""

    model_config = _FROZEN

    kind: str = Field(description="Row family, e.g. 'because_you_watched'.")
    key: str = Field(description="Stable row identity, e.g. 'byw:1234'.")
    title: str = Field(description="Display title of the row.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="Why the row is on the page (JSON values).")
    slots: list[Slot] = Field(min_length=1, description="The titles, left to right (a title at most once in a row).")
    propensity: float = Field(1.0, gt=0.0, le=1.0, description=(
        "Probability that the row's ranker offers this row, given the member's state and the rows it drew before: "
        "1 for a deterministic row, the step probability of its draw for an explored one."))  # fmt: skip


    @model_validator(mode="after")
    def _titles_once(self) -> PageRow:
        ids = [s.id for s in self.slots]
        if len(set(ids)) != len(ids):
            again = next(i for n, i in enumerate(ids) if i in ids[:n])
            raise ValueError(f"row {self.key!r}: title {again!r} appears twice in the row")
        return self


class PageWindow(BaseModel):
    """The part of the page the device shows without scrolling: its first ``rows`` rows, ``columns`` titles of each."""

    model_config = _FROZEN

    rows: int = Field(ge=1, description="Rows on the first screen.")
    columns: int = Field(ge=1, description="Titles per row on the first screen.")


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


class TraceFatigue(BaseModel):
    """A title demoted for impression fatigue: shown to the member again and again without a play."""

    model_config = _FROZEN

    id: str = Field(description="External title id.")
    impressions: int = Field(description="Unplayed impressions of the title in the fatigue window.")
    factor: float = Field(description="The factor its scores were multiplied by.")
    rows: int = Field(description="Candidate rows it was demoted in.")


class Trace(BaseModel):
    """Debugging record of one build (present when asked with ``trace=True``)."""

    model_config = _FROZEN

    candidates: list[TraceCandidate] = Field(default_factory=list)
    steps: list[TraceStep] = Field(default_factory=list)
    failures: list[TraceFailure] = Field(default_factory=list)
    fatigue: list[TraceFatigue] = Field(default_factory=list, description="Titles demoted for impression fatigue.")
    objective: float = Field(0.0, description="The page objective (pagegen.page._objective) of the built page.")
    status: str | None = Field(None, description="Solver status (exact selector).")
    gap: float | None = Field(None, description="Relative optimality gap reported by the solver (exact selector).")


class Page(BaseModel):
    """A member's homepage: titled rows of titles, with how and for whom it was built."""

    model_config = _FROZEN

    version: Literal["1.2"] = Field(PAGE_FORMAT_VERSION, description="Page format version: this schema reads one version.")
    user: str | None = Field(description="External member id (None for an anonymous state).")
    policy: str = Field(description="Name of the page policy.")
    selector: str = Field(description="Name of the page-construction approach.")
    device: str = Field(description="Device the page is shaped for (a key of the policy's windows).")
    now: int = Field(ge=0, description="Request time (epoch seconds); only events before it were used.")
    seed: int = Field(description="Seed of the request's random generator.")
    visit: int | str | None = Field(None, description="The visit the exploration was drawn for, with the seed and member: the request id given, else the request's now.")
    propensity: float = Field(1.0, gt=0.0, le=1.0, description=(
        "Probability of the page's exploration draw under the served policy given the member's state: the product of every "
        "candidate row's propensity, placed or not. The page is a deterministic function of the state and the draw, so "
        "target / logged draw probabilities are unbiased importance weights of the page."))  # fmt: skip
    draw: list[str] = Field(default_factory=list, description=(
        "Keys of the candidate rows drawn at random (explored genre slices), in draw order, placed or not: "
        "with the member's state they determine the page, and a target policy's probability of the same draw."))  # fmt: skip
    window: PageWindow | None = Field(None, description="The device's visible window under the served policy (the engine always states it).")
    rows: list[PageRow] = Field(description="The rows, top to bottom (the engine never serves a page without one).")
    trace: Trace | None = Field(None, description="Optional build trace.")

    def to_json(self) -> bytes:
        """Compact JSON (orjson, sorted keys) of ``model_dump``: byte-identical for equal pages."""
        return orjson.dumps(self.model_dump(mode="python"), option=JSON_OPTIONS)

    @classmethod
    def from_json(cls, data: bytes | str) -> Page:
        return cls.model_validate(orjson.loads(data))

    @classmethod
    def json_schema(cls, *, devices: Sequence[str] | None = None, kinds: Sequence[str] | None = None) -> dict[str, Any]:
        """The published JSON Schema of the page format (draft 2020-12, ``$id`` PAGE_SCHEMA_ID).

        ``devices`` / ``kinds``: the devices and row kinds a deployment serves, listed as enums
        (``pagegen schema`` lists the presets' devices and the built-in row kinds); without them any
        string is allowed, as a custom policy or ranker may add its own."""
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": PAGE_SCHEMA_ID, **cls.model_json_schema()}
        if devices is not None:
            schema["properties"]["device"]["enum"] = sorted(set(devices))
        if kinds is not None:
            schema["$defs"]["PageRow"]["properties"]["kind"]["enum"] = sorted(set(kinds))
        return schema

    def items(self) -> list[list[str]]:
        """The title ids, row by row."""
        return [[s.id for s in row.slots] for row in self.rows]

    def _repr_html_(self) -> str:
        """The compact notebook view (``_page_html``): each row's title, kind and first titles, escaped."""
        return page_html(self)


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
