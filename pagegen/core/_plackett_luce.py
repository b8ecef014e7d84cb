"""Plackett-Luce choice with known probabilities: one step's distribution, and a sequential chooser.

Shared by the learned module's logging policy (a page built row by row) and the genre ranker's
exploration (slices drawn one at a time): both record the exact probability of each draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ._errors import DataError

__all__ = ["LoggingConfig", "plackett_luce", "step_probabilities"]


class LoggingConfig(BaseModel):
    """The logging policy's randomization."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.5, gt=0.0, le=100.0, description="Softmax temperature, in standard deviations of the step's row scores; lower is closer to greedy.")
    epsilon: float = Field(0.2, ge=0.0, le=1.0, description="Share of uniform choice among the placeable rows mixed in at every step.")


def step_probabilities(scores: np.ndarray, ok: np.ndarray, temperature: float | None, epsilon: float = 0.0) -> np.ndarray:
    """The distribution over candidates at one step (0 where not placeable).

    ``temperature=None`` is greedy (all mass on the best placeable row, the lowest index on
    ties); otherwise a softmax over ``scores / (temperature * spread)`` mixed with ``epsilon``
    uniform, where ``spread`` is the standard deviation of the placeable rows' scores at this
    step (1 when they are all equal): the temperature is scale-free, a scorer's units do not matter.
    """
    scores = np.asarray(scores, np.float64)
    placeable = scores[ok]
    if not np.all(np.isfinite(placeable)):
        raise DataError("non-finite row score", field="scores")
    p = np.zeros(len(scores))
    if temperature is None:
        p[np.flatnonzero(ok)[np.argmax(placeable)]] = 1.0
    else:
        spread = float(placeable.std())
        z = placeable / (temperature * (spread if spread > 0 else 1.0))
        e = np.exp(z - z.max())
        p[ok] = e / e.sum()
    if epsilon > 0:
        p = (1.0 - epsilon) * p + epsilon * ok / ok.sum()
    return p


def plackett_luce(scorer: Callable[[np.ndarray], np.ndarray] | Sequence[Callable[[np.ndarray], np.ndarray]], rng: np.random.Generator, config: LoggingConfig | None = None) -> Callable[[int, np.ndarray, np.ndarray], tuple[int, float]]:
    """A chooser ``choose(step, x, ok) -> (pick, propensity)`` that samples one candidate among
    ``ok`` from the step distribution of ``scorer(x)``; the propensity is the pick's probability.

    With several scorers, the distribution is the average of their Plackett-Luce steps.
    """
    config = config or LoggingConfig()
    scorers = tuple(scorer) if isinstance(scorer, Sequence) else (scorer,)
    if not scorers:
        raise DataError("at least one row scorer", field="scorer")

    def choose(step: int, x: np.ndarray, ok: np.ndarray) -> tuple[int, float]:
        steps = [step_probabilities(f(x), ok, config.temperature, config.epsilon) for f in scorers]
        p = steps[0] if len(steps) == 1 else np.mean(steps, axis=0)
        pick = int(rng.choice(len(p), p=p))
        return pick, float(p[pick])

    return choose
