"""The served-policy OPE report runs end to end on a tiny world, and its weights are exact."""

from __future__ import annotations

import math

import pytest

from pagegen.evaluate._ope_report import ESTIMANDS, METHODS, OPEReportConfig, Target, format_report, main, run


def test_the_report_runs_on_a_tiny_world_and_the_served_target_has_unit_weights():
    targets = (Target(name="served", explore=0.3, explore_epsilon=0.05), Target(name="hotter", explore=0.5, explore_epsilon=0.05))
    config = OPEReportConfig(seeds=2, members=8, views=2, truth_draws=2, model_draws=1, targets=targets)
    report = run(config)
    assert [s["seed"] for s in report["seeds"]] == [0, 1]
    for seed in report["seeds"]:
        served, hotter = seed["targets"]["served"], seed["targets"]["hotter"]
        assert seed["pages"] == 16
        # the logged propensities, read back from the impression log, are the served draw's probabilities
        assert served["ess"] == pytest.approx(16) and served["max_weight"] == pytest.approx(1.0)
        assert served["plays"]["ips"]["value"] == pytest.approx(seed["played"]) == served["plays"]["snips"]["value"]
        assert 0 < hotter["ess"] < 16  # another temperature reweights the pages
        for estimand in ESTIMANDS:
            assert 0 <= hotter[estimand]["truth"] <= 1 and math.isfinite(hotter[estimand]["dr"]["value"])
            assert hotter[estimand]["ips"]["low"] <= hotter[estimand]["ips"]["value"] <= hotter[estimand]["ips"]["high"]
    for method in METHODS:
        assert 0.0 <= report["summary"]["hotter"]["plays"][method]["coverage"] <= 1.0
    text = format_report(report)
    assert "2 seeds of the tiny world" in text and len(text.splitlines()) == 2 + 2 * len(ESTIMANDS) + 1


def test_the_command_writes_its_report(tmp_path, capsys):
    out = tmp_path / "ope.json"
    assert main(["--seeds", "1", "--members", "4", "--views", "1", "--truth-draws", "2", "--out", str(out)]) == 0
    assert out.exists() and "ips cover" in capsys.readouterr().out
