"""Off-policy estimators on a toy cascade where the truth is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._errors import DataError
from pagegen.learned._ope import cumulative_weights, doubly_robust, ips, snips
from pagegen.learned._simulate import BrowseConfig, browse, browse_rng, expected_plays

# K candidate one-title rows with fixed play probabilities; a page holds R of them.
K, R = 6, 4
PLAY = np.array([0.30, 0.05, 0.20, 0.10, 0.25, 0.02])
LOG_SCORES = np.array([0.0, 0.5, -0.2, 0.3, -0.5, 0.1])
TARGET = np.array([0, 4, 2, 3])  # a deterministic target page: best rows first
CONFIG = BrowseConfig(row_stop=0.2, row_stop_growth=0.1, visible_rows=2)


def _truth() -> float:
    return float(expected_plays(TARGET[:, None], PLAY[TARGET][:, None], CONFIG))


def _log(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Plackett-Luce logging: pages (n, R), propensities, target probabilities, rewards (n, R)."""
    rng = np.random.default_rng(seed)
    # Gumbel top-R = sequential Plackett-Luce sampling without replacement
    pages = np.argsort(-(LOG_SCORES[None, :] + rng.gumbel(size=(n, K))), axis=1)[:, :R]
    w = np.exp(LOG_SCORES)[pages]
    left = np.exp(LOG_SCORES).sum() - np.concatenate([np.zeros((n, 1)), np.cumsum(w, axis=1)[:, :-1]], axis=1)
    prop = w / left
    target = (pages == TARGET[None, :]).astype(float)
    rewards = np.zeros((n, R))
    for i in range(n):
        out = browse(pages[i][:, None], PLAY[pages[i]][:, None], browse_rng(seed, i, 0), CONFIG)
        if out.played:
            rewards[i, out.row] = 1.0
    return pages, prop, target, rewards


def _q(pages: np.ndarray) -> np.ndarray:
    """A decent reward model: play probability times the chance to reach the row (ignores earlier plays)."""
    reach = np.cumprod(np.concatenate([[1.0], 1 - np.clip(CONFIG.row_stop + CONFIG.row_stop_growth * np.arange(R - 1) + CONFIG.scroll_stop * (np.arange(R - 1) + 1 >= CONFIG.visible_rows), 0, 1)]))
    return PLAY[pages] * reach[None, :]


def test_estimators_cover_the_truth_on_fresh_logs() -> None:
    truth = _truth()
    hits = {"ips": 0, "snips": 0, "dr": 0, "naive": 0}
    reps = 20
    for seed in range(reps):
        pages, prop, target, rewards = _log(1000, seed)
        w = cumulative_weights(target, prop)
        q_logged = _q(pages)
        q_target = np.broadcast_to(_q(TARGET[None, :]), pages.shape)
        for est in (ips(rewards, w), snips(rewards, w), doubly_robust(rewards, w, q_logged, q_target)):
            hits[est.method] += est.covers(truth)
        # the test bites: ignoring the propensities estimates the logging policy, not the target
        hits["naive"] += ips(rewards, np.ones_like(w)).covers(truth)
    # nominal 95%: at least 15 of 20 (P(X <= 14) < 0.3% for a calibrated interval)
    assert hits["ips"] >= 15 and hits["snips"] >= 15 and hits["dr"] >= 15, hits
    assert hits["naive"] <= 2, hits


def test_doubly_robust_beats_ips_with_a_good_model_and_survives_a_bad_one() -> None:
    pages, prop, target, rewards = _log(3000, 99)
    w = cumulative_weights(target, prop)
    good = doubly_robust(rewards, w, _q(pages), np.broadcast_to(_q(TARGET[None, :]), pages.shape))
    plain = ips(rewards, w)
    assert good.half_width < plain.half_width
    bad_q = np.full(pages.shape, 0.5)  # wrong everywhere: DR stays consistent, only noisier
    bad = doubly_robust(rewards, w, bad_q, bad_q)
    assert bad.covers(_truth())


def test_ips_is_exact_when_logging_equals_target() -> None:
    rewards = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    w = np.ones_like(rewards)
    assert ips(rewards, w).value == pytest.approx(2 / 3)
    assert snips(rewards, w).value == pytest.approx(2 / 3)
    assert doubly_robust(rewards, w, np.zeros_like(w), np.zeros_like(w)).value == pytest.approx(2 / 3)
    est = ips(rewards, w, alpha=0.1)
    assert est.low < est.value < est.high and est.n == 3


def test_page_level_one_dimensional_input() -> None:
    est = ips(np.array([1.0, 0.0, 1.0, 0.0]), np.array([2.0, 0.0, 0.0, 2.0]))
    assert est.value == pytest.approx(0.5)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(DataError, match="logging"):
        cumulative_weights(np.ones((2, 2)), np.zeros((2, 2)))
    with pytest.raises(DataError, match="weights"):
        ips(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(DataError, match="weights"):
        ips(np.ones(2), np.array([1.0, -1.0]))
    with pytest.raises(DataError, match="rewards"):
        ips(np.array([np.nan, 1.0]), np.ones(2))
    with pytest.raises(DataError, match="alpha"):
        ips(np.ones(3), np.ones(3), alpha=1.5)


def test_snips_normalizes_by_the_weights_at_each_position() -> None:
    """Non-uniform weights, worked by hand: position 0 has weights (2, 0.5, 0.5) and rewards (1, 0, 1),
    so SNIPS is (2 + 0.5) / 3; position 1 weights (1, 3, 0) and rewards (0, 1, 0): 3 / 4. IPS on the
    same logs is (2.5 / 3) + (3 / 3): it differs wherever the weights do not average to 1."""
    rewards = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    w = np.array([[2.0, 1.0], [0.5, 3.0], [0.5, 0.0]])
    assert snips(rewards, w).value == pytest.approx(2.5 / 3 + 3 / 4)
    assert ips(rewards, w).value == pytest.approx(2.5 / 3 + 3 / 3)
    # scaling every weight of a position leaves SNIPS unchanged (and moves IPS)
    scaled = w * np.array([[4.0, 0.25]])
    assert snips(rewards, scaled).value == pytest.approx(snips(rewards, w).value)
    assert ips(rewards, scaled).value != pytest.approx(ips(rewards, w).value)
