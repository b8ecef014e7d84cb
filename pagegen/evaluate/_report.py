"""Evaluation results and their three renderings: a Markdown table, JSON, a self-contained HTML report."""

from __future__ import annotations

import html
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from pagegen.core._atomic import atomic_write_bytes, atomic_write_text

from ._stats import Paired

__all__ = ["EvalResult", "SelectorResult", "html_report", "markdown_table", "write_html", "write_json"]

# (attribute, column header, format) of the summary table, in order
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("recall", "Recall@window", "{:.4f}"),
    ("recall_page", "Recall@page", "{:.4f}"),
    ("n2dcg", "N2DCG", "{:.4f}"),
    ("hit_rate", "Hit@screen", "{:.3f}"),
    ("duplicates", "Dups", "{:d}"),
    ("coverage", "Coverage", "{:.3f}"),
    ("coverage_screen", "Cov@screen", "{:.3f}"),
    ("genre_diversity", "GenreDiv", "{:.3f}"),
    ("calibration_kl", "CalibKL", "{:.3f}"),
    ("novelty", "Novelty", "{:.2f}"),
    ("ms_per_page", "ms/page", "{:.1f}"),
)

#: The paired metrics' headers, as in the summary table.
_PAIRED_HEADERS = {attr: header for attr, header, _ in _COLUMNS if attr in ("recall", "recall_page", "n2dcg", "hit_rate")}

#: What each column means (the report's glossary).
GLOSSARY: dict[str, str] = {
    "Recall@window": "relevant titles shown in the device's first screen (m rows x n columns) / relevant titles, averaged over members.",
    "Recall@page": "relevant titles anywhere on the page / relevant titles.",
    "N2DCG": "DCG2D = sum over cells (row r, column c, from 1) of (2^grade - 1) / log2(r + c), cells read in anti-diagonal order, "
    "a title credited once; divided by the DCG2D of the ideal page, which is the policy's full shape (n_rows x row_length) "
    "holding the relevant titles in the best cells. A page shorter or narrower than the policy's shape can score below 1 "
    "even when every cell it has is ideal: the metric rewards filling the page the policy allows.",
    "Hit@screen": "share of members with at least one relevant title on the first screen.",
    "Dups": "titles repeated on a page, summed over all pages (must be 0).",
    "Coverage": "share of the displayable catalog shown on at least one member's page; Cov@screen: on a first screen.",
    "GenreDiv": "mean share of the catalog's genres present on the first screen.",
    "CalibKL": "Kullback-Leibler divergence of the first screen's genre mix from the member's history (Steck 2018; lower is closer).",
    "Novelty": "mean -log2 popularity share of the first screen's titles (higher: less popular titles).",
    "ms/page": "seconds spent building the pages (shared candidate rows plus the builder's own selection) per page.",
    "paired difference": "candidate minus baseline per member; [low, high] is the 95% paired bootstrap interval of the mean "
    "difference; +k/-j counts the members better/worse; p is the two-sided sign test. A builder is better only when the "
    "whole interval is above 0.",
}

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class SelectorResult:
    """One selector's page-level metrics, averaged over the tested members.

    recall          mean Recall@m-by-n of the device's visible window (m rows x n columns)
    recall_page     mean recall over the whole page
    n2dcg           mean N2DCG (ideal grid: the policy's rows x row length)
    hit_rate        share of members with a relevant title on the first screen
    duplicates      titles repeated on a page, summed over all pages (must be 0)
    coverage        share of the displayable catalog shown on at least one member's page
    coverage_screen the same, counting only the first screens
    genre_diversity mean share of the catalog's genres on the first screen
    calibration_kl  mean Steck KL of the first screen's genres against the member's history
    novelty         mean -log2 popularity share of the first screen's titles
    kind_share      share of all credited hits earned by each row kind
    curve           mean recall@m-by-n for m = 1..rows (n = the window's columns): scroll depth
    heatmap         credited hits per cell (rows x columns), summed over members
    members         pages evaluated; seconds: time spent building them
    """

    name: str
    members: int
    recall: float
    recall_page: float
    n2dcg: float
    hit_rate: float
    duplicates: int
    coverage: float
    coverage_screen: float
    genre_diversity: float
    calibration_kl: float
    novelty: float
    kind_share: dict[str, float]
    curve: list[float]
    heatmap: list[list[int]]
    seconds: float

    @property
    def ms_per_page(self) -> float:
        return 1000.0 * self.seconds / self.members if self.members else 0.0


