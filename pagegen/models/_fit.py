"""``fit(catalog, interactions, config) -> Model``: every model behind the rows, in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import IMPRESSION, PLAY, RATING, Interactions, as_interactions
from pagegen.core._progress import Progress
from pagegen.core._resume import next_episodes
from pagegen.core._userstate import Profile, UserState

from ._als import biased_mf, implicit_als
from ._blend import FEATURES, fit_logistic
from ._config import FORMAT_VERSION, FitConfig
from ._ease import content_features, cosine_topk, ease_weights
from ._model import Model
from ._neighbours import centred_ratings
from ._popularity import first_per_day, fold_items, play_keys
from ._sequence import clock_affinity, transitions

__all__ = ["FORMAT_VERSION", "FitConfig", "fit"]  # the configuration is re-exported

def _play_matrix(interactions: Interactions, fold: np.ndarray) -> sp.csr_array:
    """users x titles, value = summed watched fractions, at most 1 (at least a small positive for
    any play); an episode's plays count for its series (``fold``)."""
    n_users, n_items = interactions.n_users, len(fold)
    play = interactions.kind == PLAY
    user, item = interactions.user[play], fold[interactions.item[play]]
    val = np.maximum(interactions.value[play], 0.05).astype(np.float32)
    mat = sp.coo_array((val, (user, item)), shape=(n_users, n_items)).tocsr()
    mat.sum_duplicates()
    mat = sp.csr_array(mat)
    # duplicates were summed: cap each cell at 1
    mat.data = np.minimum(mat.data, 1.0).astype(np.float32)
    return mat


def _rating_matrix(interactions: Interactions, n_users: int, n_items: int) -> sp.csr_array:
    """users x titles, value = latest rating (events are time-sorted, the last one wins)."""
    rate = np.flatnonzero(interactions.kind == RATING)
    key = interactions.user[rate].astype(np.int64) * n_items + interactions.item[rate]
    _, last_rev = np.unique(key[::-1], return_index=True)
    keep = rate[::-1][last_rev]
    return sp.csr_array((interactions.value[keep].astype(np.float64), (interactions.user[keep], interactions.item[keep])), shape=(n_users, n_items))


