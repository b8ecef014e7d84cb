"""The configuration of a synthetic world (``WorldConfig``) and the built-in sizes (``SIZES``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pagegen.core._time import DAY

__all__ = ["SIZES", "WorldConfig"]

_N_FACTORS = 8  # idiosyncratic taste dimensions on top of the named tastes
_INTERCEPT = -3.0  # logit of P(play | shown) for a title far from every taste of the member
_AFFINITY = 5.0  # logit gained by a title fully inside the member's taste mix


class WorldConfig(BaseModel):
    """Everything that shapes a synthetic world. Same config and seed: identical world."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_titles: int = Field(2_000, ge=10, le=2_000_000, description="Displayable titles (movies + series); episodes come on top.")
    n_members: int = Field(3_000, ge=1, le=10_000_000, description="Members (profiles), indexed 0..n_members-1, ids 'u<index>'.")
    seed: int = Field(0, ge=0, description="Seed of every random draw.")
    now: int = Field(1_704_067_200, ge=10 * 365 * DAY, le=4_000_000_000, description="End of simulated time (epoch seconds); all events are before it.")
    history_days: int = Field(365, ge=7, le=3_650, description="Length of the event timeline, ending at now.")
    series_share: float = Field(0.1, ge=0.0, le=1.0, description="Share of displayable titles that are series.")
    max_seasons: int = Field(3, ge=1, le=30, description="Most seasons a series has (fewer are more likely).")
    episodes_min: int = Field(4, ge=1, le=50, description="Fewest episodes per season.")
    episodes_max: int = Field(10, ge=1, le=50, description="Most episodes per season.")
    crossover_share: float = Field(0.3, ge=0.0, le=1.0, description="Share of titles that also belong to a second taste.")
    quality_spread: float = Field(0.8, ge=0.0, le=3.0, description="Std. dev. of a title's intrinsic appeal (a logit offset).")
    popularity_skew: float = Field(1.5, ge=0.0, le=5.0, description="How strongly appeal drives how often a title is shown (long tail).")
    library_share: float = Field(0.5, ge=0.0, le=1.0, description="Share of titles already on the service before the timeline starts.")
    fresh_share: float = Field(0.03, ge=0.0, le=0.5, description="Share of titles added in the last 14 days before now.")
    regional_share: float = Field(0.15, ge=0.0, le=1.0, description="Share of titles available only in some regions.")
    kids_share: float = Field(0.1, ge=0.0, le=1.0, description="Share of kids profiles (maturity 'all' or '7+', family taste).")
    factor_spread: float = Field(0.42, ge=0.0, le=2.0, description="Std. dev. of the idiosyncratic taste factors of members and titles.")
    mean_exposures: float = Field(40.0, ge=1.0, le=10_000.0, description="Mean number of titles shown to a member over the timeline.")
    activity_alpha: float = Field(1.8, gt=1.05, le=10.0, description="Tail index of the power-law member activity (smaller: heavier tail).")
    personal_share: float = Field(0.5, ge=0.0, le=1.0, description="Share of shown titles drawn from the member's tastes (the rest: popular/trending of the day).")
    burst: float = Field(25.0, ge=0.0, le=100.0, description="Extra exposure of a newly added title, as a multiple of its usual share.")
    burst_days: float = Field(5.0, gt=0.0, le=90.0, description="Decay time (days) of the burst after a title is added.")
    rating_rate: float = Field(0.25, ge=0.0, lt=1.0, description="Mean probability that a member rates a title they started.")
    fatigue: float = Field(0.3, ge=0.0, le=5.0, description="Impression fatigue: logit of P(play | shown) lost with each earlier unplayed showing of the title to the member.")
    impression_rate: float = Field(1.0, ge=0.0, le=1.0, description="Share of shown titles logged as impression events (sampled logging).")

    @model_validator(mode="after")
    def _episodes_range(self) -> WorldConfig:
        if self.episodes_min > self.episodes_max:
            raise ValueError(f"episodes_min ({self.episodes_min}) exceeds episodes_max ({self.episodes_max})")
        return self


#: Built-in sizes: "tiny" for unit tests, "small" for examples, "medium" the benchmark world,
#: "large" the scale test (100,000 displayable titles x 1,000,000 members).
SIZES: dict[str, WorldConfig] = {
    "tiny": WorldConfig(n_titles=120, n_members=200, history_days=120, series_share=0.2, max_seasons=2, episodes_min=4, episodes_max=8, mean_exposures=30.0),
    "small": WorldConfig(n_titles=1_500, n_members=3_000, series_share=0.08, max_seasons=2, episodes_min=4, episodes_max=8),
    "medium": WorldConfig(n_titles=10_000, n_members=20_000, series_share=0.08, max_seasons=3, episodes_min=5, episodes_max=10),
    "large": WorldConfig(
        n_titles=100_000, n_members=1_000_000, history_days=180, series_share=0.08, max_seasons=3, episodes_min=5, episodes_max=10, mean_exposures=30.0, impression_rate=0.25
    ),
}
