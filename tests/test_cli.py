"""The command line, run in-process on the tiny synthetic world: outputs, exit codes, one-line errors."""

from __future__ import annotations

import orjson
import pytest
from test_render import summarize, tricky_page

from pagegen._cli import main, published_schema
from pagegen.core._page import Page

TINY = ["--world", "tiny"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_on_every_subcommand(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(c in out for c in ("demo", "build", "fit", "batch", "render", "schema", "evaluate", "quality"))
    for command in ("demo", "build", "fit", "batch", "render", "schema"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and out.startswith("usage: pagegen " + command), command


def test_schema_is_the_page_schema(capsys, tmp_path):
    code, out, _ = run(capsys, "schema")
    assert code == 0 and orjson.loads(out) == published_schema()
    code, _, _ = run(capsys, "schema", "--out", str(tmp_path / "s.json"))
    assert code == 0 and orjson.loads((tmp_path / "s.json").read_bytes())["title"] == "Page"


def test_build_json_and_text(capsys, tmp_path):
    code, out, err = run(capsys, "build", "u3", *TINY, "--seed", "5")
    assert code == 0, err
    page = Page.from_json(out)
    assert page.user == "u3" and page.seed == 5 and page.rows
    code, text, _ = run(capsys, "build", "u3", *TINY, "--seed", "5", "--format", "text")
    assert code == 0
    assert text.startswith("Homepage of member u3") and "below the fold" in text
    assert [line.split(". ", 1)[1].split("   [")[0] for line in text.splitlines() if line[:3].strip().rstrip(".").isdigit()] == [r.title for r in page.rows]
    out_file = tmp_path / "p.json"
    code, _, _ = run(capsys, "build", "u3", *TINY, "--seed", "5", "--out", str(out_file))
    assert code == 0 and Page.from_json(out_file.read_bytes()) == page


def test_demo_prints_a_page_with_its_window(capsys):
    code, out, err = run(capsys, "demo", *TINY)
    assert code == 0, err
    assert out.startswith("Homepage of member u") and "visible window: 3 rows x 6 tiles" in out
    assert " | " in out


def test_render_from_json_file_and_from_member(capsys, tmp_path):
    page_file = tmp_path / "page.json"
    page_file.write_bytes(tricky_page().to_json())
    html_file = tmp_path / "page.html"
    code, out, err = run(capsys, "render", str(page_file), "--out", str(html_file))
    assert code == 0, err
    dom = summarize(html_file.read_text(encoding="utf-8"))
    assert len(dom.rows) == 4 and len(dom.tiles) == 28 and dom.scripts == 0
    assert sum(t["data-visible"] == "1" for t in dom.tiles) == 3 * 6  # the default policy's web window
    assert set(dom.genres) == {"Drama \u00b7 Sci-Fi & Fantasy"}  # the genres the page carries
    assert run(capsys, "build", "u3", *TINY, "--out", str(page_file))[0] == 0
    built = Page.from_json(page_file.read_bytes())
    code, out, err = run(capsys, "render", str(page_file), "--out", str(html_file))  # no catalog at hand
    shown = summarize(html_file.read_text(encoding="utf-8")).genres
    assert code == 0 and shown == [" \u00b7 ".join(s.genres) for r in built.rows for s in r.slots if s.genres] and shown
    code, out, err = run(capsys, "render", str(page_file), *TINY, "--out", str(html_file))
    assert code == 2 and "go with --user" in err  # a catalog beside a page file is refused, not ignored
    code, out, err = run(capsys, "render", "--user", "u3", *TINY, "--device", "tv", "--out", str(html_file))
    assert code == 0, err
    dom = summarize(html_file.read_text(encoding="utf-8"))
    assert dom.rows and dom.genres  # the catalog is at hand: tiles show genres
    assert "<b>tv</b>" in html_file.read_text(encoding="utf-8") and 'data-device="tv"' in html_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["build", "nobody", *TINY], "unknown member"),
        (["build", "u1", "--data", "/no/such/folder"], "not a folder"),
        (["build", "u1", "--catalog", "c.csv"], "--catalog and --events go together"),
        (["build", "u1", *TINY, "--policy", "no-such-policy.toml"], "no-such-policy"),
        (["build", "u1", *TINY, "--now", "yesterday"], "ISO date"),
        (["build", "u1", *TINY, "--device", "fridge"], "fridge"),
        (["build", "u1", *TINY, "--selector", "magic"], "unknown selector"),
        (["render", "missing.json", "--out", "x.html"], "No such file"),
        (["render", "--out", "x.html"], "one of them"),
        (["batch", *TINY, "--out", "b", "--shard-size", "0"], "shard_size"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(capsys, tmp_path, monkeypatch, argv, reason):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pagegen {argv[0]}: error: "), err
    assert reason in lines[0]
    assert "Traceback" not in err


def test_bad_page_file_and_bad_policy_file(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": 3}')
    code, _, err = run(capsys, "render", str(bad), "--out", str(tmp_path / "x.html"))
    assert code == 2 and "bad.json: not a page" in err and len(err.strip().splitlines()) == 1
    policy = tmp_path / "p.toml"
    policy.write_text('n_rows = "many"\n')
    code, _, err = run(capsys, "build", "u1", *TINY, "--policy", str(policy))
    assert code == 2 and "n_rows" in err and len(err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="not a folder"):
        main(["--debug", "build", "u1", "--data", str(tmp_path / "nope")])
    with pytest.raises(Exception, match="not a folder"):
        main(["build", "u1", "--data", str(tmp_path / "nope"), "--debug"])


def test_batch_writes_every_member(capsys, tmp_path):
    out = tmp_path / "pages"
    code, stdout, err = run(capsys, "batch", *TINY, "--out", str(out), "--limit", "30", "--shard-size", "8", "--workers", "1")
    assert code == 0, err
    assert "30 members in 4 shards" in stdout
    users = [orjson.loads(line)["user"] for p in sorted(out.glob("part-*.jsonl")) for line in p.read_bytes().splitlines()]
    assert users == [f"u{i}" for i in range(30)]
    code, stdout, _ = run(capsys, "batch", *TINY, "--out", str(out), "--limit", "30", "--shard-size", "8", "--workers", "1")
    assert code == 0 and "4 already done" in stdout
    code, _, err = run(capsys, "batch", *TINY, "--out", str(out), "--limit", "30", "--shard-size", "8", "--policy", "kids")
    assert code == 2 and "different parameters" in err and "policy" in err


def test_fit_then_build_with_the_model_file(capsys, tmp_path):
    model = tmp_path / "tiny.npz"
    code, out, err = run(capsys, "fit", *TINY, "--out", str(model))
    assert code == 0, err
    assert model.is_file() and "tiny.npz" in out
    code, with_file, err = run(capsys, "build", "u7", *TINY, "--model", str(model))
    assert code == 0, err
    code, fitted_now, _ = run(capsys, "build", "u7", *TINY)
    assert Page.from_json(with_file) == Page.from_json(fitted_now)  # fitting is deterministic
    manifest_dir = tmp_path / "b"
    code, _, err = run(capsys, "batch", *TINY, "--model", str(model), "--out", str(manifest_dir), "--limit", "3", "--workers", "1")
    assert code == 0, err
    params = orjson.loads((manifest_dir / "manifest.json").read_bytes())["params"]
    assert params["model"] == str(model.resolve()) and len(params["model_sha256"]) == 64

    model.write_bytes(model.read_bytes()[:200])  # truncated
    code, out, err = run(capsys, "build", "u7", *TINY, "--model", str(model))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "tiny" in err
    code, _, err = run(capsys, "build", "u7", *TINY, "--model", str(tmp_path / "absent.npz"))
    assert code == 2 and "absent" in err and len(err.strip().splitlines()) == 1


def test_model_of_other_data_is_refused(capsys, tmp_path):
    model = tmp_path / "tiny.npz"
    assert run(capsys, "fit", *TINY, "--out", str(model))[0] == 0
    code, _, err = run(capsys, "build", "u7", "--world", "tiny", "--world-seed", "3", "--model", str(model))
    assert code == 2 and "fitted on another catalog" in err


@pytest.mark.data
@pytest.mark.slow
def test_render_a_movielens_member(capsys, tmp_path, ml_small_dir):
    html_file = tmp_path / "ml.html"
    code, out, err = run(capsys, "render", "--user", "1", "--data", str(ml_small_dir), "--out", str(html_file))
    assert code == 0, err
    doc = html_file.read_text(encoding="utf-8")
    dom = summarize(doc)
    assert dom.rows and len(dom.tiles) >= 3 * len(dom.rows) and dom.scripts == 0
    assert any("Drama" in g for g in dom.genres)
    assert f"({len(dom.rows)} rows, {len(dom.tiles)} tiles)" in out


def test_batch_member_list(capsys, tmp_path):
    members = tmp_path / "members.txt"
    members.write_text("# two members\nu5\n\nu9\n")
    out = tmp_path / "pages"
    code, _, err = run(capsys, "batch", *TINY, "--members", str(members), "--out", str(out), "--workers", "1")
    assert code == 0, err
    assert [orjson.loads(line)["user"] for line in (out / "part-00000.jsonl").read_bytes().splitlines()] == ["u5", "u9"]
    members.write_text("u5\nghost\n")
    code, _, err = run(capsys, "batch", *TINY, "--members", str(members), "--out", str(tmp_path / "other"))
    assert code == 2 and "unknown member" in err and "'ghost'" in err and "members.txt" in err
