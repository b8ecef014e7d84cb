"""Shared fixtures: the MovieLens folder (skip or fail when absent) and hypothesis profiles."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
ML_SMALL = Path(os.environ.get("PAGEGEN_DATA", REPO.parent / "shared" / "data")) / "ml-latest-small"
REQUIRE_DATA = os.environ.get("PAGEGEN_REQUIRE_DATA") == "1"


def _materialize_ml_tiny() -> Path:
    """The hand-made MovieLens-format fixture as a folder of ``*.csv`` files.

    The files are tracked as ``*.csv.in`` so that no file in the repository looks like a copy of
    the MovieLens data set (whose license forbids redistribution); they hold made-up titles and ids.
    """
    root = Path(tempfile.mkdtemp(prefix="pagegen-ml-tiny-")) / "movielens_tiny"
    root.mkdir()
    for src in (REPO / "tests" / "data" / "movielens_tiny").glob("*.csv.in"):
        shutil.copyfile(src, root / src.name.removesuffix(".in"))
    atexit.register(shutil.rmtree, root.parent, True)
    return root


ML_TINY = _materialize_ml_tiny()

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=100, deadline=None, derandomize=True, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def require_ml_small() -> Path:
    """The ml-latest-small folder; skips the test when absent, fails when PAGEGEN_REQUIRE_DATA=1."""
    if (ML_SMALL / "ratings.csv").is_file():
        return ML_SMALL
    reason = f"MovieLens folder not found at {ML_SMALL} (set PAGEGEN_DATA to its parent)"
    if REQUIRE_DATA:
        pytest.fail(reason + " and PAGEGEN_REQUIRE_DATA=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ml_small_dir() -> Path:
    return require_ml_small()


@pytest.fixture(scope="session")
def tiny_world():
    """The tiny synthetic world (seed 0), built once for the tests that only read it."""
    from pagegen import synthetic_world

    return synthetic_world("tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_world):
    """A model fitted on the tiny world, once for the tests that only read it."""
    from pagegen import fit

    return fit(tiny_world.catalog, tiny_world.interactions, profiles=tiny_world.profiles, progress=False)
