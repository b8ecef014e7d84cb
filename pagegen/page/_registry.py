"""The built-in selectors, by name (``SELECTORS``)."""

from __future__ import annotations

from ._learned_select import default_learned_selector
from ._local_search import stage_wise_ls
from ._objective import SelectContext, Selection
from ._select import Selector, row_ranking, stage_wise, stage_wise_intent, template
from ._select_exact import exact

__all__ = ["SELECTORS"]


def _learned(rows, policy, ctx: SelectContext) -> Selection:
    """The learned selector with the scorer shipped in the package (loaded on first use)."""
    return default_learned_selector()(rows, policy, ctx)


#: The built-in selectors, by name.
SELECTORS: dict[str, Selector] = {
    "exact": exact,
    "learned": _learned,
    "row_ranking": row_ranking,
    "stage_wise": stage_wise,
    "stage_wise_intent": stage_wise_intent,
    "stage_wise_ls": stage_wise_ls,
    "template": template,
}
