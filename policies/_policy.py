"""The page policy: a frozen, declarative description of what a valid page looks like.

A policy is checked for contradictions when it is built (``Policy(...)``) and when it is
loaded from a preset or a file (``load_policy``); a contradictory policy raises a
PolicyError naming the conflicting fields (and the file).
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pagegen.core._catalog import MATURITY_LEVELS
from pagegen.core._errors import PolicyError
from pagegen.core._resume import MAX_AGE_DAYS
from pagegen.core._userstate import FINISHED_AT

from ._builtin import EligibleTitles, GenreSpanCap, KindCap, MinTitles, RowCount, RowLength, UniqueKeys
from ._constraint import Constraint
from ._dedup import Dedup
from ._pins import Pins

__all__ = ["Attention", "Eligibility", "GenreCap", "PRESETS", "Pin", "Policy", "Window", "load_policy", "policy_eligible"]

#: The presets shipped as TOML files next to this module, loadable by name.
PRESETS: tuple[str, ...] = ("default", "kids", "mobile", "tv")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Window(BaseModel):
    """The part of the page a device shows without scrolling: the first ``rows`` x ``columns`` cells."""

    model_config = _FROZEN

    rows: int = Field(ge=1, le=100, description="Rows visible on the first screen.")
    columns: int = Field(ge=1, le=200, description="Titles visible per row on the first screen.")


class Pin(BaseModel):
    """A row kind held at a fixed place: exactly one of ``at`` or ``within``.

    ``at``: the row is at that row index (0-based), or is the last row of a page that has
    fewer rows. ``within``: the row is among the first ``within`` rows. A pinned kind appears
    at most once on a page.
    """

    model_config = _FROZEN

    kind: str = Field(min_length=1, description="The row kind pinned, e.g. 'continue_watching'.")
    at: int | None = Field(None, ge=0, le=99, description="Fixed 0-based row index.")
    within: int | None = Field(None, ge=1, le=100, description="The row must be among the first `within` rows.")
    when: Literal["available", "in_progress"] = Field(
        "available",
        description="'available': holds whenever a candidate row of the kind can be shown; 'in_progress': also required "
        "(by check) whenever the member can resume as many eligible titles as the kind's minimum row length "
        "(pagegen.core._resume.resumable: what Continue Watching shows).",
    )
    max_age_days: float = Field(MAX_AGE_DAYS, gt=0.0, le=36500.0, description="'in_progress': a title last played longer ago is not in progress (as the Continue Watching ranker's max_age_days).")
    min_fraction: float = Field(0.0, ge=0.0, lt=FINISHED_AT, description="'in_progress': a title counts as started above this watched fraction (as the ranker's min_fraction).")

    @model_validator(mode="after")
    def _one_place(self) -> Pin:
        if (self.at is None) == (self.within is None):
            raise ValueError(f"pin {self.kind!r}: give exactly one of 'at' or 'within'")
        return self

    def positions(self, n_rows: int) -> range:
        """The row indices where the pinned row may stand on a full page."""
        if self.at is not None:
            return range(self.at, self.at + 1)
        return range(min(self.within or 0, n_rows))


class GenreCap(BaseModel):
    """At most ``max_rows`` rows sharing a genre within any ``span`` consecutive rows.

    A row's genres are the ones it declares in its evidence (``genres``: a list of names, or
    ``genre``: one name), as genre rows do.
    """

    model_config = _FROZEN

    max_rows: int = Field(2, ge=1, le=100, description="Rows allowed to share one genre inside the span.")
    span: int = Field(4, ge=1, le=100, description="Number of consecutive rows the cap looks at.")


class Attention(BaseModel):
    """The 2-D attention model: the weight of the cell (r, c) (0-based), top-left = 1.

    ``geometric``: row_decay**r * column_decay**c. ``log``: 1 / log2(r + c + 2), the discount of the
    N2DCG page metric (cells read in anti-diagonal order); the decays are then unused.
    """

    model_config = _FROZEN

    model: Literal["geometric", "log"] = Field("geometric", description="Shape of the attention over the page (see the class docstring).")
    row_decay: float = Field(0.85, gt=0.0, le=1.0, description="geometric: attention kept from one row to the next.")
    column_decay: float = Field(0.92, gt=0.0, le=1.0, description="geometric: attention kept from one column to the next.")

    def grid(self, n_rows: int, row_length: int) -> np.ndarray:
        """float64 (n_rows, row_length): the weight of every cell."""
        r = np.arange(n_rows, dtype=np.float64)[:, None]
        c = np.arange(row_length, dtype=np.float64)[None, :]
        if self.model == "log":
            return 1.0 / np.log2(r + c + 2.0)
        return self.row_decay**r * self.column_decay**c


class Eligibility(BaseModel):
    """Policy-level eligibility, on top of the member's own (displayable, maturity, region, not finished)."""

    model_config = _FROZEN

    max_maturity: str | None = Field(None, description="Highest maturity level shown (a MATURITY_LEVELS name); None: the profile's.")
    exclude_genres: tuple[str, ...] = Field((), max_length=100, description="Titles with any of these genres are never shown.")

    @model_validator(mode="after")
    def _known_level(self) -> Eligibility:
        if self.max_maturity is not None and self.max_maturity not in MATURITY_LEVELS:
            raise ValueError(f"eligibility.max_maturity = {self.max_maturity!r}: expected one of {', '.join(MATURITY_LEVELS)}")
        return self

    def maturity_code(self) -> int:
        return len(MATURITY_LEVELS) - 1 if self.max_maturity is None else MATURITY_LEVELS.index(self.max_maturity)


