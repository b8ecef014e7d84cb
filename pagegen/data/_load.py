"""Loaders: a MovieLens folder, or catalog and events files in the generic CSV / JSON-lines format.

Everything read from disk is validated here, at the boundary: a bad line raises a DataError
naming the file, line, field and value; with ``lenient=True`` bad lines are skipped, each one is
listed in the returned LoadReport and a warning gives the count. Nothing is dropped silently.
"""

from __future__ import annotations

from ._load_common import (
    MAX_FIELD_LENGTH,
    MAX_ID_LENGTH,
    MAX_TIMESTAMP,
    MAX_TITLE_LENGTH,
    MIN_TIMESTAMP,
    MOVIELENS_RATING_RANGE,
    RATING_RANGE,
    YEAR_RANGE,
    Dataset,
    Links,
    LoadReport,
    SkippedLine,
)
from ._load_generic import load_catalog, load_dataset, load_events
from ._load_movielens import load_movielens, parse_year

__all__ = [
    "Dataset",
    "Links",
    "LoadReport",
    "MAX_FIELD_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_TIMESTAMP",
    "MAX_TITLE_LENGTH",
    "MIN_TIMESTAMP",
    "MOVIELENS_RATING_RANGE",
    "RATING_RANGE",
    "SkippedLine",
    "YEAR_RANGE",
    "load_catalog",
    "load_dataset",
    "load_events",
    "load_movielens",
    "parse_year",
]
