"""The fatigue report: repeated visits with fatigue handling on and off, paired over members."""

from __future__ import annotations

import numpy as np

from pagegen.evaluate._fatigue_report import fatigue_report, main


def test_the_report_follows_members_and_pairs_the_arms(tiny_world) -> None:
    report = fatigue_report(tiny_world, members=12, visits=4, seed=0)
    assert set(report.arms) == {"on", "off"} and report.members == 12 and report.visits == 4
    for arm in report.arms.values():
        assert arm.expected.shape == (12, 4) and arm.played.shape == (12, 4)
        assert np.all((arm.expected >= 0) & (arm.expected <= 1))
    assert report.arms["off"].fatigued == 0 and report.arms["on"].fatigued > 0
    d = report.diff
    assert d.members == 12 and d.low <= d.diff <= d.high
    on, off = (report.arms[a].expected.mean(axis=1) for a in ("on", "off"))
    assert np.isclose(d.diff, float((on - off).mean()))
    out = report.to_dict()
    assert out["difference"]["verdict"] in {"better", "worse", "tied"} and len(out["arms"]["on"]["per_visit"]) == 4


def test_the_command_prints_the_table(capsys) -> None:
    assert main(["--world", "tiny", "--members", "5", "--visits", "2"]) == 0
    out = capsys.readouterr().out
    assert "| on |" in out and "| off |" in out and "paired bootstrap CI" in out


def test_the_command_sets_the_worlds_fatigue(capsys) -> None:
    assert main(["--world", "tiny", "--members", "3", "--visits", "2", "--world-fatigue", "0"]) == 0
    assert "world tiny (truth fatigue 0)" in capsys.readouterr().out
