"""The synthetic world's catalog: tastes, genres, titles, series with seasons and episodes.

Every title belongs mainly to one latent *taste* (a cluster such as Action/Adventure/Sci-Fi
blockbusters or Horror/Thriller), some to a second one (crossovers). The tastes generate the
genre sets, maturity ratings, episode lengths and tags, so these columns co-occur the way they
do on a real service. Rows ``0 .. n_titles - 1`` are the displayable titles (movies and series);
the episodes follow, each series' episodes contiguous and ordered by (season, episode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from pagegen.core._catalog import ITEM_KINDS, Catalog
from pagegen.core._time import DAY
from pagegen.core._vocab import Vocab

if TYPE_CHECKING:
    from ._world_config import WorldConfig

__all__ = ["GENRES", "LANGUAGES", "REGIONS", "TAGS", "TASTES", "ItemLatent", "make_catalog"]

YEAR = 365 * DAY

GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Family", "Fantasy", "History", "Horror", "Music", "Mystery", "Reality", "Romance", "Sci-Fi",
    "Sport", "Thriller", "War", "Western",
)  # fmt: skip
TAGS: tuple[str, ...] = (
    "award-winning", "based on a book", "based on a true story", "binge-worthy", "critically acclaimed",
    "cult classic", "dark", "epic", "feel-good", "franchise", "gritty", "heartwarming", "musical numbers",
    "quirky", "slow burn", "thought-provoking", "twist ending", "visually stunning",
)  # fmt: skip
#: Region codes and the language of each region's profiles.
REGIONS: tuple[str, ...] = ("BR", "DE", "FR", "GB", "JP", "US")
LANGUAGES: tuple[str, ...] = ("pt-BR", "de-DE", "fr-FR", "en-GB", "ja-JP", "en-US")

#: name: (genre probabilities, P(maturity level), tags, share of titles, short episodes?)
TASTES: dict[str, tuple[dict[str, float], tuple[float, ...], tuple[str, ...], float, bool]] = {
    "blockbuster": ({"Action": 0.9, "Adventure": 0.7, "Sci-Fi": 0.5, "Fantasy": 0.25, "Thriller": 0.2},
                    (0.02, 0.08, 0.5, 0.3, 0.1), ("visually stunning", "epic", "franchise"), 0.16, False),
    "romcom": ({"Romance": 0.85, "Comedy": 0.8, "Drama": 0.3, "Music": 0.1},
               (0.1, 0.2, 0.5, 0.15, 0.05), ("feel-good", "quirky", "heartwarming"), 0.13, True),
    "horror": ({"Horror": 0.95, "Thriller": 0.6, "Mystery": 0.35},
               (0.0, 0.0, 0.1, 0.45, 0.45), ("dark", "slow burn", "twist ending", "cult classic"), 0.10, False),
    "family": ({"Family": 0.9, "Children": 0.8, "Animation": 0.7, "Comedy": 0.45, "Fantasy": 0.3, "Adventure": 0.3, "Music": 0.1},
               (0.6, 0.35, 0.05, 0.0, 0.0), ("heartwarming", "feel-good", "musical numbers"), 0.13, True),
    "crime": ({"Crime": 0.9, "Thriller": 0.55, "Drama": 0.5, "Mystery": 0.45},
              (0.0, 0.0, 0.2, 0.45, 0.35), ("gritty", "twist ending", "based on a true story", "binge-worthy"), 0.13, False),
    "documentary": ({"Documentary": 0.95, "History": 0.4, "Sport": 0.25, "Music": 0.2},
                    (0.3, 0.3, 0.3, 0.1, 0.0), ("based on a true story", "thought-provoking", "award-winning"), 0.08, False),
    "drama": ({"Drama": 0.95, "History": 0.35, "War": 0.3, "Romance": 0.25, "Western": 0.15},
              (0.0, 0.05, 0.4, 0.4, 0.15), ("award-winning", "critically acclaimed", "slow burn", "based on a book"), 0.17, False),
    "light": ({"Comedy": 0.85, "Reality": 0.45, "Sport": 0.2, "Music": 0.2, "Family": 0.1},
              (0.15, 0.25, 0.45, 0.15, 0.0), ("feel-good", "binge-worthy", "quirky"), 0.10, True),
}  # fmt: skip
TASTE_NAMES: tuple[str, ...] = tuple(TASTES)
FAMILY = TASTE_NAMES.index("family")

_ADJ = (
    "Silent Broken Hidden Last Golden Crimson Dark Endless Frozen Burning Lost Secret Wild Forgotten Hollow "
    "Midnight Distant Shattered Quiet Restless Savage Scarlet Silver Twisted Wicked Velvet Iron Electric "
    "Fading Fallen Gentle Glass Grand Hungry Invisible Lonely Lucky Northern Pale Perfect Radiant Rising "
    "Rogue Sacred Sleeping Southern Stolen Strange Sunken Tender Violet Wandering Winter Yellow Brave "
    "Bitter Blue Cold Crooked Dancing Deep Eternal Final"
).split()
_NOUN = (
    "Harbor River Kingdom Garden Horizon Empire Shadow Storm Mirror Voyage Orchard Lighthouse Frontier "
    "Valley Island Signal Promise Station Circus Crown Forest Bridge Canyon Castle City Coast Comet Compass "
    "Desert Dream Echo Engine Flame Fortress Galaxy Ghost Hunter Journey Key Labyrinth Legacy Machine Meadow "
    "Moon Mountain Night Ocean Palace Passage Planet Prophecy Queen Rain Reckoning Road Rose Ruins Shore Sky "
    "Song Spark Spiral Star Stranger Summer Sun Tide Tower Train Treasure Tunnel Village Wave Wind Witness "
    "Wolf Heart Hour House Line Letter Map Market Game Gate Field Diary Circle Code Archive Atlas Anthem"
).split()


@dataclass(frozen=True, eq=False)
class ItemLatent:
    """What the generator knows about every catalog row (episodes copy their series).

    taste      float32 (n_items, n_tastes) loadings, rows sum to 1
    quality    float32 (n_items,) intrinsic appeal (logit offset)
    first_episode, n_episodes  int32 (n_items,): a series' episode rows, 0/0 otherwise
    """

    taste: np.ndarray
    quality: np.ndarray
    first_episode: np.ndarray
    n_episodes: np.ndarray


def _row_choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows sum to 1), vectorized."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1)


def _titles(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct readable titles ("The Silent Harbor", "Echo of the Valley", ...)."""
    na, nn = len(_ADJ), len(_NOUN)
    small = (na * nn, na * nn, nn * (nn - 1))  # "The A N", "A N", "N of the N2"
    n_small = min(int(0.7 * n), sum(small) // 2)
    codes = rng.choice(sum(small), size=n_small, replace=False)
    big = rng.choice(nn * na * (nn - 1), size=n - n_small, replace=False)  # "The N of the A N2"
    out: list[str] = []
    for c in codes.tolist():
        if c < small[0]:
            out.append(f"The {_ADJ[c // nn]} {_NOUN[c % nn]}")
        elif c < small[0] + small[1]:
            c -= small[0]
            out.append(f"{_ADJ[c // nn]} {_NOUN[c % nn]}")
        else:
            c -= small[0] + small[1]
            a, b = divmod(c, nn - 1)
            out.append(f"{_NOUN[a]} of the {_NOUN[(a + 1 + b) % nn]}")
    for c in big.tolist():
        a, rest = divmod(c, na * (nn - 1))
        j, b = divmod(rest, nn - 1)
        out.append(f"The {_NOUN[a]} of the {_ADJ[j]} {_NOUN[(a + 1 + b) % nn]}")
    order = rng.permutation(n)
    return [out[i] for i in order.tolist()]


def make_catalog(config: WorldConfig, rng: np.random.Generator) -> tuple[Catalog, ItemLatent]:
    """The catalog of a synthetic world and the latent item parameters behind it."""
    n, k = config.n_titles, len(TASTES)
    now, launch = config.now, config.now - config.history_days * DAY
    genre_p = np.zeros((k, len(GENRES)))
    mat_p = np.zeros((k, 5))
    tag_p = np.zeros((k, len(TAGS)))
    share = np.zeros(k)
    short = np.zeros(k, dtype=bool)
    for c, (gp, mp, tags, sh, sho) in enumerate(TASTES.values()):
        for g, p in gp.items():
            genre_p[c, GENRES.index(g)] = p
        mat_p[c] = mp
        for t in tags:
            tag_p[c, TAGS.index(t)] = 0.35
        share[c], short[c] = sh, sho
    share /= share.sum()

    # tastes: a primary one, and a second one for crossovers
    primary = rng.choice(k, size=n, p=share)
    second = (primary + 1 + rng.integers(0, k - 1, size=n)) % k
    cross = rng.random(n) < config.crossover_share
    taste = np.zeros((n, k), np.float32)
    taste[np.arange(n), primary] = np.where(cross, 0.7, 1.0)
    taste[np.arange(n)[cross], second[cross]] = 0.3
    genres = rng.random((n, len(GENRES))) < (taste @ genre_p)
    none = ~genres.any(axis=1)
    genres[np.flatnonzero(none), genre_p[primary[none]].argmax(axis=1)] = True
    maturity = _row_choice(rng, mat_p[primary]).astype(np.int8)
    is_series = rng.random(n) < config.series_share
    kind = np.where(is_series, ITEM_KINDS.index("series"), ITEM_KINDS.index("movie")).astype(np.int8)
    quality = rng.normal(0.0, config.quality_spread, size=n).astype(np.float32)

    # a growing catalog: a library from before launch, a steady flow since, a few very fresh titles
    u = rng.random(n)
    library = u < config.library_share
    fresh = u > 1.0 - config.fresh_share
    added = launch + (rng.random(n) * (now - 1 - launch)).astype(np.int64)
    added[library] = launch - (rng.random(int(library.sum())) * 3 * YEAR).astype(np.int64)
    added[fresh] = now - 1 - (rng.random(int(fresh.sum())) * 14 * DAY).astype(np.int64)
    original = rng.random(n) < 0.2
    lag = np.where(original, 0, rng.exponential(5 * YEAR, size=n)).astype(np.int64)
    released = np.maximum(added - lag, -30 * YEAR)  # not before 1940

    # series: seasons x episodes, episodes of season s join (s - 1) gaps after the series
    n_seasons = np.where(is_series, 1 + np.minimum(rng.geometric(0.55, size=n) - 1, config.max_seasons - 1), 0)
    per_season = rng.integers(config.episodes_min, config.episodes_max + 1, size=n)
    n_eps = (n_seasons * per_season).astype(np.int32)
    first = np.where(is_series, n + np.cumsum(n_eps) - n_eps, 0).astype(np.int32)
    ep_len = np.where(short[primary], rng.normal(25, 4, size=n), rng.normal(48, 7, size=n)).clip(20, 60)
    duration = np.where(is_series, np.round(ep_len), np.round(rng.normal(108, 22, size=n).clip(80, 180)))
    m = int(n_eps.sum())
    ser = np.repeat(np.arange(n, dtype=np.int32), n_eps)
    pos = np.arange(m) - np.repeat(first - n, n_eps)
    season = pos // per_season[ser] + 1
    episode = pos % per_season[ser] + 1
    gap = np.minimum(YEAR, (now - 1 - added[ser]) // np.maximum(n_seasons[ser], 1))
    ep_added = added[ser] + (season - 1) * gap
    ep_released = released[ser] + (season - 1) * gap
    ep_duration = np.round(ep_len[ser] + rng.normal(0, 2, size=m)).clip(18, 65)

    regional = rng.random(n) < config.regional_share
    regions = np.zeros((n, len(REGIONS)), dtype=bool)
    pick = rng.random((n, len(REGIONS))) < 0.3
    pick[np.arange(n), rng.integers(0, len(REGIONS), size=n)] = True
    regions[regional] = pick[regional]

    has_tag = rng.random((n, len(TAGS))) < (taste @ tag_p)
    rows, cols = np.nonzero(has_tag)
    weight = 1 + rng.poisson(3 * np.exp(quality[rows]))
    tags = sp.csr_array((weight.astype(np.float32), (rows, cols)), shape=(n + m, len(TAGS)))

    names = _titles(rng, n)
    width = len(str(max(n, 1)))
    ids = [f"{'s' if s else 'm'}{i:0{width}d}" for i, s in enumerate(is_series.tolist())]
    ids += [f"{ids[s]}-s{a:02d}e{b:02d}" for s, a, b in zip(ser.tolist(), season.tolist(), episode.tolist(), strict=True)]
    titles = names + [f"{names[s]} S{a:02d}E{b:02d}" for s, a, b in zip(ser.tolist(), season.tolist(), episode.tolist(), strict=True)]
    all_released = np.concatenate([released, ep_released])
    year = all_released.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970

    catalog = Catalog(
        vocab=Vocab(ids, what="item id"),
        titles=np.asarray(titles, dtype=np.str_),
        genre_names=GENRES,
        genres=np.concatenate([genres, genres[ser]]),
        kind=np.concatenate([kind, np.full(m, ITEM_KINDS.index("episode"), np.int8)]),
        series=np.concatenate([np.full(n, -1, np.int32), ser]),
        season=np.concatenate([np.zeros(n, np.int16), season.astype(np.int16)]),
        episode=np.concatenate([np.zeros(n, np.int16), episode.astype(np.int16)]),
        duration=np.concatenate([duration, ep_duration]).astype(np.float32),
        maturity=np.concatenate([maturity, maturity[ser]]),
        year=year.astype(np.int16),
        released=all_released,
        added=np.concatenate([added, ep_added]),
        region_names=REGIONS,
        regions=np.concatenate([regions, regions[ser]]),
        tag_names=TAGS,
        tags=tags,
    )
    latent = ItemLatent(
        taste=np.concatenate([taste, taste[ser]]),
        quality=np.concatenate([quality, quality[ser]]),
        first_episode=np.concatenate([first, np.zeros(m, np.int32)]),
        n_episodes=np.concatenate([n_eps, np.zeros(m, np.int32)]),
    )
    return catalog, latent
