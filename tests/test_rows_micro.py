"""Micro-genre rows: the contract, the slices, the titles within, the spread and the explanations."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._explain import explain
from pagegen.core._userstate import UserState
from pagegen.testing import check_ranker
from rows._context import make_context
from rows._micro import MicroGenres, MicroGenresConfig, build_micro_slices, micro_title

#: A config the tiny world (120 titles) has micro-genres under.
SMALL = MicroGenresConfig(min_titles=4, min_eligible=3, max_rows=30, max_per_genre=3)


@pytest.fixture(scope="module")
def world():
    from pagegen.data._synthetic import synthetic_world

    return synthetic_world("tiny", seed=0)


@pytest.fixture(scope="module")
def model(world):
    from pagegen.models._fit import fit

    return fit(world.catalog, world.interactions, progress=False)


def _rows(world, model, member, config=SMALL, n=10):
    ctx = make_context(world.catalog, model, world.user_state(member), n=n, seed=0)
    return ctx, MicroGenres(config)(ctx)


def test_contract(world, model):
    check_ranker(MicroGenres(SMALL), world.catalog, model, [world.user_state(u) for u in range(10)], name="micro_genre")


def test_titles_read_as_micro_genres():
    assert micro_title("Horror", tag="dark") == "Dark Horror"
    assert micro_title("Sci-Fi", tag="visually stunning") == "Visually Stunning Sci-Fi"
    assert micro_title("Crime", tag="based on a true story") == "Crime: Based on a True Story"
    assert micro_title("Documentary", tag="thought-provoking") == "Thought-Provoking Documentary"
    assert micro_title("Family", tag="musical numbers") == "Family with Musical Numbers"
    assert micro_title("Drama", tag="slow burn") == "Slow Burn Drama"
    assert micro_title("Crime", tag="gritty", decade=1990) == "1990s Gritty Crime"
    assert micro_title("Comedy", fmt="TV Shows") == "Comedy TV Shows"


def test_slices_are_large_enough_and_not_near_duplicates(world):
    cat = world.catalog
    idx, genre_of = build_micro_slices(cat, min_titles=4, max_overlap=0.5, tags=True, decades=True, formats=True, max_tags=200)
    assert idx.n_slices > 10 and set(idx.kinds) == {"genre-format", "genre-tag", "genre-decade-tag"}
    members = idx.members.toarray() > 0
    assert (members.sum(axis=1) >= 4).all() and not members[:, ~cat.displayable()].any()
    genres = (cat.genres & cat.displayable()[:, None]).T
    for s in range(idx.n_slices):
        spec = idx.specs[s]
        g = cat.genre_names.index(spec["genres"][0])
        assert genre_of[s] == g and not (members[s] & ~genres[g]).any()  # within its genre
        if "tag" in spec:
            tag = cat.tags[:, [cat.tag_names.index(spec["tag"])]].toarray().ravel() > 0
            assert not (members[s] & ~tag).any()
        both = np.vstack([members, genres])
        inter = (both & members[s]).sum(axis=1)
        jaccard = inter / (both | members[s]).sum(axis=1)
        jaccard[s] = 0.0
        assert jaccard.max() <= 0.5, (idx.keys[s], idx.keys[int(jaccard.argmax())] if jaccard.argmax() < idx.n_slices else "a genre")
    wide, _ = build_micro_slices(cat, min_titles=4, max_overlap=1.0, tags=True, decades=True, formats=True, max_tags=200)
    assert wide.n_slices > idx.n_slices  # the overlap rule bites


def test_a_catalog_of_movies_only_has_no_format_slices(world):
    cat = world.catalog
    movies_only = type(cat).build(cat.ids[:50].tolist(), cat.titles[:50].tolist(), [cat.genres_of(i) for i in range(50)], kind=["movie"] * 50, year=cat.year[:50].tolist())
    idx, _ = build_micro_slices(movies_only, min_titles=2, max_overlap=1.0, tags=True, decades=True, formats=True, max_tags=200)
    assert "genre-format" not in idx.kinds


def test_rows_hold_the_slice_unseen_titles_best_first_by_the_member_scores(world, model):
    for member in range(0, 40, 4):
        ctx, rows = _rows(world, model, member)
        idx, _ = MicroGenres(SMALL).index(world.catalog)
        assert rows, member
        for row in rows:
            s = idx.keys.index(row.key)
            titles = idx.members.indices[idx.members.indptr[s] : idx.members.indptr[s + 1]]
            titles = titles[ctx.unseen[titles]]
            assert titles.size >= SMALL.min_eligible
            order = titles[np.lexsort((titles, -ctx.scores[titles]))][: ctx.n]
            assert row.items.tolist() == order.tolist() and len(row) == min(ctx.n, titles.size)
            assert row.kind == "micro_genre" and row.propensity == 1.0
            assert {"slice", "genres", "affinity", "relative_affinity", "catalog_share"} <= set(row.evidence)


def test_rows_follow_affinity_spread_over_genres(world, model):
    ctx, rows = _rows(world, model, 3, SMALL.model_copy(update={"max_per_genre": 2}))
    aff = [r.evidence["affinity"] for r in rows]
    assert aff == sorted(aff, reverse=True)
    assert rows[0].score == pytest.approx(SMALL.weight) and all(r.score <= SMALL.weight for r in rows)
    genres = [r.evidence["genres"][0] for r in rows]
    assert max(genres.count(g) for g in genres) <= 2
    _, capped = _rows(world, model, 3, SMALL.model_copy(update={"max_rows": 3}))
    assert [r.key for r in capped] == [r.key for r in _rows(world, model, 3)[1][:3]]


def test_rows_are_personal(world, model):
    firsts = {tuple(r.key for r in _rows(world, model, u)[1][:3]) for u in range(0, 60, 3)}
    assert len(firsts) > 3


def test_the_history_leads_to_its_micro_genre(world, model):
    """A member who liked many titles of one micro-genre gets it first."""
    cat = world.catalog
    idx, _ = MicroGenres(SMALL).index(cat)
    s = int(np.argmax(np.diff(idx.members.indptr)))
    titles = idx.members.indices[idx.members.indptr[s] : idx.members.indptr[s + 1]][:3]
    events = [{"item": cat.ids[i], "timestamp": world.now - 100 * (k + 1), "value": 1.0} for k, i in enumerate(titles.tolist())]
    ctx = make_context(cat, model, UserState.from_history(cat, events, world.now, user="fan"), n=10, seed=0)
    rows = MicroGenres(SMALL)(ctx)
    mine = [r for r in rows if r.key == idx.keys[s]]
    assert mine and rows[0].evidence["affinity"] == mine[0].evidence["affinity"] > mine[0].evidence["catalog_share"]
    assert not set(titles.tolist()) & {int(i) for r in rows for i in r.items}  # seen titles are left out


def test_every_row_explains_itself(world, model):
    _, rows = _rows(world, model, 5)
    cold_ctx = make_context(world.catalog, model, UserState.cold(world.now), n=10, seed=0)
    for row in [*rows, *MicroGenres(SMALL)(cold_ctx)]:
        phrase, reason = explain(row.kind, row.title, row.evidence)
        assert phrase and row.title in phrase and reason and row.title in reason
