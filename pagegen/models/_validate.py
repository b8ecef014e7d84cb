"""The model file's arrays checked before use: dtype, shape, index bounds, order and finiteness.

A model file is data from outside: an edited file whose checksums were recomputed must give a
``ModelFileError`` naming the file, the array and what is wrong, never a crash, an IndexError on
every request or pages built from NaN scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from pagegen.core._errors import ModelFileError

from ._popularity import SPAN

__all__ = ["validate_model"]


class _Checker:
    def __init__(self, arrays: Mapping[str, np.ndarray], where: str) -> None:
        self.a, self.where = arrays, where

    def fail(self, name: str, what: str) -> None:
        raise ModelFileError(f"{self.where}: array {name!r} {what}")

    def array(self, name: str, dtype: str, shape: tuple[int | None, ...], *, finite: bool = False) -> np.ndarray:
        """The array ``name`` of exactly ``dtype`` and ``shape`` (None: any length on that axis)."""
        if name not in self.a:
            raise ModelFileError(f"{self.where}: array {name!r} is missing")
        arr = self.a[name]
        if arr.dtype != np.dtype(dtype):
            self.fail(name, f"has dtype {arr.dtype}, expected {np.dtype(dtype)}")
        if arr.ndim != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)):
            self.fail(name, f"has shape {arr.shape}, expected {tuple('any' if s is None else s for s in shape)}")
        if finite and arr.size and not np.isfinite(arr).all():
            self.fail(name, f"holds a non-finite value ({arr[~np.isfinite(arr)].flat[0]})")
        return arr

    def within(self, name: str, arr: np.ndarray, low: int, high: int) -> None:
        """Every value in [low, high)."""
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < low or hi >= high:
                self.fail(name, f"holds {lo if lo < low else hi}, outside [{low}, {high})")

    def csr(self, name: str, shape: tuple[int, int]) -> None:
        data = self.array(f"{name}_data", "float32", (None,), finite=True)
        indices = self.array(f"{name}_indices", "int32", (len(data),))
        indptr = self.array(f"{name}_indptr", "int64", (shape[0] + 1,))
        if indptr[0] != 0 or indptr[-1] != len(data) or np.any(np.diff(indptr) < 0):
            self.fail(f"{name}_indptr", f"is not a row index of {len(data)} entries (starts at 0, never falls, ends at the entry count)")
        self.within(f"{name}_indices", indices, 0, shape[1])


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _meta_number(meta: Mapping[str, Any], key: str, where: str, *, whole: bool = False) -> float:
    value = meta.get(key)
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value):
        raise ModelFileError(f"{where}: manifest field 'meta.{key}' = {value!r}: expected a finite {'whole ' if whole else ''}number")
    return value


def validate_model(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], where: str) -> None:
    """Raise ModelFileError unless ``arrays`` and ``meta`` form a model as ``fit`` writes one."""
    n = int(_meta_number(meta, "n_items", where, whole=True))
    if n < 0:
        raise ModelFileError(f"{where}: manifest field 'meta.n_items' = {n}: expected >= 0")
    digest = meta.get("catalog_sha256")
    if not isinstance(digest, str) or len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise ModelFileError(f"{where}: manifest field 'meta.catalog_sha256' = {_short(digest)!r}: expected the catalog's SHA-256 (64 hex digits)")
    for key in ("origin",):
        _meta_number(meta, key, where, whole=True)
    for key in ("mu", "blend_bias"):
        _meta_number(meta, key, where)
    features, regions, personal = meta.get("features"), meta.get("region_names"), meta.get("personal")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ModelFileError(f"{where}: manifest field 'meta.features' = {features!r}: expected a list of names")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise ModelFileError(f"{where}: manifest field 'meta.region_names' = {regions!r}: expected a list of names")
    if personal not in ("ease", "als"):
        raise ModelFileError(f"{where}: manifest field 'meta.personal' = {personal!r}: expected 'ease' or 'als'")
    check = _Checker(arrays, where)
    fold = check.array("fold", "int32", (n,))
    check.within("fold", fold, 0, n)
    if n and np.any(fold[fold] != fold):
        check.fail("fold", "maps a title to one that is not its own tile (fold[fold] != fold)")
    _similarity(check, meta, n, personal)
    if "next_indptr" in arrays:
        if meta.get("next_shape") != [n, n]:
            raise ModelFileError(f"{where}: manifest field 'meta.next_shape' = {meta.get('next_shape')!r}: expected [{n}, {n}]")
        check.csr("next", (n, n))
    if "clock" in arrays:
        check.array("clock", "float32", (n, 6), finite=True)
    if "neighbours_indptr" in arrays:
        shape = meta.get("neighbours_shape")
        if not (isinstance(shape, list) and len(shape) == 2 and isinstance(shape[0], int) and shape[0] >= 0 and shape[1] == n):
            raise ModelFileError(f"{where}: manifest field 'meta.neighbours_shape' = {_short(shape)!r}: expected [members, {n}]")
        check.csr("neighbours", (shape[0], n))
    check.array("mf_bias", "float32", (n,), finite=True)
    check.array("mf_factors", "float32", (n, None), finite=True)
    content_shape = meta.get("content_shape")
    if not (isinstance(content_shape, list) and len(content_shape) == 2 and content_shape[0] == n and isinstance(content_shape[1], int) and content_shape[1] >= 0):
        raise ModelFileError(f"{where}: manifest field 'meta.content_shape' = {content_shape!r}: expected [{n}, dimensions]")
    check.csr("content", (n, content_shape[1]))
    genres = check.array("genres", "float32", (n, None), finite=True)
    norm = check.array("genre_norm", "float32", (n,), finite=True)
    if np.any(norm < 0) or not np.allclose(norm, np.linalg.norm(genres, axis=1), rtol=1e-4, atol=1e-6):
        check.fail("genre_norm", "is not the norm of each title's genres")
    check.array("year", "int16", (n,))
    if "next_episode" in arrays or "added" in arrays:
        nxt = check.array("next_episode", "int32", (n,))
        check.within("next_episode", nxt, -1, n)
        after = np.flatnonzero(nxt >= 0)
        if np.any(fold[nxt[after]] != fold[after]) or np.any(fold[after] == after):
            check.fail("next_episode", "links a title to one of another series (or a title that is not an episode)")
        check.array("added", "int64", (n,))
    check.array("regions", "bool", (n, len(regions)))
    for name in ["pop_keys", *(f"pop_keys_region_{r}" for r in regions if f"pop_keys_region_{r}" in arrays)]:
        keys = check.array(name, "int64", (None,))
        check.within(name, keys, 0, n * int(SPAN))
        if np.any(np.diff(keys) < 0):
            check.fail(name, "is not sorted")
    for name in ("blend_weights", "blend_mean", "blend_scale"):
        check.array(name, "float64", (len(features),), finite=True)
    if np.any(arrays["blend_scale"] == 0):
        check.fail("blend_scale", "holds 0 (a feature scale divides)")
    known = {"fold", "ease_items", "ease_pos", "ease_weights", "topk_data", "topk_indices", "topk_indptr", "als_items", "mf_bias", "mf_factors",
             "content_data", "content_indices", "content_indptr", "genres", "genre_norm", "year", "regions", "pop_keys",
             "blend_weights", "blend_mean", "blend_scale", "next_data", "next_indices", "next_indptr", "clock",
             "neighbours_data", "neighbours_indices", "neighbours_indptr", "next_episode", "added"} | {f"pop_keys_region_{r}" for r in regions}  # fmt: skip
    unknown = sorted(set(arrays) - known)
    if unknown:
        check.fail(unknown[0], "is not an array of a pagegen model")


def _similarity(check: _Checker, meta: Mapping[str, Any], n: int, personal: str) -> None:
    """EASE (with ease_pos, its inverse) or sparse top-k neighbours, and ALS factors."""
    a = check.a
    if personal == "ease" or "ease_items" in a:
        items = check.array("ease_items", "int32", (None,))
        m = len(items)
        check.within("ease_items", items, 0, n)
        if np.any(np.diff(items) <= 0):
            check.fail("ease_items", "is not strictly increasing")
        pos = check.array("ease_pos", "int32", (n,))
        check.within("ease_pos", pos, -1, m)
        expected = np.full(n, -1, dtype=np.int32)
        expected[items] = np.arange(m, dtype=np.int32)
        if not np.array_equal(pos, expected):
            check.fail("ease_pos", "is not the position of each title in ease_items (-1 elsewhere)")
        check.array("ease_weights", "float32", (m, m), finite=True)
    if personal == "als" or "topk_indptr" in a:
        if meta.get("topk_shape") != [n, n]:
            raise ModelFileError(f"{check.where}: manifest field 'meta.topk_shape' = {meta.get('topk_shape')!r}: expected [{n}, {n}]")
        check.csr("topk", (n, n))
    if personal == "als" or "als_items" in a:
        check.array("als_items", "float32", (n, None), finite=True)