@dataclass(frozen=True)
class EvalResult:
    """The side-by-side replay of one data set: a SelectorResult per selector (and the baseline)."""

    dataset: str
    split: str
    device: str
    window: tuple[int, int]
    shape: tuple[int, int]
    members: int
    mean_relevant: float
    selectors: dict[str, SelectorResult]
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    baseline: str | None = None
    comparisons: dict[str, dict[str, Paired]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name, res in self.selectors.items():
            out["selectors"][name]["ms_per_page"] = res.ms_per_page
        for name, metrics in self.comparisons.items():
            for metric, stats in metrics.items():
                out["comparisons"][name][metric]["verdict"] = stats.verdict
        return _finite(out)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)

    def best(self, metric: str) -> str:
        """The selector with the highest value of ``metric`` (NaN counts as lowest)."""
        return max(self.selectors, key=lambda s: _or(getattr(self.selectors[s], metric), -math.inf))


def _or(value: float, default: float) -> float:
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _finite(obj: Any) -> Any:
    """NaN / inf become None so the JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _fmt(fmt: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return fmt.format(value)


def markdown_table(result: EvalResult) -> str:
    """The summary as a Markdown table (one row per selector), with a header line and the hit shares."""
    m, n = result.window
    lines = [
        f"### {result.dataset} — split {result.split}, {result.members} members, device {result.device} "
        f"(window {m}x{n}, page {result.shape[0]}x{result.shape[1]}), {result.mean_relevant:.1f} relevant titles per member",
        "",
        "| selector | " + " | ".join(h for _, h, _ in _COLUMNS) + " |",
        "|---|" + "---:|" * len(_COLUMNS),
    ]
    for name, res in result.selectors.items():
        cells = [_fmt(fmt, getattr(res, attr)) for attr, _, fmt in _COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    kinds = sorted({k for res in result.selectors.values() for k in res.kind_share})
    if kinds:
        lines += ["", "Share of hits by row kind:", "", "| selector | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
        for name, res in result.selectors.items():
            lines.append(f"| {name} | " + " | ".join(f"{res.kind_share.get(k, 0.0):.2f}" for k in kinds) + " |")
    if result.comparisons:
        lines += ["", _comparison_caption(result) + ":", "", "| selector | " + " | ".join(_PAIRED_HEADERS.values()) + " |", "|---|" + "---:|" * len(_PAIRED_HEADERS)]
        for name, metrics in result.comparisons.items():
            lines.append(f"| {name} | " + " | ".join(_paired_cell(metrics[m], bold="**") for m in _PAIRED_HEADERS) + " |")
    lines += ["", "N2DCG's ideal page is the policy's full shape: a shorter page scores lower (see the HTML report's glossary)."]
    if result.failures:
        lines += ["", "Ranker failures (dropped for the request) and empty pages (nothing to show: no credit): " + ", ".join(f"{k}: {v}" for k, v in sorted(result.failures.items()))]
    return "\n".join(lines) + "\n"


def _comparison_caption(result: EvalResult) -> str:
    return (f"Against {result.baseline}, member by member (mean difference [95% paired bootstrap CI], members better+/worse-, "
            "sign test p; in bold where the interval excludes 0)")  # fmt: skip


def _paired_cell(stats: Paired, bold: str) -> str:
    if stats.members == 0:
        return "n/a"
    text = f"{stats.diff:+.4f} [{stats.low:+.4f}, {stats.high:+.4f}] {stats.better}+/{stats.worse}- p={stats.sign_p:.2g}"
    return f"{bold}{text}{bold}" if stats.verdict != "tied" else text


def write_json(result: EvalResult, path: str | os.PathLike[str]) -> None:
    """The full result as JSON, written atomically."""
    atomic_write_bytes(path, result.to_json() + b"\n")


# -- HTML -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}h3{font-size:1em;margin:0.3em 0}
table{border-collapse:collapse;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}dd{margin:0 0 0.6em 1.2em;overflow-wrap:anywhere}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
.grid{display:flex;flex-wrap:wrap;gap:2em}.card{border:1px solid #ddd;border-radius:6px;padding:0.8em}
.note{color:#666;font-size:0.85em}svg text{font-size:10px;fill:#444}
.scroll{overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto}
@media (max-width:700px){body{margin:0.8em}}
"""