def _components(catalog: Catalog, interactions: Interactions, config: FitConfig, rng: np.random.Generator, bar: Progress, warm: dict, *, blend: bool = False) -> tuple[dict, dict]:
    """Every array except the blend weights, and the matching meta.

    ``blend=True``: the blend's fit (the data without the held-out plays), which only feeds the
    blend's features: no ALS when it is not the personal scorer, fewer MF alternations.
    ``warm``: what an earlier call on nearly the same data left (ALS factors); this call
    starts from it (fewer alternations) and stores its own.
    """
    n = catalog.n
    fold = fold_items(catalog.series)
    plays = _play_matrix(interactions, fold)
    counts = np.bincount(plays.indices, minlength=n)
    active = np.flatnonzero(counts >= config.min_plays).astype(np.int32)
    arrays: dict[str, np.ndarray] = {"fold": fold}
    use_ease = 0 < len(active) <= config.ease_max_items
    bar.step("similarity")
    if use_ease:
        arrays["ease_items"] = active
        pos = np.full(n, -1, np.int32)
        pos[active] = np.arange(len(active), dtype=np.int32)
        arrays["ease_pos"] = pos
        binary = sp.csr_array(plays[:, active], dtype=np.float32)
        binary.data[:] = 1.0
        arrays["ease_weights"] = ease_weights(binary, config.ease_lambda)
    meta: dict = {}
    if not use_ease:
        sub = plays[:, active]
        top = cosine_topk(sp.csr_array(sub), config.neighbors)
        full = sp.csr_array((top.data, active[top.indices], top.indptr), shape=(len(active), n))
        expand = sp.csr_array((np.ones(len(active), np.float32), (active, np.arange(len(active)))), shape=(n, len(active)))
        topk = sp.csr_array(expand @ full, dtype=np.float32)
        arrays.update(topk_data=topk.data, topk_indices=topk.indices.astype(np.int32), topk_indptr=topk.indptr.astype(np.int64))
        meta["topk_shape"] = [n, n]
    if not use_ease or (config.als and not blend):
        bar.step("implicit ALS")
        tiles = np.flatnonzero(fold == np.arange(n))
        factors = np.zeros((n, config.als_factors), np.float32)
        init = warm.get("als")
        iterations = config.als_iterations if init is None else config.refit_iterations
        users, factors[tiles] = implicit_als(sp.csr_array(plays[:, tiles]), config.als_factors, config.als_regularization, config.als_alpha, iterations, rng, init=init)
        warm["als"] = (users, factors[tiles])
        arrays["als_items"] = factors
    play = interactions.kind == PLAY
    nxt = transitions(interactions.user[play], fold[interactions.item[play]], n, config.next_window, config.next_decay, config.next_neighbors)
    arrays.update(next_data=nxt.data, next_indices=nxt.indices.astype(np.int32), next_indptr=nxt.indptr.astype(np.int64))
    meta["next_shape"] = [n, n]
    arrays["clock"] = clock_affinity(fold[interactions.item[play]], interactions.timestamp[play], n)
    bar.step("rating predictor")
    ratings = _rating_matrix(interactions, interactions.n_users, n)
    # the final MF is fitted cold: warm-started from the blend fit's factors it lands on a slightly worse optimum (RMSE 0.900 vs 0.899)
    iterations = config.blend_rating_iterations if blend else config.rating_iterations
    mu, bias, factors = biased_mf(ratings, config.rating_factors, config.rating_regularization, config.rating_bias_regularization, iterations, rng)
    arrays["mf_bias"], arrays["mf_factors"] = bias, factors
    meta["mu"] = mu
    meta["rating_range"] = [float(ratings.data.min()), float(ratings.data.max())] if ratings.nnz else [0.0, 5.0]
    if not blend and ratings.nnz and (config.rating_item_weight > 0 or config.rating_user_weight > 0):  # the rating correlations' matrix
        centred = centred_ratings(ratings, mu, bias)
        arrays.update(neighbours_data=centred.data, neighbours_indices=centred.indices.astype(np.int32), neighbours_indptr=centred.indptr.astype(np.int64))
        meta["neighbours_shape"] = list(centred.shape)
    content = content_features(catalog)
    arrays.update(content_data=content.data, content_indices=content.indices.astype(np.int32), content_indptr=content.indptr.astype(np.int64))
    meta["content_shape"] = [n, content.shape[1]]
    genres = catalog.genres.astype(np.float32)
    arrays["genres"] = genres
    arrays["genre_norm"] = np.linalg.norm(genres, axis=1).astype(np.float32)
    arrays["year"] = catalog.year
    arrays["next_episode"] = np.array(next_episodes(catalog), np.int32)  # the series feature's episode order
    arrays["added"] = catalog.added
    arrays["regions"] = catalog.regions
    meta["region_names"] = list(catalog.region_names)
    meta["personal"] = "ease" if use_ease else "als"
    return arrays, meta


def _pop_arrays(interactions: Interactions, fold: np.ndarray, origin: int, profiles: Sequence[Profile] | None) -> dict:
    """Sorted play keys (see ``_popularity``): episodes folded to their series, one play per
    member, title and day; per region of the members when ``profiles`` are given."""
    play = np.flatnonzero(interactions.kind == PLAY)
    item = fold[interactions.item[play]]
    keep = first_per_day(interactions.user[play], item, interactions.timestamp[play])
    play, item = play[keep], item[keep]
    arrays = {"pop_keys": play_keys(item, interactions.timestamp[play], origin)}
    if profiles is not None:
        if len(profiles) != interactions.n_users:
            raise DataError(f"{len(profiles)} profiles for {interactions.n_users} members", field="profiles", value=len(profiles))
        region = np.asarray(["" if p.region is None else p.region for p in profiles])[interactions.user[play]]
        for name in np.unique(region):
            if name:
                sel = region == name
                arrays[f"pop_keys_region_{name}"] = play_keys(item[sel], interactions.timestamp[play][sel], origin)
    return arrays