_DEFAULT_WINDOWS = {"tv": Window(rows=4, columns=5), "web": Window(rows=3, columns=6), "mobile": Window(rows=3, columns=3)}
_DEFAULT_TEMPLATE = (
    "continue_watching", "top_picks", "trending", "top10", "because_you_watched", "genre", "new_releases",
    "because_you_watched", "micro_genre", "genre", "popular", "genre", "because_you_watched", "micro_genre", "genre",
    "genre", "micro_genre",
)  # fmt: skip


class Policy(BaseModel):
    """A page policy. Row indices are 0-based everywhere."""

    model_config = _FROZEN

    name: str = Field("custom", min_length=1, max_length=100, description="The policy's name, echoed in every Page.")
    n_rows: int = Field(25, ge=1, le=100, description="Most rows on a page.")
    row_length: int = Field(40, ge=1, le=200, description="Most titles in a row.")
    min_titles: int = Field(3, ge=1, le=200, description="Fewest titles a row needs to appear.")
    min_titles_per_kind: dict[str, int] = Field(
        default_factory=lambda: {"continue_watching": 1},
        description="Fewest titles a row of a kind needs, for naturally short rows (Continue Watching); other kinds: min_titles.",
    )
    windows: dict[str, Window] = Field(default_factory=lambda: dict(_DEFAULT_WINDOWS), description="Visible window per device.")
    dedup: Literal["page", "window"] = Field("page", description="Where titles may not repeat: the whole page, or the device's visible window.")
    max_appearances: int = Field(1, ge=1, le=100, description="Most appearances of one title within the dedup scope.")
    max_appearances_below: int | None = Field(
        None, ge=1, le=100,
        description="dedup = 'window': most appearances of one title outside the visible window (further down, or right of it); None: no limit.",
    )  # fmt: skip
    max_rows_per_kind: dict[str, int] = Field(default_factory=lambda: {"because_you_watched": 3}, description="Most rows of a kind (0 bans it).")
    genre_cap: GenreCap | None = Field(default_factory=GenreCap, description="Cap on rows sharing a genre; None: no cap.")
    pins: tuple[Pin, ...] = Field(
        (Pin(kind="continue_watching", within=2, when="in_progress"), Pin(kind="top10", at=3)), max_length=20,
        description="Pinned row kinds.",
    )  # fmt: skip
    template: tuple[str, ...] = Field(_DEFAULT_TEMPLATE, max_length=100, description="Row kinds per position for the template selector.")
    eligibility: Eligibility = Field(default_factory=Eligibility, description="Policy-level eligibility rules.")
    diversity: float = Field(0.01, ge=0.0, le=10.0, description="Weight of the redundancy penalty between rows, in units of the best candidate row's value (0: none).")
    attention: Attention = Field(default_factory=Attention, description="Row and column discounts of the attention model.")
    ranker_budget_ms: float | None = Field(
        None, gt=0.0, le=60_000.0,
        description="Time budget of the rankers of one request, in ms: they run side by side and one that has not answered by then is "
        "dropped for the request (listed in the trace). None: no budget, the rankers run one after another.",
    )  # fmt: skip
    rules: tuple[Any, ...] = Field(
        (), exclude=True, max_length=100,
        description="Your own constraints (policies.Constraint), enforced by every builder and checked as the built-in ones; not part of presets.",
    )  # fmt: skip

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise PolicyError(_explain(err, data.get("name"))) from None

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = _contradictions(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def window(self, device: str) -> Window:
        """The visible window of ``device``; PolicyError for a device the policy does not know."""
        try:
            return self.windows[device]
        except KeyError:
            raise PolicyError(f"policy {self.name!r}: field 'windows' has no device {device!r} (known: {', '.join(sorted(self.windows))})") from None

    def kind_cap(self, kind: str) -> int:
        """Most rows of ``kind``: its cap, 1 for a pinned kind, else n_rows."""
        return self._kind_caps().cap(kind)

    def min_titles_of(self, kind: str) -> int:
        """Fewest titles a row of ``kind`` needs to stand: ``min_titles_per_kind[kind]``, else ``min_titles``."""
        return self._min_titles().of(kind)

    def _min_titles(self) -> MinTitles:
        return MinTitles(self.min_titles, tuple(sorted(self.min_titles_per_kind.items())))

    def _kind_caps(self) -> KindCap:
        return KindCap(tuple(sorted(self.max_rows_per_kind.items())), frozenset(p.kind for p in self.pins), self.n_rows)

    def _eligibility(self) -> EligibleTitles:
        return EligibleTitles(None if self.eligibility.max_maturity is None else self.eligibility.maturity_code(), self.eligibility.exclude_genres)

    def constraints(self) -> tuple[Constraint, ...]:
        """The policy's hard rules as constraints (built-in ones from its fields, then ``rules``), by name.

        The builders enforce them and ``policies.check`` reports them. (Built on each call, about 7 us: the
        constraints keep no state between pages, only in the loop's memo of one page.)
        """
        windows = tuple((d, w.rows, w.columns) for d, w in sorted(self.windows.items()))
        own = [
            Dedup(self.dedup, self.max_appearances, windows, self.max_appearances_below), self._eligibility(), self._kind_caps(),
            Pins(self.pins, self.n_rows, self._min_titles(), self._eligibility()), RowCount(self.n_rows),
            RowLength(self.row_length, self._min_titles()), UniqueKeys(),
        ]  # fmt: skip
        if self.genre_cap is not None:
            own.append(GenreSpanCap(self.genre_cap.max_rows, self.genre_cap.span))
        return (*sorted(own, key=lambda c: c.name), *self.rules)


def _contradictions(p: Policy) -> list[str]:
    out: list[str] = []
    if p.min_titles > p.row_length:
        out.append(f"min_titles ({p.min_titles}) > row_length ({p.row_length})")
    for kind, n in sorted(p.min_titles_per_kind.items()):
        if not 1 <= n <= p.row_length:
            out.append(f"min_titles_per_kind.{kind} ({n}) outside 1..row_length ({p.row_length})")
    if p.max_appearances_below is not None and p.dedup != "window":
        out.append(f"max_appearances_below ({p.max_appearances_below}) needs dedup = 'window' (dedup = {p.dedup!r})")
    for device, w in sorted(p.windows.items()):
        if w.rows > p.n_rows:
            out.append(f"windows.{device}.rows ({w.rows}) > n_rows ({p.n_rows})")
        if w.columns > p.row_length:
            out.append(f"windows.{device}.columns ({w.columns}) > row_length ({p.row_length})")
    for kind, cap in sorted(p.max_rows_per_kind.items()):
        if cap < 0:
            out.append(f"max_rows_per_kind.{kind} ({cap}) < 0")
    seen: dict[str, int] = {}
    for i, pin in enumerate(p.pins):
        if pin.kind in seen:
            out.append(f"pins[{seen[pin.kind]}] and pins[{i}] both pin kind {pin.kind!r}")
        seen.setdefault(pin.kind, i)
        if pin.at is not None and pin.at >= p.n_rows:
            out.append(f"pins[{i}].at ({pin.at}) >= n_rows ({p.n_rows})")
        if pin.within is not None and pin.within > p.n_rows:
            out.append(f"pins[{i}].within ({pin.within}) > n_rows ({p.n_rows})")
        if p.max_rows_per_kind.get(pin.kind, 1) == 0:
            out.append(f"pins[{i}] pins kind {pin.kind!r} but max_rows_per_kind.{pin.kind} = 0")
    if not out:
        for i in _unmatched_pins(p):
            rows = set(p.pins[i].positions(p.n_rows))
            rivals = [j for j, q in enumerate(p.pins) if j != i and rows & set(q.positions(p.n_rows))]
            names = ", ".join(f"pins[{j}] ({p.pins[j].kind})" for j in [*rivals, i])
            out.append(f"pins cannot all hold: {names} compete for rows {sorted(rows)}")
    excluded = set(p.eligibility.exclude_genres)
    if len(excluded) != len(p.eligibility.exclude_genres):
        out.append("eligibility.exclude_genres has repeats")
    return out


def _unmatched_pins(p: Policy) -> list[int]:
    """Pins left without a row by a maximum matching of pins to row indices (Kuhn's algorithm)."""
    owner: dict[int, int] = {}

    def place(i: int, tried: set[int]) -> bool:
        for pos in p.pins[i].positions(p.n_rows):
            if pos in tried:
                continue
            tried.add(pos)
            if pos not in owner or place(owner[pos], tried):
                owner[pos] = i
                return True
        return False

    return [i for i in range(len(p.pins)) if not place(i, set())]


def _explain(err: ValidationError, name: object) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "policy"
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] in ("value_error", "assertion_error"):
            parts.append(msg)
        else:
            parts.append(f"field {loc!r} = {_short(e.get('input'))!r}: {msg}")
    head = f"policy {name!r}: " if name else "policy: "
    return head + "; ".join(parts)


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def load_policy(source: str | Path | Policy) -> Policy:
    """A policy by preset name (``"default"``, ``"tv"``, ``"mobile"``, ``"kids"``) or from a .toml/.json file.

    The policy's ``name`` defaults to the preset name or the file's stem. Errors name the file.
    """
    if isinstance(source, Policy):
        return source
    text_source = str(source)
    if isinstance(source, str) and source in PRESETS:
        where = f"policies/{source}.toml"
        raw = resources.files("policies").joinpath(f"{source}.toml").read_text(encoding="utf-8")
        stem, suffix = source, ".toml"
    else:
        path = Path(source)
        if not path.is_file():
            raise PolicyError(f"{text_source}: no such policy file, and not a preset name (presets: {', '.join(PRESETS)})")
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise PolicyError(f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})") from None
        where, stem, suffix = str(path), path.stem, path.suffix.lower()
    try:
        data = json.loads(raw) if suffix == ".json" else tomllib.loads(raw)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise PolicyError(f"{where}: not valid {'JSON' if suffix == '.json' else 'TOML'}: {err}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: expected a table of policy fields")
    if "rules" in data:
        raise PolicyError(f"{where}: field 'rules' holds Python objects (constraints) and cannot come from a file; set it in code")
    data.setdefault("name", stem)
    try:
        return Policy(**data)
    except PolicyError as err:
        raise PolicyError(f"{where}: {err}") from None


def policy_eligible(policy: Policy, catalog: Any) -> Any:
    """Bool mask over the catalog of titles the policy allows (maturity cap, excluded genres).

    Excluded genre names the catalog does not have are ignored (a policy serves many catalogs).
    """
    return policy._eligibility().allowed(catalog)