def _nice_step(top: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _shade(value: float, peak: float) -> str:
    """The one colour scale of every heatmap: white at 0, deep red at ``peak``."""
    s = 0.0 if peak <= 0 else min(value / peak, 1.0)
    return f"rgb(255,{int(255 - 200 * s)},{int(255 - 230 * s)})"


def _heatmap_svg(heat: list[list[int]], window: tuple[int, int], peak: float, cell: int = 11) -> str:
    """Credited hits per cell on the shared scale ``peak`` (the largest cell of every selector)."""
    rows = len(heat)
    cols = max((len(r) for r in heat), default=0)
    left, top = 40, 26
    width, height = left + cols * cell + 4, top + rows * cell + 4
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    parts.append(f'<text x="{left}" y="9">column</text><text x="2" y="{top - 4}">row</text>')
    for c in range(0, cols, 5):
        parts.append(f'<text x="{left + c * cell}" y="21">{c + 1}</text>')
    for r in range(rows):
        if r % 5 == 0:
            parts.append(f'<text x="16" y="{top + r * cell + 9}">{r + 1}</text>')
        for c, v in enumerate(heat[r]):
            parts.append(
                f'<rect x="{left + c * cell}" y="{top + r * cell}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{_shade(v, peak)}"><title>row {r + 1}, column {c + 1}: {v} hits</title></rect>'
            )
    m, n = window
    parts.append(
        f'<rect x="{left - 1}" y="{top - 1}" width="{min(n, cols) * cell + 1}" height="{min(m, rows) * cell + 1}" '
        'fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="3,2"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _color_key_svg(peak: float, width: int = 260) -> str:
    """The colour key shared by every heatmap: hits per cell, with round ticks."""
    step = _nice_step(peak, 4) if peak > 0 else 1.0
    parts = [f'<svg viewBox="0 0 {width + 40} 34" width="{width + 40}" height="34" role="img"><text x="0" y="9">hits per cell</text>']
    for i in range(50):
        parts.append(f'<rect x="{i * width / 50:.1f}" y="12" width="{width / 50 + 0.5:.1f}" height="9" fill="{_shade(peak * i / 49, peak)}"/>')
    tick = 0.0
    while tick <= peak + 1e-9:
        x = width * tick / peak if peak > 0 else 0.0
        parts.append(f'<text x="{x:.1f}" y="32">{tick:g}</text>')
        tick += step
    parts.append("</svg>")
    return "".join(parts)


def _curves_svg(curves: dict[str, list[float]], window_rows: int) -> str:
    width, height, left, bottom, top, right = 560, 300, 44, 30, 16, 130
    depth = max((len(c) for c in curves.values()), default=1)
    peak = max((v for c in curves.values() for v in c if v is not None and math.isfinite(v)), default=0.0)
    step = _nice_step(peak * 1.05, 5) if peak > 0 else 0.1
    ymax = step * math.ceil(peak * 1.05 / step) if peak > 0 else 1.0
    pw, ph = width - left - right, height - top - bottom

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (pw * i / max(depth - 1, 1))
        return x, top + ph * (1 - v / ymax)

    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#888"/>')
    for k in range(round(ymax / step) + 1):
        v = step * k
        _, y = xy(0, v)
        parts.append(f'<text x="2" y="{y + 3:.1f}">{v:g}</text>')
    parts.append('<text x="2" y="9">recall</text>')
    for i in range(0, depth, max(depth // 10, 1)):
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x - 3:.1f}" y="{top + ph + 14}">{i + 1}</text>')
    parts.append(f'<text x="{left + pw / 2 - 40:.0f}" y="{height - 2}">rows scrolled (m)</text>')
    if 1 <= window_rows <= depth:
        x, _ = xy(window_rows - 1, 0)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#aaa" stroke-dasharray="4,3"/>')
    for j, (name, curve) in enumerate(curves.items()):
        color = _PALETTE[j % len(_PALETTE)]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(curve) if v is not None and math.isfinite(v)))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"><title>{html.escape(name)}</title></polyline>')
        parts.append(f'<rect x="{left + pw + 10}" y="{top + 14 * j}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + pw + 24}" y="{top + 14 * j + 9}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(result: EvalResult) -> str:
    """A self-contained HTML page (inline CSS and SVG, no external asset)."""
    esc = html.escape
    m, n = result.window
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in _COLUMNS)
    body = []
    for name, res in result.selectors.items():
        cells = "".join(f"<td>{esc(_fmt(fmt, getattr(res, attr)))}</td>" for attr, _, fmt in _COLUMNS)
        body.append(f"<tr><td>{esc(name)}</td>{cells}</tr>")
    cards = []
    peak = max((v for res in result.selectors.values() for r in res.heatmap for v in r), default=0)
    for name, res in result.selectors.items():
        total = sum(v for r in res.heatmap for v in r)
        shares = ", ".join(f"{esc(k)} {v:.0%}" for k, v in sorted(res.kind_share.items(), key=lambda kv: -kv[1]))
        cards.append(
            f'<div class="card"><h3>{esc(name)}</h3>{_heatmap_svg(res.heatmap, result.window, peak)}'
            f'<p class="note">{total} credited hits over {res.members} pages; dashed box: first screen ({m}x{n}).'
            f"<br>Hits by row kind: {shares or 'none'}</p></div>"
        )
    timings = ", ".join(f"{esc(k)} {v:.1f} s" for k, v in result.timings.items())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>pagegen evaluation: {esc(result.dataset)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Page-level replay: {esc(result.dataset)}</h1>"
        f'<p>Split <b>{esc(result.split)}</b>, {result.members} members, {result.mean_relevant:.1f} relevant titles per member, '
        f"device <b>{esc(result.device)}</b> (first screen {m} rows x {n} columns, page up to {result.shape[0]} x {result.shape[1]}).</p>"
        f"<div class=\"scroll\"><table><tr><th>selector</th>{head}</tr>{''.join(body)}</table></div>"
        f'<p class="note">Timings: {timings or "n/a"}.</p>'
        f"<h2>Recall@m-by-{n} as the member scrolls</h2>{_curves_svg({k: r.curve for k, r in result.selectors.items()}, m)}"
        '<p class="note">Dashed line: the first screen.</p>'
        f'<h2>Where on the page the hits land (rows x columns)</h2><p class="note">One colour scale for every builder:</p>{_color_key_svg(peak)}<div class="grid">{"".join(cards)}</div>'
        f"{_comparisons_html(result)}{_glossary_html()}"
        "</body></html>\n"
    )


def _comparisons_html(result: EvalResult) -> str:
    if not result.comparisons:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in _PAIRED_HEADERS.values())
    body = "".join(
        f"<tr><td>{esc(name)}</td>" + "".join(f"<td>{esc(_paired_cell(metrics[m], bold=''))}{' &#9650;' if metrics[m].verdict == 'better' else ' &#9660;' if metrics[m].verdict == 'worse' else ''}</td>" for m in _PAIRED_HEADERS) + "</tr>"
        for name, metrics in result.comparisons.items()
    )
    return f"<h2>{esc(_comparison_caption(result).replace('in bold', 'marked'))}</h2><div class=\"scroll\"><table><tr><th>selector</th>{head}</tr>{body}</table></div>"


def _glossary_html() -> str:
    items = "".join(f"<dt><b>{html.escape(k)}</b></dt><dd>{html.escape(v)}</dd>" for k, v in GLOSSARY.items())
    return f"<h2>Glossary</h2><dl>{items}</dl>"


def write_html(result: EvalResult, path: str | os.PathLike[str]) -> None:
    """The HTML report, written atomically."""
    atomic_write_text(path, html_report(result))
