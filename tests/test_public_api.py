"""The public surface stays small and sorted (STYLE 7)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["pagegen", "rows", "policies"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    for attr in exported:
        assert hasattr(mod, attr), f"{name}.__all__ names {attr!r}, which {name} does not define"


@pytest.mark.parametrize("name", PACKAGES)
def test_modules_are_private(name: str) -> None:
    import pkgutil

    mod = importlib.import_module(name)
    public = [m.name for m in pkgutil.iter_modules(mod.__path__) if not m.name.startswith("_")]
    allowed = {"pagegen": {"testing", "bench"}}.get(name, set())
    assert set(public) <= allowed, f"{name} has public modules {sorted(set(public) - allowed)}"
