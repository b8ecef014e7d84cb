"""The quality protocol: the temporal split, the metrics, and the targets on MovieLens."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._interactions import Interactions
from pagegen.core._vocab import Vocab
from pagegen.evaluate import _quality
from pagegen.evaluate._quality import ranking_metrics, temporal_split
from pagegen.evaluate._tuning import Step, tune
from pagegen.models._fit import FitConfig


def ratings(rows: list[tuple[int, int, int, float]]) -> Interactions:
    """(user, item, time, rating) -> a rating and a play event each, as the MovieLens loader makes."""
    arr = np.asarray(rows, np.float64)
    m = len(arr)
    user, item, ts = arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2].astype(np.int64)
    return Interactions(
        users=Vocab(["a", "b"]),
        user=np.r_[user, user],
        item=np.r_[item, item],
        timestamp=np.r_[ts, ts],
        kind=np.r_[np.zeros(m), np.ones(m)].astype(np.int8),
        value=np.r_[np.ones(m), arr[:, 3]].astype(np.float32),
        n_items=20,
    )


def test_split_holds_out_the_last_ratings_by_time_then_item():
    # member 0: 12 ratings, two ties at time 100 (items 9 and 3 -> order 3, 9)
    rows = [(0, i, 10 * i, 3.0) for i in range(10)] + [(0, 11, 100, 4.0), (0, 10, 100, 5.0)]
    rows[9] = (0, 9, 100, 2.0)
    rows[3] = (0, 3, 100, 1.0)
    # member 1: 9 ratings -> stays in train entirely
    rows += [(1, i, 5 * i, 3.0) for i in range(9)]
    split = temporal_split(ratings(rows), n_test=5, min_interactions=10)
    assert split.test_users.tolist() == [0]
    # sorted by (time, item): items 0-2 and 4-8 at times 0..80, then (100, 3), (100, 9), (100, 10), (100, 11)
    assert split.test_items[0].tolist() == [8, 3, 9, 10, 11]
    assert split.test_ratings[0].tolist() == [3.0, 1.0, 2.0, 5.0, 4.0]
    train = split.train
    assert train.n == 2 * (12 - 5 + 9)
    held = {(0, 8), (0, 3), (0, 9), (0, 10), (0, 11)}
    assert not held & set(zip(train.user.tolist(), train.item.tolist(), strict=True))
    assert split.cutoff.tolist() == [70 + 1]


def test_ranking_metrics_hand_computed():
    ranked = np.array([[1, 2, 3], [4, 5, 6]])
    relevant = (np.array([2, 9]), np.array([7]))
    ndcg, recall = ranking_metrics(ranked, relevant, 3)
    # member 0: hit at rank 2 -> DCG 1/log2(3); ideal for 2 relevant -> 1 + 1/log2(3); member 1: 0
    expected = (1 / np.log2(3)) / (1 + 1 / np.log2(3)) / 2
    assert ndcg == pytest.approx(expected)
    assert recall == pytest.approx((1 / 2 + 0) / 2)
    # Recall@K divides by min(K, |relevant|)
    _, recall1 = ranking_metrics(np.array([[2]]), (np.array([2, 9]),), 1)
    assert recall1 == 1.0


def test_main_prints_a_markdown_table(monkeypatch, capsys, tmp_path):
    table = {"learned blend": {"NDCG@10": 0.07, "Recall@10": 0.1, "NDCG@20": 0.09, "Recall@20": 0.15}, "rating MF": {"RMSE": 0.9}, "_info": {"test_users": 610, "fit_seconds": 3.0}}
    monkeypatch.setattr(_quality, "quality_table", lambda data_dir: table)
    assert _quality.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| learned blend | 0.0700 | 0.1000 | 0.0900 | 0.1500 |  |" in out
    assert "| rating MF |  |  |  |  | 0.9000 |" in out
    assert "610 test members" in out
    tuned = {**table, "_validation": {"learned blend": {"NDCG@10": 0.08}}, "_chosen": {"recency_tau": 5.0}, "_rmse_paired": {"rating MF vs bias baseline": {"mse_difference": -0.01, "low": -0.02, "high": -0.005, "members": 610}}}
    monkeypatch.setattr(_quality, "quality_table", lambda data_dir: tuned)
    assert _quality.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("validation (tuning):") < out.index("| learned blend | 0.0800 |") < out.index("test:") < out.index("| learned blend | 0.0700 |")
    assert "chosen on validation: recency_tau=5.0" in out
    assert "-0.0100 (95% CI -0.0200 to -0.0050, 610 members)" in out


def test_tune_walks_the_grid_one_setting_at_a_time():
    calls = []

    def measure(cfg):
        calls.append((cfg.recency_tau, cfg.next_tau))
        # NDCG peaks at recency_tau 5 whatever next_tau; RMSE is lowest at next_tau 6
        return {"a": {"NDCG@10": -abs(cfg.recency_tau - 5)}, "b": {"RMSE": abs(cfg.next_tau - 6) + cfg.recency_tau}}

    grid = (Step("recency_tau", (2.0, 5.0, 10.0), "a", "NDCG@10"), Step("next_tau", (1.0, 6.0, 3.0), "b", "RMSE"))
    tuned = tune(FitConfig(recency_tau=2.0, next_tau=1.0), measure, grid)
    assert (tuned.config.recency_tau, tuned.config.next_tau) == (5.0, 6.0)
    # each configuration is fitted once: (2, 1) is the start and the first trial
    assert calls == [(2.0, 1.0), (5.0, 1.0), (10.0, 1.0), (5.0, 6.0), (5.0, 3.0)]
    assert [t[:2] for t in tuned.trials] == [("recency_tau", 2.0), ("recency_tau", 5.0), ("recency_tau", 10.0), ("next_tau", 1.0), ("next_tau", 6.0), ("next_tau", 3.0)]
    assert tuned.validation == measure(tuned.config)
    # a setting whose method is not measured keeps its value
    skipped = tune(FitConfig(next_tau=1.0), measure, (Step("next_tau", (6.0,), "rating MF", "RMSE"),))
    assert skipped.config.next_tau == 1.0 and skipped.trials == ()


@pytest.mark.data
@pytest.mark.slow
def test_movielens_targets(ml_small_dir):
    """Tuned on validation only, the learned blend beats the order-blind and order-aware peers on
    test; the rating predictor beats the bias baseline."""
    table = _quality.quality_table(ml_small_dir)
    assert table["_info"]["test_users"] == 610
    assert set(table["_chosen"]) == {step.field for step in _quality.GRID}
    blend = table["learned blend"]
    assert blend["NDCG@10"] >= 0.103
    assert blend["Recall@20"] >= 0.168
    for peer in ("EASE", "recency-weighted item-item", "next-play transitions"):
        assert blend["NDCG@10"] > table[peer]["NDCG@10"], peer
    assert table["EASE"]["NDCG@10"] >= 0.05
    # the settings chosen on validation give 0.8858 on test (the MF alone 0.9000)
    assert table["rating predictor"]["RMSE"] <= 0.89
    assert table["rating MF"]["RMSE"] < table["bias baseline"]["RMSE"]
    for pair in ("rating predictor vs rating MF", "rating MF vs bias baseline"):
        assert table["_rmse_paired"][pair]["high"] < 0, pair


def test_play_split_holds_out_the_last_plays_folded_to_tiles():
    from test_model import plays

    # member 0: 6 plays, the last 2 held out (titles 4 and 1, but 1 was played before)
    events = [(0, i, 10 * (i + 1)) for i in range(4)] + [(0, 4, 50), (0, 1, 60)]
    # member 1: 2 plays, too few: stays in train
    events += [(1, 0, 5), (1, 2, 7)]
    inter = plays(events, n_users=2, n_items=6)
    fold = np.arange(6, dtype=np.int32)
    split = _quality.play_split(inter, fold, n_test=2, min_interactions=3)
    assert split.test_users.tolist() == [0]
    assert split.test_items[0].tolist() == [4]
    assert split.cutoff.tolist() == [50]
    assert split.train.n == 4 + 2 and int(split.train.timestamp.max()) < 50
    assert len(split.test_ratings[0]) == 0
    # an episode counts for its series: titles 4 and 5 fold to 3, played before
    fold = np.array([0, 1, 2, 3, 3, 3], np.int32)
    assert _quality.play_split(inter, fold, n_test=2, min_interactions=3).test_users.tolist() == []


def test_the_quality_command_takes_the_common_data_options(capsys, tmp_path) -> None:
    """`pagegen quality` names itself, shows defaults and takes --world/--data like the other commands."""
    from pagegen._cli import main

    with pytest.raises(SystemExit):
        _quality.main(["--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: pagegen quality") and "--world" in shown and "(default: 0)" in shown
    assert main(["quality", "--world", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "validation (tuning)" in out and "| EASE |" in out and "chosen on validation:" in out
    assert _quality.main([]) == 2 and "give a data source" in capsys.readouterr().err
    assert _quality.main(["--data", str(tmp_path / "nowhere")]) == 2 and "field '--data'" in capsys.readouterr().err
    assert _quality.main(["--world", "tiny", "--data", str(tmp_path)]) == 2 and "give one data source" in capsys.readouterr().err
