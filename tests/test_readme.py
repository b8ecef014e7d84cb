"""The README's quick start stays true: its commands are what CI runs, and its Python block runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ML_SMALL, require_ml_small

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    commands = [line for line in blocks("sh")[0].splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("pagegen demo")
    assert commands[1].endswith("python -m pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci, "CI must run the README's test command"


@pytest.mark.slow
def test_python_api_block_runs(tmp_path: Path) -> None:
    require_ml_small()
    code = blocks("python")[0].replace("../shared/data/ml-latest-small", str(ML_SMALL))
    script = tmp_path / "readme_api.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"rows"' in done.stdout


@pytest.mark.slow
def test_frames_block_runs(tmp_path: Path) -> None:
    """The "Notebooks and frames" example: MovieLens read with pandas, fitted, pages as a tile frame."""
    require_ml_small()
    (code,) = [block for block in blocks("python") if "recommend_frame" in block]
    code = code.replace("../shared/data/ml-latest-small", str(ML_SMALL))
    check = (
        "\nassert tuple(tiles.columns[:6]) == ('member', 'row', 'column', 'item', 'title', 'score'), tiles.columns\n"
        "assert tiles['member'].unique().tolist() == ['1', '2'] and len(tiles) > 100\n"
        "assert not tiles.duplicated(['member', 'item']).any()\n"
        "print('tiles', len(tiles))\n"
    )
    script = tmp_path / "readme_frames.py"
    script.write_text(code + check, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("tiles ")
