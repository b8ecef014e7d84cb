"""Learned page construction: features of a candidate row given the page so far, the stage-wise
loop they drive, and a row scorer trained on logged pages.

The loop places one row at a time. At each step every remaining candidate row is refilled with
its titles not yet on the page (vectorized over all candidates: a rows x positions index matrix
and a used-titles mask), described by a feature vector (:data:`FEATURES`), scored, and one row is
chosen: greedily (a selector) or at random with known probabilities (a logging policy).

Train from logs with ``python -m pagegen.learned train LOGS.jsonl OUT.json``: a logistic
regression of "the member played in this row" on the row's features, over the rows the member
could still reach (no play above); ``--weights propensity`` weighs each by the inverse of the
propensity with which the logging policy placed it (``training_rows`` gives both). Serving: ``pagegen.page._learned_select.learned_selector(LearnedScorer.load(OUT))``
scores the candidates inside the page builder's constrained greedy loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import minimize

from pagegen.core._atomic import atomic_write_bytes
from pagegen.core._candidates import ROW_KINDS, CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError, ModelFileError
from pagegen.core._plackett_luce import step_probabilities
from pagegen.core._time import DAY

__all__ = ["Chooser", "FEATURES", "KINDS", "LearnedScorer", "MAX_WEIGHT", "Request", "Scorer", "StepConfig", "Steps", "gain_scorer", "greedy", "row_features", "run_steps", "step_probabilities", "train", "training_rows"]

#: Row kinds as feature columns; a custom kind counts as "other".
KINDS: tuple[str, ...] = (*ROW_KINDS, "other")
#: The feature columns of a candidate row at one step, in order.
FEATURES: tuple[str, ...] = (
    "position",  # step / n_rows: how far down the page the row would go
    "gain",  # attention-weighted mean relevance of the row's new titles (0 for an empty slot)
    "top",  # best relevance among the row's first visible new titles
    "fill",  # share of the row's slots that new titles fill
    "overlap",  # share of the row's own first titles already on the page (redundancy)
    "genre_overlap",  # cosine between the row's genre mix and the genre mix placed above
    "same_kind",  # rows of the same kind above (capped at 3, / 3)
    "fresh",  # share of the row's new titles added to the service recently
    "activity",  # log1p(titles the member played) / 5
    "gain_x_position",  # interaction: relevance matters less further down
    "row_score",  # the candidate's own row score / the best candidate's (its ranker's confidence)
    "title_score",  # attention-weighted mean of the ranker's title scores (relative to the row's best) over new titles
    *(f"kind={k}" for k in KINDS),
)


class StepConfig(BaseModel):
    """Shape of the pages the stage-wise loop builds and of the features it computes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_rows: int = Field(10, ge=1, le=100, description="Rows on a page (the loop stops early when no candidate has enough new titles).")
    n_cols: int = Field(20, ge=1, le=200, description="Titles per row.")
    min_titles: int = Field(3, ge=1, le=200, description="A candidate needs at least this many new titles to be placed.")
    visible_columns: int = Field(5, ge=1, le=200, description="Titles the `top` feature looks at.")
    column_decay: float = Field(0.85, gt=0.0, le=1.0, description="Attention weight ratio between neighbouring columns in the `gain` feature.")
    fresh_days: int = Field(180, ge=1, le=10_000, description="A title added within this many days before `now` counts as fresh.")


