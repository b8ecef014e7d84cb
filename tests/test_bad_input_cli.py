"""Command-line mistakes end with exit 2 and one line naming the user's file, field and value,
and leave no partial output."""

from __future__ import annotations

import orjson
import pytest

from pagegen._cli import main
from pagegen.serve._batch import MANIFEST, SUCCESS

TINY = ["--world", "tiny"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"min_plays": -3}', "field 'min_plays' = -3"),
        ('{"no_such_field": 1}', "field 'no_such_field' = 1"),
        ('{"trend_short": 100, "trend_long": 50}', "field 'trend_long' = 50"),
        ("[1, 2]", "expected a table of FitConfig fields"),
    ],
)
def test_a_bad_fit_config_names_its_file_and_field(capsys, tmp_path, text, says):
    config = tmp_path / "fit.json"
    config.write_text(text)
    code, _, err = run(capsys, "fit", *TINY, "--config", str(config), "--out", str(tmp_path / "m.npz"))
    assert code == 2 and str(config) in err and says in err, err
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("m.*"))


def test_a_negative_limit_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "batch", *TINY, "--limit", "-2", "--out", str(tmp_path / "pages"))
    assert code == 2 and "argument --limit: expected a whole number >= 0, got -2" in err
    assert not (tmp_path / "pages").exists()


def test_a_batch_removes_every_kind_of_leftover_temporary_file(capsys, tmp_path):
    out = tmp_path / "pages"
    assert run(capsys, "batch", *TINY, "--limit", "8", "--shard-size", "4", "--workers", "1", "--out", str(out))[0] == 0
    (out / SUCCESS).unlink()  # as a run killed before it finished
    for name in (f".{SUCCESS}.k3j2.tmp", f".{MANIFEST}.x9a1.tmp", ".part-00001.jsonl.q1w2.tmp"):
        (out / name).write_text("partial")
    assert run(capsys, "batch", *TINY, "--limit", "8", "--shard-size", "4", "--workers", "1", "--out", str(out))[0] == 0
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []
    assert (out / SUCCESS).exists()


def test_a_model_whose_manifest_place_is_a_folder_writes_nothing(capsys, tmp_path):
    (tmp_path / "m.json").mkdir()
    code, _, err = run(capsys, "fit", *TINY, "--out", str(tmp_path / "m.npz"))
    assert code == 2 and "m.json" in err and "is a folder" in err, err
    assert not (tmp_path / "m.npz").exists()


def test_an_output_in_a_missing_folder_names_the_users_path(capsys, tmp_path):
    target = tmp_path / "nowhere" / "s.json"
    code, _, err = run(capsys, "schema", "--out", str(target))
    assert code == 2 and str(target) in err and ".tmp" not in err, err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("pagegen 0.")


def test_a_mistake_in_member_device_or_selector_is_found_before_any_fit(capsys, monkeypatch):
    import pagegen.serve._sources as sources

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted a model for a request that was doomed")

    monkeypatch.setattr(sources, "fit", no_fit)
    code, _, err = run(capsys, "build", "nobody", *TINY)
    assert code == 2 and "field 'user' = 'nobody': unknown member" in err
    monkeypatch.setattr(sources, "load_source", lambda args: (_ for _ in ()).throw(AssertionError("loaded data for a doomed request")))
    code, _, err = run(capsys, "build", "u1", *TINY, "--device", "phone")
    assert code == 2 and "no device 'phone'" in err
    code, _, err = run(capsys, "build", "u1", *TINY, "--selector", "magic")
    assert code == 2 and "field 'selector' = 'magic'" in err
    code, _, err = run(capsys, "build", "u1", *TINY, "--selector", "exact")
    assert code == 2 and "exact selector solves small pages" in err and "--n-rows 3 --row-length 4" in err


def test_exact_builds_a_small_page(capsys):
    code, out, err = run(capsys, "build", "u1", *TINY, "--selector", "exact", "--n-rows", "3", "--row-length", "4")
    assert code == 0, err
    page = orjson.loads(out)
    assert page["selector"] == "exact" and 1 <= len(page["rows"]) <= 3 and all(len(r["slots"]) <= 4 for r in page["rows"])


def test_evaluate_takes_the_common_data_options(capsys):
    code, out, err = run(capsys, "evaluate", "--world", "tiny", "--sample", "5", "--selectors", "row_ranking,stage_wise")
    assert code == 0, err
    assert "synthetic(n_titles=120" in out
    code, _, err = run(capsys, "evaluate", "--world", "tiny", "--data", "somewhere")
    assert code == 2 and "give one data source" in err


def test_a_policy_file_that_is_not_utf8_names_the_file(capsys, tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_bytes(b'name = "x"\nn_rows = \xff\n')
    code, _, err = run(capsys, "build", "u1", *TINY, "--policy", str(policy))
    assert code == 2 and f"{policy}: not UTF-8 text (byte 0xff at offset 20)" in err and "internal error" not in err


@pytest.mark.parametrize("now", [-5, -1])
def test_a_negative_now_is_named_not_blamed_on_the_rankers(now):
    from pagegen import DataError, UserState, build_page

    with pytest.raises(DataError, match="field 'now' = -[0-9]+: a time before 1970"):
        build_page("u7", now=now)
    with pytest.raises(DataError, match="a time before 1970"):
        UserState.cold(now)


@pytest.mark.parametrize("command", ["evaluate", "quality"])
def test_evaluation_commands_refuse_a_saved_model_saying_why(capsys, command, tmp_path):
    code, _, err = run(capsys, command, "--world", "tiny", "--model", str(tmp_path / "m.npz"))
    assert code == 2 and f"--model {tmp_path / 'm.npz'}" in err and "has seen the held-out events" in err
