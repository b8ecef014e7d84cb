"""Test kit: the reusable ranker, selector and rule contracts, a model test double, and hypothesis
strategies for catalogs, members, candidate rows and policies (import in your own tests)."""

from ._rankers import FixedModel, check_ranker, check_rows, rows_equal
from ._rules import check_constraint, refused_rows
from ._selectors import check_selector
from ._strategies import Instance, candidate_rows, catalogs, instances, members, policies, shrink_policy

__all__ = [
    "FixedModel",
    "Instance",
    "candidate_rows",
    "catalogs",
    "check_constraint",
    "check_ranker",
    "check_rows",
    "check_selector",
    "instances",
    "members",
    "policies",
    "refused_rows",
    "rows_equal",
    "shrink_policy",
]