@dataclass(frozen=True, eq=False)
class Request:
    """One page view to build: the member, the moment, the candidate rows and what the member likes.

    relevance  float (n_items,) in [0, 1]: the model's liking of each title for this member
               (``RankContext.affinity``); ground truth never enters here.
    activity   how many titles the member has played
    eligible   optional bool (n_items,): titles that may be shown (None: every candidate title)
    """

    member: int
    user: str | None
    now: int
    view: int
    candidates: tuple[CandidateRow, ...]
    relevance: np.ndarray
    activity: int
    eligible: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        rel = np.asarray(self.relevance, dtype=np.float64)
        if not np.all(np.isfinite(rel)):
            raise DataError("non-finite relevance", field="relevance", value=float(rel[~np.isfinite(rel)][0]))
        object.__setattr__(self, "relevance", rel)

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Candidate titles int32 (K, L) padded with -1, kind codes (K,), title scores relative to
        each row's best (K, L) and row scores relative to the best candidate's (K,), both in [0, 1]."""
        k = len(self.candidates)
        width = max((len(c) for c in self.candidates), default=0)
        items = np.full((k, max(width, 1)), -1, np.int32)
        q = np.zeros(items.shape)
        for pos, row in enumerate(self.candidates):  # once per request, not in the selection loop
            items[pos, : len(row)] = row.items
            q[pos, : len(row)] = np.maximum(row.scores, 0.0)
        top = q.max(axis=1, keepdims=True)
        q = np.divide(q, top, out=(items >= 0).astype(np.float64), where=top > 0)
        weight = np.maximum(np.array([c.score for c in self.candidates], dtype=np.float64), 0.0)
        weight = weight / weight.max() if k and weight.max() > 0 else np.ones(k)
        kind = np.array([KINDS.index(c.kind) if c.kind in KINDS else len(KINDS) - 1 for c in self.candidates], dtype=np.int64)
        return items, kind, q, weight


@dataclass(frozen=True)
class Steps:
    """A page built by :func:`run_steps`: chosen candidates in page order and their rows' titles.

    chosen    int (n,) candidate index of each row, top to bottom
    grid      int32 (n, n_cols) catalog indices, -1 empty
    features  float64 (n, len(FEATURES)) of each chosen row at the step it was placed
    info      per-step values returned by the chooser (e.g. propensities)
    """

    chosen: np.ndarray
    grid: np.ndarray
    features: np.ndarray
    info: tuple


#: A row scorer: features (K, len(FEATURES)) of the candidates at one step -> float (K,) scores.
Scorer = Callable[[np.ndarray], np.ndarray]

#: A chooser sees the step, the candidates' features (K, F) and which may be placed (K,) bool;
#: it returns the chosen candidate index and any per-step value to keep (e.g. a propensity).
Chooser = Callable[[int, np.ndarray, np.ndarray], tuple[int, object]]


def _refill(items: np.ndarray, q: np.ndarray, blocked: np.ndarray, used: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each candidate's first ``n_cols`` titles not blocked (used or ineligible) (K, n_cols), their
    title scores, and the share of the candidate's own first titles already on the page."""
    valid = items >= 0
    safe = np.where(valid, items, 0)
    new = valid & ~blocked[safe]
    rank = np.cumsum(new, axis=1) - 1
    keep = new & (rank < n_cols)
    out = np.full((items.shape[0], n_cols), -1, np.int32)
    r, c = np.nonzero(keep)
    out[r, rank[keep]] = items[keep]
    out_q = np.zeros(out.shape)
    out_q[r, rank[keep]] = q[keep]
    head = valid[:, :n_cols]
    overlap = (head & used[safe[:, :n_cols]]).sum(axis=1) / np.maximum(head.sum(axis=1), 1)
    return out, out_q, overlap


def row_features(catalog: Catalog, request: Request, config: StepConfig, step: int, new: np.ndarray, new_q: np.ndarray, overlap: np.ndarray, kind: np.ndarray, weight: np.ndarray, placed_genres: np.ndarray, kind_counts: np.ndarray) -> np.ndarray:
    """Features (K, len(FEATURES)) of every candidate row if it were placed at ``step``.

    ``new`` are the candidates' refilled titles (K, n_cols) and ``new_q`` their relative title
    scores, ``weight`` the relative row scores, ``placed_genres`` the genre counts of the titles
    above, ``kind_counts`` the rows of each kind above.
    """
    filled = new >= 0
    safe = np.where(filled, new, 0)
    rel = np.where(filled, request.relevance[safe], 0.0)
    att = config.column_decay ** np.arange(new.shape[1])
    gain = rel @ att / att.sum()
    vis = min(config.visible_columns, new.shape[1])
    top = np.max(np.where(filled[:, :vis], rel[:, :vis], 0.0), axis=1)
    fill = filled.mean(axis=1)
    genres = catalog.genres[safe] & filled[:, :, None]  # (K, n_cols, G)
    mix = genres.sum(axis=1).astype(np.float64)
    norm = np.linalg.norm(mix, axis=1) * np.linalg.norm(placed_genres)
    genre_overlap = np.divide(mix @ placed_genres, norm, out=np.zeros(len(mix)), where=norm > 0)
    same_kind = np.minimum(kind_counts[kind], 3) / 3.0
    recent = filled & (catalog.added[safe] >= request.now - config.fresh_days * DAY)
    fresh = recent.sum(axis=1) / np.maximum(filled.sum(axis=1), 1)
    position = np.full(len(new), step / config.n_rows)
    activity = np.full(len(new), np.log1p(request.activity) / 5.0)
    onehot = np.zeros((len(new), len(KINDS)))
    onehot[np.arange(len(new)), kind] = 1.0
    title_score = new_q @ att / att.sum()
    cols = [position, gain, top, fill, overlap, genre_overlap, same_kind, fresh, activity, gain * position, weight, title_score]
    return np.column_stack([*cols, onehot])


