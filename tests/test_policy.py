"""Policies: presets, contradictions rejected at load time with the fields named, and the rules of check()."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._catalog import Catalog
from pagegen.core._errors import PolicyError
from pagegen.core._page import Page, PageRow, Slot
from pagegen.core._userstate import Profile, UserState
from policies._check import RULES, PageCheckError, check
from policies._policy import PRESETS, Policy, load_policy, policy_eligible
from policies._rules import Violation

NOW = 1_000


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_by_name_and_by_path(name, tmp_path):
    policy = load_policy(name)
    assert policy.name == name
    from importlib import resources

    text = resources.files("policies").joinpath(f"{name}.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(f'name = "{name}"', ""))
    assert load_policy(path) == policy.model_copy(update={"name": "mine"})


def test_kids_preset_restricts_maturity_and_genres():
    kids = load_policy("kids")
    catalog = Catalog.build(["a", "b", "c"], ["A", "B", "C"], [["Comedy"], ["Horror"], ["Comedy"]], maturity=["all", "all", "13+"])
    assert policy_eligible(kids, catalog).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"min_titles": 9, "row_length": 5, "windows": {"web": {"rows": 3, "columns": 5}}}, ["min_titles (9)", "row_length (5)"]),
        ({"n_rows": 2, "windows": {"tv": {"rows": 4, "columns": 5}}, "pins": []}, ["windows.tv.rows (4)", "n_rows (2)"]),
        ({"n_rows": 3, "windows": {"web": {"rows": 3, "columns": 6}}}, ["pins[1].at (3)", "n_rows (3)"]),
        ({"pins": [{"kind": "top10", "at": 0}, {"kind": "continue_watching", "within": 1}]}, ["pins[0] (top10)", "pins[1] (continue_watching)"]),
        ({"pins": [{"kind": "top10", "at": 0}, {"kind": "top10", "at": 2}]}, ["pins[0] and pins[1]"]),
        ({"pins": [{"kind": "top10", "at": 1}], "max_rows_per_kind": {"top10": 0}}, ["max_rows_per_kind.top10 = 0"]),
        ({"max_rows_per_kind": {"genre": -1}}, ["max_rows_per_kind.genre (-1)"]),
        ({"rows": 3}, ["'rows'", "Extra inputs"]),
        ({"n_rows": 0}, ["'n_rows' = 0"]),
        ({"dedup": "everywhere"}, ["'dedup' = 'everywhere'"]),
        ({"pins": [{"kind": "top10"}]}, ["exactly one of 'at' or 'within'"]),
        ({"eligibility": {"max_maturity": "PG"}}, ["max_maturity = 'PG'"]),
    ],
)
def test_contradictions_are_rejected_naming_the_fields(fields, named):
    with pytest.raises(PolicyError) as err:
        Policy(**fields)
    for text in named:
        assert text in str(err.value)


def test_a_bad_policy_file_is_named(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("n_rows = 2\nrow_length = 4\nmin_titles = 6\n")
    with pytest.raises(PolicyError, match=r"broken\.toml: .*min_titles \(6\) > row_length \(4\)"):
        load_policy(path)
    path.write_text("n_rows = [")
    with pytest.raises(PolicyError, match=r"broken\.toml: not valid TOML"):
        load_policy(path)
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "absent.toml")
    js = tmp_path / "p.json"
    js.write_text('{"n_rows": 5, "pins": []}')
    assert load_policy(js).n_rows == 5 and load_policy(js).name == "p"


def test_policy_is_frozen_and_unknown_devices_are_named():
    policy = load_policy("default")
    with pytest.raises(ValueError):
        policy.n_rows = 3  # type: ignore[misc]
    with pytest.raises(PolicyError, match="no device 'watch'"):
        policy.window("watch")
    assert policy.kind_cap("top10") == 1 and policy.kind_cap("because_you_watched") == 3 and policy.kind_cap("popular") == 25


# -- check() -----------------------------------------------------------------------------------


@pytest.fixture
def catalog():
    return Catalog.build(
        [f"t{i}" for i in range(8)] + ["e1"],
        [f"T{i}" for i in range(8)] + ["Ep"],
        [["Drama"]] * 9,
        kind=["movie"] * 7 + ["series", "episode"],
        series=[None] * 8 + ["t7"],
        maturity=["all"] * 5 + ["18+", "all", "all", "all"],
        regions=[()] * 6 + [("FR",), ("US",), ()],
        added=[0] * 4 + [NOW + 5, 0, 0, 0, 0],
    )


def _page(rows, device="web", validate=True):
    """A page of ``rows``; ``validate=False`` builds rows the Page model would refuse (a title twice in a row), as a fast path could."""
    make, page = (PageRow, Page) if validate else (PageRow.model_construct, Page.model_construct)
    return page(user="m", policy="p", selector="test", device=device, now=NOW, seed=0,
                rows=[make(kind=k, key=f"{k}:{n}", title=k, evidence=ev, slots=[Slot(id=i, title=i, score=1.0) for i in ids]) for n, (k, ids, ev) in enumerate(rows)])  # fmt: skip


def _where(violations):
    return sorted((v.rule, v.row, v.column, v.title) for v in violations)


def test_check_names_rule_row_column_and_title(catalog):
    user = UserState.from_history(catalog, [{"item": "t3", "timestamp": 1, "value": 1.0}], NOW, Profile(maturity=2, region="US"), user="m")
    policy = Policy(n_rows=3, row_length=3, min_titles=2, windows={"web": {"rows": 2, "columns": 2}}, max_rows_per_kind={"genre": 1}, pins=[{"kind": "top10", "at": 0}])
    page = _page([
        ("genre", ["t0", "t1", "t0"], {"genre": "Drama"}),
        ("top10", ["t1", "t2"], {}),
        ("genre", ["t3", "t4", "t5", "t6"], {}),
        ("popular", ["e1"], {}),
    ], validate=False)  # fmt: skip
    found = _where(check(page, policy, user, catalog))
    assert ("row_count", 3, None, None) in found
    assert ("row_length", 0, 2, "t0") in found  # repeated within its row
    assert ("row_length", 2, 3, "t6") in found  # longer than row_length
    assert ("row_length", 3, None, None) in found  # shorter than min_titles
    assert ("dedup", 0, 2, "t0") in found and ("dedup", 1, 0, "t1") in found
    assert ("kind_cap", 2, None, None) in found
    assert ("pins", 1, None, None) in found
    assert ("eligibility", 2, 0, "t3") in found  # finished
    assert ("eligibility", 2, 1, "t4") in found  # not yet added
    assert ("eligibility", 2, 2, "t5") in found  # maturity
    assert ("eligibility", 2, 3, "t6") in found  # region
    assert ("eligibility", 3, 0, "e1") in found  # an episode
    assert all(isinstance(v, Violation) and str(v).startswith(v.rule) for v in check(page, policy, user, catalog))


def test_window_dedup_counts_only_the_visible_cells(catalog):
    user = UserState.cold(NOW, user="m")
    policy = Policy(n_rows=3, row_length=3, min_titles=1, windows={"web": {"rows": 2, "columns": 2}}, dedup="window", pins=[])
    ok = _page([("a", ["t0", "t1", "t2"], {}), ("b", ["t2", "t3"], {}), ("c", ["t0", "t1"], {})])
    assert check(ok, policy, user, catalog) == []
    bad = _page([("a", ["t0", "t1"], {}), ("b", ["t2", "t1"], {})])
    assert _where(check(bad, policy, user, catalog)) == [("dedup", 1, 1, "t1", )]
    twice = policy.model_copy(update={"max_appearances": 2})
    assert check(bad, twice, user, catalog) == []


def test_genre_cap_and_pins(catalog):
    user = UserState.from_history(catalog, [{"item": f"t{i}", "timestamp": 1, "value": 0.5} for i in range(3)], NOW, user="m")
    policy = Policy(n_rows=4, row_length=3, min_titles=1, windows={"web": {"rows": 1, "columns": 1}}, genre_cap={"max_rows": 1, "span": 2},
                    pins=[{"kind": "continue_watching", "within": 1, "when": "in_progress"}, {"kind": "top10", "at": 3}])  # fmt: skip
    page = _page([("genre", ["t0"], {"genre": "Drama"}), ("genre", ["t1"], {"genres": ["Drama", "Comedy"]}), ("top10", ["t2"], {})])
    found = _where(check(page, policy, user, catalog))
    assert ("genre_cap", 1, None, None) in found
    assert ("pins", None, None, None) in found  # three titles in progress, no continue-watching row
    assert not any(v[0] == "pins" and v[1] == 2 for v in found)  # a late `at` pin may be the last row


def test_custom_rules_extend_the_registry(catalog):
    def no_t0(page, policy, user, catalog):
        return [Violation("no_t0", r, c, s.id, "t0 is banned") for r, row in enumerate(page.rows) for c, s in enumerate(row.slots) if s.id == "t0"]

    user = UserState.cold(NOW, user="m")
    page = _page([("a", ["t1", "t0", "t2"], {})])
    policy = Policy(pins=[])
    assert check(page, policy, user, catalog) == []
    assert _where(check(page, policy, user, catalog, rules={**RULES, "no_t0": no_t0})) == [("no_t0", 0, 1, "t0")]
    err = PageCheckError(check(page, policy, user, catalog, rules={"no_t0": no_t0}))
    assert "no_t0: row 0, column 1 (title 't0'): t0 is banned" in str(err)
    assert list(RULES) == sorted(RULES)
    assert np.all([callable(r) for r in RULES.values()])
