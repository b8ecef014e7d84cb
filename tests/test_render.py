"""HTML and text views of a page: structure, the visible window, escaping (no browser needed)."""

from __future__ import annotations

from html.parser import HTMLParser

from pagegen.core._page import Page, PageRow, Slot
from pagegen.serve._render import render_html, render_text

TRICKY = [
    ("t1", 'Tom & Jerry\'s "Big" Day'),
    ("t2", "<script>alert('x')</script>"),
    ("t3", "\u5343\u3068\u5343\u5c0b\u306e\u795e\u96a0\u3057"),  # Japanese
    ("t4", "\u0410\u043c\u0435\u043b\u0438"),  # Cyrillic
    ("t5", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"),  # Arabic
    ("t6", "A</h3><h3>B"),
    ("t7", "Plain Title"),
]


def tricky_page(n_rows: int = 4, per_row: int = 7) -> Page:
    rows = []
    for r in range(n_rows):
        slots = [
            Slot(id=TRICKY[(r + c) % len(TRICKY)][0] + f"-{r}-{c}", title=TRICKY[(r + c) % len(TRICKY)][1], score=1.0 - 0.1 * c, reason="because <you> & \"we\"" if c == 0 else None,
                 genres=["Drama", "Sci-Fi & Fantasy"])
            for c in range(per_row)
        ]
        rows.append(PageRow(kind="genre" if r else "top_picks", key=f"row:{r}", title=f"Row {r} & <friends> \"{TRICKY[r][1]}\"", evidence={"genre": "Sci-Fi & <Horror>", "n": r}, slots=slots))
    return Page(user='m<1>&"', policy="default", selector="stage_wise", device="web", now=1_500_000_000, seed=0, rows=rows)


class DomSummary(HTMLParser):
    """Collects rows, tiles and the text of h2/h3 elements from an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.tiles: list[dict] = []
        self.h2: list[str] = []
        self.h3: list[str] = []
        self.scripts = 0
        self.genres: list[str] = []
        self._capture: str | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        if tag == "section" and "row" in classes:
            self.rows.append(attrs)
        if tag == "article" and "tile" in classes:
            self.tiles.append(attrs)
        if tag in ("h2", "h3") or (tag == "div" and "genres" in classes):
            self._capture = "genres" if tag == "div" else tag
            self._buf = []
        elif tag == "span" and self._capture == "h2":
            self._capture = "h2-done"

    def handle_endtag(self, tag):
        if self._capture and tag in ("h2", "h3", "div", "span"):
            text = "".join(self._buf)
            if self._capture in ("h2", "h2-done") and tag in ("h2", "span"):
                self.h2.append(text)
                self._capture = None
            elif self._capture == "h3" and tag == "h3":
                self.h3.append(text)
                self._capture = None
            elif self._capture == "genres" and tag == "div":
                self.genres.append(text)
                self._capture = None

    def handle_data(self, data):
        if self._capture in ("h2", "h3", "genres"):
            self._buf.append(data)


def summarize(document: str) -> DomSummary:
    parser = DomSummary()
    parser.feed(document)
    return parser


def test_html_structure_and_escaping():
    page = tricky_page()
    doc = render_html(page, visible_rows=2, visible_columns=5)
    dom = summarize(doc)
    assert dom.scripts == 0 and "<script>" not in doc
    assert len(dom.rows) == 4 and len(dom.tiles) == 28
    assert dom.h2 == [row.title for row in page.rows]
    assert dom.h3 == [s.title for row in page.rows for s in row.slots]
    assert set(dom.genres) == {"Drama \u00b7 Sci-Fi & Fantasy"}
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in doc
    assert "Tom &amp; Jerry&#x27;s &quot;Big&quot; Day" in doc
    assert "\u5343\u3068\u5343\u5c0b" in doc and 'charset="utf-8"' in doc
    assert "because &lt;you&gt; &amp; &quot;we&quot;" in doc
    assert 'data-user="m&lt;1&gt;&amp;&quot;"' in doc


def test_html_marks_the_visible_window():
    page = tricky_page()
    dom = summarize(render_html(page, visible_rows=2, visible_columns=5))
    assert [r["data-visible"] for r in dom.rows] == ["1", "1", "0", "0"]
    visible = [t["data-visible"] for t in dom.tiles]
    assert visible == (["1"] * 5 + ["0"] * 2) * 2 + ["0"] * 14
    everything = summarize(render_html(page))
    assert {t["data-visible"] for t in everything.tiles} == {"1"}


def test_html_is_self_contained():
    doc = render_html(tricky_page())
    for marker in ("http://", "https://", "<link", "src=", "url("):
        assert marker not in doc


def test_text_view_marks_window_and_fold():
    page = tricky_page(n_rows=3, per_row=4)
    text = render_text(page, visible_rows=2, visible_columns=3)
    lines = text.splitlines()
    assert lines[0].startswith('Homepage of member m<1>&"')
    tiles = [line for line in lines if line.startswith("    ")]
    assert len(tiles) == 3 and all(line.count(" | ") == 1 for line in tiles)
    assert tiles[0].index(" | ") > tiles[0].index(page.rows[0].slots[2].title[:10])
    fold = next(i for i, line in enumerate(lines) if "below the fold" in line)
    assert lines[fold + 1].startswith(" 3. ")
    assert "Row 0 & <friends>" in text