def fit(catalog: Catalog, interactions: Interactions | Any, config: FitConfig | None = None, *, progress: bool | None = None, profiles: Sequence[Profile] | None = None) -> Model:
    """Fit popularity/trending, similarity, the personal scorer, the rating predictor and the blend.

    The blend learns from each sampled member's last plays with models fitted without them;
    the final ALS then starts from that fit's factors (``refit_iterations``).

    ``interactions``: Interactions, or a pandas DataFrame or Arrow table of events with the
    generic events file's columns (``Interactions.from_pandas``, ``from_arrow``).
    ``profiles`` (one per member index, optional) gives per-region popularity.
    ``progress``: draw a progress bar on stderr (None: only on a terminal).

    Reproducible: the BLAS runs on one thread while fitting (a multi-threaded BLAS splits its
    sums differently for another thread count), so the same data, configuration and seed give
    the same arrays bit for bit; ``meta["blas"]`` records the BLAS libraries used.
    """
    interactions = as_interactions(interactions, catalog)
    with threadpool_limits(limits=1, user_api="blas"):
        arrays, meta = _fit(catalog, interactions, config, progress, profiles)
        meta["blas"] = _blas_used()
    return Model(arrays, meta)


def _blas_used() -> list[dict]:
    """The BLAS libraries loaded (API, implementation, version, threads), for the manifest."""
    return sorted(({k: str(lib.get(k)) for k in ("internal_api", "version", "num_threads")} for lib in threadpool_info() if lib.get("user_api") == "blas"), key=lambda d: sorted(d.items()))


def _fit(catalog: Catalog, interactions: Interactions, config: FitConfig | None, progress: bool | None, profiles: Sequence[Profile] | None) -> tuple[dict, dict]:
    config = config or FitConfig()
    if interactions.n_items != catalog.n:
        raise DataError(f"interactions are over {interactions.n_items} titles, the catalog has {catalog.n}", field="n_items", value=interactions.n_items)
    rng = np.random.default_rng(config.seed)
    bar = Progress("fit", 8, enabled=progress)
    origin = int(interactions.timestamp.min()) if interactions.n else 0
    fold = fold_items(catalog.series)
    pop = _pop_arrays(interactions, fold, origin, profiles)
    base_meta = {"format_version": FORMAT_VERSION, "n_items": catalog.n, "catalog_sha256": catalog.fingerprint(), "origin": origin, "config": config.model_dump(), "features": list(FEATURES)}
    warm: dict = {}
    weights, bias, mean, scale = _blend(catalog, interactions, fold, config, rng, bar, warm, pop, base_meta)
    arrays, meta = _components(catalog, interactions, config, rng, bar, warm)
    blend = {"blend_weights": weights, "blend_mean": mean, "blend_scale": scale}
    bar.close()
    return {**arrays, **pop, **blend}, {**base_meta, **meta, "blend_bias": bias}


def _blend(catalog: Catalog, interactions: Interactions, fold: np.ndarray, config: FitConfig, rng: np.random.Generator, bar: Progress, warm: dict, pop: dict, base_meta: dict) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """The blend's ``(weights, bias, mean, scale)``, learned from each sampled member's last plays
    with models fitted without them; those models are dropped on return (only ``warm`` stays)."""
    bar.step("blend examples")
    inner, examples = _holdout(interactions, fold, config, rng)
    arrays, meta = _components(catalog, inner, config, rng, bar, warm, blend=True)
    x, y, shown = _examples(Model({**arrays, **pop, **_neutral_blend()}, {**base_meta, **meta, "blend_bias": 0.0}), inner, examples, config, rng)
    bar.step("blend weights")
    x[:, [FEATURES.index(name) for name in config.blend_without]] = 0.0  # constant: weight 0
    if len(y) and 0 < y.sum() < len(y):
        return fit_logistic(x, y, config.blend_l2, _negative_weights(y, shown, config.blend_impression_share))
    return _default_blend()  # nothing to learn from: the personal scorer plus a little popularity


def _neutral_blend() -> dict:
    f = len(FEATURES)
    return {"blend_weights": np.zeros(f), "blend_mean": np.zeros(f), "blend_scale": np.ones(f)}


def _default_blend() -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    w = np.zeros(len(FEATURES))
    w[FEATURES.index("personal")] = 1.0
    w[FEATURES.index("pop_all")] = 0.5
    return w, 0.0, np.zeros(len(FEATURES)), np.ones(len(FEATURES))


