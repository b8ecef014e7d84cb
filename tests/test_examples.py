"""Every script in examples/ runs, so the docs cannot drift from the code (STYLE 9).

A script says what it needs in comment lines among its first 20 lines:

    # needs: movielens     its first argument is the MovieLens folder (ml-latest-small); the test
                           skips when the folder is absent and fails when PAGEGEN_REQUIRE_DATA=1
    # args: --rows 5       further command-line arguments
    # slow                 takes more than a few seconds: marked ``slow``

A script with none of these runs with no arguments (on the built-in synthetic world). Each runs
in a fresh temporary folder as the working directory, must exit 0 and print something.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_ml_small

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEEDS = {"movielens": require_ml_small}
HEADER_LINES = 20


def declarations(script: Path) -> dict[str, list[str]]:
    """The ``# needs:``, ``# args:`` and ``# slow`` declarations of a script."""
    found: dict[str, list[str]] = {"needs": [], "args": [], "slow": []}
    with script.open(encoding="utf-8") as f:
        for _, line in zip(range(HEADER_LINES), f, strict=False):
            text = line.strip()
            if text.startswith("# needs:"):
                found["needs"] += text.removeprefix("# needs:").replace(",", " ").split()
            elif text.startswith("# args:"):
                found["args"] += shlex.split(text.removeprefix("# args:"))
            elif text == "# slow":
                found["slow"] = ["yes"]
    return found


def _params() -> list:
    params = []
    for script in sorted(EXAMPLES.glob("*.py")):
        marks = [pytest.mark.slow] if declarations(script)["slow"] else []
        params.append(pytest.param(script, id=script.name, marks=marks))
    return params


def test_there_are_examples() -> None:
    assert _params(), f"no scripts in {EXAMPLES}"


@pytest.mark.parametrize("script", _params())
def test_example_runs(script: Path, tmp_path: Path) -> None:
    decl = declarations(script)
    unknown = [n for n in decl["needs"] if n not in NEEDS]
    assert not unknown, f"{script.name} declares unknown needs {unknown}; known: {sorted(NEEDS)}"
    args = [str(NEEDS[n]()) for n in decl["needs"]] + decl["args"]
    proc = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{script.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"


def test_declarations_are_read(tmp_path: Path) -> None:
    script = tmp_path / "demo.py"
    script.write_text('"""Doc."""\n# needs: movielens\n# args: --rows 5 --name "two words"\n# slow\nprint(1)\n')
    assert declarations(script) == {"needs": ["movielens"], "args": ["--rows", "5", "--name", "two words"], "slow": ["yes"]}
