"""Test kit: the reusable ranker contract and a model test double (import in your own tests)."""

from ._rankers import FixedModel, check_ranker, check_rows, rows_equal

__all__ = ["FixedModel", "check_ranker", "check_rows", "rows_equal"]
