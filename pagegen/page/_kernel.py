"""The compiled, incremental core of the greedy loop (numba, compiled once per machine: ``cache=True``).

Per request it keeps, for the rows x positions matrix ``M`` of the candidate rows:

- an inverted index, title -> the entries that hold it (titles renumbered 0..U-1 for the request, so
  nothing is proportional to the catalog);
- ``blocks`` int16 (R, Lmax): how many sources withhold each entry (a pad is withheld for good); an entry
  is refilled when no source withholds it. The sources are the dedup rule, kept here from the titles
  the loop places (placing a row visits only the entries of its titles), and the entries masks of every
  other constraint, applied as differences from the mask the constraint gave before;
- per candidate, the values of its first ``width`` refilled entries, in tiles of ``LANES`` candidates
  (tile, column, lane), rebuilt only for the candidates whose entries changed.

The refilled value of every candidate at a row index is then one pass over that matrix:
``sum_c D[p, c] * q_c`` summed in column order, the sum the reference loop (``FillState``) computes.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

__all__ = ["Kernel"]

_JIT = dict(cache=True, nogil=True)
#: Candidates per tile of the packed values: a tile's values at one column fill a cache line.
LANES = 8
_local = threading.local()  # per thread: a catalog-sized scratch of -1, left all -1 after each use


def _scratch(n: int) -> np.ndarray:
    scratch = getattr(_local, "scratch", None)
    if scratch is None or len(scratch) < n:
        scratch = _local.scratch = np.full(max(n, 1), -1, dtype=np.int32)
    return scratch


@numba.njit(**_JIT)
def _index(flat, scratch):  # pragma: no cover - compiled
    """Renumber the titles of ``flat`` (-1: pad) 0..U-1 in order of first entry; the entries of each, row-major.

    Returns (local title of each entry, -1 at pads), (U + 1,) starts, the entries by title, the titles."""
    n = len(flat)
    local = np.full(n, -1, dtype=np.int32)
    titles = np.empty(n, dtype=np.int32)
    u = 0
    for e in range(n):
        t = flat[e]
        if t >= 0:
            k = scratch[t]
            if k < 0:
                k = scratch[t] = u
                titles[u] = t
                u += 1
            local[e] = k
    for k in range(u):  # leave the scratch as found
        scratch[titles[k]] = -1
    start = np.zeros(u + 1, dtype=np.int64)
    for e in range(n):
        if local[e] >= 0:
            start[local[e] + 1] += 1
    for k in range(u):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    entries = np.empty(start[u], dtype=np.int64)
    for e in range(n):
        k = local[e]
        if k >= 0:
            entries[fill[k]] = e
            fill[k] += 1
    return local, start, entries, titles[:u].copy()


@numba.njit(**_JIT)
def _withhold(titles, delta, start, entries, blocks, dirty, n_cols):  # pragma: no cover - compiled
    """Add ``delta`` to the block count of every entry of the given local titles; mark their candidates."""
    flat = blocks.ravel()
    for k in titles:
        for s in range(start[k], start[k + 1]):
            e = entries[s]
            flat[e] += delta
            dirty[e // n_cols] = True


@numba.njit(**_JIT)
def _count(shown, local, count, closed, max_appearances, out):  # pragma: no cover - compiled
    """Count the shown entries' titles; the local titles that reach ``max_appearances`` go to ``out``."""
    n = 0
    for e in shown:
        k = local[e]
        count[k] += 1
        if count[k] >= max_appearances and not closed[k]:
            closed[k] = True
            out[n] = k
            n += 1
    return out[:n]


@numba.njit(**_JIT)
def _apply(allowed, before, blocks, dirty):  # pragma: no cover - compiled
    """A constraint's entries mask changed from ``before`` to ``allowed`` (bool (R, Lmax)): count the difference."""
    n_rows, n_cols = allowed.shape
    for r in range(n_rows):
        for j in range(n_cols):
            if allowed[r, j] != before[r, j]:
                blocks[r, j] += -1 if allowed[r, j] else 1
                dirty[r] = True


@numba.njit(**_JIT)
def _refresh(dirty, blocks, Q, packed, refilled):  # pragma: no cover - compiled
    """Rebuild the packed values and the refilled count of each marked candidate (r: tile r // LANES, lane r % LANES).

    Without a branch on the blocks (half the entries may be withheld late in a page, at random): every entry
    is written at the next free column, which only a refilled entry takes; past ``width``, a spare column."""
    width = packed.shape[1] - 1
    for r in range(len(dirty)):
        if not dirty[r]:
            continue
        dirty[r] = False
        tile, lane = r // LANES, r % LANES
        c = 0
        for j in range(blocks.shape[1]):
            packed[tile, min(c, width), lane] = Q[r, j]
            c += blocks[r, j] == 0
        refilled[r] = c
        for k in range(min(c, width), width + 1):
            packed[tile, k, lane] = 0.0


