"""Show that the tests bite: apply deliberate bugs one at a time and check the tests catch each (not part of CI).

Each mutation is a small, named textual edit to one source file (old text -> new text) and the
tests that must fail once it is applied. The edits go to a temporary copy of the tree (the
tracked and untracked, not ignored, files of the working tree), never to the tree itself; the
named tests run there with this interpreter and ``PYTHONPATH`` pointing at the copy:

    python scripts/bite.py               # every mutation
    python scripts/bite.py dedup fatigue # the mutations whose name holds one of these words
    python scripts/bite.py --list        # names, files and tests, nothing run

First the named tests run once on the unchanged copy (a test that fails anyway would catch every
mutation); then each mutation is applied, its tests run with ``pytest -x -q`` and a time limit,
and the file is restored. A mutation whose old text is not found exactly once is stale: an error,
not a pass. Exit 1 when a mutation survives, a test fails on the unchanged tree, or a mutation is
stale; 0 when every mutation is caught.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # the source file, relative to the repository
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # pytest node ids or files, relative to the repository
    timeout: float = 300.0  # seconds; a run past it counts as caught (the bug made the test hang)


MUTATIONS = [
    # -- ranker fault isolation (rows/_registry.py) --------------------------------------
    Mutation(
        "ranker budget: wait for the ranker",
        "rows/_registry.py", "thread.join(budget)", "thread.join()",
        ("tests/test_ranker_faults.py::test_a_ranker_past_the_time_budget_is_dropped_and_the_page_does_not_wait",), timeout=90,
    ),
    Mutation(
        "ranker evidence: title not checked",
        "rows/_registry.py", 'for name in ("kind", "key", "title")', 'for name in ("kind", "key")',
        ("tests/test_ranker_faults.py::test_the_faulty_ranker_is_dropped_and_named",),
    ),
    Mutation(
        "ranker evidence: NaN inside a list",
        "rows/_registry.py", "isinstance(value, list | tuple | np.ndarray)", "isinstance(value, tuple | np.ndarray)",
        ("tests/test_ranker_faults.py::test_the_faulty_ranker_is_dropped_and_named",),
    ),
    # -- model files (pagegen/models/_validate.py, _model.py) ----------------------------
    Mutation(
        "model index bound off by one",
        "pagegen/models/_validate.py", "if lo < low or hi >= high:", "if lo < low or hi > high:",
        ("tests/test_model_validate.py",),
    ),
    Mutation(
        "model finiteness: NaN only",
        "pagegen/models/_validate.py", "if finite and arr.size and not np.isfinite(arr).all():", "if finite and arr.size and np.isnan(arr).any():",
        ("tests/test_model_validate.py",),
    ),
    Mutation(
        "model catalog_sha256: any 64 characters",
        "pagegen/models/_validate.py", ' or any(ch not in "0123456789abcdef" for ch in digest)', "",
        ("tests/test_model_catalog.py",),
    ),
    Mutation(
        "check_catalog: size only",
        "pagegen/models/_model.py", "if n != catalog.n or digest != catalog.fingerprint():", "if n != catalog.n:",
        ("tests/test_model_catalog.py",),
    ),
    # -- loaders (pagegen/data) -----------------------------------------------------------
    Mutation(
        "field length off by one",
        "pagegen/data/_load_common.py", "if not isinstance(value, str) or len(value) <= limit:", "if not isinstance(value, str) or len(value) <= limit + 1:",
        ("tests/test_bad_input_loaders.py",),
    ),
    Mutation(
        "strict load reports the last bad line",
        "pagegen/data/_load_common.py", "first = self._pending[min(self._pending)]", "first = self._pending[max(self._pending)]",
        ("tests/test_bad_input_loaders.py", "tests/test_bad_input.py"),
    ),
    Mutation(
        "lenient load with every line bad",
        "pagegen/data/_load_common.py", "        if not self.skipped:\n            return DataError(", "        if self.skipped:\n            return DataError(",
        ("tests/test_bad_input_loaders.py::test_lenient_load_with_every_line_bad_fails",),
    ),
    Mutation(
        "event time upper bound off by one",
        "pagegen/data/_load_generic.py", "(ts >= MAX_TIMESTAMP)", "(ts > MAX_TIMESTAMP)",
        ("tests/test_time_bounds.py",),
    ),
    # -- request time and profiles (pagegen/core/_userstate.py) ---------------------------
    Mutation(
        "as_now: accepts -1",
        "pagegen/core/_userstate.py", "    if out < 0:\n", "    if out < -1:\n",
        ("tests/test_bad_input_loaders.py", "tests/test_bad_input_cli.py"),
    ),
    Mutation(
        "kids maturity: one level above allowed",
        "pagegen/core/_userstate.py", "code > MATURITY_LEVELS.index(KIDS_MATURITY)", "code > MATURITY_LEVELS.index(KIDS_MATURITY) + 1",
        ("tests/test_profile_policy.py",),
    ),
    # -- policies ------------------------------------------------------------------------
    Mutation(
        "dedup: one appearance too many",
        "policies/_dedup.py", "free[inside] = count.take(inside) < self.max_appearances", "free[inside] = count.take(inside) <= self.max_appearances",
        ("tests/test_select.py::test_window_dedup_in_both_fills", "tests/test_constraints.py", "tests/test_policy.py", "tests/test_kernel.py::test_the_kernel_chooses_what_the_reference_chooses[0]"),
    ),
    Mutation(
        "genre cap: one row too many",
        "policies/_builtin.py", "full = in_span >= self.max_rows", "full = in_span > self.max_rows",
        ("tests/test_constraints.py", "tests/test_select.py", "tests/test_policy.py"),
    ),
    Mutation(
        "genre cap check: span one row short",
        "policies/_builtin.py", "range(max(0, r - self.span + 1), r + 1)", "range(max(0, r - self.span + 2), r + 1)",
        ("tests/test_constraints.py", "tests/test_policy.py"),
    ),
    Mutation(
        "pins: within one row too deep",
        "policies/_pins.py", "range(min(self.pins[i].within, self.n_rows))", "range(min(self.pins[i].within + 1, self.n_rows))",
        ("tests/test_select.py", "tests/test_constraints.py", "tests/test_policy.py", "tests/test_in_progress.py"),
    ),
    Mutation(
        "row length: per-kind minimum ignored in the check",
        "policies/_builtin.py", "least = self.min_titles.of(row.kind)", "least = self.min_titles.default",
        ("tests/test_in_progress.py", "tests/test_constraints.py", "tests/test_policy.py"),
    ),
    Mutation(
        "row length: per-kind minimum ignored in the greedy loop",
        "policies/_builtin.py", "return loop.refilled >= least", "return loop.refilled >= self.min_titles.default",
        ("tests/test_in_progress.py", "tests/test_constraints.py", "tests/test_select.py"),
    ),
    # -- micro-genre rows (rows/_micro.py) -----------------------------------------------
    Mutation(
        "micro-genres: seen titles left in the rows",
        "rows/_micro.py", "            members = members[mask[members]]\n", "",
        ("tests/test_rows_micro.py",),
    ),
    Mutation(
        "micro-genres: near copies of larger slices kept",
        "rows/_micro.py", "if not near_genre[s] and not (jaccard[s, keep] > max_overlap).any():", "if not near_genre[s]:",
        ("tests/test_rows_micro.py",),
    ),
    Mutation(
        "micro-genres: one row too many of a genre",
        "rows/_micro.py", "if taken.get(g, 0) < max_per_genre:", "if taken.get(g, 0) <= max_per_genre:",
        ("tests/test_rows_micro.py",),
    ),
    # -- page schema, files, batch -------------------------------------------------------
    Mutation(
        "page: a title twice in a row accepted",
        "pagegen/core/_page.py", "if len(set(ids)) != len(ids):", "if len(set(ids)) < len(ids) - 1:",
        ("tests/test_schema_contract.py", "tests/test_page.py"),
    ),
    Mutation(
        "page: any version accepted",
        "pagegen/core/_page.py", 'version: Literal["1.2"] = Field(', "version: str = Field(",
        ("tests/test_schema_contract.py", "tests/test_page.py"),
    ),
    Mutation(
        "atomic write: temp file left on failure",
        "pagegen/core/_atomic.py", "            os.unlink(tmp)\n        raise", "            pass\n        raise",
        ("tests/test_batch_atomic.py",),
    ),
    Mutation(
        "atomic write: destination written in place",
        "pagegen/core/_atomic.py",
        '        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TMP_SUFFIX, dir=folder)',
        '        tmp = str(dest)\n        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)',
        ("tests/test_batch_atomic.py",),
    ),
    Mutation(
        "batch shard: renamed first, then written line by line",
        "pagegen/serve/_batch_workers.py",
        '        with os.fdopen(fd, "wb") as fh:\n            fh.write(data)\n',
        '        os.close(fd)\n        os.replace(tmp, shard_path(out, shard))\n        tmp = str(shard_path(out, shard))\n'
        '        with open(tmp, "wb") as fh:\n            for line in data.splitlines(keepends=True):\n                fh.write(line)\n',
        ("tests/test_batch_fault.py::test_a_run_that_dies_mid_shard_resumes_with_every_page_once[2-3-2]",), timeout=400,
    ),
    # -- off-policy estimates (pagegen/learned/_ope.py) -----------------------------------
    Mutation(
        "SNIPS without its normalization",
        "pagegen/learned/_ope.py", "v_k[ok] = (w[:, ok] * r[:, ok]).mean(axis=0) / mean_w[ok]", "v_k[ok] = (w[:, ok] * r[:, ok]).mean(axis=0)",
        ("tests/test_ope.py",),
    ),
    Mutation(
        "SNIPS normalized by the mean weight of every position",
        "pagegen/learned/_ope.py", "    mean_w = w.mean(axis=0)\n    ok = mean_w > 0\n    v_k", "    mean_w = np.full(w.shape[1], w.mean())\n    ok = mean_w > 0\n    v_k",
        ("tests/test_ope.py",),
    ),
    # -- fatigue and the kernel ----------------------------------------------------------
    Mutation(
        "fatigue: k impressions not enough",
        "pagegen/page/_fatigue.py", "hit = counts >= config.k", "hit = counts > config.k",
        ("tests/test_fatigue.py",),
    ),
    Mutation(
        "fatigue: factor exponent one short",
        "pagegen/page/_fatigue.py", "(1.0 - config.strength) ** (1 + counts - config.k)", "(1.0 - config.strength) ** (counts - config.k)",
        ("tests/test_fatigue.py",),
    ),
    Mutation(
        "kernel dedup: closes one appearance late",
        "pagegen/page/_kernel.py", "if count[k] >= max_appearances and not closed[k]:", "if count[k] > max_appearances and not closed[k]:",
        ("tests/test_kernel.py::test_the_kernel_chooses_what_the_reference_chooses[0]",), timeout=600,
    ),
]


def _copy_tree(dest: Path) -> None:
    """The working tree's tracked and untracked (not ignored) files, as they are now."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]), "PYTHONDONTWRITEBYTECODE": "1"}
    env.setdefault("PAGEGEN_DATA", str(REPO.parent / "shared" / "data"))  # the copy lives elsewhere: keep the data folder the tests would find
    return env


