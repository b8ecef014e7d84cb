"""The output: Page / PageRow / Slot (pydantic), JSON through orjson, and the page grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from ._catalog import Catalog
from ._page_html import page_html

__all__ = ["JSON_OPTIONS", "PAGE_FORMAT_VERSION", "Page", "PageRow", "Slot", "Trace", "TraceCandidate", "TraceFailure", "TraceFatigue", "TraceStep", "jsonable", "page_grid"]

#: The format version written in every Page; bumped when the JSON layout changes
#: (1.1: ``visit``, ``draw``, and the ``propensity`` of the page, its rows and tiles).
PAGE_FORMAT_VERSION = "1.1"

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
    propensity: float = Field(1.0, gt=0.0, le=1.0, description="The propensity of the tile's row: the tile is offered with its row (its column follows from the page's draw).")


class PageRow(BaseModel):
    """One row of the page."""

    model_config = _FROZEN

    kind: str = Field(description="Row family, e.g. 'because_you_watched'.")
    key: str = Field(description="Stable row identity, e.g. 'byw:1234'.")
    title: str = Field(description="Display title of the row.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="Why the row is on the page (JSON values).")
    slots: list[Slot] = Field(description="The titles, left to right.")
    propensity: float = Field(1.0, gt=0.0, le=1.0, description=(
        "Probability that the row's ranker offers this row, given the member's state and the rows it drew before: "
        "1 for a deterministic row, the step probability of its draw for an explored one."))  # fmt: skip


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

    version: str = Field(PAGE_FORMAT_VERSION, description="Page format version.")
    user: str | None = Field(description="External member id (None for an anonymous state).")
    policy: str = Field(description="Name of the page policy.")
    selector: str = Field(description="Name of the page-construction approach.")
    device: str = Field(description="Device the page is shaped for (a key of the policy's windows).")
    now: int = Field(description="Request time (epoch seconds); only events before it were used.")
    seed: int = Field(description="Seed of the request's random generator.")
    visit: int | str | None = Field(None, description="The visit the exploration was drawn for, with the seed and member: the request id given, else the request's now.")
    propensity: float = Field(1.0, gt=0.0, le=1.0, description=(
        "Probability of the page's exploration draw under the served policy given the member's state: the product of every "
        "candidate row's propensity, placed or not. The page is a deterministic function of the state and the draw, so "
        "target / logged draw probabilities are unbiased importance weights of the page."))  # fmt: skip
    draw: list[str] = Field(default_factory=list, description=(
        "Keys of the candidate rows drawn at random (explored genre slices), in draw order, placed or not: "
        "with the member's state they determine the page, and a target policy's probability of the same draw."))  # fmt: skip
    rows: list[PageRow] = Field(description="The rows, top to bottom.")
    trace: Trace | None = Field(None, description="Optional build trace.")

    def to_json(self) -> bytes:
        """Compact JSON (orjson, sorted keys) of ``model_dump``: byte-identical for equal pages."""
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
