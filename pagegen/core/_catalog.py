"""The catalog: a frozen, column-oriented table of titles."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._arrays import frozen
from ._errors import DataError
from ._extras import frames
from ._vocab import Vocab

__all__ = ["ITEM_KINDS", "MATURITY_LEVELS", "Catalog", "available", "catalog_cached"]

#: Item kinds, by code: ``Catalog.kind`` holds the index into this tuple.
ITEM_KINDS: tuple[str, ...] = ("movie", "series", "episode")
#: Maturity levels, by code: ``Catalog.maturity`` and ``Profile.maturity`` index this tuple.
#: A title is eligible for a profile when ``catalog.maturity[i] <= profile.maturity``.
MATURITY_LEVELS: tuple[str, ...] = ("all", "7+", "13+", "16+", "18+")


@dataclass(frozen=True, eq=False, repr=False)
class Catalog:
    """Column-oriented item table; row ``i`` of every column describes title ``i``.

    Columns (length ``n``):
      ids/vocab   external ids (strings) and their index
      titles      display titles
      genres      dense bool (n, len(genre_names)) multi-hot
      kind        int8 code into ITEM_KINDS
      series      int32 index of the series item an episode belongs to, -1 otherwise
      season, episode  int16, 0 when not an episode
      duration    float32 minutes, 0 when unknown
      maturity    int8 code into MATURITY_LEVELS
      year        int16 release year, 0 when unknown
      released    int64 release time (epoch seconds), 0 when unknown
      added       int64 time the title joined the service (epoch seconds)
      regions     dense bool (n, len(region_names)); a title with no region set is
                  available everywhere
      tags        sparse CSR float32 (n, len(tag_names)): tag weights (counts)
    """

    vocab: Vocab
    titles: np.ndarray
    genre_names: tuple[str, ...]
    genres: np.ndarray
    kind: np.ndarray
    series: np.ndarray
    season: np.ndarray
    episode: np.ndarray
    duration: np.ndarray
    maturity: np.ndarray
    year: np.ndarray
    released: np.ndarray
    added: np.ndarray
    region_names: tuple[str, ...] = ()
    regions: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    tag_names: tuple[str, ...] = ()
    tags: sp.csr_array | None = None

    def __post_init__(self) -> None:
        n = len(self.vocab)
        set_ = object.__setattr__
        cols = {
            "titles": (self.titles, np.str_),
            "kind": (self.kind, np.int8),
            "series": (self.series, np.int32),
            "season": (self.season, np.int16),
            "episode": (self.episode, np.int16),
            "duration": (self.duration, np.float32),
            "maturity": (self.maturity, np.int8),
            "year": (self.year, np.int16),
            "released": (self.released, np.int64),
            "added": (self.added, np.int64),
        }
        for name, (value, dtype) in cols.items():
            arr = np.asarray(value, dtype=dtype)
            if arr.shape != (n,):
                raise DataError(f"column has shape {arr.shape}, expected ({n},)", field=name)
            set_(self, name, frozen(arr))
        genres = np.asarray(self.genres, dtype=bool).reshape(n, len(self.genre_names))
        set_(self, "genres", frozen(genres))
        set_(self, "genre_names", tuple(self.genre_names))
        regions = np.asarray(self.regions, dtype=bool)
        if regions.size == 0:
            regions = np.zeros((n, len(self.region_names)), dtype=bool)
        if regions.shape != (n, len(self.region_names)):
            raise DataError(f"regions has shape {regions.shape}, expected ({n}, {len(self.region_names)})", field="regions")
        set_(self, "regions", frozen(regions))
        set_(self, "region_names", tuple(self.region_names))
        tags = self.tags
        if tags is None:
            tags = sp.csr_array((n, len(self.tag_names)), dtype=np.float32)
        tags = sp.csr_array(tags, dtype=np.float32)
        if tags.shape != (n, len(self.tag_names)):
            raise DataError(f"tags has shape {tags.shape}, expected ({n}, {len(self.tag_names)})", field="tags")
        set_(self, "tags", tags)
        set_(self, "tag_names", tuple(self.tag_names))
        if n and (self.kind.min() < 0 or self.kind.max() >= len(ITEM_KINDS)):
            raise DataError("item kind code out of range", field="kind")
        if n and (self.maturity.min() < 0 or self.maturity.max() >= len(MATURITY_LEVELS)):
            raise DataError("maturity code out of range", field="maturity")
        if n and (self.series.min() < -1 or self.series.max() >= n):
            raise DataError("series index out of range", field="series")
        if not np.all(np.isfinite(self.duration)):
            bad = int(np.flatnonzero(~np.isfinite(self.duration))[0])
            raise DataError("non-finite duration", field="duration", value=f"{self.ids[bad]}: {self.duration[bad]}")

    # -- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: Sequence[object],
        titles: Sequence[str],
        genres: Sequence[Sequence[str]] | None = None,
        *,
        kind: Sequence[str] | None = None,
        series: Sequence[object | None] | None = None,
        season: Sequence[int] | None = None,
        episode: Sequence[int] | None = None,
        duration: Sequence[float] | None = None,
        maturity: Sequence[str] | None = None,
        year: Sequence[int] | None = None,
        released: Sequence[int] | None = None,
        added: Sequence[int] | None = None,
        regions: Sequence[Sequence[str]] | None = None,
        tags: Sequence[Sequence[str] | dict[str, float]] | None = None,
        genre_names: Sequence[str] | None = None,
    ) -> Catalog:
        """Build a catalog from plain Python columns (names, not codes). For tests and small data."""
        vocab = Vocab(ids, what="item id")
        n = len(vocab)

        def col(values, default, name):
            if values is None:
                return [default] * n
            if len(values) != n:
                raise DataError(f"has {len(values)} values for {n} ids", field=name)
            return list(values)

        genre_lists = col(genres, (), "genres")
        names = list(genre_names) if genre_names is not None else sorted({g for gs in genre_lists for g in gs})
        gpos = {g: j for j, g in enumerate(names)}
        gmat = np.zeros((n, len(names)), dtype=bool)
        for i, gs in enumerate(genre_lists):
            for g in gs:
                if g not in gpos:
                    raise DataError("unknown genre", field="genres", value=g)
                gmat[i, gpos[g]] = True
        kind_codes = [_code(k, ITEM_KINDS, "kind") for k in col(kind, "movie", "kind")]
        mat_codes = [_code(m, MATURITY_LEVELS, "maturity") for m in col(maturity, "all", "maturity")]
        series_idx = [-1 if s is None else vocab.index(s, what="series id") for s in col(series, None, "series")]
        region_lists = col(regions, (), "regions")
        rnames = sorted({r for rs in region_lists for r in rs})
        rpos = {r: j for j, r in enumerate(rnames)}
        rmat = np.zeros((n, len(rnames)), dtype=bool)
        for i, rs in enumerate(region_lists):
            for r in rs:
                rmat[i, rpos[r]] = True
        tag_lists = col(tags, (), "tags")
        tnames = sorted({t for ts in tag_lists for t in ts})
        tpos = {t: j for j, t in enumerate(tnames)}
        rows_, cols_, vals_ = [], [], []
        for i, ts in enumerate(tag_lists):
            weights = ts if isinstance(ts, dict) else dict.fromkeys(ts, 1.0)
            for t, w in weights.items():
                rows_.append(i)
                cols_.append(tpos[t])
                vals_.append(float(w))
        tmat = sp.csr_array((np.asarray(vals_, np.float32), (rows_, cols_)), shape=(n, len(tnames)))
        years = col(year, 0, "year")
        return cls(
            vocab=vocab,
            titles=np.asarray(col(titles, "", "titles") if titles is not None else [""] * n, dtype=np.str_),
            genre_names=tuple(names),
            genres=gmat,
            kind=np.asarray(kind_codes, np.int8),
            series=np.asarray(series_idx, np.int32),
            season=np.asarray(col(season, 0, "season"), np.int16),
            episode=np.asarray(col(episode, 0, "episode"), np.int16),
            duration=np.asarray(col(duration, 0.0, "duration"), np.float32),
            maturity=np.asarray(mat_codes, np.int8),
            year=np.asarray(years, np.int16),
            released=np.asarray(col(released, 0, "released"), np.int64),
            added=np.asarray(col(added, 0, "added"), np.int64),
            region_names=tuple(rnames),
            regions=rmat,
            tag_names=tuple(tnames),
            tags=tmat,
        )

    @classmethod
    def from_pandas(cls, frame: Any, *, lenient: bool = False) -> Catalog:
        """A catalog from a pandas DataFrame with the columns of the generic catalog file (``id``
        and ``title``, the rest optional; list fields as lists or "|"-separated strings; times as
        epoch seconds, datetimes or ISO 8601 strings; missing cells take the field's default).
        The loader's checks apply: a bad value is a DataError naming the row (its position, from
        0), the column and the value; ``lenient`` skips bad rows with a warning. Needs the
        ``frames`` extra (pandas)."""
        return frames("catalog_from_pandas")(frame, lenient=lenient)

    @classmethod
    def from_arrow(cls, table: Any, *, lenient: bool = False) -> Catalog:
        """``from_pandas`` for a pyarrow Table (or RecordBatch) with the same columns (the ``frames`` extra)."""
        return frames("catalog_from_arrow")(table, lenient=lenient)

    # -- views ------------------------------------------------------------------------

    @property
    def ids(self) -> np.ndarray:
        return self.vocab.ids

    @property
    def n(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def index(self, item_id: object) -> int:
        return self.vocab.index(item_id, what="item id")

    def displayable(self) -> np.ndarray:
        """Titles that can be a tile on the page: movies and series (episodes are reached through their series)."""
        return self.kind != ITEM_KINDS.index("episode")

    def available_in(self, region: str | None) -> np.ndarray:
        """Bool mask of titles available in ``region`` (all, when the region or the catalog has none)."""
        if region is None or not self.region_names:
            return np.ones(self.n, dtype=bool)
        if region not in self.region_names:
            raise DataError("unknown region", field="region", value=region)
        j = self.region_names.index(region)
        return self.regions[:, j] | ~self.regions.any(axis=1)

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the title ids in index order: a model fitted on this catalog records it, and
        refuses a catalog whose ids differ (another order or other titles mean other indices)."""
        h = hashlib.sha256()
        for lo in range(0, self.n, 100_000):  # one update per block: the same digest, fast for large catalogs
            h.update("".join(f"{len(i)}:{i}" for i in self.ids[lo : lo + 100_000].tolist()).encode("utf-8"))
        return h.hexdigest()

    def genres_of(self, item: int) -> list[str]:
        return [self.genre_names[j] for j in np.flatnonzero(self.genres[item])]

    def __repr__(self) -> str:
        return f"Catalog(n={self.n}, genres={len(self.genre_names)}, regions={len(self.region_names)}, tags={len(self.tag_names)})"


def _code(value: str, names: tuple[str, ...], field_name: str) -> int:
    try:
        return names.index(value)
    except ValueError:
        raise DataError(f"expected one of {', '.join(names)}", field=field_name, value=value) from None


def available(catalog: Catalog, region: str | None, items: np.ndarray | None = None) -> np.ndarray:
    """Whether each title (each of ``items``; default: the catalog's) is available in ``region``: the
    unrestricted titles, and those licensed there (a region the catalog does not name sees the
    unrestricted titles only; ``Catalog.available_in`` refuses it instead)."""
    regions = catalog.regions if items is None else catalog.regions[items]
    if region is None or not catalog.region_names:
        return np.ones(len(regions), dtype=bool)
    out = ~regions.any(axis=1)
    if region in catalog.region_names:
        out |= regions[:, catalog.region_names.index(region)]
    return out


_CATALOG_CACHE: weakref.WeakKeyDictionary[Catalog, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def catalog_cached(catalog: Catalog, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per catalog object for ``key`` (precomputed indexes; the catalog is frozen)."""
    per = _CATALOG_CACHE.setdefault(catalog, {})
    try:
        return per[key]
    except KeyError:
        value = per[key] = compute()
        return value
