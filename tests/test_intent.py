"""The intent browsing model: its closed form against sampling, and its limits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pagegen.learned._intent import IntentConfig, enter_probability, expected_plays_with_intent, intent_play_grids, row_match
from pagegen.learned._simulate import BrowseConfig, expected_plays, play_grid


@dataclass
class FakeTruth:
    """Two tastes; titles 0-5 are of taste 0, 6-11 of taste 1; member 0 has both, member 1 only taste 1."""

    taste: np.ndarray
    factor: np.ndarray
    item_taste: np.ndarray
    item_factor: np.ndarray
    quality: np.ndarray
    intercept: float = -2.0
    affinity: float = 4.0

    def preference(self, user: int, items: np.ndarray) -> np.ndarray:
        logit = self.intercept + self.quality[items] + self.affinity * (self.item_taste[items] @ self.taste[user]) + self.item_factor[items] @ self.factor[user]
        return 1.0 / (1.0 + np.exp(-logit))


def fake() -> FakeTruth:
    item_taste = np.zeros((12, 2))
    item_taste[:6, 0] = 1.0
    item_taste[6:, 1] = 1.0
    rng = np.random.default_rng(0)
    return FakeTruth(
        taste=np.array([[0.5, 0.5], [0.0, 1.0]]), factor=rng.normal(0, 0.3, (2, 3)),
        item_taste=item_taste, item_factor=rng.normal(0, 0.3, (12, 3)), quality=rng.normal(0, 0.5, 12),
    )  # fmt: skip


GRID = np.array([[0, 1, 2, 3], [6, 7, 8, -1], [4, 9, 5, 10]])
BROWSE = BrowseConfig(visible_rows=2, visible_columns=3, play_scale=0.5)


def test_one_taste_without_row_reading_is_the_plain_cascade() -> None:
    truth = fake()
    plain = expected_plays(GRID, play_grid(GRID, lambda items: truth.preference(1, items), BROWSE), BROWSE)
    assert expected_plays_with_intent(truth, 1, GRID, BROWSE, IntentConfig(read_rows=False)) == pytest.approx(float(plain))


def test_the_closed_form_matches_sampled_visits() -> None:
    """Sample intent, row entering, stop coins and plays visit by visit: the mean number of plays
    agrees with the closed form (within 4 standard errors)."""
    truth, intent = fake(), IntentConfig(enter_floor=0.1, enter_gain=0.8, theme_titles=3)
    rng = np.random.default_rng(5)
    probs = intent_play_grids(truth, 0, GRID, BROWSE)
    enter = enter_probability(row_match(truth, GRID, intent.theme_titles), intent)
    rows, cols = GRID.shape
    row_h = np.clip(BROWSE.row_stop + BROWSE.row_stop_growth * np.arange(rows) + BROWSE.scroll_stop * (np.arange(rows) + 1 >= BROWSE.visible_rows), 0, 1)
    col_h = np.clip(BROWSE.col_stop + BROWSE.col_stop_growth * np.arange(cols) + BROWSE.swipe_stop * (np.arange(cols) + 1 >= BROWSE.visible_columns), 0, 1)
    n, plays = 40_000, 0
    for _ in range(n):
        k = rng.choice(2, p=truth.taste[0])
        for r in range(rows):
            if rng.random() < enter[k, r]:
                played = False
                for c in range(cols):
                    if GRID[r, c] >= 0 and rng.random() < probs[k, r, c]:
                        played = True
                        break
                    if rng.random() < col_h[c]:
                        break
                if played:
                    plays += 1
                    break
            if rng.random() < row_h[r]:
                break
    closed = expected_plays_with_intent(truth, 0, GRID, BROWSE, intent)
    se = np.sqrt(closed * (1 - closed) / n)
    assert abs(plays / n - closed) < 4 * se


def test_row_reading_skips_rows_off_the_intent() -> None:
    truth = fake()
    match = row_match(truth, GRID, 3)
    assert match[:, 0].tolist() == [1.0, 0.0] and match[:, 1].tolist() == [0.0, 1.0]
    assert match[:, 2] == pytest.approx([2 / 3, 1 / 3])
    enter = enter_probability(match, IntentConfig(enter_floor=0.2, enter_gain=0.8))
    assert enter[:, 0].tolist() == [1.0, 0.2]
    assert np.all(enter_probability(match, IntentConfig(read_rows=False)) == 1.0)
    # member 1 (taste 1 only): with row reading, the page that leads with its taste's row gains more
    on_first, off_first = GRID[[1, 0, 2]], GRID
    read = IntentConfig(enter_floor=0.0, enter_gain=1.0)
    gain_read = expected_plays_with_intent(truth, 1, on_first, BROWSE, read) - expected_plays_with_intent(truth, 1, off_first, BROWSE, read)
    gain_plain = expected_plays_with_intent(truth, 1, on_first, BROWSE, IntentConfig(read_rows=False)) - expected_plays_with_intent(truth, 1, off_first, BROWSE, IntentConfig(read_rows=False))
    assert gain_read > gain_plain > 0


def test_rows_never_entered_give_no_play_and_an_empty_page_none() -> None:
    truth = fake()
    assert expected_plays_with_intent(truth, 0, GRID, BROWSE, IntentConfig(enter_floor=0.0, enter_gain=0.0)) == 0.0
    assert expected_plays_with_intent(truth, 0, np.zeros((0, 0), dtype=np.int32), BROWSE, IntentConfig()) == 0.0


def test_the_grid_report_runs_and_keeps_its_sanity_setting() -> None:
    from pagegen.core._errors import DataError
    from pagegen.evaluate._intent_report import GRID as SETTINGS
    from pagegen.evaluate._intent_report import ORACLE, POOL, intent_grid, markdown
    from pagegen.evaluate._replay import BASELINE

    results = intent_grid("tiny", members=60, seed=1, selectors=("row_ranking", "stage_wise_intent"))
    assert [r.setting for r in results] == list(SETTINGS) and SETTINGS[0].sanity and not SETTINGS[0].several_tastes
    assert 0 < results[0].members + results[2].members <= 60  # one taste or several: every tested member once
    for res in results:
        for metric in ("plays", "recall"):
            assert set(res.mean[metric]) == {"row_ranking", "stage_wise_intent", BASELINE, POOL, ORACLE}
            assert all(0.0 <= v <= 1.0 for v in res.mean[metric].values())
        # Recall@window depends on the members only; the paired difference is the difference of the means
        assert res.mean["recall"] == results[0 if not res.setting.several_tastes else 2].mean["recall"]
        diff = res.against["plays"][BASELINE]["stage_wise_intent"].diff
        assert diff == pytest.approx(res.mean["plays"]["stage_wise_intent"] - res.mean["plays"][BASELINE])
    # the oracle list knows the truth: in the sanity setting no list by the engine's scorer beats it
    assert results[0].mean["plays"][ORACLE] >= results[0].mean["plays"][BASELINE]
    text = markdown(results, "python -m pagegen.evaluate._intent_report --size tiny")
    assert "(sanity setting)" in text and "Recall@window" in text and text.startswith("Command: `python -m")
    with pytest.raises(DataError, match="row_ranking"):
        intent_grid("tiny", members=10, seed=1, selectors=("stage_wise",))