def run_steps(catalog: Catalog, request: Request, config: StepConfig, choose: Chooser, *, limit: int | None = None) -> Steps:
    """Build one page row by row; ``choose`` picks each row among the placeable candidates.

    ``limit``: stop after that many rows (default ``config.n_rows``). The features stay those of
    a ``config.n_rows``-row page (``position`` is ``step / config.n_rows``), so a replay of a
    page's first rows sees exactly what the full loop saw there; shrinking ``n_rows`` instead
    would not.
    """
    items, kind, q, weight = request.matrix()
    used = np.zeros(catalog.n, dtype=bool)
    blocked = np.zeros(catalog.n, dtype=bool) if request.eligible is None else ~np.asarray(request.eligible, dtype=bool)
    placed = np.zeros(len(items), dtype=bool)
    placed_genres = np.zeros(len(catalog.genre_names))
    kind_counts = np.zeros(len(KINDS))
    chosen, rows, feats, info = [], [], [], []
    n_steps = config.n_rows if limit is None else min(int(limit), config.n_rows)
    for step in range(n_steps):
        new, new_q, overlap = _refill(items, q, blocked, used, config.n_cols)
        ok = ~placed & ((new >= 0).sum(axis=1) >= config.min_titles)
        if not ok.any():
            break
        x = row_features(catalog, request, config, step, new, new_q, overlap, kind, weight, placed_genres, kind_counts)
        pick, extra = choose(step, x, ok)
        if not (0 <= pick < len(items)) or not ok[pick]:
            raise DataError(f"step {step}: the chooser picked a candidate that cannot be placed", field="choice", value=pick)
        row = new[pick]
        row = row[row >= 0]
        used[row] = True
        blocked[row] = True
        placed[pick] = True
        placed_genres += catalog.genres[row].sum(axis=0)
        kind_counts[kind[pick]] += 1
        chosen.append(pick)
        rows.append(new[pick])
        feats.append(x[pick])
        info.append(extra)
    grid = np.stack(rows) if rows else np.zeros((0, config.n_cols), np.int32)
    return Steps(np.asarray(chosen, dtype=np.int64), grid, np.asarray(feats).reshape(len(chosen), len(FEATURES)), tuple(info))


def greedy(scorer: Scorer) -> Chooser:
    """A chooser that places the best-scored row (a deterministic selector)."""

    def choose(step: int, x: np.ndarray, ok: np.ndarray) -> tuple[int, float]:
        return int(np.argmax(step_probabilities(scorer(x), ok, None))), 1.0

    return choose


def gain_scorer(x: np.ndarray) -> np.ndarray:
    """The hand-made stage-wise score: attention-weighted relevance of the row's new titles."""
    return x[:, FEATURES.index("gain")]


