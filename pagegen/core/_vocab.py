"""External id <-> internal index vocabularies (ids appear only at the edges)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ._errors import DataError

__all__ = ["Vocab"]


class Vocab:
    """An immutable, ordered mapping between external string ids and indices 0..n-1.

    External ids are strings everywhere (``"1"`` for MovieLens movie 1); integers given
    by a caller are converted with ``str``.
    """

    __slots__ = ("_ids", "_index")

    def __init__(self, ids: Iterable[object], *, what: str = "id") -> None:
        arr = np.asarray([str(i) for i in ids], dtype=np.str_)
        index: dict[str, int] = {}
        for pos, key in enumerate(arr.tolist()):
            if key in index:
                raise DataError(f"duplicate {what} (first at position {index[key]})", field=what, value=key)
            index[key] = pos
        arr.setflags(write=False)
        self._ids = arr
        self._index = index

    @property
    def ids(self) -> np.ndarray:
        """The external ids in index order (read-only numpy string array)."""
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return str(key) in self._index

    def index(self, key: object, *, what: str = "id") -> int:
        """The index of one external id; a clear error for an unknown one."""
        try:
            return self._index[str(key)]
        except KeyError:
            raise DataError(f"unknown {what}", field=what, value=key) from None

    def indices(self, keys: Sequence[object], *, what: str = "id") -> np.ndarray:
        """Indices of many external ids (int32); the first unknown one raises."""
        out = np.empty(len(keys), dtype=np.int32)
        get = self._index.get
        for pos, key in enumerate(keys):
            idx = get(str(key))
            if idx is None:
                raise DataError(f"unknown {what} at position {pos}", field=what, value=key)
            out[pos] = idx
        return out

    def id(self, index: int) -> str:
        return str(self._ids[index])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash(tuple(self._ids.tolist()))

    def __repr__(self) -> str:
        return f"Vocab(n={len(self)})"
