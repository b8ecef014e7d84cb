"""pagegen: personalized streaming homepage construction."""

from ._candidates import ROW_KINDS, CandidateRow, RankContext, Ranker
from ._catalog import ITEM_KINDS, MATURITY_LEVELS, Catalog
from ._errors import DataError, ModelFileError, PagegenError, PolicyError
from ._interactions import EVENT_KINDS, Interactions
from ._userstate import FINISHED_AT, Profile, UserState
from ._vocab import Vocab

__all__ = [
    "CandidateRow",
    "Catalog",
    "DataError",
    "EVENT_KINDS",
    "FINISHED_AT",
    "ITEM_KINDS",
    "Interactions",
    "MATURITY_LEVELS",
    "ModelFileError",
    "PagegenError",
    "PolicyError",
    "Profile",
    "ROW_KINDS",
    "RankContext",
    "Ranker",
    "UserState",
    "Vocab",
]

__version__ = "0.1.0"