@dataclass(frozen=True, eq=False)
class LearnedScorer:
    """A trained row scorer: logistic regression on standardized :data:`FEATURES`.

    ``scorer(x)`` returns the predicted probability that the member plays in each candidate
    row at this step, given that the member reaches it.
    """

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    n_train: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def save(self, path) -> None:
        doc = {"format": "pagegen.learned_scorer", "version": 1, "features": list(FEATURES), "weights": self.weights.tolist(), "bias": self.bias, "mean": self.mean.tolist(), "scale": self.scale.tolist(), "n_train": self.n_train}
        atomic_write_bytes(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))

    @classmethod
    def load(cls, path) -> LearnedScorer:
        try:
            doc = orjson.loads(open(path, "rb").read())
            if doc.get("format") != "pagegen.learned_scorer" or doc.get("version") != 1:
                raise ModelFileError(f"{path}: not a pagegen learned scorer (format/version)")
            if doc["features"] != list(FEATURES):
                raise ModelFileError(f"{path}: trained on features {doc['features']}, this version computes {list(FEATURES)}")
            arrays = [np.asarray(doc[k], np.float64) for k in ("weights", "mean", "scale")]
            if any(a.shape != (len(FEATURES),) for a in arrays) or not all(np.all(np.isfinite(a)) for a in arrays) or np.any(arrays[2] <= 0):
                raise ModelFileError(f"{path}: weights, mean and scale must be {len(FEATURES)} finite numbers (scale > 0)")
            return cls(arrays[0], float(doc["bias"]), arrays[1], arrays[2], int(doc["n_train"]))
        except ModelFileError:
            raise
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise ModelFileError(f"{path}: cannot load the learned scorer ({err})") from None


def train(features: np.ndarray, played: np.ndarray, *, weights: np.ndarray | None = None, l2: float = 1.0) -> LearnedScorer:
    """Fit the row scorer: L2-regularized logistic regression, deterministic (L-BFGS from zero).

    ``features`` (m, len(FEATURES)) of logged rows the member could still reach, ``played``
    (m,) 0/1 whether the play landed in that row, ``weights`` (m,) > 0 each row's weight in the
    loss (``training_rows`` gives the inverse propensities; None: 1 each).
    """
    x = np.asarray(features, np.float64)
    y = np.asarray(played, np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or len(y) != len(x):
        raise DataError(f"expected features (m, {len(FEATURES)}) and m labels, got {x.shape} and {y.shape}", field="features")
    if len(x) == 0 or not np.all(np.isfinite(x)):
        raise DataError("no training rows, or non-finite features", field="features")
    v = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64)
    if v.shape != y.shape or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise DataError(f"expected m = {len(y)} finite positive weights", field="weights", value=str(v.shape))
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    m = float(v.sum())

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        logit = z @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
        nll = v @ (np.logaddexp(0.0, logit) - y * logit) / m + 0.5 * l2 * (w @ w) / m
        residual = v * (p - y)
        grad = np.append(z.T @ residual / m + l2 * w / m, np.sum(residual) / m)
        return float(nll), grad

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return LearnedScorer(res.x[:-1].copy(), float(res.x[-1]), mean, scale, len(z))


#: The largest inverse-propensity weight of a training row, relative to the mean weight (bounds the variance).
MAX_WEIGHT = 10.0


def training_rows(impressions: Sequence[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, played, weights) of the logged rows a member could still reach (no play above).

    A row's weight is the inverse of its propensity, the probability that the logging policy placed
    it given the rows above, divided by the mean and capped at MAX_WEIGHT: weighted, the training
    rows stand for every candidate the policy could have placed at each step, as the greedy selector
    scores every candidate, rather than for the rows the logging policy favours."""
    xs, ys, ps = [], [], []
    for line, rec in enumerate(impressions, start=1):
        play = rec.get("play")
        last = play["row"] if play else len(rec["rows"]) - 1
        for r, row in enumerate(rec["rows"][: last + 1]):
            if len(row["features"]) != len(FEATURES):
                raise DataError(f"{len(row['features'])} features, expected {len(FEATURES)}", line=line, field=f"rows[{r}].features")
            p = row.get("propensity")
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 < p <= 1.0:
                raise DataError("propensity must be a number within (0, 1]", line=line, field=f"rows[{r}].propensity", value=p)
            xs.append(row["features"])
            ys.append(1.0 if play and r == play["row"] else 0.0)
            ps.append(float(p))
    inverse = 1.0 / np.asarray(ps, np.float64)
    weights = np.minimum(inverse / inverse.mean(), MAX_WEIGHT) if len(inverse) else inverse
    return np.asarray(xs, np.float64).reshape(len(xs), len(FEATURES)), np.asarray(ys), weights