@numba.njit(**_JIT)
def _values(packed, attention, out):  # pragma: no cover - compiled
    """out[r] = sum_c attention[c] * packed value c of r, summed in column order (vectorized across a tile's lanes)."""
    for tile in range(packed.shape[0]):
        acc = np.zeros(LANES)
        for c in range(packed.shape[1] - 1):
            d = attention[c]
            for lane in range(LANES):
                acc[lane] += packed[tile, c, lane] * d
        out[tile * LANES : (tile + 1) * LANES] = acc


@numba.njit(**_JIT)
def _value(packed, attention, r):  # pragma: no cover - compiled
    total = 0.0
    for c in range(packed.shape[1] - 1):
        total += packed[r // LANES, c, r % LANES] * attention[c]
    return total


@numba.njit(**_JIT)
def _redundancy(red, kind, length, M, other, local, start, entries, n_cols):  # pragma: no cover - compiled
    """Finish ``Problem.redundancy(other)`` from the genre cosines ``red`` (in place), the shared titles from the index."""
    shared = np.zeros(len(red), dtype=np.int64)
    for j in range(length[other]):
        k = local[other * n_cols + j]
        for s in range(start[k], start[k + 1]):
            shared[entries[s] // n_cols] += 1
    for r in range(len(red)):
        x = red[r]
        if x < 0.0:
            x = 0.0
        if x > 1.0:
            x = 1.0
        x += 1.0 if kind[r] == kind[other] else 0.0
        shorter = min(length[r], length[other])
        x += shared[r] / shorter if shorter > 0 else 0.0
        red[r] = x / 3.0
    return red


class Kernel:
    """The kernel's arrays for one request (see the module docstring); the greedy loop drives it."""

    def __init__(self, M: np.ndarray, Q: np.ndarray, width: int, n_items: int) -> None:
        self.M = np.ascontiguousarray(M, dtype=np.int32)
        self.Q = np.ascontiguousarray(Q, dtype=np.float64)
        n_rows, self.n_cols = self.M.shape
        self.local, self.start, self.entries, self.titles = _index(self.M.ravel(), _scratch(n_items))
        self.blocks = (self.M < 0).astype(np.int16)
        self.dirty = np.ones(n_rows, dtype=bool)
        self.packed = np.zeros((-(-n_rows // LANES), min(width, self.n_cols) + 1, LANES))
        self.refilled = np.zeros(n_rows, dtype=np.intp)
        self.count = np.zeros(len(self.titles), dtype=np.int32)
        self.closed = np.zeros(len(self.titles), dtype=bool)

    def withhold(self, titles: np.ndarray, delta: int) -> None:
        """Withhold (delta 1) or release (-1) every entry of the given local titles."""
        _withhold(titles, delta, self.start, self.entries, self.blocks, self.dirty, self.n_cols)

    def count_shown(self, row: int, columns: np.ndarray, max_appearances: int) -> np.ndarray:
        """Count the titles of ``row`` at ``columns`` once more; the local titles this closes."""
        shown = row * self.n_cols + np.asarray(columns, dtype=np.int64)
        return _count(shown, self.local, self.count, self.closed, max_appearances, np.empty(len(shown), dtype=np.int32))

    def release_all(self) -> None:
        """Release every title the count closed (the dedup scope ended)."""
        closed = np.flatnonzero(self.closed).astype(np.int32)
        self.closed[:] = False
        self.withhold(closed, -1)

    def apply(self, allowed: np.ndarray, before: np.ndarray) -> None:
        _apply(allowed, before, self.blocks, self.dirty)

    def refresh(self) -> np.ndarray:
        """The refilled count of every candidate, after rebuilding the candidates whose entries changed."""
        _refresh(self.dirty, self.blocks, self.Q, self.packed, self.refilled)
        return self.refilled

    def values(self, attention: np.ndarray) -> np.ndarray:
        """float64 (R,): sum_c attention[c] * (value of the c-th refilled entry), for c < width."""
        out = np.empty(self.packed.shape[0] * LANES)
        _values(self.packed, np.ascontiguousarray(attention[: self.packed.shape[1] - 1]), out)
        return out[: len(self.dirty)]

    def value(self, attention: np.ndarray, r: int) -> float:
        return _value(self.packed, np.ascontiguousarray(attention[: self.packed.shape[1] - 1]), r)

    def columns(self, r: int, width: int) -> np.ndarray:
        """intp: the first ``width`` refilled entries of candidate r."""
        return np.flatnonzero(self.blocks[r] == 0)[:width]

    def redundancy(self, profile: np.ndarray, kind: np.ndarray, length: np.ndarray, other: int) -> np.ndarray:
        """``Problem.redundancy(other)`` for many entries, its shared titles counted through the index."""
        red = profile @ profile[other]
        return _redundancy(red, kind, length, self.M, other, self.local, self.start, self.entries, self.n_cols)
