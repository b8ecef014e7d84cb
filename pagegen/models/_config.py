"""How ``fit`` learns (``FitConfig``) and the version of the model's array layout."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._errors import DataError
from pagegen.core._time import DAY

from ._blend import FEATURES

__all__ = ["FORMAT_VERSION", "FitConfig"]

#: Version of the Model's array layout; ``load`` refuses files of another version.
FORMAT_VERSION = 6


class FitConfig(BaseModel):
    """How ``fit`` learns. The defaults work from tiny synthetic worlds to ml-latest-small."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, ge=0, description="Seed of every random choice in fitting (ALS init, blend sampling).")
    min_plays: int = Field(10, ge=1, le=1000, description="Titles with fewer plays are left out of the collaborative models (content similarity still covers them).")
    ease_max_items: int = Field(4000, ge=1, le=20000, description="EASE (dense item-item weights) when at most this many titles pass min_plays; otherwise sparse top-k neighbours and ALS.")
    ease_lambda: float = Field(100.0, gt=0, le=1e6, description="EASE L2 penalty (lambda in Steck 2019).")
    neighbors: int = Field(100, ge=1, le=1000, description="Neighbours kept per title by the sparse top-k similarity (large catalogs).")
    content_weight: float = Field(0.2, ge=0, le=1, description="Share of content similarity (genres, tags) in video-video similarity.")
    als: bool = Field(False, description="Also fit implicit ALS when EASE is the personal scorer (to compare them); ALS is always fitted when EASE is not used.")
    als_factors: int = Field(64, ge=1, le=512, description="Implicit ALS latent dimensions.")
    als_regularization: float = Field(5.0, gt=0, le=1e4, description="Implicit ALS L2 penalty.")
    als_alpha: float = Field(5.0, gt=0, le=1e4, description="Implicit ALS confidence slope: confidence = 1 + alpha * watched fraction.")
    als_iterations: int = Field(12, ge=1, le=100, description="Implicit ALS alternations (3 conjugate-gradient steps each half).")
    rating_factors: int = Field(16, ge=0, le=256, description="Biased MF latent dimensions for the rating predictor (0: biases only).")
    rating_regularization: float = Field(20.0, gt=0, le=1e4, description="Biased MF L2 penalty on factors (training).")
    rating_bias_regularization: float = Field(5.0, gt=0, le=1e4, description="Biased MF L2 penalty on user and title biases (training).")
    rating_fold_in_regularization: float = Field(5.0, gt=0, le=1e4, description="Rating fold-in: L2 penalty on the member's factors.")
    rating_fold_in_bias_regularization: float = Field(10.0, gt=0, le=1e4, description="Rating fold-in: L2 penalty on the member's bias.")
    rating_recency: float = Field(8.0, gt=0, le=1e6, description="Rating fold-in: a member's k-th most recent rating weighs floor + exp(-k / rating_recency) (tastes drift).")
    rating_recency_floor: float = Field(0.005, ge=0, le=1e3, description="Rating fold-in: the weight every rating keeps however old (see rating_recency).")
    rating_item_weight: float = Field(0.25, ge=0, le=10, description="Rating predictor: weight of the item-kNN correction over rating correlations (the member's ratings of titles rated alike, against the MF; 0: off).")
    rating_similar_weight: float = Field(0.5, ge=0, le=10, description="Rating predictor: weight of the item-kNN correction over the video-video similarity (the member's ratings of titles played alike, against the MF; 0: off).")
    rating_user_weight: float = Field(1.0, ge=0, le=10, description="Rating predictor: weight of the user-kNN correction (similar members' ratings of the title, against their baseline; 0: off).")
    rating_item_neighbours: int = Field(10, ge=1, le=10_000, description="Rating predictor: the member's rated titles most similar to a title that each item-kNN correction reads.")
    rating_user_neighbours: int = Field(50, ge=1, le=100_000, description="Rating predictor: the members most similar to the member that the user-kNN correction reads, among those who rated the title.")
    rating_neighbour_shrink: float = Field(100.0, ge=0, le=1e6, description="Rating predictor: a rating correlation counts times n / (n + shrink), n the ratings in common.")
    rating_iterations: int = Field(15, ge=1, le=100, description="Biased MF alternations.")
    blend_rating_iterations: int = Field(5, ge=1, le=100, description="Biased MF alternations of the blend's fit (the models without the held-out plays, which only give the blend its rating feature).")
    refit_iterations: int = Field(4, ge=1, le=100, description="ALS alternations of the final fit, warm-started from the blend's fit (the same data without the held-out plays).")
    recency_tau: float = Field(5.0, gt=0, le=1000, description="Recency-weighted item-item scorer: the member's k-th most recent title weighs exp(-k / recency_tau).")
    next_window: int = Field(10, ge=1, le=100, description="Next-play transitions: a play counts for each of the member's next next_window plays.")
    next_decay: float = Field(0.8, gt=0, le=1, description="Next-play transitions: the pair at distance d counts next_decay ** (d - 1).")
    next_neighbors: int = Field(200, ge=1, le=10000, description="Next-play transitions: the largest entries kept per title.")
    next_tau: float = Field(3.0, gt=0, le=1000, description="Next-play transitions: the member's k-th most recent title weighs exp(-k / next_tau).")
    session_gap: int = Field(2 * 3600, gt=0, description="Session features: the next-play transitions count exp(-gap / session_gap) again, gap the seconds since the member's last play.")
    continue_tau: int = Field(7 * DAY, gt=0, description="Blend feature 'continuing': a title the member is in the middle of (a series: an episode left to play) counts exp(-age / continue_tau), age the seconds since their latest play of it.")
    trend_short: int = Field(7 * DAY, gt=0, description="Trending: the recent window (seconds).")
    trend_long: int = Field(56 * DAY, gt=0, description="Trending: the baseline window before now (seconds), longer than trend_short.")
    recent_plays: int = Field(5, ge=1, le=100, description="How many of the member's last plays the recent-similarity feature looks at.")
    blend_holdout: int = Field(3, ge=1, le=50, description="Last plays of each training member held out as blend positives.")
    blend_min_history: int = Field(5, ge=1, le=1000, description="Members need this many earlier plays to give blend examples.")
    blend_users: int = Field(300, ge=1, le=1_000_000, description="At most this many members (sampled) give blend examples.")
    blend_hard_negatives: int = Field(0, ge=0, le=1000, description="Negatives per member from the personal scorer's top titles.")
    blend_random_negatives: int = Field(200, ge=0, le=1000, description="Negatives per member drawn uniformly from the catalog.")
    blend_impression_share: float = Field(0.5, ge=0, le=1, description="Share of the blend negatives' weight given to the titles shown to a training member after their cutoff and not played, when the data logs impressions (0: impressions are not used).")
    blend_without: tuple[str, ...] = Field((), description="Blend features left out (weight 0): names from the blend's FEATURES, e.g. chosen on a validation split.")
    blend_l2: float = Field(1e-3, ge=0, le=1e3, description="L2 penalty of the blend's logistic regression.")

    def model_post_init(self, _context) -> None:
        unknown = sorted(set(self.blend_without) - set(FEATURES))
        if unknown:
            raise DataError(f"unknown blend feature, expected names from {', '.join(FEATURES)}", field="blend_without", value=unknown[0])
        if self.trend_long <= self.trend_short:
            raise DataError("trend_long must be longer than trend_short", field="trend_long", value=self.trend_long)
