"""The public surface stays small, sorted and complete (STYLE 7; httpx's test_exported_members)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

PACKAGES = ["pagegen", "rows", "policies", "pagegen.testing"]
#: pagegen's subpackages follow the data flow; their modules are private
SUBPACKAGES = {"bench", "core", "data", "evaluate", "learned", "models", "page", "serve", "testing"}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    for attr in exported:
        assert hasattr(mod, attr), f"{name}.__all__ names {attr!r}, which {name} does not define"


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete(name: str) -> None:
    """Every public name the package holds is in ``__all__`` (after every lazy name is loaded)."""
    mod = importlib.import_module(name)
    for attr in mod.__all__:
        getattr(mod, attr)
    held = {k for k, v in vars(mod).items() if not k.startswith("_") and not isinstance(v, types.ModuleType) and k != "annotations"}
    assert held - set(mod.__all__) == set(), f"{name} holds public names missing from __all__"


@pytest.mark.parametrize("name", ["pagegen", "rows", "policies"])
def test_modules_are_private(name: str) -> None:
    mod = importlib.import_module(name)
    public = [m.name for m in pkgutil.iter_modules(mod.__path__) if not m.name.startswith("_")]
    allowed = SUBPACKAGES if name == "pagegen" else set()
    assert set(public) <= allowed, f"{name} has public modules {sorted(set(public) - allowed)}"
    for sub in set(public) & SUBPACKAGES:
        inner = importlib.import_module(f"{name}.{sub}")
        exposed = [m.name for m in pkgutil.iter_modules(inner.__path__) if not m.name.startswith("_")]
        assert exposed == [], f"{name}.{sub} has public modules {exposed}"


def test_rows_and_policies_leave_the_upper_layers_unloaded() -> None:
    """Importing rows or policies loads pagegen's core (and models), never the page builder or the service."""
    import subprocess
    import sys

    code = "import rows, policies, sys; print(sorted(m for m in sys.modules if m.startswith('pagegen.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for upper in ("pagegen.page", "pagegen.serve", "pagegen.evaluate", "pagegen.bench"):
        assert f"'{upper}" not in loaded, f"importing rows/policies loads {upper}: {loaded}"
