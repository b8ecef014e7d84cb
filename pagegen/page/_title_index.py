"""Inverted index of the candidate rows' titles: where each title stands in the rows x positions matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TitleIndex"]


@dataclass(frozen=True, eq=False)
class TitleIndex:
    """Inverted index of a rows x positions matrix ``M`` (-1 padded) over titles 0..n-1.

    indptr  intp (n + 2,): the entries of title t are ``entry[indptr[t]:indptr[t + 1]]`` (the pads last)
    entry   intp (R * Lmax,): flat positions into ``M``, by title, then row-major
    row     intp (R * Lmax,): the candidate row of each of these entries (``entry // Lmax``)
    count   intp (n + 1,): entries per title (the pad's last)
    """

    indptr: np.ndarray
    entry: np.ndarray
    row: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, M: np.ndarray, n: int) -> TitleIndex:
        """The index of ``M`` (titles in [0, n), pads -1): one stable sort (a radix sort below 2**16 titles)."""
        flat = M.ravel()
        key = np.where(flat >= 0, flat, n).astype(np.uint16 if n < 2**16 else np.intp)
        entry = np.argsort(key, kind="stable")
        count = np.bincount(key, minlength=n + 1)
        indptr = np.zeros(n + 2, dtype=np.intp)
        np.cumsum(count, out=indptr[1:])
        return cls(indptr=indptr, entry=entry, row=entry // max(M.shape[1], 1), count=count)

    def slots(self, titles: np.ndarray) -> np.ndarray:
        """intp: where the entries of the given (distinct) titles stand in ``entry`` and ``row``."""
        count = self.count[titles]
        ends = np.cumsum(count)
        total = int(ends[-1]) if len(ends) else 0
        if total == 0:
            return np.zeros(0, dtype=np.intp)
        return np.arange(total) + np.repeat(self.indptr[titles] - ends + count, count)

    def entries_of(self, titles: np.ndarray) -> np.ndarray:
        """intp: the flat positions in ``M`` of the given (distinct) titles' entries."""
        return self.entry[self.slots(titles)]

    def shared(self, n_rows: int) -> np.ndarray:
        """int64 (n_rows, n_rows): how many titles each pair of candidate rows holds in common (the
        product of the rows x titles incidence with itself), from the pairs of entries of each title."""
        n = len(self.count) - 1  # the pad's entries (last) are not titles
        stop = int(self.indptr[n])
        per_entry = np.repeat(self.count[:n], self.count[:n])  # the size of each entry's title group
        start = np.repeat(self.indptr[:n], self.count[:n])
        left = np.repeat(np.arange(stop), per_entry)
        ends = np.cumsum(per_entry)
        right = np.repeat(start - ends + per_entry, per_entry) + np.arange(int(ends[-1]) if stop else 0)
        pairs = self.row[left] * n_rows + self.row[right]
        return np.bincount(pairs, minlength=n_rows * n_rows).reshape(n_rows, n_rows)

    def rows_of(self, titles: np.ndarray) -> np.ndarray:
        """intp: the candidate row of each entry of the given (distinct) titles (a row once per title it holds)."""
        return self.row[self.slots(titles)]
