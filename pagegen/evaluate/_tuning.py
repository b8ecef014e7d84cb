"""Hyperparameter tuning on a validation split carved from train, never on test.

The validation split is made from the train part by the same rule as the test split (each
eligible member's last ratings held out). ``tune`` walks ``GRID`` in order, one setting at a
time (coordinate search): for each candidate value it fits on the validation train part with
the settings chosen so far and that value, measures the method the setting serves, and keeps the
best value (ties: the earlier, smaller value). A setting whose method the measurement lacks
(no held-out ratings: no RMSE) keeps its value. Scorer settings come before the blend's, so the
blend is tuned over tuned features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pagegen.models._fit import FitConfig

__all__ = ["GRID", "Step", "Tuned", "tune"]


@dataclass(frozen=True)
class Step:
    """One setting of ``FitConfig`` to tune: its candidate values, the method whose metric
    decides (a row of the quality table) and that metric (RMSE: lower is better, else higher)."""

    field: str
    values: tuple
    method: str
    metric: str


GRID: tuple[Step, ...] = (
    Step("recency_tau", (2.0, 5.0, 10.0, 20.0), "recency-weighted item-item", "NDCG@10"),
    Step("next_window", (5, 10, 20), "next-play transitions", "NDCG@10"),
    Step("next_decay", (0.7, 0.8, 0.9), "next-play transitions", "NDCG@10"),
    Step("next_tau", (1.5, 3.0, 6.0), "next-play transitions", "NDCG@10"),
    Step("als_regularization", (5.0, 20.0, 80.0), "ALS", "NDCG@10"),
    Step("als_alpha", (2.0, 5.0, 20.0), "ALS", "NDCG@10"),
    Step("rating_regularization", (10.0, 20.0, 40.0), "rating predictor", "RMSE"),
    Step("rating_fold_in_regularization", (2.0, 5.0, 10.0), "rating predictor", "RMSE"),
    Step("rating_item_weight", (0.0, 0.25, 0.5), "rating predictor", "RMSE"),
    Step("rating_similar_weight", (0.0, 0.5, 1.0), "rating predictor", "RMSE"),
    Step("rating_user_weight", (0.5, 1.0, 1.5), "rating predictor", "RMSE"),
    Step("blend_without", ((), ("next", "next_session"), ("hour", "weekday"), ("recent_personal",)), "learned blend", "NDCG@10"),
    Step("blend_hard_negatives", (0, 20, 100), "learned blend", "NDCG@10"),
)

#: A measurement: fit with a configuration on the validation split, ``{method: {metric: value}}``.
Measure = Callable[[FitConfig], dict[str, dict[str, float]]]


@dataclass(frozen=True)
class Tuned:
    """What ``tune`` chose: the configuration, its validation table, and every trial
    ``(field, value, metric value)`` in the order tried."""

    config: FitConfig
    validation: dict[str, dict[str, float]]
    trials: tuple[tuple[str, object, float], ...]


def tune(base: FitConfig, measure: Measure, grid: tuple[Step, ...] = GRID) -> Tuned:
    """Coordinate search over ``grid`` from ``base`` (see the module docstring)."""
    cache: dict[str, dict[str, dict[str, float]]] = {}

    def table_of(cfg: FitConfig) -> dict[str, dict[str, float]]:
        key = cfg.model_dump_json()
        if key not in cache:
            cache[key] = measure(cfg)
        return cache[key]

    config = base
    trials: list[tuple[str, object, float]] = []
    for step in grid:
        if step.method not in table_of(config):  # (no test ratings: nothing decides the rating settings)
            continue
        best_value, best_score = getattr(config, step.field), None
        for value in step.values:
            score = table_of(config.model_copy(update={step.field: value}))[step.method][step.metric]
            trials.append((step.field, value, score))
            better = best_score is None or (score < best_score if step.metric == "RMSE" else score > best_score)
            if better:
                best_value, best_score = value, score
        config = config.model_copy(update={step.field: best_value})
    return Tuned(config, table_of(config), tuple(trials))
