"""pagegen: personalized streaming homepage construction.

Data (Catalog, Interactions, UserState) -> fit (Model) -> rows rankers (CandidateRow)
-> a selector under a policies.Policy (Engine, build_page) -> Page (JSON, HTML, batches)
-> offline evaluation (evaluate).
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from .core._candidates import ROW_KINDS, CandidateRow, RankContext, Ranker, SharedContext, row_genres
    from .core._catalog import ITEM_KINDS, MATURITY_LEVELS, Catalog
    from .core._errors import DataError, ModelFileError, PagegenError, PolicyError
    from .core._interactions import EVENT_KINDS, Interactions
    from .core._page import PAGE_FORMAT_VERSION, Page, PageRow, Slot, Trace, page_grid
    from .core._userstate import FINISHED_AT, Profile, UserState
    from .core._vocab import Vocab
    from .data._load import Dataset, Links, LoadReport, SkippedLine, load_catalog, load_dataset, load_events, load_movielens
    from .data._synthetic import SIZES, Truth, World, WorldConfig, synthetic_world
    from .evaluate._metrics import n2dcg, recall, recall_curve
    from .evaluate._replay import EvalConfig, evaluate
    from .evaluate._report import EvalResult, SelectorResult
    from .evaluate._splits import Split, leave_last_split, time_split
    from .learned._learned import LearnedScorer
    from .models._fit import FitConfig, fit
    from .models._model import Model
    from .page._fatigue import FatigueConfig
    from .page._learned_select import learned_selector
    from .page._objective import Placed, SelectContext, Selection
    from .page._registry import SELECTORS
    from .page._select import Selector
    from .serve._batch import BatchConfig, BatchError, BatchResult, run_batch
    from .serve._engine import Engine, build_page
    from .serve._frames import pages_frame
    from .serve._render import render_html, render_text

__all__ = [
    "BatchConfig",
    "BatchError",
    "BatchResult",
    "CandidateRow",
    "Catalog",
    "DataError",
    "Dataset",
    "EVENT_KINDS",
    "Engine",
    "EvalConfig",
    "EvalResult",
    "FINISHED_AT",
    "FatigueConfig",
    "FitConfig",
    "ITEM_KINDS",
    "Interactions",
    "LearnedScorer",
    "Links",
    "LoadReport",
    "MATURITY_LEVELS",
    "Model",
    "ModelFileError",
    "PAGE_FORMAT_VERSION",
    "Page",
    "PageRow",
    "PagegenError",
    "Placed",
    "PolicyError",
    "Profile",
    "ROW_KINDS",
    "RankContext",
    "Ranker",
    "SELECTORS",
    "SIZES",
    "SelectContext",
    "Selection",
    "Selector",
    "SelectorResult",
    "SharedContext",
    "SkippedLine",
    "Slot",
    "Split",
    "Trace",
    "Truth",
    "UserState",
    "Vocab",
    "World",
    "WorldConfig",
    "build_page",
    "evaluate",
    "fit",
    "learned_selector",
    "leave_last_split",
    "load_catalog",
    "load_dataset",
    "load_events",
    "load_movielens",
    "n2dcg",
    "page_grid",
    "pages_frame",
    "recall",
    "recall_curve",
    "render_html",
    "render_text",
    "row_genres",
    "run_batch",
    "synthetic_world",
    "time_split",
]

__version__ = "0.1.0"

#: Where each public name lives; a name's module is imported on first use (PEP 562), so that
#: ``rows`` and ``policies`` can import pagegen's core without loading the layers above it.
_HOMES: dict[str, str] = {
    "BatchConfig": "pagegen.serve._batch",
    "BatchError": "pagegen.serve._batch",
    "BatchResult": "pagegen.serve._batch",
    "CandidateRow": "pagegen.core._candidates",
    "Catalog": "pagegen.core._catalog",
    "DataError": "pagegen.core._errors",
    "Dataset": "pagegen.data._load",
    "EVENT_KINDS": "pagegen.core._interactions",
    "Engine": "pagegen.serve._engine",
    "EvalConfig": "pagegen.evaluate._replay",
    "EvalResult": "pagegen.evaluate._report",
    "FINISHED_AT": "pagegen.core._userstate",
    "FatigueConfig": "pagegen.page._fatigue",
    "FitConfig": "pagegen.models._fit",
    "ITEM_KINDS": "pagegen.core._catalog",
    "Interactions": "pagegen.core._interactions",
    "LearnedScorer": "pagegen.learned._learned",
    "Links": "pagegen.data._load",
    "LoadReport": "pagegen.data._load",
    "MATURITY_LEVELS": "pagegen.core._catalog",
    "Model": "pagegen.models._model",
    "ModelFileError": "pagegen.core._errors",
    "PAGE_FORMAT_VERSION": "pagegen.core._page",
    "Page": "pagegen.core._page",
    "PageRow": "pagegen.core._page",
    "Placed": "pagegen.page._objective",
    "PagegenError": "pagegen.core._errors",
    "PolicyError": "pagegen.core._errors",
    "Profile": "pagegen.core._userstate",
    "ROW_KINDS": "pagegen.core._candidates",
    "RankContext": "pagegen.core._candidates",
    "Ranker": "pagegen.core._candidates",
    "SELECTORS": "pagegen.page._registry",
    "SelectContext": "pagegen.page._objective",
    "Selection": "pagegen.page._objective",
    "SIZES": "pagegen.data._synthetic",
    "Selector": "pagegen.page._select",
    "SelectorResult": "pagegen.evaluate._report",
    "SharedContext": "pagegen.core._candidates",
    "SkippedLine": "pagegen.data._load",
    "Slot": "pagegen.core._page",
    "Split": "pagegen.evaluate._splits",
    "Trace": "pagegen.core._page",
    "Truth": "pagegen.data._synthetic",
    "UserState": "pagegen.core._userstate",
    "Vocab": "pagegen.core._vocab",
    "World": "pagegen.data._synthetic",
    "WorldConfig": "pagegen.data._synthetic",
    "build_page": "pagegen.serve._engine",
    "evaluate": "pagegen.evaluate._replay",
    "fit": "pagegen.models._fit",
    "learned_selector": "pagegen.page._learned_select",
    "leave_last_split": "pagegen.evaluate._splits",
    "load_catalog": "pagegen.data._load",
    "load_dataset": "pagegen.data._load",
    "load_events": "pagegen.data._load",
    "load_movielens": "pagegen.data._load",
    "n2dcg": "pagegen.evaluate._metrics",
    "page_grid": "pagegen.core._page",
    "pages_frame": "pagegen.serve._frames",
    "recall": "pagegen.evaluate._metrics",
    "recall_curve": "pagegen.evaluate._metrics",
    "render_html": "pagegen.serve._render",
    "render_text": "pagegen.serve._render",
    "row_genres": "pagegen.core._candidates",
    "run_batch": "pagegen.serve._batch",
    "synthetic_world": "pagegen.data._synthetic",
    "time_split": "pagegen.evaluate._splits",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pagegen' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
