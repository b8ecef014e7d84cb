"""Human explanations: every tile has a reason, and the views read as phrases and dates."""

from __future__ import annotations

import re

import pytest

from pagegen.core._explain import explain, human_date, share_text
from pagegen.core._page import Page, PageRow, Slot
from pagegen.core._time import DAY
from pagegen.serve._engine import Engine
from pagegen.serve._render import render_html, render_text
from policies._policy import PRESETS

MAR_3_2024 = 1_709_424_000  # 2024-03-03 00:00 UTC


def test_dates_and_shares_read_as_a_person_reads_them():
    assert human_date(MAR_3_2024) == "3 Mar 2024"
    assert human_date(MAR_3_2024 + DAY - 1) == "3 Mar 2024"
    assert human_date(964_982_703) == "30 Jul 2000"  # MovieLens times are before 2001 too
    assert (share_text(0.2257), share_text(0.004), share_text(1.0)) == ("23%", "under 1%", "100%")


@pytest.mark.parametrize(
    ("kind", "title", "evidence", "phrase", "reason"),
    [
        ("genre", "Sci-Fi", {"affinity": 0.2257, "catalog_share": 0.1, "explored": False}, "Because you like Sci-Fi (23% of what you watch)", "Because you like Sci-Fi"),
        ("genre", "Horror", {"affinity": 0.03, "catalog_share": 0.1, "explored": True}, "Something different to try: Horror is 3% of what you watch", "Something different: Horror"),
        ("genre", "Drama", {"affinity": 0.3, "catalog_share": 0.45, "explored": False}, "Drama, ordered for you (45% of the catalog)", "Popular with Drama fans"),
        ("because_you_watched", "Because you watched Alien", {"anchor_title": "Alien", "last_played": MAR_3_2024}, "Titles like Alien, which you watched on 3 Mar 2024", "Because you watched Alien"),
        ("because_you_watched", "Because you watched Alien", {"anchor_title": "Alien", "last_played": None}, "Titles like Alien, which you rated", "Because you rated Alien"),
        ("top_picks", "Top Picks for You", {"history": 12}, "Chosen for you from everything you watched and rated", "Top pick for you"),
        ("top_picks", "Top Picks for You", {"history": 0}, "Popular titles, until we learn what you like", "Popular on the service"),
        ("top10", "Top 10 in GB Today", {"region": "GB", "period": "today"}, "The most played titles in GB today", "In the Top 10 in GB Today"),
        ("trending", "Trending Now", {"alpha": 0.5}, "What members are starting to watch now, ordered for your taste", "Trending now"),
        ("new_releases", "New Releases", {"window_days": 90, "newest": MAR_3_2024}, "New on the service in the last 90 days, the newest added 3 Mar 2024", "New on the service"),
        ("popular", "Popular", {"window": 30 * DAY}, "The most played titles in the last 30 days", "Popular right now"),
        ("popular", "Popular", {"window": None}, "The most played titles on the service", "Popular on the service"),
        ("continue_watching", "Continue Watching", {}, "Pick up where you left off", "Continue watching"),
    ],
)
def test_each_built_in_kind_reads_as_a_phrase(kind, title, evidence, phrase, reason):
    assert explain(kind, title, evidence) == (phrase, reason)


def test_a_kind_or_evidence_it_does_not_know_has_no_explanation():
    assert explain("my_kind", "Mine", {"affinity": 0.2}) == (None, None)
    assert explain("genre", "Sci-Fi", {"genres": ["Sci-Fi"]}) == (None, None)  # not a genre ranker's evidence
    assert explain("because_you_watched", "X", {"anchor_title": "A", "last_played": "yesterday"}) == (None, None)


@pytest.fixture(scope="module")
def pages(tiny_world, tiny_model):
    """Pages of every preset for a sample of members (and a member without history), three devices."""
    out = []
    for preset in PRESETS:
        engine = Engine(tiny_world.catalog, tiny_model, preset, interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)
        for k, member in enumerate([*(f"u{u}" for u in range(0, len(tiny_world.profiles), 25)), "someone-new"]):
            out.append(engine.build(member, device=("web", "tv", "mobile")[k % 3]))
    return out


def test_every_tile_of_every_preset_has_a_reason(pages):
    kinds = {row.kind for page in pages for row in page.rows}
    assert {"top_picks", "genre", "because_you_watched", "trending", "top10", "continue_watching", "popular"} <= kinds
    missing = [(page.policy, page.user, row.key) for page in pages for row in page.rows for slot in row.slots if not slot.reason]
    assert missing == []
    assert all(len(slot.reason) <= 60 for page in pages for row in page.rows for slot in row.slots)


def _raw(text: str, page: Page) -> list[str]:
    """The raw evidence the text shows: evidence keys as labels, epoch-like numbers, evidence floats
    of 4 decimals or more (the views show scores with 2 or 3)."""
    found = [m.group() for m in re.finditer(r"\d{9,}", text)]
    for row in page.rows:
        for key, value in row.evidence.items():
            labels = (f"{key}:", f"{key.replace('_', ' ')}:", f'"{key}":')  # (not within a row key: "genre-decade:...")
            found += [label for label in labels if re.search(rf"(?<![\w-]){re.escape(label)}", text)]
            if isinstance(value, float) and re.search(r"\.\d{4}", repr(value)) and re.search(rf"(?<![\d.]){re.escape(repr(value))}(?!\d)", text):
                found.append(repr(value))
    return found


def test_the_views_show_phrases_not_raw_evidence(pages, tiny_world):
    for page in pages:
        assert _raw(page.to_json().decode(), page)  # the JSON keeps the raw evidence...
        text = render_text(page)
        assert _raw(text, page) == [], (page.policy, page.user)  # ...the views do not
        html = re.sub(r'data-row-key="[^"]*"', "", render_html(page))  # (a row's key is its identity, not evidence)
        assert _raw(html, page) == [], (page.policy, page.user)
        for row in page.rows:
            phrase = explain(row.kind, row.title, row.evidence)[0]
            assert phrase and phrase in text, (page.policy, row.key)


def test_the_text_view_says_a_shared_reason_once_and_differing_reasons_on_each_tile():
    slots = [Slot(id=f"t{c}", title=f"Title {c}", score=1.0, reason=f"#{c + 1} in GB today") for c in range(3)]
    same = [Slot(id=f"s{c}", title=f"Show {c}", score=1.0, reason="Trending now") for c in range(3)]
    page = Page(user="m", policy="default", selector="stage_wise", device="web", now=MAR_3_2024, seed=0, rows=[
        PageRow(kind="top10", key="top10:GB", title="Top 10 in GB Today", evidence={"region": "GB", "period": "today", "window": DAY}, slots=slots),
        PageRow(kind="trending", key="trending", title="Trending Now", evidence={"alpha": 0.5, "top_trend": 3.25}, slots=same),
        PageRow(kind="mine", key="mine", title="Mine", evidence={"secret_score": 0.123456}, slots=same),
    ])  # fmt: skip
    text = render_text(page)
    assert "as of 3 Mar 2024, 00:00 UTC" in text.splitlines()[0]
    assert "Title 0 (1.00, #1 in GB today)  Title 1 (1.00, #2 in GB today)" in text
    assert text.count("Trending now") == 2 and "(Trending now)" in text  # once per row that shares it
    assert " 3. Mine   [mine]" in text  # a custom kind: no phrase, and no raw evidence
    assert _raw(text, page) == [] and _raw(render_html(page), page) == []
