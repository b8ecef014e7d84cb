"""Test kit: the reusable ranker contract, a model test double, and hypothesis strategies for
catalogs, members, candidate rows and policies (import in your own tests)."""

from ._rankers import FixedModel, check_ranker, check_rows, rows_equal
from ._strategies import Instance, candidate_rows, catalogs, instances, members, policies, shrink_policy

__all__ = [
    "FixedModel",
    "Instance",
    "candidate_rows",
    "catalogs",
    "check_ranker",
    "check_rows",
    "instances",
    "members",
    "policies",
    "rows_equal",
    "shrink_policy",
]
