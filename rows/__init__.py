"""Per-row rankers: one row family per module, listed in one explicit registry (``RANKERS``).

A ranker is any callable ``(ctx: pagegen.RankContext) -> list[pagegen.CandidateRow]``.
"""

from ._because import BecauseYouWatched, BecauseYouWatchedConfig
from ._context import make_context, shared_context, top_k
from ._continue import ContinueWatching, ContinueWatchingConfig
from ._fallback import NewReleases, NewReleasesConfig, Popular, PopularConfig
from ._genre import GenreRows, GenreRowsConfig
from ._micro import MicroGenres, MicroGenresConfig
from ._registry import RANKERS, RankerFailure, candidate_rows, default_rankers
from ._top_picks import Top10, Top10Config, TopPicks, TopPicksConfig
from ._trending import Trending, TrendingConfig

__all__ = [
    "BecauseYouWatched",
    "BecauseYouWatchedConfig",
    "ContinueWatching",
    "ContinueWatchingConfig",
    "GenreRows",
    "GenreRowsConfig",
    "MicroGenres",
    "MicroGenresConfig",
    "NewReleases",
    "NewReleasesConfig",
    "Popular",
    "PopularConfig",
    "RANKERS",
    "RankerFailure",
    "Top10",
    "Top10Config",
    "TopPicks",
    "TopPicksConfig",
    "Trending",
    "TrendingConfig",
    "candidate_rows",
    "default_rankers",
    "make_context",
    "shared_context",
    "top_k",
]
