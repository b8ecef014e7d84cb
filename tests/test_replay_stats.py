"""Paired statistics of the replay, its leak-free availability, and the N2DCG ideal page."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import binomtest

from pagegen import synthetic_world
from pagegen.core._time import DAY
from pagegen.evaluate._metrics import n2dcg
from pagegen.evaluate._replay import BASELINE, evaluate
from pagegen.evaluate._report import GLOSSARY, html_report, markdown_table
from pagegen.evaluate._splits import _first_events, dates_from_events, leave_last_split, train_availability
from pagegen.evaluate._stats import paired

# -- paired statistics ------------------------------------------------------------------------------


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    base = np.linspace(0.0, 1.0, 50)
    stats = paired(base + 0.1, base)
    assert stats.diff == pytest.approx(0.1) and stats.low == pytest.approx(0.1) and stats.high == pytest.approx(0.1)
    assert (stats.better, stats.worse, stats.tied, stats.members) == (50, 0, 0, 50)
    assert stats.verdict == "better" and paired(base, base + 0.1).verdict == "worse"
    assert stats.sign_p == pytest.approx(binomtest(50, 50).pvalue)


def test_pairing_sees_a_small_shift_that_the_members_spread_hides() -> None:
    """Members differ a lot, the builder adds a little to each: only a paired interval excludes 0
    (an unpaired bootstrap of the two means gives an interval about 20 times wider)."""
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 1.0, 400)
    cand = base + 0.01 + rng.normal(0.0, 0.01, 400)
    stats = paired(cand, base)
    assert 0.0 < stats.low < 0.01 < stats.high < 0.02
    assert stats.verdict == "better"
    assert stats.high - stats.low < 0.005


def test_undefined_members_are_left_out_and_shapes_must_agree() -> None:
    a = np.array([0.5, np.nan, 0.2, 0.3])
    b = np.array([0.4, 0.1, np.nan, 0.3])
    stats = paired(a, b)
    assert (stats.members, stats.better, stats.tied) == (2, 1, 1)
    assert paired(np.array([np.nan]), np.array([1.0])).members == 0
    with pytest.raises(ValueError, match="one value per member"):
        paired(np.zeros(3), np.zeros(4))


def test_the_interval_is_seeded_and_covers_the_true_shift() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(40):
        base = rng.uniform(0, 1, 200)
        cand = base + 0.05 + rng.normal(0, 0.2, 200)
        stats = paired(cand, base, seed=1)
        covered += stats.low <= 0.05 <= stats.high
        assert stats == paired(cand, base, seed=1)
    assert covered >= 34  # a 95% interval: about 38 of 40


# -- the replay reports them --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return synthetic_world("tiny", seed=0)


def test_every_builder_is_compared_with_the_named_baseline(tiny) -> None:
    result = evaluate(tiny, ("row_ranking", "stage_wise"), sample=40)
    assert result.baseline == "row_ranking"
    assert set(result.comparisons) == {"stage_wise", BASELINE}
    for metrics in result.comparisons.values():
        assert set(metrics) == {"recall", "recall_page", "n2dcg", "hit_rate"}
        for stats in metrics.values():
            assert stats.members <= result.members and stats.low <= stats.diff <= stats.high
    text = markdown_table(result)
    assert "Against row_ranking" in text and "p=" in text
    page = html_report(result)
    assert "Glossary" in page and "paired bootstrap" in page
    data = result.to_dict()
    assert data["comparisons"]["stage_wise"]["n2dcg"]["verdict"] in ("better", "worse", "tied")
    single = evaluate(tiny, ("stage_wise",), sample=40, compare_to=BASELINE)
    assert single.baseline == BASELINE and set(single.comparisons) == {"stage_wise"}


# -- leak-free availability ---------------------------------------------------------------------------


def _dated_by_events(world, interactions):
    """The world as a MovieLens folder gives it: every title dated by its first event."""
    return dataclasses.replace(world.catalog, added=_first_events(interactions, world.catalog.n))


def test_no_held_out_event_changes_what_the_pages_see(tiny) -> None:
    """Move every held-out event a week later (the split, the cutoffs and the relevance stay the same):
    with availability from the train events the replay gives the same figures; dated by all events
    (the leak: a title's own held-out play decides when it joined) they change."""
    inter = tiny.interactions
    catalog = _dated_by_events(tiny, inter)
    split = leave_last_split(catalog, inter)
    cutoff = np.full(len(inter.users), np.iinfo(np.int64).max)
    cutoff[split.users] = split.now
    later = inter.timestamp >= cutoff[inter.user]
    moved = dataclasses.replace(inter, timestamp=np.where(later, inter.timestamp + 7 * DAY, inter.timestamp))
    moved_catalog = _dated_by_events(tiny, moved)
    assert not np.array_equal(catalog.added, moved_catalog.added)
    assert dates_from_events(catalog, inter) and not dates_from_events(tiny.catalog, tiny.interactions)

    def figures(cat, events, availability):
        result = evaluate((cat, events, tiny.profiles), ("stage_wise", "row_ranking"), availability=availability)
        # what the pages show too (the first screens), not only what they hit: on this tiny world the leak moves a few titles
        return {s: (r.recall, r.recall_page, r.n2dcg, r.hit_rate, r.coverage, r.coverage_screen, r.genre_diversity, r.calibration_kl, r.novelty) for s, r in result.selectors.items()}

    assert figures(catalog, inter, "auto") == figures(moved_catalog, moved, "auto")
    assert figures(catalog, inter, "catalog") != figures(moved_catalog, moved, "catalog")


def test_train_availability_dates_titles_by_train_events_only(tiny) -> None:
    split = leave_last_split(tiny.catalog, tiny.interactions)
    dated = train_availability(tiny.catalog, split.train)
    assert np.array_equal(dated.added, _first_events(split.train, tiny.catalog.n))
    assert np.array_equal(dated.ids, tiny.catalog.ids)


# -- the N2DCG ideal page -----------------------------------------------------------------------------


def test_n2dcg_ideal_page_is_the_policys_full_shape() -> None:
    """A page of one row holding the only relevant titles in its best cells scores 1 against its own
    shape and less against a 3-row policy shape (the glossary says so)."""
    rel = {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}
    short = np.array([[1, 2, 3, 4]])
    assert n2dcg(short, rel) == pytest.approx(1.0)
    assert n2dcg(short, rel, (3, 4)) < 0.99
    assert "full shape" in GLOSSARY["N2DCG"]


def test_a_member_with_nothing_to_show_gets_an_empty_page(tiny) -> None:
    """The replay scores an empty page (no credit) where Engine.build raises: one member without
    candidate rows does not stop the evaluation of the others."""
    from pagegen import Engine, fit
    from pagegen.evaluate._replay import member_pages

    model = fit(tiny.catalog, tiny.interactions, profiles=tiny.profiles, progress=False)
    engine = Engine(tiny.catalog, model, rankers={"none": lambda ctx: []}, interactions=tiny.interactions, profiles=tiny.profiles)
    pages, _, failures, seconds, _ = member_pages(engine, engine.state("u1"), ["stage_wise", "template"], device="web", seed=0)
    assert failures == [] and set(seconds) == {"_shared", "stage_wise", "template"}
    for grid, kinds in pages.values():
        assert grid.size == 0 and kinds == []