def _holdout(interactions: Interactions, fold: np.ndarray, config: FitConfig, rng: np.random.Generator) -> tuple[Interactions, list[tuple[int, int, np.ndarray, np.ndarray]]]:
    """Drop each sampled member's last ``blend_holdout`` plays; ``(member, cutoff, positives, shown)``
    per member, ``shown`` the tiles shown to the member from the cutoff on and not played then
    (empty when ``blend_impression_share`` is 0)."""
    play = interactions.kind == PLAY
    shown = interactions.kind == IMPRESSION
    n_plays = np.bincount(interactions.user[play], minlength=interactions.n_users)
    candidates = np.flatnonzero(n_plays >= config.blend_min_history + config.blend_holdout)
    if len(candidates) > config.blend_users:
        candidates = np.sort(rng.choice(candidates, config.blend_users, replace=False))
    drop = np.zeros(interactions.n, bool)
    examples = []
    for u in candidates:
        sl = interactions.span(int(u))
        idx = np.arange(sl.start, sl.stop)[play[sl]]
        held = idx[-config.blend_holdout :]
        first = int(interactions.timestamp[held[0]])
        # everything of this member from the first held-out play on is dropped
        later = np.arange(sl.start, sl.stop)[interactions.timestamp[sl] >= first]
        drop[later] = True
        positives = np.unique(fold[interactions.item[held]])
        unplayed = np.zeros(0, np.int64)
        if config.blend_impression_share > 0:
            played = fold[interactions.item[later[play[later]]]]
            unplayed = np.setdiff1d(fold[interactions.item[later[shown[later]]]], played)
        examples.append((int(u), first, positives, unplayed))
    return interactions.select(~drop), examples


def _negative_weights(y: np.ndarray, shown: np.ndarray, share: float) -> np.ndarray | None:
    """Per-example weights within their class: the negatives ``shown`` (and passed on) share
    ``share`` of the negatives' weight, the sampled ones the rest; None when either kind is missing."""
    neg = y == 0
    n_shown, n_sampled = int((neg & shown).sum()), int((neg & ~shown).sum())
    if not n_shown or not n_sampled:
        return None
    return np.where(~neg, 1.0, np.where(shown, share / n_shown, (1.0 - share) / n_sampled))


def _examples(model: Model, inner: Interactions, examples, config: FitConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, and whether each example is a title shown and passed on."""
    xs: list = []
    ys: list = []
    flags: list = []
    states = [UserState.from_interactions(inner, inner.users.id(u), cutoff) for u, cutoff, _, _ in examples]
    block = 256
    for start in range(0, len(states), block):
        personal = model.personal_many(states[start : start + block])
        for offset, row in enumerate(personal):
            _, _, positives, shown = examples[start + offset]
            _example(model, states[start + offset], positives, shown, row, config, rng, xs, ys, flags)
    if not xs:
        return np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, bool)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(flags)


def _example(model: Model, state: UserState, positives: np.ndarray, shown: np.ndarray, personal_row: np.ndarray, config: FitConfig, rng: np.random.Generator, xs: list, ys: list, flags: list) -> None:
    """Append one member's positives and negatives (features as of the cutoff): sampled titles,
    and the titles ``shown`` to the member after the cutoff and not played."""
    n = model.n_items
    feats = model.features(state, personal=personal_row)
    fold = model.arrays["fold"]
    seen = state.seen_mask(n)
    seen[fold[state.items]] = True
    is_tile = fold == np.arange(n)  # negatives are tiles: an episode is never shown
    tiles = np.flatnonzero(is_tile)
    personal = np.where(seen | ~is_tile, -np.inf, feats[:, 0])
    personal[positives] = -np.inf
    k = min(config.blend_hard_negatives, n - 1)
    hard = np.argpartition(-personal, k)[:k] if k > 0 else np.zeros(0, np.int64)
    rand = tiles[rng.integers(0, len(tiles), config.blend_random_negatives)]
    neg = np.setdiff1d(np.r_[hard, rand, shown], np.r_[positives, np.flatnonzero(seen)])
    xs.append(feats[np.r_[positives, neg]])
    ys.append(np.r_[np.ones(len(positives)), np.zeros(len(neg))])
    flags.append(np.r_[np.zeros(len(positives), bool), np.isin(neg, shown)])
