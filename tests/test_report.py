"""The evaluation report writers: Markdown, JSON (atomic), self-contained HTML."""

from __future__ import annotations

import math
import re

import orjson
import pytest

from pagegen.evaluate._report import EvalResult, SelectorResult, html_report, markdown_table, write_html, write_json


def selector(name: str, recall: float, *, dups: int = 0, kl: float = 0.5) -> SelectorResult:
    return SelectorResult(
        name=name,
        members=4,
        recall=recall,
        recall_page=recall + 0.1,
        n2dcg=recall / 2,
        hit_rate=0.75,
        duplicates=dups,
        coverage=0.2,
        coverage_screen=0.1,
        genre_diversity=0.4,
        calibration_kl=kl,
        novelty=9.5,
        kind_share={"trending": 0.25, "genre": 0.75},
        curve=[recall / 2, recall, recall + 0.1],
        heatmap=[[2, 0, 1], [0, 1, 0], [0, 0, 0]],
        seconds=0.02,
    )


def result() -> EvalResult:
    return EvalResult(
        dataset="synthetic:tiny",
        split="time",
        device="web",
        window=(2, 2),
        shape=(3, 3),
        members=4,
        mean_relevant=3.5,
        selectors={"stage_wise": selector("stage_wise", 0.3), "template": selector("template", 0.2, kl=math.nan)},
        timings={"fit": 1.5, "replay": 0.3},
        config={"seed": 0},
        failures={"genre": 1},
    )


def test_markdown_table_has_one_row_per_selector() -> None:
    text = markdown_table(result())
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| selector | Recall@window"))
    rows = [line for line in lines if line.startswith("| stage_wise |") or line.startswith("| template |")]
    assert len(rows) == 4  # the summary table and the hit-share table
    n_cols = header.count("|")
    assert rows[0].count("|") == n_cols
    assert "| stage_wise | 0.3000 | 0.4000 | 0.1500 | 0.750 | 0 |" in text
    assert "n/a" in rows[1]  # the NaN calibration of the template row
    assert "| template | 0.75 | 0.25 |" in text  # hit shares, kinds sorted: genre, trending
    assert "window 2x2" in text and "genre: 1" in text
    assert result().best("recall") == "stage_wise"


def test_json_is_standard_and_written_atomically(tmp_path) -> None:
    path = tmp_path / "out.json"
    write_json(result(), path)
    data = orjson.loads(path.read_bytes())
    assert data["selectors"]["template"]["calibration_kl"] is None  # NaN -> null
    assert data["selectors"]["stage_wise"]["ms_per_page"] == pytest.approx(5.0)
    assert data["selectors"]["stage_wise"]["heatmap"][0] == [2, 0, 1]
    assert data["window"] == [2, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_html_is_self_contained(tmp_path) -> None:
    text = html_report(result())
    assert text.startswith("<!DOCTYPE html>")
    for external in ("<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert external not in text
    # one heatmap per selector: 9 cells each, the hottest cell is fully coloured
    assert len(re.findall(r"<rect [^>]*><title>row", text)) == 18
    assert "row 1, column 1: 2 hits" in text
    assert text.count("<polyline") == 2  # one recall curve per selector
    path = tmp_path / "report.html"
    write_html(result(), path)
    assert path.read_text(encoding="utf-8") == text


def test_html_escapes_names() -> None:
    res = result()
    odd = EvalResult(**{**res.__dict__, "dataset": "<b>x</b>", "selectors": {"a<b": selector("a<b", 0.1)}})
    text = html_report(odd)
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert "a&lt;b" in text