def _pytest(tree: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float, str]:
    """("pass" | "fail" | "timeout", seconds, the output's last lines)."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rf", *tests]
    try:
        run = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, ""
    failed = [line.removeprefix("FAILED ").split(" - ")[0] for line in run.stdout.splitlines() if line.startswith("FAILED ")]
    tail = failed[0] if failed else "\n".join(run.stdout.strip().splitlines()[-3:])
    return ("pass" if run.returncode == 0 else "fail"), time.perf_counter() - start, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", help="run only the mutations whose name holds one of these words")
    parser.add_argument("--list", action="store_true", help="list the mutations and their tests, run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of the named tests on the unchanged copy")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.words or any(w.lower() in m.name.lower() for w in args.words)]
    if not chosen:
        print(f"no mutation's name holds any of {args.words}")
        return 1
    if args.list:
        for m in chosen:
            print(f"{m.name}\n    {m.path}: {m.old.strip()!r} -> {m.new.strip()!r}\n    tests: {' '.join(m.tests)}")
        return 0
    stale = []
    for m in chosen:
        found = (REPO / m.path).read_text(encoding="utf-8").count(m.old) if (REPO / m.path).is_file() else 0
        if found != 1:
            stale.append(f"{m.name}: the old text occurs {found} times in {m.path}, expected once")
    for line in stale:
        print(f"STALE  {line}")
    if stale:
        return 1
    with tempfile.TemporaryDirectory(prefix="pagegen-bite-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        where = subprocess.run([sys.executable, "-c", "import pagegen, policies, rows; print(pagegen.__file__, policies.__file__, rows.__file__)"], cwd=tree, env=_env(tree), capture_output=True, text=True)
        if where.returncode or any(not Path(p).resolve().is_relative_to(tree.resolve()) for p in where.stdout.split()):
            print(f"the copy's packages are not the ones imported: {where.stdout.strip() or where.stderr.strip()}")
            return 1
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            outcome, seconds, tail = _pytest(tree, tests, 1800)
            print(f"baseline: the named tests on the unchanged tree: {outcome} ({seconds:.0f} s)")
            if outcome != "pass":
                print(tail)
                return 1
        survived = []
        for m in chosen:
            path = tree / m.path
            original = path.read_text(encoding="utf-8")
            path.write_text(original.replace(m.old, m.new, 1), encoding="utf-8")
            try:
                outcome, seconds, tail = _pytest(tree, m.tests, m.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            verdict = {"fail": "caught", "timeout": "caught (time limit)", "pass": "NOT CAUGHT"}[outcome]
            print(f"{verdict:<20} {seconds:6.0f} s  {m.name}  [{m.path}]" + (f"\n{'':30}by {tail}" if outcome == "fail" else ""), flush=True)
            if outcome == "pass":
                survived.append(m.name)
    print(f"{len(chosen)} mutations, {len(chosen) - len(survived)} caught" + (f"; not caught: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
