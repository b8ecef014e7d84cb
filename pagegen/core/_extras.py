"""Optional libraries, loaded on first use: pandas and pyarrow (the ``frames`` extra).

The core never imports them when it is imported; a call that needs one asks ``require`` and
gets the module, or a PagegenError naming the extra to install instead of an ImportError.

The frame constructors of the core values (``Catalog.from_pandas``, ``Interactions.from_pandas``
...) validate with the loaders of the data layer, one floor up, so that a frame and a file with
the same data give the same values or the same DataError. They reach that layer through
``frames``, by name and on first call, as the package face (``pagegen.__getattr__``) does: the
core imports neither the data layer nor pandas.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ._errors import PagegenError

__all__ = ["EXTRAS", "frames", "require"]

#: The extra that installs each optional library.
EXTRAS = {"pandas": "frames", "pyarrow": "frames"}


def require(name: str, what: str) -> ModuleType:
    """The optional module ``name`` for ``what`` (a feature's name, for the error message)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        extra = EXTRAS.get(name.partition(".")[0], "frames")
        raise PagegenError(f"{what} needs {name.partition('.')[0]}, which is not installed: pip install 'pagegen[{extra}]'") from None


def frames(name: str) -> Callable[..., Any]:
    """A function of the data layer's frame module (``pagegen.data._frames``), loaded on first use."""
    return getattr(importlib.import_module("pagegen.data._frames"), name)
