"""pagegen: personalized streaming homepage construction.

Data (Catalog, Interactions, UserState) -> fit (Model) -> rows rankers (CandidateRow)
-> a selector under a policies.Policy (Engine, build_page) -> Page (JSON, HTML, batches)
-> offline evaluation (evaluate).
"""

from ._batch import BatchConfig, BatchError, BatchResult, run_batch
from ._candidates import ROW_KINDS, CandidateRow, RankContext, Ranker, SharedContext
from ._catalog import ITEM_KINDS, MATURITY_LEVELS, Catalog
from ._engine import Engine, build_page
from ._errors import DataError, ModelFileError, PagegenError, PolicyError
from ._fit import FitConfig, fit
from ._interactions import EVENT_KINDS, Interactions
from ._learned import LearnedScorer
from ._learned_select import learned_selector
from ._load import Dataset, Links, LoadReport, SkippedLine, load_catalog, load_dataset, load_events, load_movielens
from ._metrics import n2dcg, recall, recall_curve
from ._model import Model
from ._page import PAGE_FORMAT_VERSION, Page, PageRow, Slot, Trace, page_grid
from ._render import render_html, render_text
from ._replay import EvalConfig, evaluate
from ._report import EvalResult, SelectorResult
from ._select import SELECTORS, Selector
from ._splits import Split, leave_last_split, time_split
from ._synthetic import SIZES, Truth, World, WorldConfig, synthetic_world
from ._userstate import FINISHED_AT, Profile, UserState
from ._vocab import Vocab

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
    "PolicyError",
    "Profile",
    "ROW_KINDS",
    "RankContext",
    "Ranker",
    "SELECTORS",
    "SIZES",
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
    "recall",
    "recall_curve",
    "render_html",
    "render_text",
    "run_batch",
    "synthetic_world",
    "time_split",
]

__version__ = "0.1.0"
